import Tensor

// input (N, ...) -> output (N, ...): y = f(x)
/// Keras Activation layer (used after batch normalisation, where the activation cannot be
/// fused into the convolution).
public final class ActivationLayer: FoldableIntoConvolution {
    public let name: String
    /// "Activation", or "ReLU" for Keras ReLU layers (MobileNetV2's ReLU(6.0)).
    public let kerasClass: String
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let activation: Activation
    public var needsInputGradient = true
    public var trainable = true
    /// Set by Sequential: at inference the convolution before applies this activation.
    public var foldedInto: String?
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private var lastOutput: Tensor?
    /// The last forward was folded into the convolution before (which applied the activation
    /// and whose backward sees the gradient): backward is the identity.
    private var passedThrough = false

    public init(name: String, input: [Int], activation: Activation, kerasClass: String = "Activation") {
        self.name = name
        self.kerasClass = kerasClass
        inputShape = input
        self.activation = activation
    }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(n), forwardBytes: Self.bytes(2 * n))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        passedThrough = !ctx.training && foldedInto != nil
        if passedThrough { return x }
        let y = outputs.get(batch: x.shape[0], shape: outputShape)
        y.data.update(from: x.data, count: x.count)
        activation.apply(y.data, count: y.count, rowLength: inputShape.last ?? 1)
        lastOutput = y
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        if passedThrough { return needsInputGradient ? dy : nil }
        guard needsInputGradient, let y = lastOutput else { return nil }
        activation.backward(y: y.data, dy: dy.data, count: dy.count, rowLength: inputShape.last ?? 1)
        return dy
    }
}
