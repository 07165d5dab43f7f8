import Tensor

/// A layer with several inputs (the residual Add of MobileNetV2). The graph hands it every
/// input and takes one gradient per input back.
public protocol MergeLayer: Layer {
    var inputCount: Int { get }
    func forward(inputs: [Tensor], _ ctx: RunContext) -> Tensor
    /// One dL/d(input) per input (nil where that input needs none). The tensors returned must
    /// not alias each other: a consumer may change its gradient in place.
    func backward(multi dy: Tensor, _ ctx: RunContext) -> [Tensor?]
}

// inputs (N, ...) ×k of one shape -> output (N, ...): y = Σ inputs
/// Keras Add: the residual connection.
public final class AddLayer: MergeLayer {
    public let name: String
    public var kerasClass: String { "Add" }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let inputCount: Int
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private var copies: [BufferCache] = []

    public init(name: String, input: [Int], inputs: Int = 2) throws {
        guard inputs >= 2 else {
            throw TensorError.invalidDimension("\(name): Add needs at least two inputs, got \(inputs)")
        }
        self.name = name
        inputShape = input
        inputCount = inputs
        copies = (0..<inputs).map { _ in BufferCache() }
    }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double((inputCount - 1) * n), forwardBytes: Self.bytes((inputCount + 1) * n))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        preconditionFailure("\(name): Add takes its inputs through forward(inputs:)")
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        preconditionFailure("\(name): Add returns its gradients through backward(multi:)")
    }

    public func forward(inputs: [Tensor], _ ctx: RunContext) -> Tensor {
        let first = inputs[0]
        let y = outputs.get(batch: first.shape[0], shape: outputShape, ctx)
        let n = y.count
        let out = y.data
        ctx.runner.parallelRanges(n, work: n * inputs.count) { _, range in
            (out + range.lowerBound).update(from: first.data + range.lowerBound, count: range.count)
            for t in inputs.dropFirst() {
                let src = t.data
                for i in range { out[i] += src[i] }
            }
        }
        return y
    }

    /// dL/dx_i = dL/dy for every input: the first gets dy itself, the others copies.
    public func backward(multi dy: Tensor, _ ctx: RunContext) -> [Tensor?] {
        (0..<inputCount).map { i in
            if i == 0 { return dy }
            let c = copies[i].get(batch: dy.shape[0], shape: inputShape)
            c.data.update(from: dy.data, count: dy.count)
            return c
        }
    }
}
