import Datasets
import Figures
import Foundation
import Layers
import Tensor
import Training

/// `cnnscope infer`: a model run on images, its outputs written to a .npy file (and the top K
/// per image to CSV), optionally timed.
public struct InferenceJob {
    public var model: String
    /// A .npy array, an IDX image file, a CIFAR .bin batch, or a folder of PNG files.
    public var input: String
    /// The .npy file for the outputs.
    public var output: String
    public var layout = ImageLayout.nhwc
    public var top: Int?
    /// Weights for a YAML profile: .cnnw or Keras .weights.h5.
    public var weights: String?
    public var batchSize = 64
    public var timeRepetitions: Int?
    public var convAlgorithm = "auto"

    public init(model: String, input: String, output: String) {
        (self.model, self.input, self.output) = (model, input, output)
    }

    public func validate() throws {
        if batchSize < 1 { throw WorkflowError("--batch-size must be at least 1, got \(batchSize).") }
        if let k = top, k < 1 { throw WorkflowError("--top must be at least 1, got \(k).") }
        if let r = timeRepetitions, r < 1 { throw WorkflowError("--time-repetitions must be at least 1, got \(r).") }
        if !output.lowercased().hasSuffix(".npy") { throw WorkflowError("--output must name a .npy file.") }
    }

    /// Runs the model, writes the files, and returns the lines to print.
    public func run(in env: RunEnvironment) throws -> String {
        let profile = try env.model(model)
        let (images, names) = try InferenceInput.read(
            input, layout: layout, modelInput: profile.inputShape ?? [28, 28, 1])
        let inference = ModelInference(
            runner: env.pool, policy: try ConvAlgorithmPolicy.named(convAlgorithm, selector: env.selector),
            options: env.options)
        let model = try inference.build(profile, imageShape: Array(images.shape.dims.dropFirst()), weights: weights)
        var out = try inference.run(
            model, probabilities: profile.outputsProbabilities, images: images, batchSize: batchSize)
        if layout == .nchw { out = ModelInference.channelsFirst(out) }
        var lines: [String] = []
        if let r = timeRepetitions {
            let t = Timing(try inference.time(model, images: images, batchSize: batchSize, repetitions: r))
            let timing = InferenceTiming(
                model: profile.name, batch: batchSize, threads: env.threads, repetitions: r, medianSeconds: t.median,
                minSeconds: t.min, maxSeconds: t.max, imagesPerSecond: Double(batchSize) / t.median)
            lines.append(try JSONText.line(timing))
        }
        env.finish()
        try AtomicFile.write(out.encoded(), to: output)
        let each = out.shape.dropFirst().map(String.init).joined(separator: "x")
        lines.append("Wrote \(output): \(out.shape[0]) images x \(each) outputs")
        if let k = top {
            let csv = String(output.dropLast(4)) + ".top\(k).csv"
            try AtomicFile.write(ModelInference.topK(out, k: k, names: names), to: csv)
            lines.append("Wrote \(csv)")
        }
        return lines.joined(separator: "\n")
    }
}

/// One timed inference setting, as `infer --time-repetitions` prints it.
public struct InferenceTiming: Codable {
    public var provenance = "measured (timer), forward passes after one warm-up"
    public var model: String
    public var batch: Int
    public var threads: Int
    public var repetitions: Int
    public var medianSeconds: Double
    public var minSeconds: Double
    public var maxSeconds: Double
    public var imagesPerSecond: Double
}
