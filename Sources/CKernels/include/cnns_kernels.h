// Hand-written compute kernels the Kernels module calls where OpenBLAS is a poor fit:
// the many small transform-domain GEMMs of Winograd convolution (tiles x C times C x K with
// C and K of 8..256). Chosen at run time: AVX2+FMA when the CPU has it.
#ifndef CNNS_KERNELS_H
#define CNNS_KERNELS_H
#include <stdint.h>

/// 1 where the x86 kernels (AVX2+FMA intrinsics, chosen at run time) are compiled; elsewhere
/// (aarch64) only the plain C references are, and cnns_have_avx2_fma() says 0.
#if defined(__x86_64__) || defined(__i386__)
#define CNNS_X86 1
#else
#define CNNS_X86 0
#endif

/// 1 when the AVX2+FMA kernel can run on this CPU.
int cnns_have_avx2_fma(void);

/// C[m x n] = A[m x k] · B[k x n] (+ C when accumulate != 0), row-major. Requires cnns_have_avx2_fma().
/// Register blocking 6 rows x 16 columns; tails handled with narrower and scalar code.
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                        int accumulate);

/// The contract of cnns_sgemm_nn_avx2, with the same sums bit for bit, for a long k (a Dense
/// layer's inputs): k in blocks of CNNS_SGEMM_PANEL_KC rows, each 16-column panel of B copied
/// into a contiguous strip before every 6-row block of A passes it. Requires cnns_have_avx2_fma().
#define CNNS_SGEMM_PANEL_KC 256
void cnns_sgemm_panels_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                            int accumulate);
#endif

#ifndef CNNS_WIDE_H
#define CNNS_WIDE_H
/// 1 when the AVX-512 kernels can run on this CPU: AVX-512F, BW, VL and DQ (and FMA).
int cnns_have_avx512(void);
/// 1 when, in addition, the CPU has AVX-512 VNNI (vpdpbusd) for the int8 GEMM.
int cnns_have_avx512_vnni(void);

/// The 16-lane kernels: the AVX-512 variants of cnns_sgemm_nn_avx2, cnns_pointwise_forward and
/// cnns_qgemm_u7s8, with the same contracts. Register tile 12 rows x 32 columns. `_avx512`
/// requires cnns_have_avx512(), `_avx512vnni` cnns_have_avx512_vnni(); `_w16` is the same code
/// compiled for AVX2 (or portable C), which runs anywhere: tests use it where AVX-512 is absent.
void cnns_sgemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          int accumulate);
void cnns_sgemm_nn_w16(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                       int accumulate);
/// C[m x n] (+)= op(A) · B, row-major, blocked for the caches (k in blocks of 256, m in blocks of 192
/// rows): op(A) = A (m x k) or, with trans_a, Aᵀ of a k x m A. For the Dense layers' forward (x · W,
/// k up to thousands) and weight gradient (xᵀ · dy), where sgemm_nn would stream all of B per row strip.
void cnns_sgemm_blocked_avx512(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                               float *c, int ldc, int accumulate);
void cnns_sgemm_blocked_w16(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc, int accumulate);
/// C[m x n] (+)= A[m x k] · Bᵀ with B n x k (a Dense layer's input gradient dy · Wᵀ). scratch holds
/// k·m + 64·m floats (cnns_sgemm_nt_scratch_floats).
void cnns_sgemm_nt_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          int accumulate, float *scratch);
void cnns_sgemm_nt_w16(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                       int accumulate, float *scratch);
static inline long cnns_sgemm_nt_scratch_floats(int m, int k) { return (long)m * k + 64L * m; }
void cnns_pointwise_forward_avx512(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                                   float lo, float hi, float *output, long m0, long m1, int j0, int j1);
void cnns_pointwise_forward_w16(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                                float lo, float hi, float *output, long m0, long m1, int j0, int j1);
void cnns_qgemm_u7s8_avx512(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                            int ldc);
void cnns_qgemm_u7s8_avx512vnni(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                                int ldc);
void cnns_qgemm_u7s8_w16(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc);
/// The 16-lane loop under the int8 GEMM and the direct int8 convolution, with the contract of
/// cnns_qgemm_gathered_avx2 (rows at a[0..<rows), groups at a[i] + off[g]; no extra pointers needed).
void cnns_qgemm_gathered_avx512(int rows, int K, int kg, const uint8_t *const *a, const long *off,
                                const int8_t *packed, int32_t *c, int ldc);
void cnns_qgemm_gathered_avx512vnni(int rows, int K, int kg, const uint8_t *const *a, const long *off,
                                    const int8_t *packed, int32_t *c, int ldc);
void cnns_qgemm_gathered_w16(int rows, int K, int kg, const uint8_t *const *a, const long *off, const int8_t *packed,
                             int32_t *c, int ldc);
#endif

