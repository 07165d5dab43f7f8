import ArgumentParser
import Transfer

struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Transfer learning from an ImageNet base as the lab's Part 6: frozen, fine-tuned, and the basic CNN.",
        discussion: """
            With ImageNet weights (--weights, a Keras HDF5 file such as \
            mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5, or the file `cnnscope data fetch \
            mobilenetv2-imagenet` stored), as the lab: images resized to 224 px, the lab's head \
            (GlobalAveragePooling2D, Dense 256 relu, Dropout 0.3, Dense classes) on the frozen base for 10 epochs at \
            1e-3, then a fresh model with the top 10 base layers unfrozen for 5 epochs at batch 32 and 1e-4, and the \
            basic CNN on the same images (CIFAR-10 by default), each with EarlyStopping. Without weights, a \
            self-contained experiment: the base is pre-trained on Fashion-MNIST classes 0-4, then transferred to \
            classes 5-9 with few labelled images.
            """)

    @Option(help: "The base model profile (mobilenetv2 or vgg16, or any profile with a head: section).")
    var base = "mobilenetv2"
    @Option(
        help: """
            A Keras HDF5 weight file for the base (default: the fetched mobilenetv2-imagenet file for mobilenetv2); \
            without one the self-contained Fashion-MNIST 0-4 to 5-9 experiment runs.
            """)
    var weights: String?
    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var machineOptions: MachineOptions
    @Flag(help: "Train only the head on the frozen base (no fine-tuning run).") var freezeBase = false
    @Option(
        help: """
            The fine-tuned run is a fresh model on the base with its top N layers unfrozen, trained with learning \
            rate 1e-4 (the lab unfreezes 10).
            """)
    var unfreezeTop = 10
    @Option(
        help: """
            Images are resized to SIZE x SIZE before the base (ImageNet weights expect 96 to 224; the default is 224 \
            with weights, 32 for the self-contained experiment).
            """)
    var inputSize: Int?
    @Option(help: "Epochs of the frozen run and the basic CNN; the default is 10 with weights, 2 without.")
    var epochs: Int?
    @Option(help: "Epochs of the fine-tuned run (the lab's 5).") var fineTuneEpochs = 5
    @Option(help: "Mini-batch size of the fine-tuned run (the lab's 32).") var fineTuneBatchSize = 32
    @Option(help: "EarlyStopping patience on val_accuracy for the runs with weights (0 turns it off).")
    var patience = 3
    @Option(help: "Self-contained experiment: labelled training images of classes 5-9 for the transfer runs.")
    var labelled = 1000
    @Option(help: "Self-contained experiment: epochs of pre-training on classes 0-4.") var pretrainEpochs = 1
    @Option(help: "Self-contained experiment: at most this many images of classes 0-4 for pre-training.")
    var pretrainImages = 30000
    @Option(help: "Mini-batch size.") var batchSize = 64
    @Option(
        help: """
            After each run, re-estimate the moving statistics of the batch-norm layers that trained over this many \
            training batches (0: keep Keras's momentum-0.999 averages, which barely move in a short run).
            """)
    var bnRecalibration = 50
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 42
    @Option(
        help: "Report folder; the default is ~/.local/share/cnnscope/reports/<machine identity>/transfer-<base>-<time>."
    )
    var output: String?

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> TransferJob {
        var j = TransferJob()
        (j.base, j.freezeBase, j.unfreezeTop, j.inputSize, j.epochs) = (
            base, freezeBase, unfreezeTop, inputSize, epochs
        )
        j.weights = weights ?? TransferJob.fetchedWeights(base, environment: Console.environment)
        j.data = data.selection(default: j.weights == nil ? .fashionMnist : .cifar10)
        (j.fineTuneEpochs, j.fineTuneBatchSize, j.patience, j.batchSize) =
            (fineTuneEpochs, fineTuneBatchSize, patience, batchSize)
        (j.labelled, j.pretrainEpochs, j.pretrainImages, j.bnRecalibration, j.seed, j.output) =
            (labelled, pretrainEpochs, pretrainImages, bnRecalibration, seed, output)
        return j
    }

    func run() throws { print(try job().run(in: try execution.environment(machineOptions)).text) }
}
