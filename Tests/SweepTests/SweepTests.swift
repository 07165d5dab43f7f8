import Figures
import Foundation
import Reports
import Roofline
import XCTest

@testable import Sweep

/// A scripted Slurm: records each command and answers from a table.
final class ScriptedSlurm: CommandRunner {
    var present: Set<String> = ["sbatch", "squeue", "sacct"]
    var answers: [String: CommandResult] = [:]
    var calls: [[String]] = []
    func locate(_ name: String) -> String? { present.contains(name) ? "/usr/bin/\(name)" : nil }
    func run(_ argv: [String]) throws -> CommandResult {
        calls.append(argv)
        return answers[argv[0]] ?? CommandResult(status: 0, stdout: "", stderr: "")
    }
}

final class SweepTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "cnnscope-sweep-\(UUID().uuidString)"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func plan(partitions: [String] = ["zen3", "zen4"]) throws -> SweepManifest {
        let r = SweepPlanRequest(
            folder: folder, models: ["tiny-cnn", "basic-cnn"], algorithms: "im2col,auto", batchSizes: [8],
            threads: [1, 2], partitions: partitions, constraints: [], passThrough: ["--dataset", "synthetic"],
            executable: "/opt/cnnscope/bin/cnnscope", version: "9.9.9")
        let (m, scripts) = try SweepPlanner.plan(r, createdAt: "2026-11-30T00:00:00Z")
        try SweepPlanner.write(m, scripts: scripts, folder: folder)
        return m
    }

    func testPlanWritesOneArrayPerMachineGroupAndEveryTaskCommand() throws {
        let m = try plan()
        XCTAssertEqual(m.groups.map(\.name), ["zen3", "zen4"])
        XCTAssertEqual(m.tasks.count, 8)  // 2 groups × 2 models × 1 batch × 2 thread counts
        let script = try String(contentsOfFile: "\(folder)/zen4.sbatch", encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --array=0-3"))
        XCTAssertTrue(script.contains("#SBATCH --partition=zen4"))
        XCTAssertTrue(script.contains("#SBATCH --exclusive"))
        XCTAssertTrue(script.contains("#SBATCH --cpus-per-task=2"))
        XCTAssertTrue(script.contains("--dataset synthetic"))
        XCTAssertTrue(script.contains("/runs/{machine}/basic-cnn-b8-t2-zen4-3"))
        XCTAssertEqual(try SweepManifest.load(folder: folder), m)
        // bash can read the script.
        let p = Process()
        p.standardInput = FileHandle.nullDevice  // children never read this process's input
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-n", "\(folder)/zen4.sbatch"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    func testPlanRefusesANonEmptyFolder() throws {
        _ = try plan()
        XCTAssertThrowsError(try plan()) { XCTAssertTrue("\($0)".contains("not empty")) }
    }

    func testNotASweepAndFutureSchemaAreOneLineErrors() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        XCTAssertThrowsError(try SweepManifest.load(folder: folder)) {
            XCTAssertTrue("\($0)".contains("not a sweep folder"))
        }
        try Data(#"{"schema": "cnnscope.sweep/7"}"#.utf8).write(to: URL(fileURLWithPath: "\(folder)/manifest.json"))
        XCTAssertThrowsError(try SweepManifest.load(folder: folder)) { e in
            XCTAssertTrue("\(e)".contains("cnnscope.sweep/7"))
            XCTAssertFalse("\(e)".contains("\n"))
        }
    }

    func testSubmitRecordsJobIdsAndWithoutSlurmPrintsTheLines() throws {
        _ = try plan()
        let slurm = ScriptedSlurm()
        slurm.present = []
        XCTAssertThrowsError(try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: false, now: "t")) {
            e in
            XCTAssertTrue("\(e)".contains("sbatch --parsable \(self.folder)/zen3.sbatch"))
        }
        slurm.present = ["sbatch"]
        slurm.answers["sbatch"] = CommandResult(status: 0, stdout: "4242\n", stderr: "")
        let (m, made) = try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: false, now: "t")
        XCTAssertEqual(made.map(\.jobID), ["4242", "4242"])
        XCTAssertEqual(m.submissions.count, 2)
        XCTAssertEqual(try SweepManifest.load(folder: folder).submissions.count, 2)
        // Submitting twice is refused; only --failed submits again.
        XCTAssertThrowsError(try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: false, now: "t"))
    }

    func testSbatchErrorIsShownWithTheCommand() throws {
        _ = try plan(partitions: ["nosuch"])
        let slurm = ScriptedSlurm()
        slurm.answers["sbatch"] = CommandResult(
            status: 1, stdout: "", stderr: "sbatch: error: invalid partition specified: nosuch\n")
        XCTAssertThrowsError(try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: false, now: "t")) {
            e in
            XCTAssertTrue("\(e)".contains("invalid partition specified: nosuch"))
            XCTAssertTrue("\(e)".contains("sbatch --parsable"))
        }
    }

    func testStatusSortsTasksAndFailedOnesCanBeResubmitted() throws {
        let m = try plan(partitions: ["p"])
        let slurm = ScriptedSlurm()
        slurm.answers["sbatch"] = CommandResult(status: 0, stdout: "77\n", stderr: "")
        _ = try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: false, now: "t")
        // Task 0 done (a report in its run folder), 1 failed (exit 3), 2 running, 3 died (Slurm: NODE_FAIL).
        let run0 = "\(folder)/" + m.tasks[0].runFolder.replacingOccurrences(of: "{machine}", with: "amd-zen3-x")
        try FileManager.default.createDirectory(atPath: run0, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(run0)/report.json"))
        try Data("3\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/status/p-1.exit"))
        try Data("log".utf8).write(to: URL(fileURLWithPath: "\(folder)/logs/p-77_1.out"))
        slurm.answers["squeue"] = CommandResult(status: 0, stdout: "77_2|RUNNING\n", stderr: "")
        slurm.answers["sacct"] = CommandResult(status: 0, stdout: "77_3|NODE_FAIL\n77_1|FAILED\n", stderr: "")
        let s = try SweepStatusReader(runner: slurm).status(folder: folder)
        XCTAssertEqual(s.tasks.map(\.state), [.done, .failed, .running, .failed])
        XCTAssertEqual(s.tasks[1].log, "\(folder)/logs/p-77_1.out")
        XCTAssertTrue(s.tasks[3].detail.contains("NODE_FAIL"))
        slurm.answers["sbatch"] = CommandResult(status: 0, stdout: "78\n", stderr: "")
        let (_, again) = try SweepSubmitter(runner: slurm).submit(folder: folder, onlyFailed: true, now: "t")
        XCTAssertEqual(again.first?.indices, [1, 3])
        XCTAssertEqual(slurm.calls.last?.contains("--array=1,3"), true)
    }

    static func report(machine: String, model: String, threads: Int, seconds: Double, auto: String) -> ProfileReport {
        let roof = Roofline(
            computeGFLOPs: 100, computeName: "FMA", bandwidths: [.init(level: "DRAM", gbPerSecond: 20)],
            provenance: .measured)
        func layer(_ name: String, _ alg: String?) -> LayerResult {
            LayerResultFixture.make(name: name, algorithm: alg, seconds: seconds / 2)
        }
        let run = { (a: String) in
            AlgorithmRun(
                algorithm: a, layers: [layer("conv2d", a == "auto" ? auto : a), layer("dense", nil)],
                totals: ModelTotals(
                    seconds: .of(seconds, .measured), imagesPerSecond: .of(8 / seconds, .measured),
                    latencyMsPerImage: .of(seconds * 1000 / 8, .measured), gflops: .of(1, .modelled),
                    efficiency: .of(0.5, .modelled)))
        }
        return ProfileReport(
            createdAt: "t", commandLine: "c",
            machine: MachineSummary(
                identity: machine, identityDetail: nil, host: "h", cpuModel: "AMD EPYC", cores: 2, processingUnits: 2,
                caches: [], simd: ["AVX2"], pmus: [], ceilings: [:]),
            roofline: roof, model: model, dataset: "synthetic", inputShape: [28, 28, 1], batchSize: 8, threads: threads,
            bind: "compact", repetitions: 3, phase: "inference (forward)", counterLevel: "none", counterNotes: [],
            runs: [run("im2col"), run("auto")], bestPerLayer: ["conv2d": "im2col"], notes: [])
    }

    func testMergeRanksMachinesMergesRepeatsAndFlagsAutoDifferences() throws {
        let a1 = Self.report(machine: "zen3-a", model: "basic-cnn", threads: 1, seconds: 0.010, auto: "winograd-f4x3")
        let a2 = Self.report(machine: "zen3-a", model: "basic-cnn", threads: 1, seconds: 0.012, auto: "winograd-f4x3")
        let a3 = Self.report(machine: "zen3-a", model: "basic-cnn", threads: 2, seconds: 0.006, auto: "winograd-f4x3")
        let b = Self.report(machine: "zen4-b", model: "basic-cnn", threads: 1, seconds: 0.005, auto: "im2col")
        let r = CrossMachineReport.merge(
            [(a1, "a1"), (a2, "a2"), (a3, "a3"), (b, "b")], baseline: "zen3-a", notes: ["Task x failed"], createdAt: "t"
        )
        XCTAssertEqual(r.machines.map(\.identity), ["zen3-a", "zen4-b"])
        let repeated = r.rows.first { $0.machine == "zen3-a" && $0.threads == 1 && $0.algorithm == "im2col" }!
        XCTAssertEqual(repeated.imagesPerSecond.samples, 2)
        XCTAssertEqual(repeated.imagesPerSecond.min, 8 / 0.012, accuracy: 1e-9)
        XCTAssertEqual(repeated.imagesPerSecond.max, 8 / 0.010, accuracy: 1e-9)
        let fast = r.rows.first { $0.machine == "zen4-b" && $0.algorithm == "im2col" }!
        XCTAssertEqual(fast.ratioToBaseline!, (8 / 0.005) / ((8 / 0.010 + 8 / 0.012) / 2), accuracy: 1e-9)
        XCTAssertTrue(r.layers.first { $0.layer == "conv2d" && $0.setting.contains("1 thr") }!.autoDiffers)
        XCTAssertEqual(CrossMachineRenderer.ranking(r).first?.machine, "zen4-b")
        let html = CrossMachineRenderer.html(r)
        for section in ["Machines × models", "Ranking", "auto&#39;s choice", "Rooflines side by side", "Task x failed"]
        {
            XCTAssertTrue(
                html.contains(section) || html.contains(section.replacingOccurrences(of: "&#39;", with: "'")), section)
        }
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 2)
        XCTAssertTrue(CrossMachineRenderer.markdown(r).contains("| zen4-b |"))
        XCTAssertEqual(CrossMachineRenderer.csv(r).split(separator: "\n").count, 1 + r.rows.count)
    }
}

enum LayerResultFixture {
    static func make(name: String, algorithm: String?, seconds: Double) -> LayerResult {
        LayerResult(
            name: name, type: algorithm == nil ? "Dense" : "Conv2D", phase: "forward", convAlgorithm: algorithm,
            medianSeconds: .of(seconds, .measured), minSeconds: .of(seconds, .measured),
            maxSeconds: .of(seconds, .measured), directFLOPs: .of(1e6, .modelled), executedFLOPs: .of(1e6, .modelled),
            minimumBytes: .of(1e5, .modelled), algorithmBytes: .of(1e5, .modelled), countedBytes: nil,
            simulatedBytes: nil, intensity: .of(10, .modelled), attainedGFLOPs: .of(1e6 / seconds / 1e9, .measured),
            roofGFLOPs: .of(100, .modelled), efficiency: .of(0.5, .modelled), bound: "compute",
            shareOfModelTime: .of(0.5, .measured), counters: [:], tooShortToMeasure: false, boundLevel: "L2")
    }
}
