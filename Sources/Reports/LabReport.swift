import Figures
import Roofline

/// The lab's run file (`lab.json`, schema cnnscope.lab/1).
public struct LabReport: Codable, Sendable {
    public static let currentSchema = "cnnscope.lab/1"
    public var schema = LabReport.currentSchema
    public var createdAt: String
    public var commandLine: String
    public var dataset: String
    public var classNames: [String]
    public var epochs: Int
    public var trainImages: Int
    public var testImages: Int
    public var threads: Int
    /// The machine identity the lab ran on (nil in files of older versions).
    public var machine: String?
    public var roofline: Roofline
    public var models: [LabModel]
    /// The augmentation used in training, when the extension was on.
    public var augmentation: String?
    /// Int8 post-training quantisation against float, per model (the extension, when on).
    public var quantization: [LabQuantization]?
    /// Grad-CAM pictures (relative PNG paths), when the extension was on.
    public var gradCAM: [LabGradCAM]?
    public var notes: [String]

    public init(
        createdAt: String, commandLine: String, dataset: String, classNames: [String], epochs: Int, trainImages: Int,
        testImages: Int, threads: Int, machine: String? = nil, roofline: Roofline, models: [LabModel],
        augmentation: String? = nil, notes: [String]
    ) {
        self.machine = machine
        self.createdAt = createdAt; self.commandLine = commandLine; self.dataset = dataset; self.classNames = classNames
        self.epochs = epochs; self.trainImages = trainImages; self.testImages = testImages; self.threads = threads
        self.roofline = roofline; self.models = models; self.augmentation = augmentation; self.notes = notes
    }

    public var cnns: [LabModel] { models.filter { !$0.fullyConnected } }
    /// basic-cnn and its average-pooling twin, when the pooling study ran.
    public var poolingPair: (max: LabModel, avg: LabModel)? {
        guard let a = models.first(where: { $0.name == "basic-cnn" }),
            let b = models.first(where: { $0.name == "basic-cnn-avgpool" })
        else { return nil }
        return (a, b)
    }
    public var mostAccurate: LabModel? { models.max { $0.testAccuracy < $1.testAccuracy } }
    public var fastestInference: LabModel? { models.min { $0.inferenceMsPerImage < $1.inferenceMsPerImage } }
    public var mostParameterEfficient: LabModel? {
        models.max { $0.accuracyPerMillionParameters < $1.accuracyPerMillionParameters }
    }
}

/// One model quantised to int8 after training: accuracy and speed against its float self,
/// measured in the same run on the same test images.
public struct LabQuantization: Codable, Sendable {
    public var model: String
    public var floatAccuracy: Double, int8Accuracy: Double
    public var floatMsPerImage: Double, int8MsPerImage: Double
    public var floatWeightBytes: Int, int8WeightBytes: Int
    /// Test images on which the two models predict different classes.
    public var disagreements: Int
    public var quantizedLayers: [String]
    /// Convolution and dense layers left float because their int8 form ran slower on a calibration
    /// batch (measured); nil in reports written before the choice existed.
    public var floatLayers: [String]?
    /// Int8 layers that run Winograd with an 8-bit transform domain (rounded transforms: chosen where
    /// fastest and within the allowed error of the exact forms); nil in earlier reports.
    public var roundedLayers: [String]?
    public init(
        model: String, floatAccuracy: Double, int8Accuracy: Double, floatMsPerImage: Double, int8MsPerImage: Double,
        floatWeightBytes: Int, int8WeightBytes: Int, disagreements: Int, quantizedLayers: [String],
        floatLayers: [String]? = nil, roundedLayers: [String]? = nil
    ) {
        self.model = model; self.floatAccuracy = floatAccuracy; self.int8Accuracy = int8Accuracy
        self.floatMsPerImage = floatMsPerImage; self.int8MsPerImage = int8MsPerImage
        self.floatWeightBytes = floatWeightBytes; self.int8WeightBytes = int8WeightBytes
        self.disagreements = disagreements; self.quantizedLayers = quantizedLayers
        self.floatLayers = floatLayers; self.roundedLayers = roundedLayers
    }
}