#ifndef CNNS_WINOGRAD_TILES_H
#define CNNS_WINOGRAD_TILES_H
/// Winograd weight gradient: the dy tile transform D = A δ Aᵀ (A: α×m row-major; δ: rows×cols
/// pixels of K at dy + i·rowStride + j·K, zero past them; D[ξ] at d + ξ·xs; tmp: α·m·K floats),
/// and db[k] += Σ δ[i][j][k] when db is not NULL. AVX2 when the CPU has it, else the plain C
/// reference (_scalar); `_avx512` (m ≤ 4, α ≤ 8, δ in registers) requires cnns_have_avx512(),
/// and `_w16` is its source built for AVX2 (or portable C). The 16-lane builds ignore tmp.
void cnns_wino_dy_tile(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols, int K,
                       float *d, long xs, float *tmp, float *db);
void cnns_wino_dy_tile_scalar(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols,
                              int K, float *d, long xs, float *tmp, float *db);
void cnns_wino_dy_tile_avx512(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols,
                              int K, float *d, long xs, float *tmp, float *db);
void cnns_wino_dy_tile_w16(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols,
                           int K, float *d, long xs, float *tmp, float *db);
/// dst (cols × rows, leading dimension ldd) = srcᵀ (src: rows × cols, leading dimension lds).
void cnns_transpose(const float *src, int rows, int cols, long lds, float *dst, long ldd);
void cnns_transpose_scalar(const float *src, int rows, int cols, long lds, float *dst, long ldd);
/// The two-sided Winograd transform for input channels c0..<c1: out (rows, rows, C, K)[i][j][c][k] =
/// Σ_s (Σ_r L[i][r] · in (n, n, C, K)[r][s][c][k]) · L[j][s], L dense (rows, n), rows and n at most 8
/// (the filter transform G·g·Gᵀ and the weight gradient's Gᵀ·M·G). AVX2+FMA where the CPU has it;
/// `_scalar` is the plain reference. Tests compare both with Double sums.
void cnns_winograd_two_sided(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                             float *out);
void cnns_winograd_two_sided_scalar(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                                    float *out);
/// The same at 16 filters a time: `_avx512` requires cnns_have_avx512(); `_w16` is its source
/// built for AVX2 (or portable C).
void cnns_winograd_two_sided_avx512(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                                    float *out);
void cnns_winograd_two_sided_w16(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                                 float *out);
/// Winograd input tile: d holds α² pointers to the C channels of the tile's input pixels
/// (row-major; a zero row where padded); writes V[ξ] = (Bᵀ d B)[ξ] (C floats) at v + ξ·xs.
/// α = 4 for F(2x2,3x3) and F(3x3,2x2), 6 for F(4x4,3x3) and F(2x2,5x5), 8 for F(4x4,5x5).
void cnns_wino_input_tile_avx2(int alpha, const float *const *d, int C, float *v, long xs);
void cnns_wino_input_tile_avx512(int alpha, const float *const *d, int C, float *v, long xs);
void cnns_wino_input_tile_w16(int alpha, const float *const *d, int C, float *v, long xs);
/// Winograd output tile: M[ξ] (K floats) at mtx + ξ·xs -> Y = Aᵀ M A + bias (bias may be NULL),
/// rows x cols pixels at out + i·rowStride + j·K; `flags`: CNNS_WINO_CLAMP clamps to [lo, hi],
/// CNNS_WINO_STREAM (16-lane kernels only) writes whole 64-byte-aligned vectors with non-temporal
/// stores (no read for ownership; for outputs larger than the caches keep) and fences them.
/// variant 0: F(2x2,3x3), 1: F(4x4,3x3), 2: F(2x2,5x5), 3: F(3x3,2x2), 4: F(4x4,5x5). `_avx2` needs AVX2+FMA, `_avx512`
/// AVX-512F; `_w16` (the 16-lane code for AVX2, or portable C) runs anywhere.
#define CNNS_WINO_CLAMP 1
#define CNNS_WINO_STREAM 2
void cnns_wino_output_tile_avx2(int variant, const float *mtx, long xs, int K, const float *bias, int flags, float lo,
                                float hi, float *out, long rowStride, int rows, int cols);
void cnns_wino_output_tile_avx512(int variant, const float *mtx, long xs, int K, const float *bias, int flags,
                                  float lo, float hi, float *out, long rowStride, int rows, int cols);
void cnns_wino_output_tile_w16(int variant, const float *mtx, long xs, int K, const float *bias, int flags, float lo,
                               float hi, float *out, long rowStride, int rows, int cols);
#endif

#ifndef CNNS_QGEMM_H
#define CNNS_QGEMM_H
/// Packs int8 weights B[k x n] (row-major, ldb) for cnns_qgemm_u7s8: columns in blocks of 8,
/// k in steps of 4 (zero-padded), so one 32-byte load holds 4 k-values of 8 columns.
/// `packed` must hold cnns_qgemm_packed_size(n, k) bytes.
int64_t cnns_qgemm_packed_size(int n, int k);
void cnns_qgemm_pack_b(int n, int k, const int8_t *b, int ldb, int8_t *packed);

