import CKernels
import Tensor

// input NHWC (N,H,W,C), weights HWIO [L = R·S·C, K], dy NHWC (N,P,Q,K)
//   dW [L, K] = Σ colᵀ · dy        (column buffer from the same lowering as forward)
//   db [K]    = Σ_rows dy
//   dx        = col2im(dy · Wᵀ)    (scatter-add of the column gradient; Wᵀ written out for the small GEMM)
/// The backward pass of a convolution through im2col and cblas_sgemm. Workers take whole
/// images (so their col2im writes never overlap), keep private dW/db partials, and the
/// partials are summed at the end. 1x1 stride-1 layers use the input and dx directly. Where
/// forward takes the small-patch path (R·S·C ≤ 80), dW and db come from
/// `cnns_conv_small_patch_dweights` (tiles of 64 patches in L1, patchᵀ·dy in registers) with
/// no column buffer; elsewhere, with AVX2 and `options.implicitWeightGradient`, from
/// `cnns_conv_dweights_implicit` (each kernel row of a patch read from the input in place, a 6 x 16
/// tile of dW in registers), also with no column buffer.
public final class Im2colConv2DBackward {
    public let geometry: ConvGeometry
    public let options: ConvOptions
    private let forwardLowering: Im2colConv2D
    private let workspace = Workspace()
    /// Wᵀ [K, L], written once per backward call when the small GEMM computes the column gradient.
    private let transposedWeights = Workspace()

    public init(geometry: ConvGeometry, options: ConvOptions = ConvOptions()) {
        self.geometry = geometry
        self.options = options
        forwardLowering = Im2colConv2D(geometry: geometry, options: options)
    }

    var patchLength: Int { geometry.r * geometry.s * geometry.c }

    /// Images lowered at once by one worker.
    public var imagesPerChunk: Int {
        max(1, options.workspaceLimitBytes / (4 * geometry.p * geometry.q * patchLength))
    }

    /// FLOPs of one backward for `batch` images: dW GEMM, and dx GEMM when asked.
    public func flops(batch: Int, inputGradient: Bool) -> Double {
        let one: Double = 2 * Double(batch * geometry.p * geometry.q) * Double(patchLength) * Double(geometry.k)
        return inputGradient ? 2 * one : one
    }

    /// Whether the weight gradient runs `cnns_conv_dweights_implicit`: layers that neither read their
    /// input as is (1x1, stride 1) nor take the small-patch path, with the switch on and the kernel fitting.
    public var usesImplicitWeightGradient: Bool {
        guard !forwardLowering.isPointwise, !forwardLowering.usesSmallPatchKernel, options.implicitWeightGradient,
            options.avx2Kernels
        else { return false }
        var shape = geometry.cShape
        return cnns_conv_dweights_implicit_fits(&shape) != 0
    }

