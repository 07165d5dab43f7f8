import ArgumentParser
import Datasets
import Figures
import Foundation
import Hardware
import Profiling

extension ImageLayout: ExpressibleByArgument {}

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model on images and write its outputs.",
        discussion: """
            The model is an ONNX file, a YAML profile with its weights (--weights: a .cnnw file from `cnnscope \
            train`, or Keras .weights.h5), or a profile alone (seeded weights). The input is a .npy float32 array \
            of images (say its --layout), an IDX image file or a CIFAR .bin batch (scaled to 0..1), or a folder of \
            PNG files (scaled to 0..1 and resized to the model's input). The outputs, one row per image, go to a \
            .npy file: probabilities where the model ends in a softmax (ONNX), else logits.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var algorithm: AlgorithmOption
    @OptionGroup var machineOptions: MachineOptions

    @Option(help: "The images: a .npy array, an IDX image file, a CIFAR .bin batch, or a folder of PNG files.")
    var input: String

    @Option(help: "The .npy file the outputs are written to, (images, classes) float32.")
    var output: String

    @Option(
        help:
            """
            How a .npy input lays out its images, and how image-shaped outputs are written: nhwc (channels last, \
            the default) or nchw (as ONNX).
            """
    )
    var layout: ImageLayout = .nhwc

    @Option(help: "Also write the K highest outputs per image as CSV, beside the output (NAME.topK.csv).")
    var top: Int?

    @Option(help: "Weights for a YAML profile: a .cnnw file or a Keras .weights.h5 file.")
    var weights: String?

    @Option(help: "Images per forward pass.")
    var batchSize = 64

    @Option(
        help:
            """
            Also time R forward passes of one batch of --batch-size images (after a warm-up) and print the \
            median, minimum and maximum seconds and images per second as one JSON line (measured, timer).
            """
    )
    var timeRepetitions: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if let k = top, k < 1 { throw ValidationError("--top must be at least 1, got \(k).") }
        if let r = timeRepetitions, r < 1 { throw ValidationError("--time-repetitions must be at least 1, got \(r).") }
        if !output.lowercased().hasSuffix(".npy") { throw ValidationError("--output must name a .npy file.") }
    }

    func run() throws {
        let profile = try modelOptions.profile()
        let (images, names) = try InferenceInput.read(
            input, layout: layout, modelInput: profile.inputShape ?? [28, 28, 1])
        let rt = execution.runtime()
        let machine = try machineOptions.session(cpu: try? CPUFeatures.detect(), topology: rt.topology)
        let selector = machine.selector(options: rt.options)
        let inference = ModelInference(
            runner: rt.pool, policy: algorithm.policy(selector: selector), options: rt.options)
        let model = try inference.build(profile, imageShape: Array(images.shape.dims.dropFirst()), weights: weights)
        var out = try inference.run(
            model, probabilities: profile.outputsProbabilities, images: images, batchSize: batchSize)
        if layout == .nchw { out = ModelInference.channelsFirst(out) }
        if let r = timeRepetitions {
            let t = Timing(try inference.time(model, images: images, batchSize: batchSize, repetitions: r))
            let timing = InferenceTiming(
                model: profile.name, batch: batchSize, threads: rt.threads, repetitions: r, medianSeconds: t.median,
                minSeconds: t.min, maxSeconds: t.max, imagesPerSecond: Double(batchSize) / t.median)
            print(
                try Console.json(timing).replacingOccurrences(of: "\n", with: "").replacingOccurrences(
                    of: "  ", with: ""))
        }
        machine.keep(selector)
        try Console.writeAtomically(data: out.encoded(), to: output)
        let each = out.shape.dropFirst().map(String.init).joined(separator: "x")
        print("Wrote \(output): \(out.shape[0]) images x \(each) outputs")
        if let k = top {
            let csv = String(output.dropLast(4)) + ".top\(k).csv"
            try Console.writeAtomically(ModelInference.topK(out, k: k, names: names), to: csv)
            print("Wrote \(csv)")
        }
    }
}

/// One timed inference setting, as `infer --time-repetitions` prints it.
struct InferenceTiming: Codable {
    var provenance = "measured (timer), forward passes after one warm-up"
    var model: String
    var batch: Int
    var threads: Int
    var repetitions: Int
    var medianSeconds: Double
    var minSeconds: Double
    var maxSeconds: Double
    var imagesPerSecond: Double
}