/// C[m x n] (int32) = A[m x k] (uint8, values 0..127) · B (packed int8, values -127..127).
/// A rows must be readable up to k rounded up to 4 (lda ≥ that, padding zero).
/// AVX2: vpmaddubsw (u8·s8 pairs; 7-bit activations keep the pair sums below 2^15, so no
/// saturation) then vpmaddwd with ones into int32; scalar C elsewhere.
void cnns_qgemm_u7s8(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc);

/// The AVX2 loop under cnns_qgemm_u7s8 and cnns_qconv_direct_u7s8 (requires AVX2): c[rows x K] =
/// A · packed, A's row i read as kg groups of 4 bytes at a[i] + off[g]; `a` holds rows rounded up
/// to 8 valid pointers.
void cnns_qgemm_gathered_avx2(int rows, int K, int kg, const uint8_t *const *a, const long *off, const int8_t *packed,
                              int32_t *c, int ldc);
#endif

/// q[i] = clamp(round_half_even(x[i] · inv) + zp, 0, 127) (zp a whole number): the int8
/// convolution's input. AVX2 when the CPU has it; the `_scalar` reference gives the same bytes.
void cnns_quantize_u7(const float *x, long n, float inv, float zp, uint8_t *q);
void cnns_quantize_u7_scalar(const float *x, long n, float inv, float zp, uint8_t *q);

/// out[r·ldo + k] = min(max(float(acc[r·K + k]) · mul[k] + off[k], lo), hi) for rows x K (the
/// multiply and the add rounded separately). AVX2 when the CPU has it; `_scalar` is the reference.
void cnns_dequantize_rows(const int32_t *acc, int rows, int K, const float *mul, const float *off, float lo, float hi,
                          float *out, long ldo);
void cnns_dequantize_rows_scalar(const int32_t *acc, int rows, int K, const float *mul, const float *off, float lo,
                                 float hi, float *out, long ldo);

/// acc holds two output rows of q pixels (K int32 sums each; row 1 at acc + q·K). For each 2x2
/// window j < q/2: out[j·K + k] = min(max(float(max of the window's four sums) · mul[k] + off[k],
/// lo), hi) (max pooling before dequantising: the int8 convolution's fused pooling). AVX2 when
/// the CPU has it; `_scalar` is the reference (the same floats).
void cnns_dequantize_pooled2x2(const int32_t *acc, int q, int K, const float *mul, const float *off, float lo,
                               float hi, float *out);
void cnns_dequantize_pooled2x2_scalar(const int32_t *acc, int q, int K, const float *mul, const float *off, float lo,
                                      float hi, float *out);

/// The plain reference of cnns_qgemm_u7s8 (also its fallback without AVX2): one dot product
/// per output, int32 sums. Tests compare the two exactly.
void cnns_qgemm_u7s8_scalar(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc);

#ifndef CNNS_SMALL_PATCH_H
#define CNNS_SMALL_PATCH_H
/// Geometry of one convolution for the small-patch kernels: input (h, w, c) NHWC, kernel r x s,
/// k output channels, strides, padding before (top, left), output p x q.
typedef struct {
    int h, w, c, r, s, k, stride_h, stride_w, pad_top, pad_left, p, q;
} cnns_conv_shape;

/// Weight gradient without a column buffer: dW [R·S·C, K] += Σ patch(m)ᵀ · dy[m] and db [K] +=
/// Σ dy[m] (db may be NULL) over output pixels m0..<m1, each kernel row of a patch read from the
/// input in place. AVX2+FMA when cnns_conv_dweights_implicit_fits (the CPU has it and K is a
/// multiple of 8), else the scalar reference.
int cnns_conv_dweights_implicit_fits(const cnns_conv_shape *s);
void cnns_conv_dweights_implicit(const cnns_conv_shape *s, const float *input, const float *dy, float *dw, float *db,
                                 long m0, long m1);
void cnns_conv_dweights_implicit_scalar(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                        float *db, long m0, long m1);

/// The int8 convolution's lowering: rows m0..<m0+rows of output pixels (flattened n, p, q), each
/// `ld` bytes at out + i·ld: the R·S·C receptive field in x (NHWC bytes), `pad` for taps outside
/// the image, zeros from R·S·C to ld. `_scalar` is the byte-by-byte reference (the same bytes).
void cnns_lower_u8(const cnns_conv_shape *s, const uint8_t *x, long m0, int rows, uint8_t *out, int ld, uint8_t pad);
void cnns_lower_u8_scalar(const cnns_conv_shape *s, const uint8_t *x, long m0, int rows, uint8_t *out, int ld,
                          uint8_t pad);

