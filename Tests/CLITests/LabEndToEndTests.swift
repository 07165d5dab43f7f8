import Foundation
import Lab
import MachineStore
import Profiling
import Reports
import Runtime
import XCTest

@testable import cnnscope

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class LabEndToEndTests: XCTestCase {
    func testQuickLabOnASmallSubsetFillsEverySectionFromTheRun() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        else {
            throw XCTSkip("Fashion-MNIST not installed (Scripts/setup installs dataset-fashion-mnist)")
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-lab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let machine = try machineFixture(tmp)
        let out = tmp.appendingPathComponent("lab")
        let cmd = try LabCommand.parse([
            "--quick", "--dataset", "fashion-mnist", "--limit", "600", "--threads", "1", "--machine", machine,
            "--output", out.path,
            "--pooling-study", "--augment", "--quantize", "--grad-cam",
        ])
        try cmd.run()
        let html = try String(contentsOf: out.appendingPathComponent("lab.html"), encoding: .utf8)
        XCTAssertTrue(XMLParser(data: Data(html.utf8)).parse(), "lab.html is not well-formed")
        for section in [
            "Comparison", "The lab's four plots", "Winners", "Training curves", "Confusion matrices",
            "Sample predictions",
            "Filters and feature maps", "CNN vs FCNN", "Hardware view", "Max vs average pooling",
            "Int8 post-training quantisation", "Grad-CAM",
        ] {
            XCTAssertTrue(html.contains(">\(section)"), "section '\(section)' missing")
        }
        let report = try JSONDecoder().decode(
            LabReport.self, from: Data(contentsOf: out.appendingPathComponent("lab.json")))
        XCTAssertEqual(report.models.map(\.name), ["basic-cnn", "tiny-cnn", "fcnn", "basic-cnn-avgpool"])
        // The lab's Part 7: every model in one table with its data set, and the winners.
        let all = try ReportJob.allModels([out.appendingPathComponent("lab.json").path])
        XCTAssertEqual(all.rows.count, 4)
        XCTAssertTrue(all.rows.allSatisfy { $0.dataset == "fashion-mnist" })
        let best = try XCTUnwrap(all.rows.max { $0.accuracyPercent < $1.accuracyPercent })
        XCTAssertTrue(all.markdown.contains("- Best Model for Accuracy: **\(best.model)**"), all.markdown)
        XCTAssertTrue(all.markdown.contains("Most Parameter-Efficient Model"))
        XCTAssertEqual(all.csv.split(separator: "\n").count, 5)
        XCTAssertThrowsError(try ReportJob.allModels([machine])) {
            XCTAssertTrue("\($0)".contains(machine), "\($0)")
        }
        XCTAssertNotNil(report.augmentation)
        let q = try XCTUnwrap(report.quantization)
        XCTAssertEqual(q.map(\.model), report.models.map(\.name))
        for e in q {
            XCTAssertTrue(e.int8Accuracy > 0 && e.int8MsPerImage > 0 && e.floatMsPerImage > 0, e.model)
            XCTAssertEqual(e.int8WeightBytes * 4, e.floatWeightBytes)
        }
        let cams = try XCTUnwrap(report.gradCAM)
        XCTAssertFalse(cams.isEmpty)
        for c in cams {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(c.picture).path), c.picture)
        }
        XCTAssertTrue(html.contains("Data augmentation (extension)"))
        for m in report.models {
            // Every figure comes from the run: the accuracy in the page is the one computed on the test set.
            XCTAssertTrue(
                html.contains(String(format: "%.2f%%", m.testAccuracy * 100)), "\(m.name) accuracy not in the page")
            XCTAssertEqual(m.confusion.flatMap { $0 }.reduce(0, +), report.testImages)
            let correct = (0..<m.confusion.count).reduce(0) { $0 + m.confusion[$1][$1] }
            XCTAssertEqual(Double(correct) / Double(report.testImages), m.testAccuracy, accuracy: 1e-9)
            XCTAssertTrue(
                FileManager.default.fileExists(
                    atPath: out.appendingPathComponent("profiles/\(m.name)/report.html").path))
            XCTAssertFalse(m.layers.isEmpty)
        }
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: out.appendingPathComponent("pictures/basic-cnn-filters-conv2d.png").path))
        let png = try Data(contentsOf: out.appendingPathComponent("pictures/sample-0.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    /// The whole lab (what `cnnscope lab` runs without a data set), through the library with a small
    /// transfer base: MNIST's part (Fashion-MNIST standing in), the basic CNN on a CIFAR-10-format
    /// folder, the transfer part, and the Part 7 page over all of them; a missing CIFAR-10 is skipped
    /// with a line.
    func testWholeLabQuickWritesThePart7PageOverEveryPart() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        else { throw XCTSkip("Fashion-MNIST not installed (Scripts/setup installs dataset-fashion-mnist)") }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-whole-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let base = tmp.appendingPathComponent("mini-base.yaml")
        try TransferEndToEndTests.base.write(to: base, atomically: true, encoding: .utf8)
        // A CIFAR-10-format folder with other class names (a stand-in): 30 records per batch.
        let cifar = tmp.appendingPathComponent("cifar")
        try FileManager.default.createDirectory(at: cifar, withIntermediateDirectories: true)
        for b in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"] {
            var bytes: [UInt8] = []
            for r in 0..<30 { bytes += [UInt8(r % 10)] + (0..<3072).map { UInt8(($0 * (r + 1)) % 256) } }
            try Data(bytes).write(to: cifar.appendingPathComponent("\(b).bin"))
        }
        try Data((0..<10).map { "class\($0)" }.joined(separator: "\n").utf8).write(
            to: cifar.appendingPathComponent("batches.meta.txt"))
        let env = try RunEnvironment(
            execution: ExecutionSettings(threads: 1), machine: MachineSettings(recordFile: try machineFixture(tmp)),
            profiles: Console.profiles, environment: [:], commandLine: "test", log: { _ in }, warn: { _ in })
        func whole(_ out: URL, cifarDir: URL) throws -> (AllModelsTable, String) {
            var job = WholeLabJob()
            (job.lab.quick, job.lab.data.limit, job.lab.output) = (true, 300, out.path)
            (job.cifarDir, job.transferBase) = (cifarDir.path, base.path)
            _ = try job.run(in: env)
            return (
                try JSONDecoder().decode(
                    AllModelsTable.self,
                    from: Data(contentsOf: out.appendingPathComponent("all-models/all-models.json"))),
                try String(contentsOf: out.appendingPathComponent("all-models/index.html"), encoding: .utf8)
            )
        }
        let out = tmp.appendingPathComponent("whole")
        let (table, page) = try whole(out, cifarDir: cifar)
        XCTAssertEqual(Set(table.rows.map(\.dataset)), ["fashion-mnist", "cifar10-format stand-in"])
        XCTAssertEqual(table.rows.filter { !$0.model.contains("mini-base") }.count, 5, "3 MNIST models, 2 basic CNNs")
        XCTAssertTrue(table.rows.contains { $0.model.contains("self-contained") }, "the transfer part says what it is")
        for section in ["Winners", "Random training samples", "Transfer predictions", "Fashion-MNIST standing in"] {
            XCTAssertTrue(page.contains(section), section)
        }
        XCTAssertTrue(page.contains("<figcaption>class"), "CIFAR-format training samples with their class names")
        let titled =
            page.components(separatedBy: "color: green").count + page.components(separatedBy: "color: red").count
        XCTAssertEqual(titled - 2, 10, "ten transfer predictions")
        for part in ["mnist/lab.html", "cifar10/lab.html", "transfer/report.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(part).path), part)
        }
        // Without CIFAR-10 the run goes on and says how to fetch it.
        let out2 = tmp.appendingPathComponent("no-cifar")
        let (table2, page2) = try whole(out2, cifarDir: tmp.appendingPathComponent("none"))
        XCTAssertEqual(Set(table2.rows.map(\.dataset)), ["fashion-mnist"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out2.appendingPathComponent("cifar10").path))
        XCTAssertTrue(page2.contains("run `cnnscope data fetch cifar10`"), "the skip says how to fetch it")
    }
}
