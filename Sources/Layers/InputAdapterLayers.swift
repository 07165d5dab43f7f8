import Tensor

// input NHWC (N,H,W,1) -> output NHWC (N,H,W,3): the grey value repeated
/// Grey to RGB (tf.image.grayscale_to_rgb): lets MNIST-like images feed a base built for
/// colour. Backward sums the three channel gradients.
public final class RepeatChannelsLayer: Layer {
    public let name: String
    public var kerasClass: String { "GrayscaleToRGB" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let times: Int
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()

    public init(name: String, input: [Int], times: Int = 3) throws {
        guard input.count == 3, input[2] == 1 else {
            throw TensorError.invalidDimension("\(name): grey-to-RGB needs a one-channel (H,W,1) input, got \(input)")
        }
        guard times >= 1 else { throw TensorError.invalidDimension("\(name): channels must be positive, got \(times)") }
        self.name = name
        inputShape = input
        self.times = times
        outputShape = [input[0], input[1], times]
    }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: 0, forwardBytes: Self.bytes(n + n * times))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let y = outputs.get(batch: x.shape[0], shape: outputShape)
        let t = times
        for i in 0..<x.count { let v = x.data[i]; for c in 0..<t { y.data[i * t + c] = v } }
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient else { return nil }
        let dx = inputGrads.get(batch: dy.shape[0], shape: inputShape)
        let t = times
        for i in 0..<dx.count { var s: Float = 0; for c in 0..<t { s += dy.data[i * t + c] }; dx.data[i] = s }
        return dx
    }
}

// input (N, ...) -> output (N, ...): y = x·scale + offset
/// Keras Rescaling: MobileNetV2's preprocessing maps pixels in [0, 1] to [−1, 1]
/// (scale 2, offset −1) before the ImageNet weights see them.
public final class RescalingLayer: Layer {
    public let name: String
    public var kerasClass: String { "Rescaling" }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let scale: Float, offset: Float
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()

    public init(name: String, input: [Int], scale: Float, offset: Float) {
        self.name = name
        inputShape = input
        self.scale = scale
        self.offset = offset
    }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(2 * n), forwardBytes: Self.bytes(2 * n))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let y = outputs.get(batch: x.shape[0], shape: outputShape, ctx)
        let (src, dst, a, b) = (UnsafePointer(x.data), y.data, scale, offset)
        ctx.runner.parallelRanges(x.count, work: x.count) { _, r in
            for i in r { dst[i] = src[i] * a + b }
        }
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient else { return nil }
        for i in 0..<dy.count { dy.data[i] *= scale }
        return dy
    }
}
