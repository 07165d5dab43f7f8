import ArgumentParser
import Profiling

extension ImageLayout: ExpressibleByArgument {}

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model on images and write its outputs.",
        discussion: """
            The model is an ONNX file, a Keras 3 .keras archive, or a YAML profile (--weights: .cnnw or Keras .h5). \
            The input is a .npy float32 array (say its --layout), an IDX image file, a CIFAR .bin batch or a folder \
            of PNG files (scaled to 0..1, resized to the model's input). The outputs, one row per image, go to a .npy \
            file: probabilities where the model ends in a softmax (ONNX, Keras), else logits.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var algorithm: AlgorithmOption
    @OptionGroup var machineOptions: MachineOptions
    @Option(help: "The images: a .npy array, an IDX image file, a CIFAR .bin batch, or a folder of PNG files.")
    var input: String
    @Option(help: "The .npy file the outputs are written to, (images, classes) float32.") var output: String
    @Option(
        help: """
            How a .npy input lays out its images, and how image-shaped outputs are written: nhwc (channels last, the \
            default) or nchw (as ONNX).
            """)
    var layout: ImageLayout = .nhwc
    @Option(help: "Also write the K highest outputs per image as CSV, beside the output (NAME.topK.csv).") var top: Int?
    @Option(help: "Weights for a YAML profile: a .cnnw file or a Keras .weights.h5 file.") var weights: String?
    @Option(help: "Images per forward pass.") var batchSize = 64
    @Option(
        help: """
            Also time R forward passes of one batch of --batch-size images (after a warm-up) and print the median, \
            minimum and maximum seconds and images per second as one JSON line (measured, timer).
            """)
    var timeRepetitions: Int?

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> InferenceJob {
        var j = InferenceJob(model: modelOptions.model, input: input, output: output)
        (j.layout, j.top, j.weights, j.batchSize, j.timeRepetitions, j.convAlgorithm) =
            (layout, top, weights, batchSize, timeRepetitions, algorithm.convAlgorithm)
        return j
    }

    func run() throws { print(try job().run(in: try execution.environment(machineOptions))) }
}
