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
import Transfer

struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract:
            """
            Transfer learning from an ImageNet base (the lab's Part 6): frozen base, fine-tuned top layers, and \
            the basic CNN for comparison.
            """,
        discussion: """
            With --weights (a Keras HDF5 file such as \
            mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5), \
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

    @Option(
        help:
            """
            A Keras HDF5 weight file for the base; without it the self-contained Fashion-MNIST 0-4 to 5-9 \
            experiment runs.
            """
    )
    var weights: String?

    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var machineOptions: MachineOptions

    @Flag(help: "Train only the head on the frozen base (no fine-tuning run).")
    var freezeBase = false

    @Option(
        help:
            """
            After the frozen run, unfreeze the top N layers of the base and train on with learning rate 1e-4 (the \
            lab unfreezes 10).
            """
    )
    var unfreezeTop = 10

    @Option(
        help:
            """
            Images are resized to SIZE x SIZE before the base (ImageNet weights expect 96 to 224; the default is \
            96 with weights, 32 for the self-contained experiment).
            """
    )
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

    @Option(
        help:
            """
            After each run, re-estimate the moving statistics of the batch-norm layers that trained over this \
            many training batches (0: keep Keras's momentum-0.999 averages, which barely move in a short run).
            """
    )
    var bnRecalibration = 50

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 42

    @Option(help: "Report folder; the default is Reports/<machine identity>/transfer-<base>-<time>.")
    var output: String?

    func validate() throws {
        if let s = inputSize, s < 32 || s > 512 {
            throw ValidationError("--input-size must be between 32 and 512, got \(s).")
        }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if unfreezeTop < 0 { throw ValidationError("--unfreeze-top must be 0 or more, got \(unfreezeTop).") }
        if labelled < 10 { throw ValidationError("--labelled must be at least 10, got \(labelled).") }
        if pretrainImages < 100 {
            throw ValidationError("--pretrain-images must be at least 100, got \(pretrainImages).")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if bnRecalibration < 0 {
            throw ValidationError("--bn-recalibration must be 0 or more, got \(bnRecalibration).")
        }
        if let w = weights, !FileManager.default.fileExists(atPath: w) {
            throw ValidationError(
                """
                --weights \(w): no such file; give the path of a Keras .h5 weight file (keras.applications caches \
                them under ~/.keras/models/).
                """
            )
        }
    }

    func run() throws {
        Console.lineBuffered()
        let profile = try ModelOptions.profile(named: base)
        guard !profile.layers.isEmpty, !profile.head.isEmpty else {
            throw CLIError(
                """
                \(profile.source): '\(profile.name)' is not a base: transfer needs a graph profile with layers: \
                and a head: (mobilenetv2, vgg16)
                """
            )
        }
        let rt = execution.runtime()
        let machine = try machineOptions.session(cpu: try? CPUFeatures.detect(), topology: rt.topology)
        let selector = machine.selector(options: rt.options)
        defer { machine.keep(selector) }
        let dir = output ?? "Reports/\(machine.identity.name)/transfer-\(profile.name)-\(TrainCommand.timestamp())"
        let size = inputSize ?? (weights == nil ? 32 : 96)
        let target = [size, size, profile.inputShape?[2] ?? 3]
        let settings = TransferSettings(
            epochs: epochs, batchSize: batchSize, unfreezeTop: unfreezeTop, freezeBase: freezeBase,
            bnRecalibration: bnRecalibration, seed: seed, labelled: labelled,
            pretrainImages: pretrainImages, pretrainEpochs: pretrainEpochs)
        let experiment = TransferExperiment(
            pool: rt.pool, options: rt.options, selector: selector, settings: settings,
            log: { print($0) })
        let mnistLike = [.fashionMnist, .mnist, .synthetic].contains(data.dataset)
        let out: TransferOutcome
        do {
            out = try experiment.run(
                base: profile, basicCNN: try ModelOptions.profile(named: "basic-cnn"),
                data: try data.load(seed: seed), weightsFile: weights, target: target,
                datasetName: data.dataset.rawValue, mnistLike: mnistLike)
        } catch let e as TransferError { throw CLIError(e.description) }
        let results = TransferResults(
            machine: machine.identity.name, base: profile.name, experiment: out.experiment, weights: weights,
            imported: out.imported,
            dataset: data.dataset.rawValue, inputSize: target, classes: out.classNames, runs: out.runs,
            samplePredictions: out.samples.enumerated().map { "image \($0.offset): \($0.element.text)" },
            batchNormRecalibrationBatches: bnRecalibration, threads: rt.threads,
            seed: seed,
            commandLine: CommandLine.arguments.joined(separator: " "))
        let md = TransferRenderer.markdown(results)
        print(md)
        let staging = try StagingFolder(finalDir: dir)
        try staging.write(try Console.json(results) + "\n", to: "results.json")
        try staging.write(md, to: "report.md")
        try staging.write(
            TransferRenderer.predictionsHTML(
                out.samples, title: "\(profile.name): predictions of the last transfer run"),
            to: "predictions.html")
        try staging.commit()
        print("Saved \(dir)/results.json, \(dir)/report.md and \(dir)/predictions.html")
    }
}
