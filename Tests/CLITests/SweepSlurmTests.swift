import Foundation
import Reports
import Sweep
import XCTest

@testable import cnnscope

/// A real sweep on the one-node cluster `Scripts/slurm-local up` starts (.ci/run brings it up
/// and down): plan, submit, wait, status, merge. Skipped, with the reason, where no Slurm runs.
final class SweepSlurmTests: XCTestCase {
    func testSweepOnTheLocalClusterIsPlannedSubmittedAndMerged() throws {
        let runner = ProcessCommandRunner()
        guard runner.locate("sbatch") != nil, let info = try? runner.run(["sinfo", "-h", "-o", "%T"]), info.status == 0,
            info.stdout.contains("idle") || info.stdout.contains("mix") || info.stdout.contains("alloc")
        else {
            throw XCTSkip("no Slurm cluster answers here (start one with Scripts/slurm-local up and export SLURM_CONF)")
        }
        let exe = try EventSetCoverageTests.executable()
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let sweep = tmp.appendingPathComponent("sweep").path
        // The fixture's ceilings keep the test short; a real sweep measures each node's own.
        try SweepPlanCommand.parse([
            "--output", sweep, "--models", "tiny-cnn,basic-cnn", "--algorithms", "im2col,auto", "--batch-sizes", "8",
            "--threads", "1", "--executable", exe.path, "--", "--dataset", "synthetic", "--limit", "64",
            "--repetitions", "2", "--machine", try machineFixture(tmp),
        ]).run()
        try SweepSubmitCommand.parse([sweep]).run()
        let reader = SweepStatusReader(runner: runner)
        let deadline = Date().addingTimeInterval(100)
        var status = try reader.status(folder: sweep)
        while status.count(.running) + status.count(.pending) > 0 || status.count(.missing) > 0, Date() < deadline {
            Thread.sleep(forTimeInterval: 1)
            status = try reader.status(folder: sweep)
        }
        XCTAssertEqual(
            status.count(.done), 2,
            status.tasks.map { "\($0.task.id): \($0.state) \($0.detail)" }.joined(separator: "; "))
        let merged = tmp.appendingPathComponent("merged").path
        try ReportCommand.parse(["--merge", sweep, "--output", merged]).run()
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let r = try decoder.decode(
            CrossMachineReport.self, from: try Data(contentsOf: URL(fileURLWithPath: "\(merged)/report.json")))
        XCTAssertEqual(Set(r.rows.map(\.model)), ["tiny-cnn", "basic-cnn"])
        XCTAssertEqual(r.rows.count, 4)  // every task's two algorithms
        XCTAssertTrue(try String(contentsOfFile: "\(merged)/report.html", encoding: .utf8).contains("<svg"))
    }
}