    /// Overwrites dWeights, dBias and dInput, each when given (a frozen layer passes no dWeights:
    /// then neither the lowering nor the weight-gradient GEMM runs).
    public func backward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dWeights: UnsafeMutablePointer<Float>?,
        dBias: UnsafeMutablePointer<Float>?, dInput: UnsafeMutablePointer<Float>?,
        runner: ParallelRunner
    ) {
        let g = geometry
        let K = g.k, L = patchLength, PQ = g.p * g.q
        let pointwise = forwardLowering.isPointwise
        let chunk = min(imagesPerChunk, batch)
        let smallPatch = forwardLowering.usesSmallPatchKernel
        let smallPatchWeights = Self.smallPatchWeights(options)
        var shape = geometry.cShape
        let implicit = usesImplicitWeightGradient
        let colFloats = pointwise || ((smallPatch || implicit) && dInput == nil) ? 0 : chunk * PQ * L
        let partial = L * K + K
        let workers = runner.width
        workspace.reserve(workers: workers, floats: partial + colFloats * (dInput == nil ? 1 : 2))
        for w in 0..<workers { workspace.buffer(w).update(repeating: 0, count: partial) }

        // dcol = dy · Wᵀ: with the small GEMM, Wᵀ (K x L, at most the small kernel's panel) is
        // written once here so that the GEMM reads it row-major; OpenBLAS otherwise (its packing
        // transposes). Zen 4, small-filters' 2x2 14x14x32->64 layer: OpenBLAS took ~20% of the step.
        let smallGemmGradient = options.avx2Kernels && options.smallGemm && L * K <= options.smallGemmMaxPanelFloats
        let wT: UnsafePointer<Float>
        if dInput != nil && smallGemmGradient {
            transposedWeights.reserve(workers: 1, floats: L * K)
            let t = transposedWeights.buffer(0)
            cnns_transpose(weights, Int32(L), Int32(K), K, t, L)
            wT = UnsafePointer(t)
        } else {
            wT = weights
        }
        func columnGradient(rows: Int, dy: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
            if smallGemmGradient {
                Blas.smallSgemm(
                    m: rows, n: L, k: K, a: dy, lda: K, b: wT, ldb: L, c: c, ldc: L, accumulate: false, options: options
                )
            } else {
                Blas.sgemm(
                    transB: true, m: rows, n: L, k: K, a: dy, lda: K, b: weights, ldb: K, beta: 0, c: c, ldc: L)
            }
        }

        runner.parallelRanges(batch) { worker, images in
            let buf = workspace.buffer(worker)
            let dW = buf, db = buf + L * K
            let col = buf + partial
            let dcol = col + colFloats
            var n0 = images.lowerBound
            while n0 < images.upperBound {
                let n1 = min(images.upperBound, n0 + chunk)
                let rows = (n1 - n0) * PQ
                let dyc = dy + n0 * PQ * K
                if dWeights != nil && smallPatch {
                    smallPatchWeights(&shape, input, dy, dW, db, n0 * PQ, n1 * PQ)
                } else if dWeights != nil && implicit {
                    cnns_conv_dweights_implicit(&shape, input, dy, dW, db, n0 * PQ, n1 * PQ)
                } else if dWeights != nil {
                    for r in 0..<rows {
                        let d = dyc + r * K
                        for k in 0..<K { db[k] += d[k] }
                    }
                    let a: UnsafePointer<Float>
                    if pointwise {
                        a = input + n0 * PQ * g.c
                    } else {
                        forwardLowering.lower(input: input, rows: (n0 * PQ)..<(n1 * PQ), into: col)
                        a = UnsafePointer(col)
                    }
                    Blas.sgemm(transA: true, m: L, n: K, k: rows, a: a, lda: L, b: dyc, ldb: K, beta: 1, c: dW, ldc: K)
                }
                if let dInput {
                    if pointwise {
                        columnGradient(rows: rows, dy: dyc, into: dInput + n0 * PQ * g.c)
                    } else {
                        columnGradient(rows: rows, dy: dyc, into: dcol)
                        col2im(dcol, images: n0..<n1, into: dInput)
                    }
                }
                n0 = n1
            }
        }
        guard let dWeights else { return }
        dWeights.update(from: workspace.buffer(0), count: L * K)
        if let dBias { dBias.update(from: workspace.buffer(0) + L * K, count: K) }
        for w in 1..<workers {
            let p = workspace.buffer(w)
            for i in 0..<(L * K) { dWeights[i] += p[i] }
            if let dBias { for k in 0..<K { dBias[k] += p[L * K + k] } }
        }
    }

    /// dx[n, ih, iw, :] = Σ over the (p, q, r, s) that read it of dcol[(n,p,q), (r,s,:)].
    func col2im(_ dcol: UnsafePointer<Float>, images: Range<Int>, into dx: UnsafeMutablePointer<Float>) {
        let g = geometry
        let C = g.c, L = patchLength, HWC = g.h * g.w * C
        (dx + images.lowerBound * HWC).update(repeating: 0, count: images.count * HWC)
        var src = dcol
        for n in images {
            let img = dx + n * HWC
            for p in 0..<g.p {
                let ih0 = p * g.strideH - g.padTop
                for q in 0..<g.q {
                    let iw0 = q * g.strideW - g.padLeft
                    for r in 0..<g.r {
                        let ih = ih0 + r
                        if ih < 0 || ih >= g.h { continue }
                        for s in 0..<g.s {
                            let iw = iw0 + s
                            if iw < 0 || iw >= g.w { continue }
                            let d = img + (ih * g.w + iw) * C
                            let sp = src + (r * g.s + s) * C
                            for c in 0..<C { d[c] += sp[c] }
                        }
                    }
                    src += L
                }
            }
        }
    }

    /// The small-patch weight-gradient kernel's C signature: shape, input, dy, dW, db, m0, m1.
    typealias SmallPatchWeights =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
            UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int
        ) -> Void

    /// The small-patch weight-gradient build the options ask for: AVX-512, AVX2, or the reference.
    static func smallPatchWeights(_ options: ConvOptions) -> SmallPatchWeights {
        switch options.smallPatchVariant {
        case CNNS_SP_AVX512: return cnns_conv_small_patch_dweights_avx512
        case CNNS_SP_AVX2: return cnns_conv_small_patch_dweights
        default: return cnns_conv_small_patch_dweights_scalar
        }
    }
}
