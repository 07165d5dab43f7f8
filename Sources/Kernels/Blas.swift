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

    public static var config: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }
}
