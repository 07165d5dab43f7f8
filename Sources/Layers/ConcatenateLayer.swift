import Tensor

// inputs (N, ..., C_i) ×k agreeing on every axis but the last -> output (N, ..., ΣC_i)
/// Keras Concatenate on the channel axis (the last one, NHWC): the branches of an Inception block.
public final class ConcatenateLayer: MergeLayer {
    public let name: String
    public var kerasClass: String { "Concatenate" }
    /// The first input's shape (the graph builder's convention); `inputShapes` has them all.
    public var inputShape: [Int] { inputShapes[0] }
    public let inputShapes: [[Int]]
    public let outputShape: [Int]
    public var inputCount: Int { inputShapes.count }
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private var gradients: [BufferCache] = []

    public init(name: String, inputs shapes: [[Int]]) throws {
        guard shapes.count >= 2 else {
            throw TensorError.invalidDimension("\(name): Concatenate needs at least two inputs, got \(shapes.count)")
        }
        let lead = shapes[0].dropLast()
        for s in shapes where s.isEmpty || s.dropLast() != lead {
            throw TensorError.invalidDimension(
                "\(name): Concatenate joins on the last axis; the inputs \(shapes) differ on another axis")
        }
        self.name = name
        inputShapes = shapes
        outputShape = Array(lead) + [shapes.reduce(0) { $0 + $1.last! }]
        gradients = shapes.map { _ in BufferCache() }
    }

    public func cost() -> LayerCost {
        let n = outputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: 0, forwardBytes: Self.bytes(2 * n))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        preconditionFailure("\(name): Concatenate takes its inputs through forward(inputs:)")
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        preconditionFailure("\(name): Concatenate returns its gradients through backward(multi:)")
    }

    /// The channel counts and where each input starts in the output's channels.
    var splits: [(channels: Int, offset: Int)] {
        var off = 0
        return inputShapes.map { s in
            defer { off += s.last! }
            return (s.last!, off)
        }
    }

    public func forward(inputs: [Tensor], _ ctx: RunContext) -> Tensor {
        let batch = inputs[0].shape[0]
        let y = outputs.get(batch: batch, shape: outputShape)
        let c = outputShape.last!, positions = y.count / c
        let out = y.data, parts = splits
        ctx.runner.parallelRanges(positions, work: y.count) { _, range in
            for (t, part) in zip(inputs, parts) {
                let src = t.data
                for p in range {
                    (out + p * c + part.offset).update(from: src + p * part.channels, count: part.channels)
                }
            }
        }
        return y
    }

    /// dL/dx_i is dL/dy's channels of input i.
    public func backward(multi dy: Tensor, _ ctx: RunContext) -> [Tensor?] {
        let batch = dy.shape[0], c = outputShape.last!, positions = dy.count / c
        let grads = zip(gradients, inputShapes).map { $0.get(batch: batch, shape: $1) }
        let src = dy.data, parts = splits
        ctx.runner.parallelRanges(positions, work: dy.count) { _, range in
            for (g, part) in zip(grads, parts) {
                let dst = g.data
                for p in range {
                    (dst + p * part.channels).update(from: src + p * c + part.offset, count: part.channels)
                }
            }
        }
        return grads
    }
}
