import Tensor

#if canImport(Glibc)
    import Glibc
#endif

// input (N, ..., C) -> output (N, ..., C), normalised per channel over every other axis
/// Keras BatchNormalization: gamma, beta trainable; moving mean and variance non-trainable,
/// updated in training as moving = momentum·moving + (1 − momentum)·batch (momentum 0.99),
/// epsilon 1e-3. Inference mode (and a frozen layer) uses the moving statistics.
public final class BatchNormLayer: FoldableIntoConvolution {
    public let name: String
    public var kerasClass: String { "BatchNormalization" }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let gamma: Parameter, beta: Parameter, movingMean: Parameter, movingVariance: Parameter
    public var momentum: Float = 0.99
    public var epsilon: Float = 1e-3
    public var needsInputGradient = true
    public var trainable = true
    /// Set by Sequential: at inference the convolution before applies this layer (`InferenceFold`).
    public var foldedInto: String?
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var xhat: Tensor?
    private var invStd: [Float] = []
    private var usedBatchStatistics = false
    /// The last forward was folded into the convolution before: backward is the identity.
    private var passedThrough = false

    public init(name: String, input: [Int]) throws {
        self.name = name
        inputShape = input
        let c = try TensorShape([input.last ?? 1])
        gamma = Parameter(name: "gamma", shape: c)
        beta = Parameter(name: "beta", shape: c)
        movingMean = Parameter(name: "moving_mean", shape: c, trainable: false)
        movingVariance = Parameter(name: "moving_variance", shape: c, trainable: false)
        gamma.value.fill(1)
        movingVariance.value.fill(1)
    }

    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }

    public func cost() -> LayerCost {
        let n = inputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(2 * n), forwardBytes: Self.bytes(2 * n + 4 * (inputShape.last ?? 1)))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0]
        let C = inputShape.last!
        let rows = x.count / C
        let y = outputs.get(batch: batch, shape: outputShape)
        let g = gamma.value.data, b = beta.value.data
        usedBatchStatistics = ctx.training && trainable
        passedThrough = !ctx.training && foldedInto != nil
        if passedThrough { return x }
        if usedBatchStatistics {
            var mean = [Double](repeating: 0, count: C), sq = [Double](repeating: 0, count: C)
            for r in 0..<rows {
                let p = x.data + r * C
                for c in 0..<C { let v = Double(p[c]); mean[c] += v; sq[c] += v * v }
            }
            let xh = xhat?.count == x.count ? xhat! : Tensor(shape: x.shape)
            xhat = xh
            invStd = [Float](repeating: 0, count: C)
            var m = [Float](repeating: 0, count: C)
            for c in 0..<C {
                let mu = mean[c] / Double(rows)
                let v = max(0, sq[c] / Double(rows) - mu * mu)
                m[c] = Float(mu)
                invStd[c] = Float(1 / (v + Double(epsilon)).squareRoot())
                // Keras updates the moving variance with the unbiased batch variance? No: with the
                // biased one (tf.nn.moments), as here.
                movingMean.value.data[c] = momentum * movingMean.value.data[c] + (1 - momentum) * Float(mu)
                movingVariance.value.data[c] = momentum * movingVariance.value.data[c] + (1 - momentum) * Float(v)
            }
            movingMean.version += 1
            movingVariance.version += 1
            for r in 0..<rows {
                let p = x.data + r * C, q = y.data + r * C, h = xh.data + r * C
                for c in 0..<C {
                    let v = (p[c] - m[c]) * invStd[c]
                    h[c] = v
                    q[c] = g[c] * v + b[c]
                }
            }
        } else {
            let (scale, shift) = inferenceAffine()
            for r in 0..<rows {
                let p = x.data + r * C, q = y.data + r * C
                for c in 0..<C { q[c] = p[c] * scale[c] + shift[c] }
            }
        }
        return y
    }

    /// Inference mode as an affine map per channel: y = x·scale + shift, scale = γ/√(σ² + ε),
    /// shift = β − μ·scale (also what a convolution folds in, `InferenceFold`).
    public func inferenceAffine() -> (scale: [Float], shift: [Float]) {
        let C = inputShape.last ?? 1
        var scale = [Float](repeating: 0, count: C), shift = [Float](repeating: 0, count: C)
        for c in 0..<C {
            let s = gamma.value.data[c] / (movingVariance.value.data[c] + epsilon).squareRoot()
            scale[c] = s
            shift[c] = beta.value.data[c] - movingMean.value.data[c] * s
        }
        return (scale, shift)
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        let C = inputShape.last!
        let rows = dy.count / C
        let g = gamma.value.data
        if passedThrough { return needsInputGradient ? dy : nil }
        guard usedBatchStatistics, let xh = xhat else {
            // Inference-mode statistics are constants: y = x·scale + shift.
            for c in 0..<C { gamma.grad.data[c] = 0; beta.grad.data[c] = 0 }
            guard needsInputGradient else { return nil }
            let dx = inputGrads.get(batch: dy.shape[0], shape: inputShape)
            let scale = inferenceAffine().scale
            for r in 0..<rows {
                for c in 0..<C { dx.data[r * C + c] = dy.data[r * C + c] * scale[c] }
            }
            return dx
        }
        var dg = [Float](repeating: 0, count: C), db = [Float](repeating: 0, count: C)
        for r in 0..<rows {
            let d = dy.data + r * C, h = xh.data + r * C
            for c in 0..<C { dg[c] += d[c] * h[c]; db[c] += d[c] }
        }
        for c in 0..<C { gamma.grad.data[c] = dg[c]; beta.grad.data[c] = db[c] }
        guard needsInputGradient else { return nil }
        let dx = inputGrads.get(batch: dy.shape[0], shape: inputShape)
        let invN = 1 / Float(rows)
        for r in 0..<rows {
            let d = dy.data + r * C, h = xh.data + r * C, o = dx.data + r * C
            for c in 0..<C {
                o[c] = g[c] * invStd[c] * invN * (Float(rows) * d[c] - db[c] - h[c] * dg[c])
            }
        }
        return dx
    }
}
