import Tensor
import Kernels

// input (N, F), kernel (F, U) as Keras, bias (U) -> output (N, U), activation fused
/// Keras Dense through cblas_sgemm; workers split the batch rows (forward, dx) and the
/// output columns (dW), so no reduction is needed.
public final class DenseLayer: Layer {
    public let name: String
    public var kerasClass: String { "Dense" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let units: Int
    public let activation: Activation
    public let kernel: Parameter
    public let bias: Parameter
    public var needsInputGradient = true
    public var trainable = true
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    public init(name: String, inputFeatures: Int, units: Int, activation: Activation = .linear) throws {
        guard inputFeatures > 0, units > 0 else {
            throw TensorError.invalidDimension("\(name): Dense needs positive sizes, got \(inputFeatures) -> \(units)")
        }
        self.name = name
        inputShape = [inputFeatures]
        outputShape = [units]
        self.units = units
        self.activation = activation
        kernel = Parameter(name: "kernel", shape: try TensorShape([inputFeatures, units]))
        bias = Parameter(name: "bias", shape: try TensorShape([units]))
    }

    public var parameters: [Parameter] { [kernel, bias] }

    public func cost() -> LayerCost {
        let f = inputShape[0], u = units
        return LayerCost(forwardFLOPs: Double(2 * f * u + u), forwardBytes: Self.bytes(f + f * u + u + u))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0], F = inputShape[0], U = units
        let y = outputs.get(batch: batch, shape: outputShape)
        let w = kernel.value.data, b = bias.value.data
        if batch < 4 * ctx.runner.width {
            // Few rows (inference at small batch): split the output units instead, so every
            // worker streams its own part of the weight matrix (the layer is bandwidth-bound).
            ctx.runner.parallelRanges(U, work: batch * F * U) { _, cols in
                for i in 0..<batch { (y.data + i * U + cols.lowerBound).update(from: b + cols.lowerBound, count: cols.count) }
                Blas.sgemm(m: batch, n: cols.count, k: F, a: x.data, lda: F, b: w + cols.lowerBound, ldb: U,
                           beta: 1, c: y.data + cols.lowerBound, ldc: U)
            }
        } else {
            ctx.runner.parallelRanges(batch, work: batch * F * U) { _, rows in
                let out = y.data + rows.lowerBound * U
                for i in 0..<rows.count { (out + i * U).update(from: b, count: U) }
                Blas.sgemm(m: rows.count, n: U, k: F, a: x.data + rows.lowerBound * F, lda: F, b: w, ldb: U,
                           beta: 1, c: out, ldc: U)
            }
        }
        activation.apply(y.data, count: y.count, rowLength: U)
        lastInput = x
        lastOutput = y
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0], F = inputShape[0], U = units
        activation.backward(y: y.data, dy: dy.data, count: dy.count, rowLength: U)
        let dW = kernel.grad.data, db = bias.grad.data
        // dW[:, cols] = xᵀ · dy[:, cols]; db = Σ rows of dy
        ctx.runner.parallelRanges(U, work: batch * F * U) { _, cols in
            Blas.sgemm(transA: true, m: F, n: cols.count, k: batch, a: x.data, lda: F, b: dy.data + cols.lowerBound, ldb: U,
                       beta: 0, c: dW + cols.lowerBound, ldc: U)
            for u in cols {
                var s: Float = 0
                for n in 0..<batch { s += dy.data[n * U + u] }
                db[u] = s
            }
        }
        guard needsInputGradient else { return nil }
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let w = kernel.value.data
        ctx.runner.parallelRanges(batch, work: batch * F * U) { _, rows in
            Blas.sgemm(transB: true, m: rows.count, n: F, k: U, a: dy.data + rows.lowerBound * U, lda: U, b: w, ldb: U,
                       beta: 0, c: dx.data + rows.lowerBound * F, ldc: F)
        }
        return dx
    }
}