/// The int8 convolution without lowering: 1 when a kernel row's S·C bytes are at most 16 or a
/// multiple of 4, and the patch has at most 512 groups of 4 bytes.
int cnns_qconv_direct_fits(const cnns_conv_shape *s);
/// Bytes of the packed weights, and the packing: w int8 HWIO [R·S·C, K]; scratch holds
/// R·ceil(S·C/4)·4·K bytes.
int64_t cnns_qconv_direct_packed_size(const cnns_conv_shape *s);
void cnns_qconv_direct_pack(const cnns_conv_shape *s, const int8_t *w, int8_t *packed, int8_t *scratch);
/// int32 sums c[rows x K] (row stride ldc) of output pixels m0..<m0+rows: xp is the quantised input
/// (values 0..127) with its padding written in, hp x wp pixels of C bytes per image (pixel (n, p, q)
/// reads from ((n·hp + p·stride_h)·wp + q·stride_w)·C), readable 3 bytes past its end. The same sums
/// as lowering + cnns_qgemm_u7s8. AVX2 when the CPU has it; `_scalar` is the reference.
void cnns_qconv_direct_u7s8(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                            const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_u7s8_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                                   const int8_t *packed, int32_t *c, int ldc);
/// The same on the 16-lane int8 loop: vpdpbusd (`_avx512vnni`, requires cnns_have_avx512_vnni()),
/// vpmaddubsw on zmm (`_avx512`, requires cnns_have_avx512()), or the portable 16-lane build (`_w16`).
void cnns_qconv_direct_u7s8_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                                       const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_u7s8_avx512(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                                   const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_u7s8_w16(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                                const int8_t *packed, int32_t *c, int ldc);
/// The direct sums of the pixels a 2x2 max pooling reads: for each pooled row pr0..<pr0+count
/// (flattened n, pooled row), the first 2·⌊q/2⌋ pixels of its two output rows, in that order
/// (c holds 4·⌊q/2⌋ rows per pooled row); a last odd column or row is not computed. Builds as for
/// cnns_qconv_direct_u7s8; `_scalar` is the reference.
void cnns_qconv_direct_pooled_u7s8(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                                   const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_pooled_u7s8_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                          int count, const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_pooled_u7s8_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                              int count, const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_pooled_u7s8_avx512(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                          int count, const int8_t *packed, int32_t *c, int ldc);
void cnns_qconv_direct_pooled_u7s8_w16(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                       int count, const int8_t *packed, int32_t *c, int ldc);
/// The int8 convolution, its 2x2 max pooling and dequantising in one pass (qconv_pooled_small.c),
/// for patches of at most 512 groups of 4 bytes (as the direct kernel) and k a multiple of 8: pooled rows
/// pr0..<pr0+count (flattened n, pooled row) of out (n, p/2, q/2, k) = clamp(float(window's
/// largest int32 sum)·mul[k] + off[k], lo, hi); xp and packed as for cnns_qconv_direct_u7s8. The
/// same floats as cnns_qconv_direct_pooled_u7s8 then cnns_dequantize_pooled2x2. AVX2 when the CPU
/// has it; `_avx512vnni` (vpdpbusd on 16 channels a 512-bit vector) requires
/// cnns_have_avx512_vnni(); `_scalar` is the reference.
int cnns_qconv_pooled_small_fits(const cnns_conv_shape *s);
void cnns_qconv_pooled_small(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                             const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                             float *out);
void cnns_qconv_pooled_small_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                        int count, const int8_t *packed, const float *mul, const float *off_k,
                                        float lo, float hi, float *out);
void cnns_qconv_pooled_small_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                                    const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                                    float *out);
/// Column quads (column_quads.h, qconv_column_quads.c): a one-channel layer of at least 4 kernel
/// rows where reading rows 0..4⌊R/4⌋−1 down their columns, four bytes a group, takes fewer groups
/// than rows of ⌈S/4⌉ (a 5x5 kernel: 7 against 10), and the pooled kernel fits. The weights packed
/// in that group order; the column-quad copy of rows row0..<row0+rows of the padded input (xp as for
/// cnns_qconv_direct_u7s8, C = 1): 4 bytes a pixel, pixels (n, y..y+3, x) at pixel (n, y, x), zeros
/// past an image's last row; then cnns_qconv_pooled_small on xp and that copy (xq4, every row built):
/// the same floats (with xq4 NULL, and the rows' packing, these are cnns_qconv_pooled_small).
int cnns_qconv_quads_fits(const cnns_conv_shape *s);
int cnns_qconv_quads_groups(const cnns_conv_shape *s);
int64_t cnns_qconv_quads_packed_size(const cnns_conv_shape *s);
void cnns_qconv_quads_pack(const cnns_conv_shape *s, const int8_t *w, int8_t *packed, int8_t *scratch);
void cnns_qconv_column_quads(const uint8_t *xp, int hp, int wp, long row0, long rows, uint8_t *out);
void cnns_qconv_pooled_quads(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp, long pr0,
                             int count, const int8_t *packed, const float *mul, const float *off_k, float lo,
                             float hi, float *out);
