import Foundation
import Hardware
import Layers
import MachineStore
import Profiling
import Reports
import Tensor
import Training
import XCTest

@testable import cnnscope

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A machine profile for the tests, so runs do not spend time measuring ceilings (the ceiling
/// measurement itself is exercised by `cnnscope machine --measure`).
func machineFixture(_ dir: URL) throws -> String {
    let peak = ComputePeak(perThreadGFLOPs: 90, allThreadsGFLOPs: 170, threads: 2, kernel: "test fixture", trials: 1)
    let bw = ["L1": 130.0, "L2": 80, "L3": 50, "DRAM": 14].map {
        BandwidthCeiling(
            level: $0.key, kernel: "load", threads: 1, workingSetBytes: 1 << 14, gbPerSecond: $0.value,
            minGBPerSecond: $0.value, maxGBPerSecond: $0.value)
    }
    let identity = MachineIdentity(
        vendor: "fixture", family: nil, model: nil, stepping: nil, isa: ["avx2"], cores: 2,
        processingUnits: 2, caches: [.init(level: 1, sizeBytes: 32 << 10, instances: 2)],
        numaNodes: 1, blasCore: "fixture")
    var p = MachineRecord(identity: identity, host: "fixture", cpuModel: "fixture", updated: "2026-01-01T00:00:00Z")
    p.ceilings = MachineCeilings(
        fma: peak, mixedPerThreadGFLOPs: 90, mixedAllThreadsGFLOPs: 170, bandwidth: bw, method: "test fixture")
    let url = dir.appendingPathComponent("machine.json")
    try p.encoded().write(to: url)
    return url.path
}

final class ProfileEndToEndTests: XCTestCase {

    /// Reports go to the user's data folder by default, never into the current folder (which may be the checkout).
    func testDefaultReportsFolderIsTheUsersDataFolder() {
        XCTAssertEqual(
            RunEnvironment.reportsRoot(environment: ["HOME": "/home/u"]), "/home/u/.local/share/cnnscope/reports")
        XCTAssertEqual(
            RunEnvironment.reportsRoot(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/d"]), "/d/cnnscope/reports")
        XCTAssertEqual(
            RunEnvironment.reportsRoot(environment: [
                "HOME": "/home/u", "XDG_DATA_HOME": "/d", "CNNSCOPE_REPORTS_DIR": "/r",
            ]), "/r")
        XCTAssertEqual(RunEnvironment.reportsRoot(environment: ["XDG_DATA_HOME": ""]), "Reports")
    }

    /// A run over which the host took away more than 5% of the CPU time ends with one warning that
    /// gives the share and where it was measured; none at or below 5%, or when it is unknown.
    func testStealTimeWarningAboveFivePercent() throws {
        let line = try XCTUnwrap(RunEnvironment.stealWarning(0.123))
        XCTAssertTrue(line.hasPrefix("warning: the host took away 12% of this machine's CPU time"), line)
        XCTAssertTrue(line.contains("/proc/stat") && line.contains("side by side"), line)
        XCTAssertFalse(line.contains("\n"), "one line")
        XCTAssertNil(RunEnvironment.stealWarning(0.05))
        XCTAssertNil(RunEnvironment.stealWarning(0))
        XCTAssertNil(RunEnvironment.stealWarning(nil))
    }

    func testProfileTinyCNNOnSyntheticDataWritesAllFourFiles() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("run")
        let cmd = try ProfileCommand.parse([
            "--model", "tiny-cnn", "--dataset", "synthetic", "--limit", "64", "--batch-size", "8",
            "--repetitions", "2", "--algorithms", "naive,im2col,winograd,auto", "--threads", "1",
            "--machine", try machineFixture(tmp), "--output", out.path, "--events", "SOFTWARE",
        ])
        try cmd.run()
        for f in ["report.json", "report.csv", "report.md", "report.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        let r = try ReportRenderer.decode(
            try Data(contentsOf: out.appendingPathComponent("report.json")), file: "report.json")
        XCTAssertEqual(r.runs.map(\.algorithm), ["naive", "im2col", "winograd", "auto"])
        XCTAssertEqual(r.batchSize, 8)
        let conv = try XCTUnwrap(r.runs[1].layers.first { $0.type == "Conv2D" })
        XCTAssertEqual(conv.directFLOPs.value, 8 * 2 * 28 * 28 * 8 * 9)
        XCTAssertEqual(conv.medianSeconds.provenance, .measured)
        XCTAssertNotNil(conv.medianSeconds.value)
        // Two repetitions, but the counter reads rotate over the layers: the profile runs passes until
        // every layer has been read (its quiet layers read zero), so every layer has its counts.
        if r.counterLevel != "timers only (fallback)" {
            for run in r.runs {
                for l in run.layers {
                    XCTAssertNotNil(l.counters["TASK_CLOCK"]?.value, "\(run.algorithm) \(l.name) was never read")
                }
            }
        }
        let parser = XMLParser(data: try Data(contentsOf: out.appendingPathComponent("report.html")))
        XCTAssertTrue(parser.parse(), "report.html is not well-formed")
        // Nothing left half-written beside the report.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [])
        // Re-render and compare with itself.
        let rep = try ReportCommand.parse([
            "--compare", out.appendingPathComponent("report.json").path, out.appendingPathComponent("report.json").path,
            "--output", tmp.appendingPathComponent("cmp.md").path,
        ])
        try rep.run()
        XCTAssertTrue(
            try String(contentsOf: tmp.appendingPathComponent("cmp.md"), encoding: .utf8).contains("| 1.00 |"))
    }

    func testTrainWritesResultsAndWeightsWithTheMachineIdentity() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("run")
        try TrainCommand.parse([
            "--model", "tiny-cnn", "--dataset", "synthetic", "--limit", "400", "--epochs", "1", "--threads", "1",
            "--cache-dir", tmp.appendingPathComponent("cache").path, "--output", out.path,
        ]).run()
        let r = try JSONDecoder().decode(
            TrainingResults.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        XCTAssertEqual(r.model, "tiny-cnn")
        XCTAssertEqual(r.history.count, 1)
        XCTAssertEqual(r.totalParameters, r.trainableParameters + r.nonTrainableParameters)
        XCTAssertTrue(r.machine?.contains("-") ?? false, "machine identity recorded: \(r.machine ?? "nil")")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("weights.cnnw").path))
    }
}
