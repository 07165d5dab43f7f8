import Foundation
import KerasWeights
import Lab
import Training
import Transfer
import XCTest

@testable import cnnscope

/// `cnnscope transfer` on a small residual base written as a profile file: the self-contained
/// 0-4 -> 5-9 experiment and the weight-file path, each checked from its results.json.
final class TransferEndToEndTests: XCTestCase {
    static let base = """
        name: mini-base
        input_shape: [16, 16, 3]
        layers:
          - {name: stem, type: Conv2D, filters: 8, kernel_size: 3, strides: 2, padding: same, use_bias: false}
          - {name: stem_bn, type: BatchNormalization, momentum: 0.999}
          - {name: stem_relu, type: ReLU, max_value: 6}
          - {name: b_dw, type: DepthwiseConv2D, kernel_size: 3, padding: same, use_bias: false}
          - {name: b_dw_bn, type: BatchNormalization, momentum: 0.999}
          - {name: b_project, type: Conv2D, filters: 8, kernel_size: 1, use_bias: false}
          - {name: b_add, type: Add, inputs: [stem_relu, b_project]}
          - {name: top, type: Conv2D, filters: 16, kernel_size: 1, activation: relu}
        head:
          - {name: gap, type: GlobalAveragePooling2D}
          - {name: dense, type: Dense, units: 16, activation: relu}
          - {name: dropout, type: Dropout, rate: 0.3}
          - {name: dense_1, type: Dense, units: 0, activation: softmax}
        """

    func testSelfContainedExperimentAndWeightImport() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cnnscope-transfer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let yaml = tmp.appendingPathComponent("mini-base.yaml")
        try Self.base.write(to: yaml, atomically: true, encoding: .utf8)