void cnns_qconv_pooled_quads_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp,
                                        int wp, long pr0, int count, const int8_t *packed, const float *mul,
                                        const float *off_k, float lo, float hi, float *out);
void cnns_qconv_pooled_quads_scalar(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp,
                                    long pr0, int count, const int8_t *packed, const float *mul, const float *off_k,
                                    float lo, float hi, float *out);

/// The int8 convolution by Winograd F(2x4,3x3) on 16-bit integers (qwinograd_f2x4_3x3.c): 3x3
/// kernels, stride 1, C ≤ CNNS_QWINO_MAX_C. Two 2x2 tiles side by side in a row of the grid run as
/// one 2x4 tile from the 4x6 patch at padded row 2i, column 2j (F(2,3) down, F(4,3) across: 24
/// points), the sums exact (channels taken 256 at a time, so each part's 48·Y fits in int32).
#define CNNS_QWINO_MAX_C 1024
/// 2x4 tiles the 16-bit kernels (3x3 and 5x5) transform and multiply together.
#define CNNS_QWINO_TILE_GROUP 6
/// The padded input (as for cnns_qconv_direct_u7s8: hp x wp pixels of c bytes per image, padding
/// written in) and its grid of 2x2 output tiles per image; patch pixels past hp or wp read as pad.
typedef struct {
    int c, k, hp, wp, tiles_y, tiles_x;
    uint8_t pad;
} cnns_qwino_shape;
int cnns_qwino_fits(const cnns_conv_shape *s);
/// Bytes of the transformed weights (U' = G₂'gG₄'ᵀ, G₂' = 2G₂, G₄' = 24G₄, int16) and the packing
/// of w int8 HWIO [3·3·c, k]; bytes of the workspace for `tiles` tiles per call.
int64_t cnns_qwino_packed_size(int c, int k);
void cnns_qwino_pack(int c, int k, const int8_t *w, int16_t *packed);
int64_t cnns_qwino_workspace_size(int c, int k, int tiles);
/// Tiles t0..<t0+T (flattened n, tile row, tile column): y[t·4·k + i·k + ko] holds output pixel
/// (2·row + i/2, 2·column + i%2) of tile t, or with `pool` y[t·k + ko] the maximum of the four: the
/// same int32 sums as cnns_qconv_direct_u7s8, exactly. AVX2 (vpmaddwd on channel pairs) when the
/// CPU has it; `_avx512vnni` (vpdpwssd on zmm; requires cnns_have_avx512_vnni()) fuses each pair's
/// multiply-add with its sum; `_scalar` is the plain reference (the same transforms, one value at
/// a time).
void cnns_qwino_u7s8(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool, const int16_t *packed,
                     void *work, int32_t *y);
void cnns_qwino_u7s8_avx512vnni(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                                const int16_t *packed, void *work, int32_t *y);
void cnns_qwino_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                            const int16_t *packed, void *work, int32_t *y);

/// The int8 convolution by Winograd F(2x4,5x5) on 16-bit integers (qwinograd_f2x4_5x5.c): 5x5
/// kernels, stride 1, C ≤ CNNS_QWINO5_MAX_C. It takes the same padded input and grid of 2x2 tiles
/// as cnns_qwino_shape describes, and runs two tiles side by side in a row as one 2x4 tile from
/// the 6x8 patch at padded row 2i, column 2j (F(2,5) down, F(4,5) across: 48 points). G has
/// fractions here, so the transformed weights are rounded to int16 per point and output column
/// (scale[ξ·k + ko]), as large as keeps every int32 sum of the transform domain from wrapping; the
/// output transform runs on floats and rounds to the nearest integer: sums within
/// cnns_qwino5_error_bound of the direct kernel's, not equal to them.
#define CNNS_QWINO5_MAX_C 256
/// The transform domain's points (6 x 8): the scales per column.
#define CNNS_QWINO5_POINTS 48
int cnns_qwino5_fits(const cnns_conv_shape *s);
/// Bytes of the transformed weights (int16, then an int32 offset per column); the packing of w
/// int8 HWIO [5·5·c, k], with the scale of each point and column (CNNS_QWINO5_POINTS·k floats);
/// bytes of the workspace for `tiles` tiles per call.
int64_t cnns_qwino5_packed_size(int c, int k);
void cnns_qwino5_pack(int c, int k, const int8_t *w, int16_t *packed, float *scale);
int64_t cnns_qwino5_workspace_size(int c, int k, int tiles);
/// The largest |y − the direct sum| of column ko: half a step of each point's rounded weights
/// times the largest Σ|V| over c channels, through the output transform, plus the float output
/// transform's rounding and the final rounding to an integer.
double cnns_qwino5_error_bound(int c, int k, const float *scale, int ko);
/// Tiles t0..<t0+T as for cnns_qwino_u7s8 (y: four sums per tile, or with `pool` their maximum).
/// AVX2 (vpmaddwd) when the CPU has it; `_avx512vnni` (vpdpwssd on zmm; requires
/// cnns_have_avx512_vnni()); `_scalar`, the plain reference, computes the transform domain's sums
/// exactly and the output transform with the same float operations, so all three give the same
/// integers.
void cnns_qwino5_u7s8(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool, const int16_t *packed,
                      const float *scale, void *work, int32_t *y);
