// The 16-lane kernels: the AVX-512 variants of the small GEMM, the pointwise kernel and the int8
// GEMM, written once on 64-byte vector types and compiled per ISA by the file that includes this
// one (wide_avx512.c: AVX-512F/BW/VL, and VNNI for the int8 GEMM; wide_on_avx2.c: the same code
// for AVX2, where the compiler splits each 16-lane vector in two, so that machines without
// AVX-512 still run and test every line of it except the few ISA macros below).
//
// The includer defines:
//   WK_TARGET              the function attribute (target ISA)
//   WK_NAME(x)             the exported name of kernel x
//   WK_DPBUSD(acc, a, b)   acc (16 x int32) + Σ over each lane's 4 bytes of u8(a)·s8(b) (vpdpbusd)
//   WK_DPBUSD8(acc, a, b)  the same on 8 lanes (wk_vi8): the int8 GEMM's blocks of at most 8 columns
//   WK_LOAD_PART(p, n)     16 floats with the first n from p, the rest 0
//   WK_STORE_PART(p, v, n) the first n lanes of v to p
//
// WK_INT8_ONLY: only the int8 GEMM (the VNNI file).
//
// Register tile: up to 12 rows x 32 columns, 24 accumulators of the 32 vector registers, the two
// B vectors and one broadcast A value per step; rows and column halves are constants at each
// call site (always_inline), so the loops unroll into registers.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float wk_vf __attribute__((vector_size(64)));
typedef int32_t wk_vi __attribute__((vector_size(64)));
typedef uint32_t wk_vu __attribute__((vector_size(64)));

#define WK_ROWS 12

// The row tail (rows < WK_ROWS) of tile function `fn`, with `rows` a constant in each case.
#define WK_ROW_TAIL_OF(fn, rows, ...)                                                                         \
    switch (rows) {                                                                                           \
    case 11: fn(11, __VA_ARGS__); break;                                                                      \
    case 10: fn(10, __VA_ARGS__); break;                                                                      \
    case 9: fn(9, __VA_ARGS__); break;                                                                        \
    case 8: fn(8, __VA_ARGS__); break;                                                                        \
    case 7: fn(7, __VA_ARGS__); break;                                                                        \
    case 6: fn(6, __VA_ARGS__); break;                                                                        \
    case 5: fn(5, __VA_ARGS__); break;                                                                        \
    case 4: fn(4, __VA_ARGS__); break;                                                                        \
    case 3: fn(3, __VA_ARGS__); break;                                                                        \
    case 2: fn(2, __VA_ARGS__); break;                                                                        \
    case 1: fn(1, __VA_ARGS__); break;                                                                        \
    default: break;                                                                                           \
    }
#define WK_ROW_TAIL(rows, ...) WK_ROW_TAIL_OF(wk_tile, rows, __VA_ARGS__)
#define WK_QROW_TAIL(rows, ...) WK_ROW_TAIL_OF(wk_qtile, rows, __VA_ARGS__)


