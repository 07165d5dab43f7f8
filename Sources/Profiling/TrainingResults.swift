import Foundation
import Reports
import Training

/// The lab's results for one trained model.
public struct TrainingResults: Codable {
    public var schema = "cnnscope.train/1"
    /// The machine identity the run was measured on (nil in files of older versions).
    public var machine: String?
    public var model: String
    public var dataset: String
    public var inputShape: [Int]
    public var testAccuracy: Double
    public var testLoss: Double
    public var trainingSeconds: Double
    public var inferenceMsPerImage: Double
    public var inferenceBatchSize: Int
    public var inferenceMsPerImageBatch1: Double
    public var totalParameters: Int
    public var trainableParameters: Int
    public var nonTrainableParameters: Int
    /// Total parameters divided by training seconds, as the lab's table has it.
    public var parametersPerSecond: Double
    /// Test accuracy in percent per million parameters (the lab's `accuracy_per_million_params`).
    public var accuracyPerMillionParameters: Double
    public var epochsTrained: Int
    public var stoppedEarly: Bool
    public var bestEpoch: Int?
    public var batchSize: Int
    public var trainImages: Int
    public var validationImages: Int
    public var testImages: Int
    public var seed: UInt64
    public var threads: Int
    public var convAlgorithms: [String: String]
    public var history: [EpochRecord]
    public var layerProfile: [LayerProfileRow]?
    public var peakResidentMB: Double?
    /// The training steps' direct-equivalent rate against the FMA peak (nil in older files).
    public var trainingStep: TrainingStepRate?
    public var commandLine: String
    public var provenance =
        """
        times: measured (monotonic clock); accuracies and losses: computed on the data; parameters: counted from \
        the model
        """
}

extension TrainingResults {
    /// The console's results table (pure).
    public static func text(_ r: TrainingResults) -> String {
        var t = TextTable(header: ["metric", "value"])
        t.rightAligned = [1]
        t.rows = [
            ["test accuracy", String(format: "%.2f%%", r.testAccuracy * 100)],
            ["test loss", String(format: "%.4f", r.testLoss)],
            [
                "training time",
                String(
                    format: "%.1f s (%d epoch%@%@)", r.trainingSeconds, r.epochsTrained,
                    r.epochsTrained == 1 ? "" : "s", r.stoppedEarly ? ", stopped early" : ""),
            ],
            ["inference per image (batch \(r.inferenceBatchSize))", String(format: "%.3f ms", r.inferenceMsPerImage)],
            ["inference per image (batch 1)", String(format: "%.3f ms", r.inferenceMsPerImageBatch1)],
            ["total parameters", Format.grouped(r.totalParameters)],
            ["trainable parameters", Format.grouped(r.trainableParameters)],
            ["non-trainable parameters", Format.grouped(r.nonTrainableParameters)],
            ["parameters per second of training", String(format: "%.0f", r.parametersPerSecond)],
            ["accuracy per million parameters", String(format: "%.3f", r.accuracyPerMillionParameters)],
            ["batch size", "\(r.batchSize)"],
            ["training step", r.trainingStep?.text ?? "unavailable"],
            ["training step, FMA peak measured around each epoch", r.trainingStep?.besideText ?? "not measured"],
            ["peak resident memory", r.peakResidentMB.map { String(format: "%.0f MB", $0) } ?? "unavailable"],
        ]
        if !r.convAlgorithms.isEmpty {
            t.rows.append([
                "convolution algorithms",
                r.convAlgorithms.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "),
            ])
        }
        return "Results (measured):\n" + t.render()
    }
}