        let out = tmp.appendingPathComponent("selfcontained")
        let cmd = try TransferCommand.parse([
            "--base", yaml.path, "--dataset", "synthetic", "--limit", "900", "--labelled", "60",
            "--pretrain-images", "200", "--epochs", "1", "--input-size", "32", "--threads", "1",
            "--bn-recalibration", "2", "--output", out.path, "--cache-dir", tmp.appendingPathComponent("cache").path,
        ])
        try cmd.run()
        let r = try JSONDecoder().decode(
            TransferResults.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        XCTAssertEqual(
            r.runs.map(\.mode),
            ["frozen base", "fine-tuned (top 10 unfrozen)", "from scratch (same architecture)", "from scratch"])
        XCTAssertEqual(r.inputSize, [32, 32, 3])
        XCTAssertEqual(r.classes.count, 5)
        let frozen = r.runs[0], tuned = r.runs[1], scratch = r.runs[2]
        // Frozen: only the head trains (16·16+16 + 16·5+5); fine-tuning adds the top base layers.
        XCTAssertEqual(frozen.trainableParameters, 16 * 16 + 16 + 16 * 5 + 5)
        XCTAssertGreaterThan(tuned.trainableParameters, frozen.trainableParameters)
        XCTAssertEqual(scratch.trainableParameters, scratch.totalParameters - 32)  // moving statistics of two BN layers
        XCTAssertEqual(tuned.learningRate, 1e-4)
        for run in r.runs {
            XCTAssertTrue(run.testAccuracy >= 0 && run.testAccuracy <= 1)
            XCTAssertGreaterThan(run.trainingSeconds, 0)
            XCTAssertEqual(run.history.count, 1)
        }
        XCTAssertEqual(r.samplePredictions.count, 10)
        XCTAssertTrue(
            try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8).contains("| frozen base"))
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("accuracy per M params"), "transfer_df's accuracy per million parameters")
        let frozenRow = String(format: "%.2f", r.runs[0].testAccuracy * 100 / (Double(r.runs[0].totalParameters) / 1e6))
        XCTAssertTrue(md.contains(frozenRow), "the lab's formula in the table: \(frozenRow)")
        // Transfer runs join the lab's all-models table with their data set.
        let all = try ReportJob.allModels([out.appendingPathComponent("results.json").path])
        XCTAssertEqual(all.rows.count, r.runs.count)
        XCTAssertTrue(all.rows[0].model.contains("frozen base"), all.rows[0].model)
        // The lab's display_predictions: ten images, titles green when right, red when wrong.
        let page = try String(contentsOf: out.appendingPathComponent("predictions.html"), encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "<figure").count - 1, 10)
        let wrong = r.samplePredictions.filter { $0.hasSuffix("(wrong)") }.count
        XCTAssertEqual(page.components(separatedBy: "color: red").count - 1, wrong)
        XCTAssertEqual(page.components(separatedBy: "color: green").count - 1, 10 - wrong)

        // The weight-file path: a base saved in Keras's layout loads by name before training.
        let p = try ModelProfile.load(path: yaml.path)
        let base = try ModelBuilder.build(p, input: [16, 16, 3], includeHead: false, resizeTo: [32, 32, 3])
        let h5 = tmp.appendingPathComponent("mini_notop.h5").path
        try KerasWeightImporter.save(base, to: h5)
        let out2 = tmp.appendingPathComponent("weights")
        let cmd2 = try TransferCommand.parse([
            "--base", yaml.path, "--weights", h5, "--dataset", "synthetic", "--limit", "300",
            "--epochs", "1", "--input-size", "32", "--threads", "1", "--freeze-base", "--output", out2.path,
            "--cache-dir", tmp.appendingPathComponent("cache").path,
        ])
        try cmd2.run()
        let r2 = try JSONDecoder().decode(
            TransferResults.self, from: Data(contentsOf: out2.appendingPathComponent("results.json")))
        XCTAssertEqual(r2.runs.map(\.mode), ["frozen base", "from scratch"])
        XCTAssertTrue(r2.imported?.contains("6 layers") ?? false, r2.imported ?? "nil")
        // As the lab: the fine-tuned run is a fresh model on the imported base with its top layers
        // unfrozen, trained with its own epochs, batch size and learning rate 1e-4.
        let out3 = tmp.appendingPathComponent("fine-tuned")
        try TransferCommand.parse([
            "--base", yaml.path, "--weights", h5, "--dataset", "synthetic", "--limit", "300", "--epochs", "1",
            "--fine-tune-epochs", "2", "--fine-tune-batch-size", "16", "--patience", "0", "--unfreeze-top", "2",
            "--input-size", "32", "--threads", "1", "--output", out3.path,
            "--cache-dir", tmp.appendingPathComponent("cache").path,
        ]).run()
        let r3 = try JSONDecoder().decode(
            TransferResults.self, from: Data(contentsOf: out3.appendingPathComponent("results.json")))
        XCTAssertEqual(r3.runs.map(\.mode), ["frozen base", "fine-tuned (top 2 unfrozen)", "from scratch"])
        XCTAssertEqual(r3.runs.map(\.epochs), [1, 2, 1])
        XCTAssertEqual(r3.runs[1].learningRate, 1e-4)
        XCTAssertGreaterThan(r3.runs[1].trainableParameters, r3.runs[0].trainableParameters)
        XCTAssertEqual(r3.runs[0].totalParameters, r3.runs[1].totalParameters, "the same architecture")
        let rows3 = try ReportJob.allModels([out3.appendingPathComponent("results.json").path]).rows
        XCTAssertFalse(rows3[0].model.contains("self-contained"), rows3[0].model)
        // A missing weight file is refused, naming it.
        let missing = tmp.appendingPathComponent("none.h5").path
        XCTAssertThrowsError(
            try TransferCommand.parse([
                "--base", yaml.path, "--weights", missing, "--dataset", "synthetic",
                "--cache-dir", tmp.appendingPathComponent("cache").path,
            ]).run()
        ) {
            XCTAssertTrue("\($0)".contains(missing), "\($0)")
        }
        // A weight file for another architecture (the stem has 4 filters there, 8 here) is refused
        // by file, layer and shapes before any training.
        let otherYAML = tmp.appendingPathComponent("other-base.yaml")
        try Self.base.replacingOccurrences(
            of: "name: stem, type: Conv2D, filters: 8", with: "name: stem, type: Conv2D, filters: 4"
        )
        .replacingOccurrences(of: "b_project, type: Conv2D, filters: 8", with: "b_project, type: Conv2D, filters: 4")
        .write(to: otherYAML, atomically: true, encoding: .utf8)
        let other = try ModelBuilder.build(
            try ModelProfile.load(path: otherYAML.path), input: [16, 16, 3], includeHead: false,
            resizeTo: [32, 32, 3])
        let otherH5 = tmp.appendingPathComponent("other_notop.h5").path
        try KerasWeightImporter.save(other, to: otherH5)
        XCTAssertThrowsError(
            try TransferCommand.parse([
                "--base", yaml.path, "--weights", otherH5, "--dataset", "synthetic",
                "--limit", "300", "--epochs", "1", "--input-size", "32", "--threads", "1",
                "--output", tmp.appendingPathComponent("other").path,
                "--cache-dir", tmp.appendingPathComponent("cache").path,
            ]).run()
        ) {
            let text = "\($0)"
            XCTAssertTrue(text.contains(otherH5) && text.contains("stem"), text)
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: tmp.appendingPathComponent("other").path), "no partial output")
    }
}