#ifndef WK_INT8_ONLY
WK_TARGET static inline wk_vf wk_load(const float *p) {
    wk_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

WK_TARGET static inline void wk_store(float *p, wk_vf v) { memcpy(p, &v, sizeof v); }

WK_TARGET static inline wk_vf wk_splat(float x) { return (wk_vf){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// How a tile starts: from zero, from C (accumulate), or from a bias row of 32.
enum { WK_INIT_ZERO = 0, WK_INIT_C = 1, WK_INIT_BIAS = 2 };

// c[rows x (16·halves)] (+)= a[rows x k] · (b0 | b1)[k x 16 each], a's (r, p) at a + r·lda + p·ka (ka = 1
// row-major, ka = its leading dimension when a is stored transposed), b_h row p at b_h + p·ldb.
// Only the first `cols` columns are loaded (WK_INIT_C) and stored; clamp to [lo, hi] if asked.
WK_TARGET __attribute__((always_inline)) static inline void wk_tile(
    int rows, int halves, int k, const float *a, long lda, long ka, const float *b0, const float *b1, long ldb,
    int init, const float *bias32, int clamp, float lo, float hi, float *c, long ldc, int cols) {
    wk_vf acc[WK_ROWS][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            const int n = cols - 16 * h < 16 ? cols - 16 * h : 16;
            if (init == WK_INIT_C)
                acc[r][h] = n == 16 ? wk_load(c + r * ldc + 16 * h) : WK_LOAD_PART(c + r * ldc + 16 * h, n);
            else if (init == WK_INIT_BIAS)
                acc[r][h] = wk_load(bias32 + 16 * h);
            else
                acc[r][h] = wk_splat(0.0f);
        }
    for (int p = 0; p < k; p++) {
        const wk_vf w0 = wk_load(b0 + p * ldb);
        const wk_vf w1 = halves > 1 ? wk_load(b1 + p * ldb) : w0;
    #pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
            const wk_vf x = wk_splat(a[r * lda + p * ka]);
            acc[r][0] = __builtin_elementwise_fma(x, w0, acc[r][0]);
            if (halves > 1) acc[r][1] = __builtin_elementwise_fma(x, w1, acc[r][1]);
        }
    }
    if (clamp) {
        const wk_vf vlo = wk_splat(lo), vhi = wk_splat(hi);
    #pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++)
#pragma clang loop unroll(full)
            for (int h = 0; h < halves; h++) {
                acc[r][h] = __builtin_elementwise_min(__builtin_elementwise_max(acc[r][h], vlo), vhi);
            }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            const int n = cols - 16 * h < 16 ? cols - 16 * h : 16;
            if (n == 16)
                wk_store(c + r * ldc + 16 * h, acc[r][h]);
            else if (n > 0)
                WK_STORE_PART(c + r * ldc + 16 * h, acc[r][h], n);
        }
}

// C[m x n] (+)= A[m x k] · B[k x n], row-major: the contract of cnns_sgemm_nn_avx2.
// 32-column strips (the strip of B stays in L1/L2 while every 12-row block of A passes), then
// one 16-column strip, then the last n mod 16 columns by partial loads and stores.
WK_TARGET void WK_NAME(sgemm_nn)(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                                 int ldc, int accumulate) {
    const int init = accumulate ? WK_INIT_C : WK_INIT_ZERO;
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        const float *b0 = b + j, *b1 = b + j + 16;
        int i = 0;
        for (; i + WK_ROWS <= m; i += WK_ROWS)
            wk_tile(WK_ROWS, 2, k, a + (long)i * lda, lda, 1, b0, b1, ldb, init, 0, 0, 0, 0, c + (long)i * ldc + j, ldc,
                    32);
        WK_ROW_TAIL(m - i, 2, k, a + (long)i * lda, lda, 1, b0, b1, ldb, init, 0, 0, 0, 0, c + (long)i * ldc + j, ldc,
                    32);
    }
    if (j + 16 <= n) {
        int i = 0;
        for (; i + WK_ROWS <= m; i += WK_ROWS)
            wk_tile(WK_ROWS, 1, k, a + (long)i * lda, lda, 1, b + j, b + j, ldb, init, 0, 0, 0, 0,
                    c + (long)i * ldc + j, ldc, 16);
        WK_ROW_TAIL(m - i, 1, k, a + (long)i * lda, lda, 1, b + j, b + j, ldb, init, 0, 0, 0, 0, c + (long)i * ldc + j,
                    ldc, 16);
        j += 16;
    }
    if (j < n) {
        // The last n mod 16 columns: B's rows end before 16 floats, so the strip is read through a
        // zero-padded copy (64 k-rows at a time, 4 KiB on the stack).
        const int cols = n - j;
        float strip[16 * 64] __attribute__((aligned(64)));
        for (int p0 = 0; p0 < k; p0 += 64) {
            const int kc = k - p0 < 64 ? k - p0 : 64;
            for (int p = 0; p < kc; p++) {
                const float *src = b + (long)(p0 + p) * ldb + j;
                for (int t = 0; t < 16; t++) strip[p * 16 + t] = t < cols ? src[t] : 0.0f;
            }
            const int in = p0 == 0 ? init : WK_INIT_C;
            int i = 0;
            for (; i + WK_ROWS <= m; i += WK_ROWS)
                wk_tile(WK_ROWS, 1, kc, a + (long)i * lda + p0, lda, 1, strip, strip, 16, in, 0, 0, 0, 0,
                        c + (long)i * ldc + j, ldc, cols);
            WK_ROW_TAIL(m - i, 1, kc, a + (long)i * lda + p0, lda, 1, strip, strip, 16, in, 0, 0, 0, 0,
                        c + (long)i * ldc + j, ldc, cols);
        }
        if (k == 0 && !accumulate)
            for (int i = 0; i < m; i++) memset(c + (long)i * ldc + j, 0, 4 * (size_t)cols);
    }
}

// C[m x n] (+)= op(A) · B, row-major, in cache blocks: the contract of cnns_sgemm_blocked. op(A) is A
// (m x k, row i at a + i·lda) or, with trans_a, Aᵀ where A is k x m (row p at a + p·lda).
// k in blocks of WK_KC (a block's B strip, WK_KC x 32 = 32 KiB, is read from L1/L2 by every tile of the
// m block), m in blocks of WK_MC rows (their A stays in L2 while the strips pass), then the 12-row tiles;
// the last n mod 16 columns go through a zero-padded copy of their strip, as in sgemm_nn.
#define WK_KC 256
#define WK_MC 192
WK_TARGET void WK_NAME(sgemm_blocked)(int trans_a, int m, int n, int k, const float *a, int lda, const float *b,
                                      int ldb, float *c, int ldc, int accumulate) {
    const long ra = trans_a ? 1 : lda, ka = trans_a ? lda : 1;  // A's steps along rows and along k
    float strip[16 * WK_KC] __attribute__((aligned(64)));
    if (k == 0 && !accumulate)
        for (int i = 0; i < m; i++) memset(c + (long)i * ldc, 0, 4 * (size_t)n);
    for (int p0 = 0; p0 < k; p0 += WK_KC) {
        const int kc = k - p0 < WK_KC ? k - p0 : WK_KC;
        const int init = p0 == 0 && !accumulate ? WK_INIT_ZERO : WK_INIT_C;
        const float *ak = a + (long)p0 * ka, *bk = b + (long)p0 * ldb;
        for (int i0 = 0; i0 < m; i0 += WK_MC) {
            const int i1 = i0 + WK_MC < m ? i0 + WK_MC : m;
            int j = 0;
            for (; j + 32 <= n; j += 32) {
                if (j + 64 <= n)  // the next strip towards L2 while this one's tiles run
                    for (int p = 0; p < kc; p++) {
                        __builtin_prefetch(bk + (long)p * ldb + j + 32, 0, 2);
                        __builtin_prefetch(bk + (long)p * ldb + j + 48, 0, 2);
                    }
                int i = i0;
                for (; i + WK_ROWS <= i1; i += WK_ROWS)
                    wk_tile(WK_ROWS, 2, kc, ak + i * ra, ra, ka, bk + j, bk + j + 16, ldb, init, 0, 0, 0, 0,
                            c + (long)i * ldc + j, ldc, 32);
                WK_ROW_TAIL(i1 - i, 2, kc, ak + i * ra, ra, ka, bk + j, bk + j + 16, ldb, init, 0, 0, 0, 0,
                            c + (long)i * ldc + j, ldc, 32);
            }
            for (; j < n; j += 16) {
                const int cols = n - j < 16 ? n - j : 16;
                const float *bs = bk + j;
                long ldbs = ldb;
                if (cols < 16) {
                    for (int p = 0; p < kc; p++)
                        for (int t = 0; t < 16; t++) strip[p * 16 + t] = t < cols ? bk[(long)p * ldb + j + t] : 0.0f;
                    bs = strip;
                    ldbs = 16;
                }
                int i = i0;
                for (; i + WK_ROWS <= i1; i += WK_ROWS)
                    wk_tile(WK_ROWS, 1, kc, ak + i * ra, ra, ka, bs, bs, ldbs, init, 0, 0, 0, 0, c + (long)i * ldc + j,
                            ldc, cols);
                WK_ROW_TAIL(i1 - i, 1, kc, ak + i * ra, ra, ka, bs, bs, ldbs, init, 0, 0, 0, 0,
                            c + (long)i * ldc + j, ldc, cols);
            }
        }
    }
}

// C[m x n] (+)= A[m x k] · Bᵀ, B n x k (row j at b + j·ldb): the contract of cnns_sgemm_nt. Computed as
// Cᵀ = B · Aᵀ, so that B (a Dense layer's weights, the large operand) is read row by row as the tile's
// broadcast operand and never transposed: Aᵀ is copied once into scratch (k x m), each block of
// WK_NT_ROWS rows of B gives a block of Cᵀ in scratch, and that block is transposed into C while in L1.
#define WK_NT_ROWS 64
WK_TARGET void WK_NAME(sgemm_nt)(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                                 int ldc, int accumulate, float *scratch) {
    float *at = scratch, *ct = scratch + (long)k * m;
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) at[(long)p * m + i] = a[(long)i * lda + p];
    for (int j0 = 0; j0 < n; j0 += WK_NT_ROWS) {
        const int nb = n - j0 < WK_NT_ROWS ? n - j0 : WK_NT_ROWS;
        WK_NAME(sgemm_blocked)(0, nb, m, k, b + (long)j0 * ldb, ldb, at, m, ct, m, 0);
        for (int i = 0; i < m; i++) {
            float *ci = c + (long)i * ldc + j0;
            if (accumulate)
                for (int j = 0; j < nb; j++) ci[j] += ct[(long)j * m + i];
            else
                for (int j = 0; j < nb; j++) ci[j] = ct[(long)j * m + i];
        }
    }
}

