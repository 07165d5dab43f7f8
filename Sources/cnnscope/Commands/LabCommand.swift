import ArgumentParser
import Lab
import Training

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run the CNN lab end to end: train and evaluate every architecture and write one lab report.",
        discussion: """
            Trains basic-cnn, the seven variants and the fcnn baseline on the same data, evaluates them, and writes \
            lab.html (self-contained), lab.md, lab.json and lab.csv with: the comparison table, the lab's four plots, \
            training curves, normalised confusion matrices with the most-confused pair, sample predictions, \
            first-layer filters and feature maps (basic-cnn and the most accurate model), CNN vs FCNN, the winners, \
            and per model the hardware view (time per layer, the algorithm auto chose, GFLOP/s and efficiency against \
            the roofline) with a full profile report. Pictures are also saved as PNG files. Extensions, each behind \
            its option: data augmentation, max vs average pooling, int8 post-training quantisation (accuracy and speed \
            against float) and Grad-CAM heatmaps.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @Option(
        help: "The most epochs per model (EarlyStopping usually ends sooner); the default is 10, or 1 with --quick.")
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
            Extension: quantise every trained model to int8 after training (convolution and dense layers) and compare \
            accuracy and speed with float.
            """)
    var quantize = false
    @Flag(help: "Extension: Grad-CAM heatmaps over sample test images for basic-cnn and the most accurate CNN.")
    var gradCam = false
    @Option(help: "Report folder; the default is Reports/<machine identity>/lab-<time>.") var output: String?
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 42
    @OptionGroup var machineOptions: MachineOptions

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> LabJob {
        var j = LabJob()
        (j.data, j.epochs, j.patience, j.models, j.quick) =
            (data.selection, epochs, patience, models.map { $0.split(separator: ",").map(String.init) }, quick)
        (j.augment, j.poolingStudy, j.quantize, j.gradCAM, j.output, j.seed) =
            (augment, poolingStudy, quantize, gradCam, output, seed)
        return j
    }

    func run() throws { print(try job().run(in: try execution.environment(machineOptions)).text) }
}
