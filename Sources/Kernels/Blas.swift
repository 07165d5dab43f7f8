import CBLAS
import CKernels

#if canImport(Glibc)
    import Glibc
#endif

/// The only door to BLAS. Row-major single-precision GEMM and OpenBLAS' thread count.
public enum Blas {
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, row-major.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y[n] = alpha·xᵀ·B + beta·y for one row x[k] and B[k×n] (row-major, leading dimension ldb):
    /// a Dense layer at batch 1, where GEMM would pack all of B for a single row.
    @inline(__always)
    public static func sgemvRow(
        n: Int, k: Int, alpha: Float = 1, x: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), x, 1, beta, y, 1)
    }

    /// Whether the hand-written AVX2+FMA small-GEMM kernel can run here.
    public static let haveSmallGemm: Bool = cnns_have_avx2_fma() != 0

    /// Whether the AVX-512 kernels (F, BW, VL, DQ) can run here, and the int8 GEMM on VNNI.
    public static let haveAVX512: Bool = cnns_have_avx512() != 0
    public static let haveAVX512VNNI: Bool = cnns_have_avx512_vnni() != 0

    /// C[m×n] = A·B (row-major, beta 0) for the small, many GEMMs of Winograd's transform
    /// domain: cnnscope's 12x32 AVX-512 or 6x16 AVX2+FMA kernel as the options' ISA allows,
    /// cblas_sgemm otherwise.
    @inline(__always)
    public static func smallSgemm(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, options: ConvOptions = ConvOptions()
    ) {
        if options.avx512Kernels && options.smallGemm && k * n <= options.smallGemmMaxPanelFloats {
            cnns_sgemm_nn_avx512(
                Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), accumulate ? 1 : 0)
        } else if options.avx2Kernels && options.smallGemm && k * n <= options.smallGemmMaxPanelFloats {
            cnns_sgemm_nn_avx2(
                Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), accumulate ? 1 : 0)
        } else {
            sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }

    /// Whether the Dense layers' GEMMs run cnnscope's cache-blocked kernels (`blockedSgemm`,
    /// `sgemmNT`) under these options: AVX-512 only. With AVX2 alone the 16-lane code would spill
    /// (it is built there for tests), so OpenBLAS keeps those GEMMs.
    public static func blockedKernels(_ options: ConvOptions) -> Bool { options.avx512Kernels && options.smallGemm }

    // C[m×n] (+)= op(A)·B, op(A) = A (m×k) or Aᵀ (A k×m), B k×n, all row-major
    /// C = op(A)·B (+ C when `accumulate`) for a Dense layer's forward (A = x) and weight gradient
    /// (transA, A = x, B = dy): cnnscope's blocked 12x32 AVX-512 kernel where `blockedKernels`
    /// allows, the forward on the 6x16 AVX2 kernel over copied panels where `smallKernelTakesDense`
    /// does, cblas_sgemm otherwise. On Zen 4 (two threads, batch 64, each worker half the
    /// columns) OpenBLAS took 1.0-1.2x this kernel's time on wide-cnn's 6272->256 layer and
    /// 1.1-1.25x on 3136->128.
    @inline(__always)
    public static func blockedSgemm(
        transA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
        options: ConvOptions
    ) {
        if blockedKernels(options) {
            cnns_sgemm_blocked_avx512(
                transA ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc),
                accumulate ? 1 : 0)
        } else if !transA && smallKernelTakesDense(columns: n, options: options) {
            cnns_sgemm_panels_avx2(
                Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), accumulate ? 1 : 0)
        } else {
            sgemm(
                transA: transA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: c,
                ldc: ldc)
        }
    }

    /// Whether a Dense layer's GEMMs run the 6x16 AVX2 kernel where the AVX-512 ones are ruled out:
    /// under options that allow the AVX2 kernels, with at least `columns` >= 16 for the kernel (a
    /// worker's units forward and for dW, the batch for dX; the kernel's 8-column and scalar tails
    /// run one row at a time, so narrower products stay on OpenBLAS). Forward x·W runs in
    /// `blockedSgemm` on `cnns_sgemm_panels_avx2` (256 rows of a 16-column panel of W copied into
    /// a contiguous strip that stays in L1 while the batch's 6-row strips pass), dW and dX through
    /// transposed copies (`sgemmTNSmall`, `sgemmNTSmall`). On Zen 1 the unpacked kernel ran
    /// basic-cnn's 64x64x3136 at 35.9 GFLOP/s against OpenBLAS 0.3.21's 13.2 on one thread
    /// (wide-cnn's 64x128x6272: 16.0 against 11.1, fcnn's 64x256x784: 31.8 against 12.4). On Zen 3
    /// (C harness, 41 alternated runs, one thread) the strips took it 1.86x (1.24-2.47) faster on
    /// 64x128x6272 (28.6 -> 50.3 GFLOP/s), 1.36x on 64x64x3136 and 1.13x on 64x128x784; dW's and
    /// dX's products (k the batch or 256 rows) ran at 88-90 GFLOP/s either way and stay unpacked.
    public static func smallKernelTakesDense(columns: Int, options: ConvOptions) -> Bool {
        !blockedKernels(options) && columns >= 16 && options.avx2Kernels && options.smallGemm
    }

    /// Rows of A in one register block of the AVX2 small GEMM (`cnns_sgemm_nn_avx2`, 6x16) and of
    /// the AVX2 pointwise kernel.
    public static let avx2GemmRows = 6

    /// Rows of the transposed operand `sgemmTNSmall` and `sgemmNTSmall` take at a time.
    public static let smallTransposeBlock = 256

    /// Floats of scratch one call of `sgemmTNSmall` (`nt` false) or `sgemmNTSmall` (`nt` true) needs
    /// for an m×k A.
    public static func smallTransposedScratchFloats(m: Int, k: Int, nt: Bool) -> Int {
        nt ? k * m + smallTransposeBlock * m : smallTransposeBlock * k
    }

    // C[m×n] = Aᵀ·B, A k×m (lda), B k×n (ldb); scratch: smallTransposedScratchFloats(m:k:nt: false)
    /// C = Aᵀ·B on the 6x16 AVX2 kernel: A's columns in blocks of `smallTransposeBlock`, each
    /// transposed into `scratch` (block x k) and multiplied by B (k x n, its 16-column panels in L1
    /// for a Dense layer's batch-sized k). For a Dense layer's dW = xᵀ·dy.
    public static func sgemmTNSmall(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        var r0 = 0
        while r0 < m {
            let rows = Swift.min(smallTransposeBlock, m - r0)
            cnns_transpose(a + r0, Int32(k), Int32(rows), lda, scratch, k)
            cnns_sgemm_nn_avx2(
                Int32(rows), Int32(n), Int32(k), scratch, Int32(k), b, Int32(ldb), c + r0 * ldc, Int32(ldc), 0)
            r0 += rows
        }
    }

    // C[m×n] = A·Bᵀ, A m×k (lda), B n×k (ldb); scratch: smallTransposedScratchFloats(m:k:nt: true)
    /// C = A·Bᵀ on the 6x16 AVX2 kernel, as Cᵀ = B·Aᵀ: Aᵀ (k x m) once into `scratch`, then per block
    /// of `smallTransposeBlock` rows of B their product with it (block x m) into the rest of
    /// `scratch`, transposed into C's columns. For a Dense layer's dX = dy·Wᵀ (m the batch).
    public static func sgemmNTSmall(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let at = scratch, t = scratch + k * m
        cnns_transpose(a, Int32(m), Int32(k), lda, at, m)
        var r0 = 0
        while r0 < n {
            let rows = Swift.min(smallTransposeBlock, n - r0)
            cnns_sgemm_nn_avx2(Int32(rows), Int32(m), Int32(k), b + r0 * ldb, Int32(ldb), at, Int32(m), t, Int32(m), 0)
            cnns_transpose(t, Int32(rows), Int32(m), m, c + r0, ldc)
            r0 += rows
        }
    }

    /// Floats of scratch `sgemmNT` needs for an m×k A (0 when it calls OpenBLAS).
    public static func sgemmNTScratchFloats(m: Int, k: Int, options: ConvOptions) -> Int {
        blockedKernels(options) ? Int(cnns_sgemm_nt_scratch_floats(Int32(m), Int32(k))) : 0
    }

    // C[m×n] (+)= A[m×k] · Bᵀ, B n×k
    /// C = A·Bᵀ (+ C when `accumulate`) for a Dense layer's input gradient (A = dy, B = the
    /// weights): cnnscope's kernel (Cᵀ = B·Aᵀ block by block, transposed into C in L1) where
    /// `blockedKernels` allows, cblas_sgemm otherwise. `scratch` holds `sgemmNTScratchFloats`.
    @inline(__always)
    public static func sgemmNT(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: UnsafeMutablePointer<Float>?,
        options: ConvOptions
    ) {
        if blockedKernels(options), let scratch {
            cnns_sgemm_nt_avx512(
                Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), accumulate ? 1 : 0,
                scratch)
        } else {
            sgemm(
                transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: c,
                ldc: ldc)
        }
    }

    // The small kernel does not block for cache: each 6-row strip streams all of B (k×n). Past
    // `ConvOptions.smallGemmMaxPanelFloats` (384 KiB, under Zen 3's 512 KiB L2) OpenBLAS's packed,
    // blocked GEMM wins: VGG16's 28x28x512->512 layer at batch 1, im2col 126 ms small kernel vs
    // 42 ms OpenBLAS; the lab's layers (B ≤ 300 KiB) stay 5-25% faster on the small kernel.

    /// OpenBLAS' own thread count (its threads are separate from cnnscope's worker pool).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The OpenBLAS kernel family in use (e.g. "Haswell", "Zen").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The widest vector ISA of an OpenBLAS kernel family, as the kernels' ISAs are named: its
    /// AVX-512 families "avx512", its AVX2 ones "avx2", any other "scalar" (nothing wider than the
    /// scalar FMA roof is claimed for them).
    public static func vectorISA(ofCore core: String) -> String {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return "avx512"
        case "haswell", "zen", "excavator": return "avx2"
        default: return "scalar"
        }
    }

    public static var config: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }
}