/// Grad-CAM for one sample image: the class explained and the overlay picture.
public struct LabGradCAM: Codable, Sendable {
    public var model: String, layer: String, truth: String, predicted: String, picture: String
    public init(model: String, layer: String, truth: String, predicted: String, picture: String) {
        self.model = model; self.layer = layer; self.truth = truth; self.predicted = predicted; self.picture = picture
    }
}

public struct LabEpoch: Codable, Sendable {
    public var epoch: Int, loss: Double, accuracy: Double, valLoss: Double?, valAccuracy: Double?
    public init(epoch: Int, loss: Double, accuracy: Double, valLoss: Double?, valAccuracy: Double?) {
        self.epoch = epoch; self.loss = loss; self.accuracy = accuracy; self.valLoss = valLoss;
        self.valAccuracy = valAccuracy
    }
}

/// Hardware view of one layer at inference (batch 64, auto).
public struct LabLayer: Codable, Sendable {
    public var name: String, type: String, convAlgorithm: String?
    public var ms: Figure, gflops: Figure, efficiency: Figure
    public init(name: String, type: String, convAlgorithm: String?, ms: Figure, gflops: Figure, efficiency: Figure) {
        self.name = name; self.type = type; self.convAlgorithm = convAlgorithm; self.ms = ms; self.gflops = gflops;
        self.efficiency = efficiency
    }
}

public struct LabModel: Codable, Sendable {
    public var name: String
    public var description: String
    public var fullyConnected: Bool
    public var testAccuracy: Double
    public var testLoss: Double
    public var trainingSeconds: Double
    public var inferenceMsPerImage: Double
    public var totalParameters: Int
    public var trainableParameters: Int
    public var parametersPerSecond: Double
    /// Test accuracy in percent per million parameters (`LabFormulas.accuracyPerMillionParameters`).
    public var accuracyPerMillionParameters: Double
    public var epochsTrained: Int
    public var history: [LabEpoch]
    /// confusion[true][predicted] counts on the test set.
    public var confusion: [[Int]]
    public var layers: [LabLayer]
    public var modelGFLOPs: Figure
    public var modelEfficiency: Figure
    /// Relative paths of this model's pictures (PNG) and full profile report.
    public var pictures: [String: String]
    public var profileReport: String?

    public init(
        name: String, description: String, fullyConnected: Bool, testAccuracy: Double, testLoss: Double,
        trainingSeconds: Double,
        inferenceMsPerImage: Double, totalParameters: Int, trainableParameters: Int, parametersPerSecond: Double,
        accuracyPerMillionParameters: Double, epochsTrained: Int, history: [LabEpoch], confusion: [[Int]],
        layers: [LabLayer],
        modelGFLOPs: Figure, modelEfficiency: Figure, pictures: [String: String], profileReport: String?
    ) {
        self.name = name; self.description = description; self.fullyConnected = fullyConnected;
        self.testAccuracy = testAccuracy
        self.testLoss = testLoss; self.trainingSeconds = trainingSeconds; self.inferenceMsPerImage = inferenceMsPerImage
        self.totalParameters = totalParameters; self.trainableParameters = trainableParameters;
        self.parametersPerSecond = parametersPerSecond
        self.accuracyPerMillionParameters = accuracyPerMillionParameters; self.epochsTrained = epochsTrained;
        self.history = history
        self.confusion = confusion; self.layers = layers; self.modelGFLOPs = modelGFLOPs;
        self.modelEfficiency = modelEfficiency
        self.pictures = pictures; self.profileReport = profileReport
    }

    /// Row-normalised confusion matrix.
    public var normalisedConfusion: [[Double]] {
        confusion.map { row in
            let s = Double(row.reduce(0, +)); return row.map { s > 0 ? Double($0) / s : 0 }
        }
    }

    /// The (true, predicted) pair off the diagonal with the largest share of its true class.
    public var mostConfused: (truth: Int, predicted: Int, fraction: Double)? {
        var best: (Int, Int, Double)?
        for (i, row) in normalisedConfusion.enumerated() {
            for (j, v) in row.enumerated() where i != j && (best == nil || v > best!.2) { best = (i, j, v) }
        }
        return best
    }
}
