import Foundation
import Lab
import Reports
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
            "--quick", "--limit", "600", "--threads", "1", "--machine", machine, "--output", out.path,
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
}
