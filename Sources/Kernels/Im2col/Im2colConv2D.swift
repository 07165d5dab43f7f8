import CKernels
import Tensor

#if canImport(Glibc)
    import Glibc
#endif

// input NHWC (N,H,W,C), weights HWIO (R,S,C,K) = row-major [R·S·C, K], bias (K)
// column buffer [rows, R·S·C] (one row per output pixel) -> output NHWC [N·P·Q, K] = columns × weights
/// im2col + cblas_sgemm. Each worker lowers a chunk of output pixels into its own column
/// buffer (sized to the workspace limit), multiplies it by the weights (beta = 0), then adds
/// the bias and applies a ReLU-like clamp in one pass while the chunk is in cache. 1x1 stride-1
/// convolutions skip the lowering: the input already is the column matrix, which the pointwise
/// kernel multiplies by packed 16-column weight panels with bias and clamp applied in registers
/// (MobileNetV2's 1x1 layers at batch 1: 1.5-2.6x OpenBLAS on Zen 3, one thread). Short receptive
/// fields (R·S·C ≤ 80, K a multiple of 8: a first layer on grey or RGB images) lower one pixel at
/// a time into registers instead
/// (`cnns_conv_small_patch_forward`, bias and clamp included): a GEMM with k = 9 is mostly
/// overhead, and the column matrix would be 9 times the input.
public final class Im2colConv2D: ConvolutionAlgorithm {
    public let geometry: ConvGeometry
    public let options: ConvOptions
    public var kind: ConvAlgorithmKind { .im2col }
    public var outputClamp: ClosedRange<Float>?
    private let workspace = Workspace()
    /// The weights packed for the pointwise kernel, and which weights (address and version) they
    /// were packed from.
    private lazy var pointwisePanels = PackedWeightPanels(c: geometry.c, k: geometry.k)
    private var pointwiseKey: (weights: UnsafePointer<Float>, version: Int)?

    public init(geometry: ConvGeometry, options: ConvOptions) {
        self.geometry = geometry
        self.options = options
    }

    var isPointwise: Bool { geometry.r == 1 && geometry.s == 1 && geometry.strideH == 1 && geometry.strideW == 1 }

    var patchLength: Int { geometry.r * geometry.s * geometry.c }

    /// Whether a 1x1 stride-1 layer runs cnnscope's pointwise kernel (packed weight panels, bias
    /// and clamp fused into the tile's store) rather than a GEMM call and a second pass.
    public var usesPointwiseKernel: Bool { isPointwise && options.im2colSmallGemm }

    public var kernelISA: String {
        if usesPointwiseKernel { return options.wideKernelISA }
        if usesSmallPatchKernel { return options.wideKernelISA }
        let smallGemm =
            options.im2colSmallGemm && options.avx2Kernels
            && patchLength * geometry.k <= options.smallGemmMaxPanelFloats
        return smallGemm ? options.wideKernelISA : "openblas"
    }