void cnns_qwino5_u7s8_avx512vnni(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                                 const int16_t *packed, const float *scale, void *work, int32_t *y);
void cnns_qwino5_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                             const int16_t *packed, const float *scale, void *work, int32_t *y);

/// The int8 convolution by Winograd F(2x2,3x3) with an 8-bit transform domain (qwinograd_f2_u8.c):
/// 3x3 kernels (or 5x5 ones as four 3x3 sub-kernels at offsets 0 and 2: four blocks of channels of
/// one GEMM, one output transform), stride 1, C ≤ CNNS_QWINO8_MAX_C (a quarter of it for 5x5), on
/// the padded input and tile grid of cnns_qwino_shape. V = BᵀdB is halved into a byte (its positive
/// and negative parts each rounded up) with an offset of 128 where it may be negative, U = G'gG'ᵀ
/// rounded to int8 per output column, so the transform-domain GEMMs run on vpdpbusd (four byte
/// products a lane: twice vpdpwssd's); the output transform is exact in int32 and the result is
/// scaled and rounded: sums within cnns_qwino8_error_bound of the direct kernel's, not equal to them.
#define CNNS_QWINO8_MAX_C 1024
int cnns_qwino8_fits(const cnns_conv_shape *s);
/// Bytes of the transformed weights (int8) of an r x r layer (r = 3 or 5); the packing of w int8
/// HWIO [r·r·c, k], with each corner's compensation for the offsets (comp: 4 x k padded to 16,
/// int32) and each column's scale (k floats); bytes of the workspace for calls of up to `tiles`
/// tiles on grid s.
int64_t cnns_qwino8_packed_size(int c, int k, int r);
void cnns_qwino8_pack(int c, int k, int r, const int8_t *w, int8_t *packed, int32_t *comp, float *scale);
int64_t cnns_qwino8_workspace_size(const cnns_qwino_shape *s, int r, int tiles);
/// The largest |y − the direct sum| of column ko (w: the int8 weights as packed): V's rounding
/// times |U|, half a step of U' times |V'|, through the output transform, plus the float
/// rounding and the final rounding to an integer.
double cnns_qwino8_error_bound(int c, int k, int r, const int8_t *w, int ko);
/// Tiles t0..<t0+T as for cnns_qwino_u7s8 (y: four sums per tile, or with `pool` their maximum) of
/// an r x r layer. `_avx512vnni` (vpdpbusd on zmm) requires cnns_have_avx512_vnni(); `_scalar` is
/// the plain reference (the same rounded transforms, one value at a time), and both give the same
/// integers.
void cnns_qwino8_u7s8_avx512vnni(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                                 const int8_t *packed, const int32_t *comp, const float *scale, void *work,
                                 int32_t *y);
void cnns_qwino8_u7s8_scalar(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                             const int8_t *packed, const int32_t *comp, const float *scale, void *work, int32_t *y);

/// Longest receptive field (R·S·C) the small-patch kernels take.
#define CNNS_SMALL_PATCH_MAX 80

/// 1 when the shape suits the small-patch kernels: R·S·C ≤ CNNS_SMALL_PATCH_MAX, K a multiple
/// of 8, the weights (L·K floats) small enough to stay in L1.
int cnns_conv_small_patch_fits(const cnns_conv_shape *s);

/// Which build of the small-patch kernels a call runs: AVX2+FMA (the scalar reference on a CPU
/// without it), the scalar reference, the 16-lane AVX-512 code compiled for AVX2 (`w16`: tests
/// run it on every machine) or AVX-512F/VL (callers ask cnns_have_avx512() first).
#define CNNS_SP_AVX2 0
#define CNNS_SP_SCALAR 1
#define CNNS_SP_W16 2
#define CNNS_SP_AVX512 3

/// Output pixels m0..<m1 (flattened n, p, q): out = clamp(patch · W + bias), clamp only when
/// `clamp` != 0, bias may be NULL. AVX2+FMA when the CPU has it, else the scalar reference;
/// _avx512 and _w16: the 16-lane builds.
void cnns_conv_small_patch_forward(const cnns_conv_shape *s, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long m0, long m1);
void cnns_conv_small_patch_forward_avx512(const cnns_conv_shape *s, const float *input, const float *weights,
                                          const float *bias, int clamp, float lo, float hi, float *output, long m0,
                                          long m1);
