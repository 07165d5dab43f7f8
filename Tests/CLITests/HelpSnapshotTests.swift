import ArgumentParser
import Kernels
import XCTest

@testable import cnnscope

/// Pins the help texts. To accept a deliberate change: CNNSCOPE_UPDATE_SNAPSHOTS=1 swift test --filter CLITests
final class HelpSnapshotTests: XCTestCase {
    func check(_ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().appendingPathComponent("Snapshots")
        let url = dir.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["CNNSCOPE_UPDATE_SNAPSHOTS"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(text, expected, "help of \(name) changed; see the diff", file: file, line: line)
    }

    func testTopLevelHelp() throws {
        try check("cnnscope", Cnnscope.helpMessage(columns: 100))
    }

    func testMachineHelp() throws {
        try check("machine", Cnnscope.helpMessage(for: MachineCommand.self, columns: 100))
    }

    func testCompareHelp() throws {
        try check("compare", Cnnscope.helpMessage(for: CompareCommand.self, columns: 100))
    }

    func testProfileHelp() throws {
        try check("profile", Cnnscope.helpMessage(for: ProfileCommand.self, columns: 100))
    }

    func testTrainHelp() throws {
        try check("train", Cnnscope.helpMessage(for: TrainCommand.self, columns: 100))
    }

    func testEventsHelp() throws {
        try check("events", Cnnscope.helpMessage(for: EventsCommand.self, columns: 100))
    }

    func testLabHelp() throws { try check("lab", Cnnscope.helpMessage(for: LabCommand.self, columns: 100)) }

    func testReportHelp() throws { try check("report", Cnnscope.helpMessage(for: ReportCommand.self, columns: 100)) }

    func testSummaryHelp() throws { try check("summary", Cnnscope.helpMessage(for: SummaryCommand.self, columns: 100)) }

    func testTransferHelp() throws {
        try check("transfer", Cnnscope.helpMessage(for: TransferCommand.self, columns: 100))
    }

    func testDataHelp() throws { try check("data", Cnnscope.helpMessage(for: DataCommand.Fetch.self, columns: 100)) }

    func testInferHelp() throws { try check("infer", Cnnscope.helpMessage(for: InferCommand.self, columns: 100)) }

    func testSweepHelp() throws {
        try check("sweep", Cnnscope.helpMessage(for: SweepCommand.self, columns: 100))
        try check("sweep-plan", Cnnscope.helpMessage(for: SweepPlanCommand.self, columns: 100))
    }

    func testBenchHelp() throws { try check("bench", Cnnscope.helpMessage(for: BenchCommand.self, columns: 100)) }

    func testEvaluateHelp() throws {
        try check("evaluate", Cnnscope.helpMessage(for: EvaluateCommand.self, columns: 100))
    }

    /// Every subcommand the tool has is pinned (a new one without a snapshot fails here).
    func testEveryCommandHasASnapshot() throws {
        let dir = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().appendingPathComponent("Snapshots")
        for sub in Cnnscope.configuration.subcommands {
            let name = sub.configuration.commandName ?? "\(sub)"
            guard sub.configuration.shouldDisplay else { continue }
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name).txt").path),
                "no help snapshot for \(name)")
        }
    }

    func testISAChoiceIsCheckedAgainstTheCPUAndTheBuild() {
        let avx512 = ["--input", "x", "--output", "y.npy", "--isa", "avx512"]
        if Blas.haveAVX512 {
            XCTAssertNoThrow(try InferCommand.parse(avx512))
        } else {
            XCTAssertThrowsError(try InferCommand.parse(avx512)) { e in
                XCTAssertTrue("\(e)".contains("--isa avx512: this CPU has"), "\(e)")
            }
        }
        XCTAssertThrowsError(try InferCommand.parse(["--input", "x", "--output", "y.npy", "--isa", "neon"])) { e in
            XCTAssertTrue("\(e)".contains("unknown"), "\(e)")
        }
        XCTAssertNoThrow(try InferCommand.parse(["--input", "x", "--output", "y.npy", "--isa", "scalar"]))
    }

    func testCompareValidationTellsWhatToFix() {
        XCTAssertThrowsError(try CompareCommand.parse([])) { e in
            XCTAssertTrue(Cnnscope.message(for: e).contains("--layer"), Cnnscope.message(for: e))
        }
        XCTAssertThrowsError(try CompareCommand.parse(["--layer", "H=4,C=1,K=1,R=3", "--algorithms", "fft"])) { e in
            XCTAssertTrue(Cnnscope.message(for: e).contains("Unknown algorithm 'fft'"), Cnnscope.message(for: e))
        }
    }
}
