import Datasets
import Foundation
import Hardware
import KerasWeights
import Kernels
import Layers
import Profiling
import Reports
import Runtime
import Tensor
import Training

/// A transfer experiment that cannot run on the data given.
public struct TransferError: Error, CustomStringConvertible {
    public let description: String
    public init(_ s: String) { description = s }
}

/// The settings of the lab's Part 6 (`cnnscope transfer`). With ImageNet weights the lab trains
/// the frozen model for `epochs` (10) at `batchSize` (64) and learning rate 1e-3, then a fresh
/// model with the top `unfreezeTop` (10) base layers unfrozen for `fineTuneEpochs` (5) at
/// `fineTuneBatchSize` (32) and 1e-4, each with EarlyStopping (`patience`, 0: off).
public struct TransferSettings {
    public var epochs: Int
    public var batchSize: Int
    public var unfreezeTop: Int
    public var freezeBase: Bool
    public var fineTuneEpochs = 5
    public var fineTuneBatchSize = 32
    public var patience = LabDefaults.patience
    /// Batches over which trained batch-norm layers' moving statistics are re-estimated (0: not).
    public var bnRecalibration: Int
    public var seed: UInt64
    /// The self-contained experiment: labelled target images, pre-training images and epochs.
    public var labelled: Int
    public var pretrainImages: Int
    public var pretrainEpochs: Int

    public init(
        epochs: Int, batchSize: Int, unfreezeTop: Int, freezeBase: Bool, bnRecalibration: Int, seed: UInt64,
        labelled: Int, pretrainImages: Int, pretrainEpochs: Int
    ) {
        self.epochs = epochs; self.batchSize = batchSize; self.unfreezeTop = unfreezeTop; self.freezeBase = freezeBase
        self.bnRecalibration = bnRecalibration; self.seed = seed; self.labelled = labelled
        self.pretrainImages = pretrainImages; self.pretrainEpochs = pretrainEpochs
    }
}

/// The lab's Part 6 as a library call. With Keras weights: the frozen base and the lab's head,
/// then the top N base layers fine-tuned at 1e-4, against the basic CNN. Without: pre-training on
/// classes 0-4, transfer to 5-9 with few labels (frozen, fine-tuned, from scratch).
public struct TransferExperiment {
    public let pool: WorkerPool
    public let options: ConvOptions
    public let selector: AutoSelector
    public let settings: TransferSettings
    public let log: (String) -> Void

    public init(
        pool: WorkerPool, options: ConvOptions, selector: AutoSelector, settings: TransferSettings,
        log: @escaping (String) -> Void
    ) {
        self.pool = pool; self.options = options; self.selector = selector; self.settings = settings; self.log = log
    }

    func printEpoch(_ r: EpochRecord) {
        log(
            String(
                format: "  epoch %d: %.1fs loss %.4f accuracy %.4f val_accuracy %.4f", r.epoch, r.seconds, r.loss,
                r.accuracy,
                r.valAccuracy ?? .nan))
    }