// The pointwise kernel's contract (cnns_pointwise_forward): rows m0..<m1, panels j0..<j1 of the
// 16-column packed weights; two panels (32 columns) per tile, then a single one.
WK_TARGET void WK_NAME(pointwise_forward)(int c, int k, const float *input, const float *packed, const float *bias,
                                          int clamp, float lo, float hi, float *output, long m0, long m1, int j0,
                                          int j1) {
    long block = (32768 / (c > 0 ? c : 1)) / WK_ROWS * WK_ROWS;
    if (block < WK_ROWS) block = WK_ROWS;
    float bias32[32] __attribute__((aligned(64)));
    for (long r0 = m0; r0 < m1; r0 += block) {
        const long r1 = r0 + block < m1 ? r0 + block : m1;
        for (int j = j0; j < j1; j += 2) {
            const int halves = j + 1 < j1 ? 2 : 1;
            const int col = j * 16, width = k - col < 16 * halves ? k - col : 16 * halves;
            for (int t = 0; t < 32; t++) bias32[t] = bias && t < width ? bias[col + t] : 0.0f;
            const float *p0 = packed + (long)j * 16 * c, *p1 = p0 + 16L * c;
            long i = r0;
            if (halves == 2) {
                for (; i + WK_ROWS <= r1; i += WK_ROWS)
                    wk_tile(WK_ROWS, 2, c, input + i * c, c, 1, p0, p1, 16, WK_INIT_BIAS, bias32, clamp, lo, hi,
                            output + i * k + col, k, width);
                WK_ROW_TAIL((int)(r1 - i), 2, c, input + i * c, c, 1, p0, p1, 16, WK_INIT_BIAS, bias32, clamp, lo, hi,
                            output + i * k + col, k, width);
            } else {
                for (; i + WK_ROWS <= r1; i += WK_ROWS)
                    wk_tile(WK_ROWS, 1, c, input + i * c, c, 1, p0, p0, 16, WK_INIT_BIAS, bias32, clamp, lo, hi,
                            output + i * k + col, k, width);
                WK_ROW_TAIL((int)(r1 - i), 1, c, input + i * c, c, 1, p0, p0, 16, WK_INIT_BIAS, bias32, clamp, lo, hi,
                            output + i * k + col, k, width);
            }
        }
    }
}

