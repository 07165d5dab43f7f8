import Reports
import Training

/// One transfer run's metrics (the lab's Part 6 table).
public struct TransferRun: Codable, Sendable {
    public var name: String
    public var mode: String
    public var testAccuracy: Double
    public var testLoss: Double
    public var trainingSeconds: Double
    public var inferenceMsPerImage: Double
    public var totalParameters: Int
    public var trainableParameters: Int
    public var nonTrainableParameters: Int
    public var epochs: Int
    public var learningRate: Double
    public var trainImages: Int
    public var history: [EpochRecord]

    /// The lab's transfer_df column: test accuracy in percent per million parameters.
    public var accuracyPerMillionParameters: Double {
        LabFormulas.accuracyPerMillionParameters(accuracy: testAccuracy, parameters: totalParameters)
    }

    public init(
        name: String, mode: String, testAccuracy: Double, testLoss: Double, trainingSeconds: Double,
        inferenceMsPerImage: Double, totalParameters: Int, trainableParameters: Int, nonTrainableParameters: Int,
        epochs: Int, learningRate: Double, trainImages: Int, history: [EpochRecord]
    ) {
        self.name = name; self.mode = mode; self.testAccuracy = testAccuracy; self.testLoss = testLoss
        self.trainingSeconds = trainingSeconds; self.inferenceMsPerImage = inferenceMsPerImage
        self.totalParameters = totalParameters; self.trainableParameters = trainableParameters
        self.nonTrainableParameters = nonTrainableParameters; self.epochs = epochs; self.learningRate = learningRate
        self.trainImages = trainImages; self.history = history
    }
}

public struct TransferResults: Codable {
    public var schema = "cnnscope.transfer/1"
    /// The machine identity the run was measured on (nil in files of older versions).
    public var machine: String?
    public var base: String
    public var experiment: String
    public var weights: String?
    public var imported: String?
    public var dataset: String
    public var inputSize: [Int]
    public var classes: [String]
    public var runs: [TransferRun]
    public var samplePredictions: [String]
    /// Batches over which trained batch-norm layers' moving statistics were re-estimated (0: not).
    public var batchNormRecalibrationBatches: Int
    public var threads: Int
    public var seed: UInt64
    public var commandLine: String
    public var provenance =
        "times: measured (monotonic clock); accuracies: computed on the test images; parameters: counted from the model"

    public init(
        machine: String?, base: String, experiment: String, weights: String?, imported: String?, dataset: String,
        inputSize: [Int], classes: [String], runs: [TransferRun], samplePredictions: [String],
        batchNormRecalibrationBatches: Int, threads: Int, seed: UInt64, commandLine: String
    ) {
        self.machine = machine; self.base = base; self.experiment = experiment; self.weights = weights
        self.imported = imported; self.dataset = dataset; self.inputSize = inputSize; self.classes = classes
        self.runs = runs; self.samplePredictions = samplePredictions
        self.batchNormRecalibrationBatches = batchNormRecalibrationBatches; self.threads = threads; self.seed = seed
        self.commandLine = commandLine
    }
}

/// One test image with its true and predicted class, and the image as PNG bytes.
public struct TransferSample: Sendable {
    public var truth: String
    public var predicted: String
    public var png: [UInt8]
    public var right: Bool { truth == predicted }
    public var text: String { "true \(truth), predicted \(predicted)" + (right ? " (right)" : " (wrong)") }
}

/// What `TransferExperiment.run` produced: the runs, the experiment in words, what the base was
/// given, the target classes and the sample predictions of the last run.
public struct TransferOutcome: Sendable {
    public var runs: [TransferRun]
    public var experiment: String
    public var imported: String?
    public var classNames: [String]
    public var samples: [TransferSample]
}
