import Datasets
import Figures
import Foundation
import Profiling
import Reports
import Training

/// `cnnscope transfer`: the lab's Part 6 (frozen ImageNet base, fine-tuned top layers, the basic
/// CNN for comparison), or the self-contained experiment without weights; written as a folder.
public struct TransferJob {
    /// The base profile (mobilenetv2, vgg16, or any profile with a head).
    public var base = "mobilenetv2"
    /// A Keras HDF5 weight file for the base; nil runs the self-contained experiment.
    public var weights: String?
    public var data = DataSelection()
    public var freezeBase = false
    public var unfreezeTop = 10
    /// Images are resized to SIZE x SIZE; nil is 224 with weights (the lab's), 32 without.
    public var inputSize: Int?
    /// Epochs of the frozen run (and of the basic CNN); nil is the lab's 10 with weights, 2 without.
    public var epochs: Int?
    /// The fine-tuned run: epochs and batch size (the lab's 5 and 32).
    public var fineTuneEpochs = 5
    public var fineTuneBatchSize = 32
    /// EarlyStopping on val_accuracy for the runs with weights (0: off).
    public var patience = LabDefaults.patience
    public var labelled = 1000
    public var pretrainEpochs = 1
    public var pretrainImages = 30000
    public var batchSize = 64
    public var bnRecalibration = 50
    public var seed: UInt64 = 42
    /// The report folder; nil is <reports>/<identity>/transfer-<base>-<time> (`RunEnvironment.reportsRoot`).
    public var output: String?
    /// How the data set is named in the results; nil is its --dataset name.
    public var datasetLabel: String?

    public init() {}

    /// The ImageNet weights `cnnscope data fetch mobilenetv2-imagenet` stored, for the mobilenetv2
    /// base, when they are there.
    public static func fetchedWeights(_ base: String, environment: [String: String]) -> String? {
        guard base == "mobilenetv2" else { return nil }
        let file = DataCatalog.defaultFolder("mobilenetv2-imagenet", environment: environment)
            .appendingPathComponent("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5").path
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    public func validate() throws {
        if let s = inputSize, s < 32 || s > 512 {
            throw WorkflowError("--input-size must be between 32 and 512, got \(s).")
        }
        for (name, v) in [("--epochs", epochs ?? 1), ("--fine-tune-epochs", fineTuneEpochs)] where v < 1 {
            throw WorkflowError("\(name) must be at least 1, got \(v).")
        }
        if fineTuneBatchSize < 1 { throw WorkflowError("--fine-tune-batch-size must be at least 1.") }
        if patience < 0 { throw WorkflowError("--patience must be 0 (off) or more, got \(patience).") }
        if unfreezeTop < 0 { throw WorkflowError("--unfreeze-top must be 0 or more, got \(unfreezeTop).") }
        if labelled < 10 { throw WorkflowError("--labelled must be at least 10, got \(labelled).") }
        if pretrainImages < 100 {
            throw WorkflowError("--pretrain-images must be at least 100, got \(pretrainImages).")
        }
        if batchSize < 1 { throw WorkflowError("--batch-size must be at least 1, got \(batchSize).") }
        if bnRecalibration < 0 { throw WorkflowError("--bn-recalibration must be 0 or more, got \(bnRecalibration).") }
        if let w = weights, !FileManager.default.fileExists(atPath: w) {
            throw WorkflowError(
                """
                --weights \(w): no such file; give the path of a Keras .h5 weight file (keras.applications caches \
                them under ~/.keras/models/).
                """)
        }
    }

    /// Runs the experiment, writes results.json, report.md and predictions.html, and returns
    /// the results, the prediction pictures and the Markdown report to print.
    public func run(in env: RunEnvironment) throws -> (
        results: TransferResults, samples: [TransferSample], text: String
    ) {
        let profile = try env.model(base)
        guard !profile.layers.isEmpty, !profile.head.isEmpty else {
            throw WorkflowError(
                """
                \(profile.source): '\(profile.name)' is not a base: transfer needs a graph profile with layers: \
                and a head: (mobilenetv2, vgg16)
                """)
        }
        defer { env.finish() }
        let dir = env.outputFolder(output, name: "transfer-\(profile.name)")
        let size = inputSize ?? (weights == nil ? 32 : 224)
        let target = [size, size, profile.inputShape?[2] ?? 3]
        var settings = TransferSettings(
            epochs: epochs ?? (weights == nil ? 2 : LabDefaults.epochs), batchSize: batchSize, unfreezeTop: unfreezeTop,
            freezeBase: freezeBase,
            bnRecalibration: bnRecalibration, seed: seed, labelled: labelled,
            pretrainImages: pretrainImages, pretrainEpochs: pretrainEpochs)
        (settings.fineTuneEpochs, settings.fineTuneBatchSize, settings.patience) =
            (fineTuneEpochs, fineTuneBatchSize, patience)
        let experiment = TransferExperiment(
            pool: env.pool, options: env.options, selector: env.selector, settings: settings, log: env.log)
        let out: TransferOutcome
        do {
            out = try experiment.run(
                base: profile, basicCNN: try env.model("basic-cnn"),
                data: try data.load(seed: seed, environment: env.environment), weightsFile: weights, target: target,
                datasetName: data.dataset.rawValue, mnistLike: data.dataset.isMNISTLike)
        } catch let e as TransferError { throw WorkflowError(e.description) }
        let results = TransferResults(
            machine: env.identityName, base: profile.name, experiment: out.experiment, weights: weights,
            imported: out.imported, dataset: datasetLabel ?? data.dataset.rawValue, inputSize: target,
            classes: out.classNames,
            runs: out.runs,
            samplePredictions: out.samples.enumerated().map { "image \($0.offset): \($0.element.text)" },
            batchNormRecalibrationBatches: bnRecalibration, threads: env.threads, seed: seed,
            commandLine: env.commandLine)
        let md = TransferRenderer.markdown(results)
        let staging = try StagingFolder(finalDir: dir)
        try staging.write(try JSONText.pretty(results) + "\n", to: "results.json")
        try staging.write(md, to: "report.md")
        try staging.write(
            TransferRenderer.predictionsHTML(
                out.samples, title: "\(profile.name): predictions of the last transfer run"),
            to: "predictions.html")
        try staging.commit()
        return (results, out.samples, md + "\nSaved \(dir)/results.json, \(dir)/report.md and \(dir)/predictions.html")
    }
}