void cnns_conv_small_patch_forward_w16(const cnns_conv_shape *s, const float *input, const float *weights,
                                       const float *bias, int clamp, float lo, float hi, float *output, long m0,
                                       long m1);
void cnns_conv_small_patch_forward_scalar(const cnns_conv_shape *s, const float *input, const float *weights,
                                          const float *bias, int clamp, float lo, float hi, float *output,
                                          long m0, long m1);

/// Over output pixels m0..<m1: dw [L, K] += patchᵀ · dy, db [K] += dy (db may be NULL).
void cnns_conv_small_patch_dweights(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                    float *db, long m0, long m1);
void cnns_conv_small_patch_dweights_scalar(const cnns_conv_shape *s, const float *input, const float *dy,
                                           float *dw, float *db, long m0, long m1);
void cnns_conv_small_patch_dweights_avx512(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                           float *db, long m0, long m1);
void cnns_conv_small_patch_dweights_w16(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                        float *db, long m0, long m1);
#endif

#ifndef CNNS_SMALL_PATCH_POOL_H
#define CNNS_SMALL_PATCH_POOL_H
/// 1 when the small-patch kernels fit and the output is even in both dimensions (2x2 pooling
/// covers it exactly).
int cnns_conv_small_patch_maxpool2_fits(const cnns_conv_shape *s);

/// Convolution + ReLU (clamped to [0, hi]) + 2x2 max pooling, for pooled rows r0..<r1 of
/// (N, P/2): pooled (N, P/2, Q/2, K); argmax (same shape, bytes): window position
/// 0..3 of the first maximum, 255 where the maximum is ≤ 0. `scratch`: 2·Q·K floats of the
/// caller's. `variant`: the build (CNNS_SP_AVX2, _SCALAR, _W16 or _AVX512).
void cnns_conv_small_patch_maxpool2_forward(const cnns_conv_shape *s, const float *input, const float *weights,
                                            const float *bias, float hi, float *pooled, uint8_t *argmax,
                                            long r0, long r1, float *scratch, int variant);

/// dw += Σ patchᵀ · dy and db += Σ dy over the convolution rows of pooled rows r0..<r1, where dy
/// is the pooled gradient routed through argmax (zero elsewhere). `scratch`:
/// cnns_conv_small_patch_maxpool2_scratch_floats(s) floats of the caller's.
long cnns_conv_small_patch_maxpool2_scratch_floats(const cnns_conv_shape *s);
void cnns_conv_small_patch_maxpool2_dweights(const cnns_conv_shape *s, const float *input, const float *dPooled,
                                             const uint8_t *argmax, float *dw, float *db, long r0, long r1,
                                             float *scratch, int variant);
#endif

#ifndef CNNS_MAXPOOL_H
#define CNNS_MAXPOOL_H
/// One k x k max-pooling window (pixels rowStride floats apart vertically, C apart horizontally):
/// y[c] = the maximum, argmax[c] = row-major position of its first occurrence, or 255 where
/// relu != 0 and the maximum is ≤ 0 (a fused ReLU passes no gradient). k ≤ 15.
void cnns_maxpool_argmax_forward(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax, int relu);
/// The window's gradient: g[c] at the position argmax[c] names, 0 at the others.
void cnns_maxpool_route(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C);
/// The same over `windows` side-by-side windows of one row (x and dx advance k·C floats per
/// window, y, g and argmax C): one call per output row.
void cnns_maxpool_argmax_forward_row(const float *x, long rowStride, int k, int C, int windows, float *y,
                                     uint8_t *argmax, int relu);
void cnns_maxpool_route_row(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C,
                            int windows);
/// The plain references (also the fallbacks without AVX2).
void cnns_maxpool_argmax_forward_scalar(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax,
                                        int relu);
void cnns_maxpool_route_scalar(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C);
/// The references over channels c0..<C of one window only: the vector kernels' channel tails.
void cnns_maxpool_argmax_forward_channels(const float *x, long rowStride, int k, int c0, int C, float *y,
                                          uint8_t *argmax, int relu);
void cnns_maxpool_route_channels(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int c0,
                                 int C);
/// The 16-lane row kernels (same contracts and bits as the `_row` functions above): `_avx512`
/// requires cnns_have_avx512(); `_w16` is the same source built for AVX2 (or portable C).
void cnns_maxpool_argmax_forward_row_avx512(const float *x, long rowStride, int k, int C, int windows, float *y,
                                            uint8_t *argmax, int relu);
void cnns_maxpool_route_row_avx512(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C,
                                   int windows);