    /// Runs the experiment on `data` (train, validation, test). `weightsFile`: a Keras HDF5 file
    /// for the base; nil runs the self-contained experiment, which needs an MNIST-like data set.
    public func run(
        base: ModelProfile, basicCNN: ModelProfile, data: (Dataset, Dataset, Dataset), weightsFile: String?,
        target: [Int], datasetName: String, mnistLike: Bool
    ) throws -> TransferOutcome {
        var profile = base
        let baseNames = profile.layers.map(\.name)
        let size = target[0]
        func build(_ p: ModelProfile, input: [Int]) throws -> Sequential {
            try ModelBuilder.build(
                p, input: input, policy: .auto(selector), options: options, seed: settings.seed, resizeTo: target)
        }
        func train(
            _ name: String, mode: String, model: Sequential, lr: Double, trainSet: Dataset, val: Dataset, test: Dataset,
            epochs: Int = settings.epochs, batchSize: Int = settings.batchSize, patience: Int? = nil
        ) -> TransferRun {
            let trainer = Trainer(
                model: model, optimizer: Adam(learningRate: lr, isa: options.isa), runner: pool, seed: settings.seed)
            log(
                """
                \(name) (\(mode)): \(Format.grouped(model.trainableParameterCount)) trainable of \
                \(Format.grouped(model.parameterCount)) parameters, \(trainSet.count) images, learning rate \(lr)
                """
            )
            let t0 = Date()
            let history = trainer.fit(
                train: trainSet, validation: val,
                config: TrainConfig(epochs: epochs, batchSize: batchSize, patience: patience, seed: settings.seed),
                epochEnded: printEpoch)
            let recalibrated = BatchNormRecalibration.run(
                model, data: trainSet, batches: settings.bnRecalibration, batchSize: batchSize, runner: pool)
            let secs = Date().timeIntervalSince(t0)
            if recalibrated > 0 {
                log(
                    """
                      batch-norm statistics of \(recalibrated) trained layers re-estimated over \
                    \(settings.bnRecalibration) batches
                    """
                )
            }
            let (_, loss, acc) = trainer.predict(test, batchSize: batchSize)
            let inf = trainer.inferenceSecondsPerImage(test, images: min(500, test.count), batchSize: batchSize)
            return TransferRun(
                name: name, mode: mode, testAccuracy: acc, testLoss: loss, trainingSeconds: secs,
                inferenceMsPerImage: inf * 1e3,
                totalParameters: model.parameterCount, trainableParameters: model.trainableParameterCount,
                nonTrainableParameters: model.nonTrainableParameterCount, epochs: history.count, learningRate: lr,
                trainImages: trainSet.count, history: history)
        }

        var runs: [TransferRun] = []
        var imported: String?
        var samples: [TransferSample] = []
        let experiment: String
        let classNames: [String]
        if let w = weightsFile {
            experiment =
                """
                ImageNet weights from \(w), as the lab: frozen base (\(settings.epochs) epochs, learning rate 1e-3), \
                then a fresh model with the top \(settings.unfreezeTop) base layers unfrozen \
                (\(settings.fineTuneEpochs) epochs, batch \(settings.fineTuneBatchSize), 1e-4); basic CNN for comparison
                """
            let (trainSet, val, test) = data
            classNames = trainSet.classNames
            profile.classes = classNames.count
            let patience = settings.patience > 0 ? settings.patience : nil
            var importedText = ""
            /// The base with its ImageNet weights and a freshly initialised head.
            func freshModel(seed offset: UInt64) throws -> Sequential {
                let model = try ModelBuilder.build(
                    profile, input: trainSet.imageShape, policy: .auto(selector), options: options,
                    seed: settings.seed &+ offset, resizeTo: target)
                let s = try KerasWeightImporter.load(w, into: model, required: Set(baseNames))
                importedText =
                    "\(s.layers.count) layers, \(Format.grouped(s.parameters)) values loaded"
                    + (s.ignored.isEmpty ? "" : "; ignored: \(s.ignored.joined(separator: ", "))")
                return model
            }
            let model = try freshModel(seed: 0)
            imported = importedText
            log("Imported \(importedText) from \(w)")
            Freezing.apply(model, base: baseNames, unfreezeTop: 0)
            runs.append(
                train(
                    profile.name, mode: "frozen base", model: model, lr: 1e-3, trainSet: trainSet, val: val, test: test,
                    patience: patience))
            var last = model
            if !settings.freezeBase {
                // create_fine_tuned_model: a new model on the ImageNet base, its top layers unfrozen.
                let tuned = try freshModel(seed: 1)
                Freezing.apply(tuned, base: baseNames, unfreezeTop: settings.unfreezeTop)
                runs.append(
                    train(
                        profile.name, mode: "fine-tuned (top \(settings.unfreezeTop) unfrozen)", model: tuned, lr: 1e-4,
                        trainSet: trainSet, val: val, test: test, epochs: settings.fineTuneEpochs,
                        batchSize: settings.fineTuneBatchSize, patience: patience))
                last = tuned
            }
            let basic = basicCNN
            // The basic CNN at the data's own size, as the lab's cifar_cnn.
            let cnn = try ModelBuilder.build(
                basic, input: trainSet.imageShape, policy: .auto(selector), options: options, seed: settings.seed)
            runs.append(
                train(
                    "basic-cnn", mode: "from scratch", model: cnn, lr: basic.learningRate, trainSet: trainSet, val: val,
                    test: test, patience: patience))
            samples = Self.samples(last, test, classNames: classNames, runner: pool)
        } else {
            guard mnistLike else {
                throw TransferError(
                    """
                    the self-contained experiment uses an MNIST-like data set (fashion-mnist, mnist or \
                    synthetic); pass --weights FILE to transfer to \(datasetName)
                    """
                )
            }
            experiment =
                """
                self-contained: pre-trained on classes 0-4, transferred to classes 5-9 with \(settings.labelled) \
                labelled images
                """
            let (fullTrain, fullVal, fullTest) = data
            let source = fullTrain.subset(classes: [0, 1, 2, 3, 4], limit: settings.pretrainImages)
            let sourceVal = fullVal.subset(classes: [0, 1, 2, 3, 4])
            let targetTrain = fullTrain.subset(classes: [5, 6, 7, 8, 9], limit: settings.labelled)
            let targetVal = fullVal.subset(classes: [5, 6, 7, 8, 9])
            let targetTest = fullTest.subset(classes: [5, 6, 7, 8, 9])
            guard source.count >= 10, targetTrain.count >= 10, targetTest.count >= 1 else {
                throw TransferError(
                    """
                    too few images of classes 0-4 / 5-9 in the data (\(source.count), \(targetTrain.count)); \
                    raise --limit
                    """
                )
            }
            classNames = targetTest.classNames
            profile.classes = 5
            // Pre-training on classes 0-4: the base learns features the other classes share.
            let pre = try build(profile, input: fullTrain.imageShape)
            let trainer = Trainer(
                model: pre, optimizer: Adam(learningRate: profile.learningRate, isa: options.isa), runner: pool,
                seed: settings.seed)
            log(
                """
                Pre-training \(profile.name) at \(size)x\(size) on \(source.count) images of classes 0-4 \
                (\(source.classNames.joined(separator: ", ")))
                """
            )
            let t0 = Date()
            _ = trainer.fit(
                train: source, validation: sourceVal,
                config: TrainConfig(
                    epochs: settings.pretrainEpochs, batchSize: settings.batchSize, seed: settings.seed),
                epochEnded: printEpoch)
            BatchNormRecalibration.run(
                pre, data: source, batches: settings.bnRecalibration, batchSize: settings.batchSize, runner: pool)
            let (_, _, preAcc) = trainer.predict(
                fullTest.subset(classes: [0, 1, 2, 3, 4]), batchSize: settings.batchSize)
            imported = String(
                format: "pre-trained on %d images of classes 0-4 in %.1f s: test accuracy on 0-4 %.2f%%", source.count,
                Date().timeIntervalSince(t0), preAcc * 100)
            log(imported!)

            let frozen = try build(profile, input: fullTrain.imageShape)
            try Freezing.copyWeights(from: pre, to: frozen, layers: baseNames)
            Freezing.apply(frozen, base: baseNames, unfreezeTop: 0)
            runs.append(
                train(
                    profile.name, mode: "frozen base", model: frozen, lr: 1e-3, trainSet: targetTrain, val: targetVal,
                    test: targetTest))
            if !settings.freezeBase {
                Freezing.apply(frozen, base: baseNames, unfreezeTop: settings.unfreezeTop)
                runs.append(
                    train(
                        profile.name, mode: "fine-tuned (top \(settings.unfreezeTop) unfrozen)", model: frozen,
                        lr: 1e-4, trainSet: targetTrain, val: targetVal, test: targetTest))
            }
            let scratch = try ModelBuilder.build(
                profile, input: fullTrain.imageShape, policy: .auto(selector), options: options,
                seed: settings.seed &+ 1, resizeTo: target)
            runs.append(
                train(
                    profile.name, mode: "from scratch (same architecture)", model: scratch, lr: profile.learningRate,
                    trainSet: targetTrain, val: targetVal, test: targetTest))
            let basic = basicCNN
            var basic5 = basic
            basic5.classes = 5
            let cnn = try ModelBuilder.build(
                basic5, input: fullTrain.imageShape, policy: .auto(selector), options: options, seed: settings.seed)
            runs.append(
                train(
                    "basic-cnn", mode: "from scratch", model: cnn, lr: basic.learningRate, trainSet: targetTrain,
                    val: targetVal, test: targetTest))
            samples = Self.samples(frozen, targetTest, classNames: classNames, runner: pool)
        }

        return TransferOutcome(
            runs: runs, experiment: experiment, imported: imported, classNames: classNames, samples: samples)
    }

    /// The first ten test images with their true and predicted class (from the last transferred
    /// model), as the lab's display_predictions shows them.
    static func samples(_ model: Sequential, _ test: Dataset, classNames: [String], runner: ParallelRunner)
        -> [TransferSample]
    {
        let trainer = Trainer(model: model, optimizer: Adam(), runner: runner)
        let few = test.prefix(10)
        let (pred, _, _) = trainer.predict(few, batchSize: few.count)
        let s = few.imageShape
        return (0..<few.count).map { i in
            TransferSample(
                truth: classNames[Int(few.labels[i])], predicted: classNames[Int(pred[i])],
                png: EnlargedImage.png(
                    few.images.data + i * s[0] * s[1] * s[2], height: s[0], width: s[1], channels: s[2],
                    scale: max(1, 64 / max(1, s[0]))))
        }
    }
}
