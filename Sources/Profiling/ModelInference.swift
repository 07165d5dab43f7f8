import Datasets
import Figures
import Foundation
import KerasWeights
import Kernels
import Layers
import Tensor
import Training

/// Runs a model on images and returns its outputs, (N, classes): the logits, or probabilities
/// where the source model ends in a softmax (an ONNX model's), so that they compare with it.
public struct ModelInference {
    public let runner: ParallelRunner
    public let policy: ConvAlgorithmPolicy
    public let options: ConvOptions

    public init(runner: ParallelRunner, policy: ConvAlgorithmPolicy, options: ConvOptions) {
        self.runner = runner; self.policy = policy; self.options = options
    }

    /// The model for images of `shape` (H, W, C), batch norm folded for inference. `weights`: a weight
    /// file for a profile without weights of its own: cnnscope's `.cnnw`, or Keras's HDF5 (`.h5`).
    public func build(_ profile: ModelProfile, imageShape shape: [Int], weights: String? = nil) throws -> Sequential {
        let model = try ModelBuilder.build(profile, input: shape, policy: policy, options: options)
        model.foldBatchNormForInference(true)
        guard let w = weights else { return model }
        if w.lowercased().hasSuffix(".h5") {
            _ = try KerasWeightImporter.load(w, into: model)
        } else {
            guard let data = FileManager.default.contents(atPath: w) else {
                throw ProfileError("\(w): cannot read the weight file")
            }
            try WeightFile.load(data, into: model, file: w)
        }
        return model
    }

    public func run(_ profile: ModelProfile, images: Tensor, batchSize: Int, weights: String? = nil) throws -> NpyArray
    {
        let model = try build(profile, imageShape: Array(images.shape.dims.dropFirst()), weights: weights)
        return try run(model, probabilities: profile.outputsProbabilities, images: images, batchSize: batchSize)
    }

    public func run(_ model: Sequential, probabilities: Bool, images: Tensor, batchSize: Int) throws -> NpyArray {
        let shape = Array(images.shape.dims.dropFirst())
        let ctx = RunContext(runner: runner, training: false)
        ctx.reusesActivationMemory = true
        let n = images.shape[0], classes = model.outputShape.reduce(1, *), per = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n * classes)
        var start = 0
        while start < n {
            let b = min(batchSize, n - start)
            let x = try Tensor([b] + shape)
            x.data.update(from: images.data + start * per, count: b * per)
            let y = model.forward(x, ctx)
            if probabilities { Activation.softmax.apply(y.data, count: b * classes, rowLength: classes) }
            out.withUnsafeMutableBufferPointer { o in
                (o.baseAddress! + start * classes).update(from: y.data, count: b * classes)
            }
            start += b
        }
        return NpyArray(shape: [n] + model.outputShape, values: out)
    }

    /// An (N, H, W, C) output as (N, C, H, W), the layout ONNX models give; other shapes as they are.
    public static func channelsFirst(_ a: NpyArray) -> NpyArray {
        guard a.shape.count == 4 else { return a }
        let (n, h, w, c) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        var v = [Float](repeating: 0, count: a.values.count)
        for i in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c { v[((i * c + ch) * h + y) * w + x] = a.values[((i * h + y) * w + x) * c + ch] }
                }
            }
        }
        return NpyArray(shape: [n, c, h, w], values: v)
    }

    /// Seconds per forward pass of a batch of `batchSize` images (the first ones, repeated to fill
    /// the batch), measured (timer) over `repetitions` after one warm-up pass (auto's timing).
    public func time(_ model: Sequential, images: Tensor, batchSize: Int, repetitions: Int) throws -> [Double] {
        let shape = Array(images.shape.dims.dropFirst()), per = shape.reduce(1, *)
        let x = try Tensor([batchSize] + shape)
        for i in 0..<batchSize {
            (x.data + i * per).update(from: images.data + (i % images.shape[0]) * per, count: per)
        }
        let ctx = RunContext(runner: runner, training: false)
        ctx.reusesActivationMemory = true
        _ = model.forward(x, ctx)
        return (0..<repetitions).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = model.forward(x, ctx)
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
    }

    /// The `k` largest outputs per image as CSV: image, rank, class, value.
    public static func topK(_ outputs: NpyArray, k: Int, names: [String], classNames: [String]? = nil) -> String {
        let classes = outputs.shape.dropFirst().reduce(1, *)
        var csv = "image,rank,class,class_name,value\n"
        for i in 0..<outputs.shape[0] {
            let row = outputs.values[(i * classes)..<((i + 1) * classes)]
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            for (rank, j) in order.prefix(k).enumerated() {
                let c = j - i * classes
                let label = classNames.flatMap { c < $0.count ? $0[c] : nil } ?? ""
                let name = i < names.count ? names[i] : String(i)
                csv += CSVRow.line([name, "\(rank + 1)", "\(c)", label, "\(row[j])"]) + "\n"
            }
        }
        return csv
    }
}
