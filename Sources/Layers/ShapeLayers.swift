import Tensor

// input (N, H, W, C) -> output (N, H·W·C), a view: no copy
/// Keras Flatten.
public final class FlattenLayer: Layer {
    public let name: String
    public var kerasClass: String { "Flatten" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }

    public init(name: String, input: [Int]) {
        self.name = name
        inputShape = input
        outputShape = [input.reduce(1, *)]
    }

    public func cost() -> LayerCost { LayerCost(forwardFLOPs: 0, forwardBytes: 0) }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        try! x.reshaped([x.shape[0]] + outputShape)
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        needsInputGradient ? try! dy.reshaped([dy.shape[0]] + inputShape) : nil
    }
}

// input (N, H, W, C) -> output (N, C): mean over H and W
/// Keras GlobalAveragePooling2D.
public final class GlobalAveragePoolingLayer: Layer {
    public let name: String
    public var kerasClass: String { "GlobalAveragePooling2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()

    public init(name: String, input: [Int]) throws {
        guard input.count == 3 else {
            throw TensorError.invalidDimension("\(name): needs an (H,W,C) input, got \(input)")
        }
        self.name = name
        inputShape = input
        outputShape = [input[2]]
    }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(n), forwardBytes: Self.bytes(n + inputShape[2]))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0], HW = inputShape[0] * inputShape[1], C = inputShape[2]
        let y = outputs.get(batch: batch, shape: outputShape)
        let inv = 1 / Float(HW)
        for n in 0..<batch {
            let o = y.data + n * C
            o.update(repeating: 0, count: C)
            for i in 0..<HW { let p = x.data + (n * HW + i) * C; for c in 0..<C { o[c] += p[c] } }
            for c in 0..<C { o[c] *= inv }
        }
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient else { return nil }
        let batch = dy.shape[0], HW = inputShape[0] * inputShape[1], C = inputShape[2]
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let inv = 1 / Float(HW)
        for n in 0..<batch {
            for i in 0..<HW { let p = dx.data + (n * HW + i) * C; for c in 0..<C { p[c] = dy.data[n * C + c] * inv } }
        }
        return dx
    }
}

// input (N, ...) -> output (N, ...): inverted dropout, seeded
/// Keras Dropout: in training, zeroes each value with probability `rate` and scales the
/// survivors by 1/(1 − rate); at inference it passes the input through.
public final class DropoutLayer: Layer {
    public let name: String
    public var kerasClass: String { "Dropout" }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let rate: Float
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private var mask: [Float] = []
    private var applied = false

    public init(name: String, input: [Int], rate: Float) throws {
        guard rate >= 0, rate < 1 else {
            throw TensorError.invalidDimension("\(name): dropout rate must be in [0, 1), got \(rate)")
        }
        self.name = name
        inputShape = input
        self.rate = rate
    }

    public func cost() -> LayerCost { LayerCost(forwardFLOPs: Double(inputShape.reduce(1, *)), forwardBytes: 0) }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        applied = ctx.training && rate > 0
        guard applied else { return x }
        let y = outputs.get(batch: x.shape[0], shape: outputShape)
        if mask.count < x.count { mask = [Float](repeating: 0, count: x.count) }
        let keep = 1 / (1 - rate)
        for i in 0..<x.count {
            let m: Float = ctx.rng.nextUnit() < rate ? 0 : keep
            mask[i] = m
            y.data[i] = x.data[i] * m
        }
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard applied else { return dy }
        for i in 0..<dy.count { dy.data[i] *= mask[i] }
        return dy
    }
}
