import ArgumentParser
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
        help: """
            A Keras HDF5 weight file for the base; without it the self-contained Fashion-MNIST 0-4 to 5-9 \
            experiment runs.
            """)
    var weights: String?
    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var machineOptions: MachineOptions
    @Flag(help: "Train only the head on the frozen base (no fine-tuning run).") var freezeBase = false
    @Option(
        help: """
            After the frozen run, unfreeze the top N layers of the base and train on with learning rate 1e-4 (the \
            lab unfreezes 10).
            """)
    var unfreezeTop = 10
    @Option(
        help: """
            Images are resized to SIZE x SIZE before the base (ImageNet weights expect 96 to 224; the default is \
            96 with weights, 32 for the self-contained experiment).
            """)
    var inputSize: Int?
    @Option(help: "Epochs for each transfer run (frozen, fine-tuned, from scratch, basic CNN).") var epochs = 2
    @Option(help: "Self-contained experiment: labelled training images of classes 5-9 for the transfer runs.")
    var labelled = 1000
    @Option(help: "Self-contained experiment: epochs of pre-training on classes 0-4.") var pretrainEpochs = 1
    @Option(help: "Self-contained experiment: at most this many images of classes 0-4 for pre-training.")
    var pretrainImages = 30000
    @Option(help: "Mini-batch size.") var batchSize = 64
    @Option(
        help: """
            After each run, re-estimate the moving statistics of the batch-norm layers that trained over this \
            many training batches (0: keep Keras's momentum-0.999 averages, which barely move in a short run).
            """)
    var bnRecalibration = 50
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 42
    @Option(help: "Report folder; the default is Reports/<machine identity>/transfer-<base>-<time>.")
    var output: String?

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> TransferJob {
        var j = TransferJob()
        (j.base, j.weights, j.data, j.freezeBase, j.unfreezeTop, j.inputSize) =
            (base, weights, data.selection, freezeBase, unfreezeTop, inputSize)
        (j.epochs, j.labelled, j.pretrainEpochs, j.pretrainImages, j.batchSize) =
            (epochs, labelled, pretrainEpochs, pretrainImages, batchSize)
        (j.bnRecalibration, j.seed, j.output) = (bnRecalibration, seed, output)
        return j
    }

    func run() throws {
        Console.lineBuffered()
        print(try job().run(in: try execution.environment(machineOptions)).text)
    }
}