    /// The small-patch forward kernel's C signature: shape, input, weights, bias, clamp, lo, hi, output, m0, m1.
    typealias SmallPatchForward =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
            Int32, Float, Float, UnsafeMutablePointer<Float>?, Int, Int
        ) -> Void

    /// The small-patch forward build the options ask for: AVX-512, AVX2, or the scalar reference.
    static func smallPatchForward(_ options: ConvOptions) -> SmallPatchForward {
        switch options.smallPatchVariant {
        case CNNS_SP_AVX512: return cnns_conv_small_patch_forward_avx512
        case CNNS_SP_AVX2: return cnns_conv_small_patch_forward
        default: return cnns_conv_small_patch_forward_scalar
        }
    }

    /// Whether this layer takes the small-patch path (no column buffer, no GEMM call).
    public var usesSmallPatchKernel: Bool { Self.usesSmallPatch(geometry, options: options) }

    /// The small-patch path's rule: not 1x1 stride 1 (no lowering there anyway), R·S·C ≤ 80,
    /// K a multiple of 8, and not turned off.
    public static func usesSmallPatch(_ g: ConvGeometry, options: ConvOptions) -> Bool {
        var shape = g.cShape
        let pointwise = g.r == 1 && g.s == 1 && g.strideH == 1 && g.strideW == 1
        return !pointwise && options.smallPatch && cnns_conv_small_patch_fits(&shape) != 0
    }

    /// Output pixels lowered per chunk: as many as let the chunk's columns and its output rows
    /// (bias-filled, then accumulated by GEMM) fit the workspace limit together (at least 16).
    /// When the weight matrix is too large for the small GEMM kernel, OpenBLAS packs it on every
    /// call, so chunks get at least 192 rows to amortise the packing (VGG16's 3x3x512 layers).
    public var rowsPerChunk: Int {
        let fit = options.workspaceLimitBytes / (4 * (patchLength + geometry.k))
        return max(patchLength * geometry.k > options.smallGemmMaxPanelFloats ? 192 : 16, fit)
    }

    public func cost(workers: Int) -> ConvCost {
        let g = geometry
        let d = ConvCost.direct(g)
        let m = ConvCost.minimumTraffic(g)
        let rows = g.n * g.p * g.q
        if isPointwise || usesSmallPatchKernel {
            let panels = usesPointwiseKernel ? 4 * Double(PackedWeightPanels.floats(c: g.c, k: g.k)) : 0
            return ConvCost(
                directFLOPs: d, executedFLOPs: d, oncePerWeightsFLOPs: 0, workspaceBytes: panels,
                minimumTrafficBytes: m, algorithmTrafficBytes: m)
        }
        let perWorkerRows = min(rowsPerChunk, (rows + workers - 1) / workers)
        let ws = Double(workers * perWorkerRows * patchLength * 4)
        let column = 2 * Double(rows) * Double(patchLength) * 4  // written, then read by GEMM
        return ConvCost(
            directFLOPs: d, executedFLOPs: d, oncePerWeightsFLOPs: 0, workspaceBytes: ws,
            minimumTrafficBytes: m, algorithmTrafficBytes: m + column)
    }

    public func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>, weightsVersion: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner, observer: ConvStageObserver?
    ) {
        let g = geometry
        let K = g.k, L = patchLength
        let rows = batch * g.p * g.q
        let chunk = rowsPerChunk
        if !isPointwise && !usesSmallPatchKernel {
            workspace.reserve(workers: runner.width, floats: min(chunk, rows) * L)
        }
        if usesPointwiseKernel {
            forwardPointwise(
                input: input, rows: rows, weights: weights, weightsVersion: weightsVersion, bias: bias,
                output: output, runner: runner, observer: observer)
            return
        }
        let clamps = outputClamp != nil
        let lo = outputClamp?.lowerBound ?? 0, hi = outputClamp?.upperBound ?? 0
        if usesSmallPatchKernel {
            var shape = geometry.cShape
            runner.parallelRanges(rows, work: rows * L * K) { worker, range in
                observer?.stageBegan(.direct, worker: worker)
                Self.smallPatchForward(options)(
                    &shape, input, weights, bias, clamps ? 1 : 0, lo, hi, output, range.lowerBound, range.upperBound)
                observer?.stageEnded(.direct, worker: worker)
            }
            return
        }
        runner.parallelRanges(rows, work: rows * L * K) { worker, range in
            var m0 = range.lowerBound
            while m0 < range.upperBound {
                let m1 = min(range.upperBound, m0 + chunk)
                let mc = m1 - m0
                assert(isPointwise || mc * L <= workspace.capacity(worker), "im2col workspace overflow")
                observer?.stageBegan(.lowering, worker: worker)
                let out = output + m0 * K
                let a: UnsafePointer<Float>
                if isPointwise {
                    a = input + m0 * g.c
                } else {
                    let col = workspace.buffer(worker)
                    lower(input: input, rows: m0..<m1, into: col)
                    a = UnsafePointer(col)
                }
                observer?.stageEnded(.lowering, worker: worker)
                observer?.stageBegan(.gemm, worker: worker)
                if options.im2colSmallGemm && options.avx2Kernels {
                    Blas.smallSgemm(
                        m: mc, n: K, k: L, a: a, lda: L, b: weights, ldb: K, c: out, ldc: K, accumulate: false,
                        options: options)
                } else {
                    Blas.sgemm(m: mc, n: K, k: L, a: a, lda: L, b: weights, ldb: K, beta: 0, c: out, ldc: K)
                }
                // Bias and activation in one pass over the chunk GEMM just wrote (still in cache),
                // instead of pre-filling the output with the bias and accumulating into it.
                if let bias {
                    for i in 0..<mc {
                        let o = out + i * K
                        if clamps {
                            for k in 0..<K { o[k] = Swift.min(Swift.max(o[k] + bias[k], lo), hi) }
                        } else {
                            for k in 0..<K { o[k] += bias[k] }
                        }
                    }
                } else if clamps {
                    for i in 0..<(mc * K) { out[i] = Swift.min(Swift.max(out[i], lo), hi) }
                }
                observer?.stageEnded(.gemm, worker: worker)
                m0 = m1
            }
        }
    }

    // input (rows, C), weights (C, K), bias (K) -> output (rows, K) = clamp(input · weights + bias)
    /// The pointwise kernel: workers split the output pixels, or the 16-column panels when there
    /// are too few pixels for 16 six-row tiles each (7x7 and 14x14 maps at batch 1), so that each
    /// worker reads only its part of the weight matrix and no worker gets a short tail of rows.
    func forwardPointwise(
        input: UnsafePointer<Float>, rows: Int, weights: UnsafePointer<Float>, weightsVersion: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        observer: ConvStageObserver?
    ) {
        let vector = options.avx2Kernels
        let packed = vector ? pointwisePanels : nil
        if let packed, pointwiseKey?.weights != weights || pointwiseKey?.version != weightsVersion {
            observer?.stageBegan(.filterTransform, worker: 0)
            packed.pack(weights, runner: SerialRunner())
            pointwiseKey = (weights, weightsVersion)
            observer?.stageEnded(.filterTransform, worker: 0)
        }
        let panels = PackedWeightPanels.panels(k: geometry.k)
        let (opts, clamp, c, k) = (options, outputClamp, geometry.c, geometry.k)
        func run(_ m: Range<Int>, _ j: Range<Int>, worker: Int) {
            observer?.stageBegan(.gemm, worker: worker)
            PackedWeightPanels.pointwise(
                opts, panels: packed, weights: weights, c: c, k: k, input: input, bias: bias, clamp: clamp,
                output: output, rows: m, panels: j)
            observer?.stageEnded(.gemm, worker: worker)
        }
        let work = rows * geometry.c * geometry.k
        if rows >= 96 * runner.width || panels < runner.width {
            runner.parallelRanges(rows, work: work) { worker, m in run(m, 0..<panels, worker: worker) }
        } else {
            runner.parallelRanges(panels, work: work) { worker, j in run(0..<rows, j, worker: worker) }
        }
    }

    /// Copies the receptive field of output pixels `rows` into `col` (zeros where padded).
    @inline(__always)
    func lower(input: UnsafePointer<Float>, rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        PatchLowering.lower(geometry, input: input, rows: rows, into: col, rowLength: patchLength, padding: 0)
    }
}

extension ConvGeometry {
    /// The geometry as the C kernels take it.
    var cShape: cnns_conv_shape {
        cnns_conv_shape(
            h: Int32(h), w: Int32(w), c: Int32(c), r: Int32(r), s: Int32(s), k: Int32(k),
            stride_h: Int32(strideH), stride_w: Int32(strideW), pad_top: Int32(padTop),
            pad_left: Int32(padLeft), p: Int32(p), q: Int32(q))
    }
}

extension ConvOptions {
    /// The build of the small-patch kernels (first layers, alone or with their ReLU and 2x2 max
    /// pooling) these options run: CNNS_SP_AVX512, CNNS_SP_AVX2 or CNNS_SP_SCALAR (the reference).
    public var smallPatchVariant: Int32 {
        byISA(avx512: CNNS_SP_AVX512, avx2: CNNS_SP_AVX2, scalar: CNNS_SP_SCALAR)
    }
}
