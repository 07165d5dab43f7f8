import ArgumentParser
import Lab
import Training

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run the CNN lab as written, or one data set of it, and write the lab's reports.",
        discussion: """
            Without --dataset or --models, the whole lab: basic-cnn, the seven variants and fcnn on MNIST \
            (Fashion-MNIST stands in when MNIST is not fetched), basic-cnn on CIFAR-10, MobileNetV2 frozen and \
            fine-tuned on CIFAR-10 (with `cnnscope data fetch mobilenetv2-imagenet`; else the self-contained \
            experiment), and the Part 7 page all-models/index.html over all of them; a missing data set is skipped \
            with a line. Each data set's lab.html has the comparison table, the lab's plots, training curves, \
            confusion matrices, sample predictions, filters and feature maps, CNN vs FCNN, the winners, and per model \
            the hardware view with a profile report. Extensions: augmentation, max vs average pooling, int8 \
            quantisation and Grad-CAM.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @Option(help: "The most epochs per model; EarlyStopping usually ends sooner (default 10, 1 with --quick).")
    var epochs: Int?
    @Option(
        help: """
            EarlyStopping on val_accuracy with restore_best_weights, as the lab: stop when it has not improved for \
            this many epochs (0 turns it off).
            """)
    var patience = LabDefaults.patience
    @Option(help: "Comma-separated model profiles; the default is the eight CNNs and fcnn.") var models: String?
    @Flag(help: "A quick run: 3,000 training images, one epoch, three models (basic-cnn, tiny-cnn, fcnn).")
    var quick = false
    @Flag(
        help: """
            Extension: augment the training batches (random rotations of up to 10 degrees, shifts of up to 2 pixels; \
            horizontal flips for colour images).
            """)
    var augment = false
    @Flag(help: "Extension: also train basic-cnn with average pooling and compare it with max pooling.")
    var poolingStudy = false
    @Flag(
        help: """
            Extension: quantise every trained model to int8 after training (each convolution and dense layer whose \
            int8 form measures faster than float) and compare accuracy and speed with float.
            """)
    var quantize = false
    @Flag(help: "With --quantize, make every layer int8, also those whose int8 form measured slower than float.")
    var quantizeEveryLayer = false
    @Flag(
        help: """
            With --quantize, use only exact integer forms: leave out Winograd with an 8-bit transform domain (on \
            AVX-512 VNNI), which rounds both transforms and is otherwise kept where it is fastest and its error on a \
            calibration batch is at most three times the exact forms'.
            """)
    var quantizeExact = false
    @Flag(help: "Extension: Grad-CAM heatmaps over sample test images for basic-cnn and the most accurate CNN.")
    var gradCam = false
    @Option(help: "Report folder; the default is ~/.local/share/cnnscope/reports/<machine identity>/lab-<time>.")
    var output: String?
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 42
    @Option(help: "The whole lab's CIFAR-10 folder (default: where data fetch puts it).") var cifarDir: String?
    @Flag(help: "Challenges: also train the ResNet-style and Inception-style models (resnet-mini, inception-mini).")
    var challenges = false
    @OptionGroup var machineOptions: MachineOptions

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> LabJob {
        var j = LabJob()
        (j.data, j.epochs, j.patience, j.models, j.quick) =
            (data.selection(), epochs, patience, models.map { $0.split(separator: ",").map(String.init) }, quick)
        (j.augment, j.poolingStudy, j.quantize, j.gradCAM, j.output, j.seed, j.challenges) =
            (augment, poolingStudy, quantize, gradCam, output, seed, challenges)
        j.quantization.layers = quantizeEveryLayer ? .every : .whereFaster
        if quantizeExact { j.quantization.roundedFormErrorFactor = 0 }
        return j
    }

    func run() throws {
        let env = try execution.environment(machineOptions)
        guard data.dataset == nil && models == nil else { return print(try job().run(in: env).text) }
        var whole = WholeLabJob()
        (whole.lab, whole.cifarDir) = (job(), cifarDir)
        print(try whole.run(in: env).text)
    }
}
