import Kernels
import Tensor

// input (N, F), kernel (F, U) as Keras, bias (U) -> output (N, U), activation fused
/// Keras Dense. Its three GEMMs run cnnscope's cache-blocked AVX-512 kernels where the options
/// allow (`Blas.blockedSgemm`, `Blas.sgemmNT`); where only AVX2 is, the 6x16 AVX2 kernel, for
/// dW and dX through transposed copies (`Blas.smallKernelTakesDense`, `sgemmTNSmall`,
/// `sgemmNTSmall`); cblas_sgemm otherwise; workers split the output
/// units (forward) and the input features (dW, dx), so no reduction is needed.
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
    /// The kernels' switches (ISA, small GEMM): `ModelBuilder` sets the model's.
    public var options = ConvOptions()
    private let scratch = Workspace()
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

    /// What runs the forward GEMM of a batch split over `workers`: "avx512" (the blocked kernel),
    /// "avx2" (the 6x16 kernel) or "openblas" (cblas_sgemm, and cblas_sgemv for one image).
    public func forwardKernel(batch: Int, workers: Int) -> String {
        if batch == 1 { return "openblas" }
        if Blas.blockedKernels(options) { return "avx512" }
        let columns = units / Swift.max(1, Swift.min(workers, units))
        return Blas.smallKernelTakesDense(columns: columns, options: options) ? "avx2" : "openblas"
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0], F = inputShape[0], U = units
        let y = outputs.get(batch: batch, shape: outputShape)
        let w = kernel.value.data, b = bias.value.data
        // Split the output units: every worker streams only its part of the weight matrix (the
        // largest operand: 6272x256 floats in wide-cnn) and reads all of x (smaller at batch 64).
        ctx.runner.parallelRanges(U, work: batch * F * U) { _, cols in
            for i in 0..<batch {
                (y.data + i * U + cols.lowerBound).update(from: b + cols.lowerBound, count: cols.count)
            }
            if batch == 1 {  // one row: GEMV streams the weights once, without packing them
                Blas.sgemvRow(
                    n: cols.count, k: F, x: x.data, b: w + cols.lowerBound, ldb: U, beta: 1,
                    y: y.data + cols.lowerBound)
            } else {
                Blas.blockedSgemm(
                    m: batch, n: cols.count, k: F, a: x.data, lda: F, b: w + cols.lowerBound, ldb: U,
                    c: y.data + cols.lowerBound, ldc: U, accumulate: true, options: options)
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
        // Both products are split along F (the long side), so each worker packs only its part
        // of x (for dW) or of W (for dX) instead of all of it.
        // dW[rows, :] = x[:, rows]ᵀ · dy; db = Σ rows of dy
        let opts = options
        let smallDW = Blas.smallKernelTakesDense(columns: U, options: opts)
        let smallDX = needsInputGradient && Blas.smallKernelTakesDense(columns: batch, options: opts)
        // One reservation for both products: the small kernels' transposed copies, or the blocked
        // dX kernel's scratch.
        let ntFloats =
            needsInputGradient && !smallDX ? Blas.sgemmNTScratchFloats(m: batch, k: U, options: opts) : 0
        let scratchFloats = Swift.max(
            smallDW ? Blas.smallTransposedScratchFloats(m: F, k: batch, nt: false) : 0,
            smallDX ? Blas.smallTransposedScratchFloats(m: batch, k: U, nt: true) : ntFloats)
        if scratchFloats > 0 { scratch.reserve(workers: ctx.runner.width, floats: scratchFloats) }
        ctx.runner.parallelRanges(F, work: batch * F * U) { worker, rows in
            if smallDW {
                Blas.sgemmTNSmall(
                    m: rows.count, n: U, k: batch, a: x.data + rows.lowerBound, lda: F, b: dy.data, ldb: U,
                    c: dW + rows.lowerBound * U, ldc: U, scratch: scratch.buffer(worker))
                return
            }
            Blas.blockedSgemm(
                transA: true, m: rows.count, n: U, k: batch, a: x.data + rows.lowerBound, lda: F, b: dy.data, ldb: U,
                c: dW + rows.lowerBound * U, ldc: U, accumulate: false, options: opts)
        }
        for u in 0..<U { db[u] = 0 }
        for n in 0..<batch { for u in 0..<U { db[u] += dy.data[n * U + u] } }
        guard needsInputGradient else { return nil }
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let w = kernel.value.data
        // dx[:, cols] = dy · W[cols, :]ᵀ
        ctx.runner.parallelRanges(F, work: batch * F * U) { worker, cols in
            if smallDX {
                Blas.sgemmNTSmall(
                    m: batch, n: cols.count, k: U, a: dy.data, lda: U, b: w + cols.lowerBound * U, ldb: U,
                    c: dx.data + cols.lowerBound, ldc: F, scratch: scratch.buffer(worker))
                return
            }
            Blas.sgemmNT(
                m: batch, n: cols.count, k: U, a: dy.data, lda: U, b: w + cols.lowerBound * U, ldb: U,
                c: dx.data + cols.lowerBound, ldc: F, accumulate: false,
                scratch: ntFloats > 0 ? scratch.buffer(worker) : nil, options: opts)
        }
        return dx
    }
}