#endif

// int8: rows x 32 columns of C (int32) = A (u7) · B packed in 8-column blocks of 4-byte k groups
// (cnns_qgemm_pack_b). Row r's k group g is the 4 bytes at a[r] + off[g]: a lowered row and 4g,
// or (the direct convolution) a pixel's receptive field and a kernel row's byte offset. One
// 16-lane B vector joins the same k group of two neighbouring blocks; a block past the last
// reads a zero group (step 0).
typedef int32_t wk_vi8 __attribute__((vector_size(32)));

WK_TARGET static inline wk_vi wk_join(const int8_t *lo, const int8_t *hi) {
    wk_vi8 l, h;
    memcpy(&l, lo, sizeof l);
    memcpy(&h, hi, sizeof h);
    return __builtin_shufflevector(l, h, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

WK_TARGET __attribute__((always_inline)) static inline void wk_qtile(int rows, int kg, const uint8_t *const *a,
                                                                     const long *off, const int8_t *const blk[4],
                                                                     const long step[4], int32_t *c, long ldc,
                                                                     int cols) {
    wk_vi acc[WK_ROWS][2];
    const int halves = cols > 16 ? 2 : 1;
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = (wk_vi){0};
    for (int g = 0; g < kg; g++) {
        const wk_vi w0 = wk_join(blk[0] + g * step[0], blk[1] + g * step[1]);
        const wk_vi w1 = halves > 1 ? wk_join(blk[2] + g * step[2], blk[3] + g * step[3]) : w0;
        const long o = off[g];
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            int32_t word;
            memcpy(&word, a[r] + o, 4);
            const wk_vi x = {word, word, word, word, word, word, word, word,
                             word, word, word, word, word, word, word, word};
            acc[r][0] = WK_DPBUSD(acc[r][0], x, w0);
            if (halves > 1) acc[r][1] = WK_DPBUSD(acc[r][1], x, w1);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < halves; h++) {
            const int n = cols - 16 * h < 16 ? cols - 16 * h : 16;
            if (n == 16) {
                memcpy(c + r * ldc + 16 * h, &acc[r][h], sizeof acc[r][h]);
            } else {
                int32_t lanes[16];
                memcpy(lanes, &acc[r][h], sizeof lanes);
                for (int t = 0; t < n; t++) c[r * ldc + 16 * h + t] = lanes[t];
            }
        }
}

// An 8-lane tile for a last block of at most 8 columns (K = 8 first layers): half the work of a
// 16-lane tile whose second block is zeros.
WK_TARGET __attribute__((always_inline)) static inline void wk_qtile8(int rows, int kg, const uint8_t *const *a,
                                                                      const long *off, const int8_t *blk, int32_t *c,
                                                                      long ldc, int cols) {
    wk_vi8 acc[WK_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) acc[r] = (wk_vi8){0};
    for (int g = 0; g < kg; g++) {
        wk_vi8 w;
        memcpy(&w, blk + (long)g * 32, sizeof w);
        const long o = off[g];
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            int32_t word;
            memcpy(&word, a[r] + o, 4);
            const wk_vi8 x = {word, word, word, word, word, word, word, word};
            acc[r] = WK_DPBUSD8(acc[r], x, w);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        if (cols == 8) {
            memcpy(c + r * ldc, &acc[r], sizeof acc[r]);
        } else {
            int32_t lanes[8];
            memcpy(lanes, &acc[r], sizeof lanes);
            for (int t = 0; t < cols; t++) c[r * ldc + t] = lanes[t];
        }
    }
}

// The contract of cnns_qgemm_gathered_avx2: c[rows x K] from rows at a[0..<rows) (groups at
// a[i] + off[g], g < kg) and the packed weights. Column quads outer, so a 32-column panel of the
// weights stays in L1 while every row passes under it.
WK_TARGET void WK_NAME(qgemm_gathered)(int rows, int K, int kg, const uint8_t *const *a, const long *off,
                                       const int8_t *packed, int32_t *c, int ldc) {
    const int nb = (K + 7) / 8;
    static const int8_t zeros[32] = {0};
    for (int j = 0; j < nb; j += 4) {
        const int8_t *blk[4];
        long step[4];
        for (int t = 0; t < 4; t++) {
            blk[t] = j + t < nb ? packed + (long)(j + t) * kg * 32 : zeros;
            step[t] = j + t < nb ? 32 : 0;
        }
        const int cols = K - 8 * j < 32 ? K - 8 * j : 32;
        int i = 0;
        if (cols <= 8) {
            for (; i + WK_ROWS <= rows; i += WK_ROWS)
                wk_qtile8(WK_ROWS, kg, a + i, off, blk[0], c + (long)i * ldc + 8 * j, ldc, cols);
            WK_ROW_TAIL_OF(wk_qtile8, rows - i, kg, a + i, off, blk[0], c + (long)i * ldc + 8 * j, ldc, cols);
            continue;
        }
        for (; i + WK_ROWS <= rows; i += WK_ROWS)
            wk_qtile(WK_ROWS, kg, a + i, off, blk, step, c + (long)i * ldc + 8 * j, ldc, cols);
        WK_QROW_TAIL(rows - i, kg, a + i, off, blk, step, c + (long)i * ldc + 8 * j, ldc, cols);
    }
}

// The contract of cnns_qgemm_u7s8 (A rows readable to k rounded up to 4, B packed): the gathered
// GEMM on row pointers a + i·lda and group offsets 4g, a pass of WK_QPASS rows at a time.
#define WK_QPASS (22 * WK_ROWS)
WK_TARGET void WK_NAME(qgemm_u7s8)(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                                   int ldc) {
    enum { LOCAL_GROUPS = 1024 };
    const int kg = (k + 3) / 4;
    long local[LOCAL_GROUPS], *off = kg <= LOCAL_GROUPS ? local : malloc(sizeof(long) * (size_t)kg);
    for (int g = 0; g < kg; g++) off[g] = 4L * g;
    const uint8_t *rows[WK_QPASS];
    for (int i0 = 0; i0 < m; i0 += WK_QPASS) {
        const int mb = m - i0 < WK_QPASS ? m - i0 : WK_QPASS;
        for (int t = 0; t < mb; t++) rows[t] = a + (long)(i0 + t) * lda;
        WK_NAME(qgemm_gathered)(mb, n, kg, rows, off, packed, c + (long)i0 * ldc, ldc);
    }
    if (off != local) free(off);
}
