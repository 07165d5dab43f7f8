import ArgumentParser
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

/// One transfer run's metrics (the lab's Part 6 table).
struct TransferRun: Codable {
    var name: String
    var mode: String
    var testAccuracy: Double
    var testLoss: Double
    var trainingSeconds: Double
    var inferenceMsPerImage: Double
    var totalParameters: Int
    var trainableParameters: Int
    var nonTrainableParameters: Int
    var epochs: Int
    var learningRate: Double
    var trainImages: Int
    var history: [EpochRecord]
}

struct TransferResults: Codable {
    var schema = "cnnscope.transfer/1"
    /// The machine identity the run was measured on (nil in files of older versions).
    var machine: String?
    var base: String
    var experiment: String
    var weights: String?
    var imported: String?
    var dataset: String
    var inputSize: [Int]
    var classes: [String]
    var runs: [TransferRun]
    var samplePredictions: [String]
    /// Batches over which trained batch-norm layers' moving statistics were re-estimated (0: not).
    var batchNormRecalibrationBatches: Int
    var threads: Int
    var seed: UInt64
    var commandLine: String
    var provenance = "times: measured (monotonic clock); accuracies: computed on the test images; parameters: counted from the model"
}

struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Transfer learning from an ImageNet base (the lab's Part 6): frozen base, fine-tuned top layers, and the basic CNN for comparison.",
        discussion: """
        With --weights (a Keras HDF5 file such as mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5), \
        the base's layers load by name and the lab's head (GlobalAveragePooling2D, Dense 256 relu, Dropout 0.3, \
        Dense classes) is trained on the data set with the base frozen, then the top N base layers are unfrozen \
        and trained further with learning rate 1e-4; the basic CNN is trained on the same images for comparison. \
        Without --weights, a self-contained experiment that needs no download: the base is pre-trained on \
        Fashion-MNIST classes 0-4, then transferred to classes 5-9 with few labelled images, frozen vs \
        fine-tuned vs the same architecture trained from scratch. Images are converted grey to RGB and \
        resized (bilinear) to --input-size.
        """)

    @Option(help: "The base model profile (mobilenetv2 or vgg16, or any profile with a head: section).")
    var base = "mobilenetv2"

    @Option(help: "A Keras HDF5 weight file for the base; without it the self-contained Fashion-MNIST 0-4 to 5-9 experiment runs.")
    var weights: String?

    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var machineOptions: MachineOptions

    @Flag(help: "Train only the head on the frozen base (no fine-tuning run).")
    var freezeBase = false

    @Option(help: "After the frozen run, unfreeze the top N layers of the base and train on with learning rate 1e-4 (the lab unfreezes 10).")
    var unfreezeTop = 10

    @Option(help: "Images are resized to SIZE x SIZE before the base (ImageNet weights expect 96 to 224; the default is 96 with weights, 32 for the self-contained experiment).")
    var inputSize: Int?

    @Option(help: "Epochs for each transfer run (frozen, fine-tuned, from scratch, basic CNN).")
    var epochs = 2

    @Option(help: "Self-contained experiment: labelled training images of classes 5-9 for the transfer runs.")
    var labelled = 1000

    @Option(help: "Self-contained experiment: epochs of pre-training on classes 0-4.")
    var pretrainEpochs = 1

    @Option(help: "Self-contained experiment: at most this many images of classes 0-4 for pre-training.")
    var pretrainImages = 30000

    @Option(help: "Mini-batch size.")
    var batchSize = 64

    @Option(help: "After each run, re-estimate the moving statistics of the batch-norm layers that trained over this many training batches (0: keep Keras's momentum-0.999 averages, which barely move in a short run).")
    var bnRecalibration = 50

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 42

    @Option(help: "Report folder; the default is Reports/<machine identity>/transfer-<base>-<time>.")
    var output: String?

    func validate() throws {
        if let s = inputSize, s < 32 || s > 512 { throw ValidationError("--input-size must be between 32 and 512, got \(s).") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if unfreezeTop < 0 { throw ValidationError("--unfreeze-top must be 0 or more, got \(unfreezeTop).") }
        if labelled < 10 { throw ValidationError("--labelled must be at least 10, got \(labelled).") }
        if pretrainImages < 100 { throw ValidationError("--pretrain-images must be at least 100, got \(pretrainImages).") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if bnRecalibration < 0 { throw ValidationError("--bn-recalibration must be 0 or more, got \(bnRecalibration).") }
        if let w = weights, !FileManager.default.fileExists(atPath: w) {
            throw ValidationError("--weights \(w): no such file; give the path of a Keras .h5 weight file (keras.applications caches them under ~/.keras/models/).")
        }
    }

    func run() throws {
        Console.lineBuffered()
        var profile = try ModelOptions.profile(named: base)
        guard !profile.layers.isEmpty, !profile.head.isEmpty else {
            throw CLIError("\(profile.source): '\(profile.name)' is not a base: transfer needs a graph profile with layers: and a head: (mobilenetv2, vgg16)")
        }
        let rt = execution.runtime()
        let machine = try machineOptions.session(cpu: try? CPUFeatures.detect(), topology: rt.topology)
        let selector = machine.selector(options: rt.options)
        defer { machine.keep(selector) }
        let baseNames = profile.layers.map(\.name)
        let dir = output ?? "Reports/\(machine.identity.name)/transfer-\(profile.name)-\(TrainCommand.timestamp())"
        let size = inputSize ?? (weights == nil ? 32 : 96)
        let channels = profile.inputShape?[2] ?? 3
        let target = [size, size, channels]

        func build(_ p: ModelProfile, input: [Int]) throws -> Sequential {
            try ModelBuilder.build(p, input: input, policy: .auto(selector), options: rt.options, seed: seed, resizeTo: target)
        }
        func train(_ name: String, mode: String, model: Sequential, lr: Double, trainSet: Dataset, val: Dataset, test: Dataset) -> TransferRun {
            let trainer = Trainer(model: model, optimizer: Adam(learningRate: lr), runner: rt.pool, seed: seed)
            print("\(name) (\(mode)): \(SummaryCommand.grouped(model.trainableParameterCount)) trainable of \(SummaryCommand.grouped(model.parameterCount)) parameters, \(trainSet.count) images, learning rate \(lr)")
            let t0 = Date()
            let history = trainer.fit(train: trainSet, validation: val, config: TrainConfig(epochs: epochs, batchSize: batchSize, seed: seed),
                                      epochEnded: Self.printEpoch)
            let recalibrated = BatchNormRecalibration.run(model, data: trainSet, batches: bnRecalibration, batchSize: batchSize, runner: rt.pool)
            let secs = Date().timeIntervalSince(t0)
            if recalibrated > 0 { print("  batch-norm statistics of \(recalibrated) trained layers re-estimated over \(bnRecalibration) batches") }
            let (_, loss, acc) = trainer.predict(test, batchSize: batchSize)
            let inf = trainer.inferenceSecondsPerImage(test, images: min(500, test.count), batchSize: batchSize)
            return TransferRun(name: name, mode: mode, testAccuracy: acc, testLoss: loss, trainingSeconds: secs, inferenceMsPerImage: inf * 1e3,
                               totalParameters: model.parameterCount, trainableParameters: model.trainableParameterCount,
                               nonTrainableParameters: model.nonTrainableParameterCount, epochs: history.count, learningRate: lr,
                               trainImages: trainSet.count, history: history)
        }

        var runs: [TransferRun] = []
        var imported: String?
        var samples: [String] = []
        let experiment: String
        let classNames: [String]
        if let w = weights {
            experiment = "ImageNet weights from \(w): frozen base, then top \(unfreezeTop) layers fine-tuned; basic CNN for comparison"
            let (trainSet, val, test) = try data.load(seed: seed)
            classNames = trainSet.classNames
            profile.classes = classNames.count
            let model = try build(profile, input: trainSet.imageShape)
            let s = try KerasWeightImporter.load(w, into: model, required: Set(baseNames))
            imported = "\(s.layers.count) layers, \(SummaryCommand.grouped(s.parameters)) values loaded" + (s.ignored.isEmpty ? "" : "; ignored: \(s.ignored.joined(separator: ", "))")
            print("Imported \(imported!) from \(w)")
            Freezing.apply(model, base: baseNames, unfreezeTop: 0)
            runs.append(train(profile.name, mode: "frozen base", model: model, lr: 1e-3, trainSet: trainSet, val: val, test: test))
            if !freezeBase {
                Freezing.apply(model, base: baseNames, unfreezeTop: unfreezeTop)
                runs.append(train(profile.name, mode: "fine-tuned (top \(unfreezeTop) unfrozen)", model: model, lr: 1e-4, trainSet: trainSet, val: val, test: test))
            }
            let basic = try ModelOptions.profile(named: "basic-cnn")
            let cnn = try ModelBuilder.build(basic, input: trainSet.imageShape, policy: .auto(selector), options: rt.options, seed: seed)
            runs.append(train("basic-cnn", mode: "from scratch", model: cnn, lr: basic.learningRate, trainSet: trainSet, val: val, test: test))
            samples = Self.samples(model, test, classNames: classNames, runner: rt.pool)
        } else {
            guard data.dataset == .fashionMnist || data.dataset == .mnist || data.dataset == .synthetic else {
                throw CLIError("the self-contained experiment uses an MNIST-like data set (fashion-mnist, mnist or synthetic); pass --weights FILE to transfer to \(data.dataset.rawValue)")
            }
            experiment = "self-contained: pre-trained on classes 0-4, transferred to classes 5-9 with \(labelled) labelled images"
            let (fullTrain, fullVal, fullTest) = try data.load(seed: seed)
            let source = fullTrain.subset(classes: [0, 1, 2, 3, 4], limit: pretrainImages)
            let sourceVal = fullVal.subset(classes: [0, 1, 2, 3, 4])
            let targetTrain = fullTrain.subset(classes: [5, 6, 7, 8, 9], limit: labelled)
            let targetVal = fullVal.subset(classes: [5, 6, 7, 8, 9])
            let targetTest = fullTest.subset(classes: [5, 6, 7, 8, 9])
            guard source.count >= 10, targetTrain.count >= 10, targetTest.count >= 1 else {
                throw CLIError("too few images of classes 0-4 / 5-9 in the data (\(source.count), \(targetTrain.count)); raise --limit")
            }
            classNames = targetTest.classNames
            profile.classes = 5
            // Pre-training on classes 0-4: the base learns features the other classes share.
            let pre = try build(profile, input: fullTrain.imageShape)
            let trainer = Trainer(model: pre, optimizer: Adam(learningRate: profile.learningRate), runner: rt.pool, seed: seed)
            print("Pre-training \(profile.name) at \(size)x\(size) on \(source.count) images of classes 0-4 (\(source.classNames.joined(separator: ", ")))")
            let t0 = Date()
            _ = trainer.fit(train: source, validation: sourceVal, config: TrainConfig(epochs: pretrainEpochs, batchSize: batchSize, seed: seed),
                            epochEnded: Self.printEpoch)
            BatchNormRecalibration.run(pre, data: source, batches: bnRecalibration, batchSize: batchSize, runner: rt.pool)
            let (_, _, preAcc) = trainer.predict(fullTest.subset(classes: [0, 1, 2, 3, 4]), batchSize: batchSize)
            imported = String(format: "pre-trained on %d images of classes 0-4 in %.1f s: test accuracy on 0-4 %.2f%%", source.count, Date().timeIntervalSince(t0), preAcc * 100)
            print(imported!)

            let frozen = try build(profile, input: fullTrain.imageShape)
            try Freezing.copyWeights(from: pre, to: frozen, layers: baseNames)
            Freezing.apply(frozen, base: baseNames, unfreezeTop: 0)
            runs.append(train(profile.name, mode: "frozen base", model: frozen, lr: 1e-3, trainSet: targetTrain, val: targetVal, test: targetTest))
            if !freezeBase {
                Freezing.apply(frozen, base: baseNames, unfreezeTop: unfreezeTop)
                runs.append(train(profile.name, mode: "fine-tuned (top \(unfreezeTop) unfrozen)", model: frozen, lr: 1e-4, trainSet: targetTrain, val: targetVal, test: targetTest))
            }
            let scratch = try ModelBuilder.build(profile, input: fullTrain.imageShape, policy: .auto(selector), options: rt.options,
                                                 seed: seed &+ 1, resizeTo: target)
            runs.append(train(profile.name, mode: "from scratch (same architecture)", model: scratch, lr: profile.learningRate, trainSet: targetTrain, val: targetVal, test: targetTest))
            let basic = try ModelOptions.profile(named: "basic-cnn")
            var basic5 = basic
            basic5.classes = 5
            let cnn = try ModelBuilder.build(basic5, input: fullTrain.imageShape, policy: .auto(selector), options: rt.options, seed: seed)
            runs.append(train("basic-cnn", mode: "from scratch", model: cnn, lr: basic.learningRate, trainSet: targetTrain, val: targetVal, test: targetTest))
            samples = Self.samples(frozen, targetTest, classNames: classNames, runner: rt.pool)
        }

        let results = TransferResults(machine: machine.identity.name, base: profile.name, experiment: experiment, weights: weights, imported: imported,
                                      dataset: data.dataset.rawValue, inputSize: target, classes: classNames, runs: runs,
                                      samplePredictions: samples, batchNormRecalibrationBatches: bnRecalibration, threads: rt.threads, seed: seed,
                                      commandLine: CommandLine.arguments.joined(separator: " "))
        let md = Self.markdown(results)
        print(md)
        let staging = try StagingFolder(finalDir: dir)
        try staging.write(try Console.json(results) + "\n", to: "results.json")
        try staging.write(md, to: "report.md")
        try staging.commit()
        print("Saved \(dir)/results.json and \(dir)/report.md")
    }

    static func printEpoch(_ r: EpochRecord) {
        print(String(format: "  epoch %d: %.1fs loss %.4f accuracy %.4f val_accuracy %.4f", r.epoch, r.seconds, r.loss, r.accuracy, r.valAccuracy ?? .nan))
    }

    /// The first ten test images: true and predicted class (from the last transferred model).
    static func samples(_ model: Sequential, _ test: Dataset, classNames: [String], runner: ParallelRunner) -> [String] {
        let trainer = Trainer(model: model, optimizer: Adam(), runner: runner)
        let few = test.prefix(10)
        let (pred, _, _) = trainer.predict(few, batchSize: few.count)
        return (0..<few.count).map { i in
            let t = classNames[Int(few.labels[i])], p = classNames[Int(pred[i])]
            return "image \(i): true \(t), predicted \(p)" + (t == p ? " (right)" : " (wrong)")
        }
    }

    static func markdown(_ r: TransferResults) -> String {
        let header = ["model", "run", "test accuracy", "training s", "inference ms/img", "params", "trainable", "epochs", "lr", "train images"]
        var table = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for x in r.runs {
            let cells = [x.name, x.mode, String(format: "%.2f%%", x.testAccuracy * 100), String(format: "%.1f", x.trainingSeconds),
                         String(format: "%.3f", x.inferenceMsPerImage), SummaryCommand.grouped(x.totalParameters),
                         SummaryCommand.grouped(x.trainableParameters), "\(x.epochs)", "\(x.learningRate)", "\(x.trainImages)"]
            table += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return """
        # Transfer learning: \(r.base), \(r.dataset), input \(r.inputSize.map(String.init).joined(separator: "x"))

        Experiment: \(r.experiment).
        \(r.imported.map { "Base: \($0).\n" } ?? "")
        Classes: \(r.classes.joined(separator: ", ")). Times measured on \(r.threads) thread(s) (training time includes the batch-norm re-estimation); accuracies on the test images.
        \(r.batchNormRecalibrationBatches > 0 ? "Batch-norm layers that trained had their moving statistics re-estimated over \(r.batchNormRecalibrationBatches) training batches after each run (--bn-recalibration 0 keeps Keras's momentum-0.999 averages)." : "Batch-norm moving statistics as trained (momentum averages, no re-estimation).")

        \(table)
        Sample predictions:
        \(r.samplePredictions.map { "- \($0)" }.joined(separator: "\n"))

        """
    }
}