void cnns_maxpool_argmax_forward_row_w16(const float *x, long rowStride, int k, int C, int windows, float *y,
                                         uint8_t *argmax, int relu);
void cnns_maxpool_route_row_w16(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C,
                                int windows);
#endif

#ifndef CNNS_DEPTHWISE_H
#define CNNS_DEPTHWISE_H
/// 1 when the vector depthwise kernel takes the shape on this CPU (AVX2+FMA, C ≥ 8).
int cnns_depthwise_vector_fits(const cnns_conv_shape *s);
/// Depthwise forward (k = c, weights (r, s, c)) for output rows row0..<row1 (flattened n, p):
/// out = clamp(bias + Σ in·w), clamp only when `clamp` != 0, bias may be NULL. The vector kernel
/// when cnns_depthwise_vector_fits, else the scalar reference.
void cnns_depthwise_forward(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                            int clamp, float lo, float hi, float *output, long row0, long row1);
/// The plain reference of cnns_depthwise_forward (and its fallback).
void cnns_depthwise_forward_scalar(const cnns_conv_shape *s, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                   long row1);
/// The reference over channels c0..<c only: the vector kernels' channel tail.
void cnns_depthwise_forward_channels(const cnns_conv_shape *s, const float *input, const float *weights,
                                     const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                     long row1, int c0);
/// The ISA variants (same contract, C ≥ 8): `_avx2` needs cnns_have_avx2_fma(), `_avx512`
/// cnns_have_avx512(); `_w16` is the 16-lane source built for AVX2 (or portable without x86).
void cnns_depthwise_forward_avx2(const cnns_conv_shape *s, const float *input, const float *weights,
                                 const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                 long row1);
void cnns_depthwise_forward_avx512(const cnns_conv_shape *s, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                   long row1);
void cnns_depthwise_forward_w16(const cnns_conv_shape *s, const float *input, const float *weights,
                                const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                long row1);

/// One output row of a 3x3 depthwise convolution at stride 1 or 2 (the fused expand -> depthwise
/// pass): rows[r] is input row r of the window (w pixels of c channels; NULL outside the map),
/// pad_left zero columns before the map, q output columns written at out (q·c floats):
/// out = clamp(bias + Σ in·w). Variants and reference as cnns_depthwise_forward's.
void cnns_depthwise_row3x3_scalar(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                  const float *weights, const float *bias, int clamp, float lo, float hi, float *out);
void cnns_depthwise_row3x3_avx2(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                const float *weights, const float *bias, int clamp, float lo, float hi, float *out);
void cnns_depthwise_row3x3_avx512(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                  const float *weights, const float *bias, int clamp, float lo, float hi, float *out);
void cnns_depthwise_row3x3_w16(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                               const float *weights, const float *bias, int clamp, float lo, float hi, float *out);
/// The reference over channels c0..<c only: the vector kernels' channel tail.
void cnns_depthwise_row3x3_channels(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                    const float *weights, const float *bias, int clamp, float lo, float hi, float *out,
                                    int c0);
#endif

#ifndef CNNS_POINTWISE_H
#define CNNS_POINTWISE_H
/// Floats the packed weights of a pointwise convolution take: ceil(k / 16) panels of c x 16.
int64_t cnns_pointwise_packed_floats(int c, int k);

/// Packs weights (c x k, row-major) into panels of 16 columns, c x 16 each, zero-padded past k.
/// `packed` must be 32-byte aligned: the AVX2 kernel loads its panels with aligned loads.
void cnns_pointwise_pack(int c, int k, const float *weights, float *packed);

/// Output rows m0..<m1 (pixels), column panels j0..<j1 (columns 16·j0 ..< min(16·j1, k)) of a
/// 1x1 stride-1 convolution: out = clamp(in · W + bias); bias may be NULL, clamp only when
/// `clamp` != 0. AVX2+FMA 6x16 tiles when the CPU has it, else plain C over the packed panels.
void cnns_pointwise_forward(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                            float lo, float hi, float *output, long m0, long m1, int j0, int j1);

/// The plain reference of cnns_pointwise_forward, on the unpacked weights (c x k).
void cnns_pointwise_forward_scalar(int c, int k, const float *input, const float *weights, const float *bias,
                                   int clamp, float lo, float hi, float *output, long m0, long m1, int j0,
                                   int j1);
/// Adam's update of n elements (adam_update.c): m = β1·m + (1−β1)·g, v = β2·v + ((1−β2)·g)·g,
/// w −= (lrT·m)/(√v + ε), each operation rounded in that order; the AVX2 (cnns_have_avx2_fma())
/// and AVX-512 (cnns_have_avx512()) builds equal the plain reference bit for bit.
void cnns_adam_update_scalar(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                             float lrT);
void cnns_adam_update_avx2(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                           float lrT);
void cnns_adam_update_avx512(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                             float lrT);
#endif
