// Pointwise (1x1, stride 1) convolution forward, NHWC, bias and clamp fused:
//   input (m, c): one row per output pixel; weights (c, k) row-major; bias (k) -> output (m, k)
//   out[i, j] = clamp(bias[j] + Σ_c in[i, c] · w[c, j])
// The weights are packed once (per weight version) into panels of 16 columns, each panel c x 16
// contiguous and the last one zero-padded, so a panel streams from L1 (c ≤ 512) or L2 in order.
// AVX2+FMA: a 6 x 16 register tile (12 accumulators), bias and clamp applied in registers before
// the tile's only store; rows in blocks whose input stays in L2 while every panel passes over it.
// The scalar function is the plain reference (and the fallback without AVX2); it reads the
// unpacked weights.
#include "cnns_kernels.h"
#include <stddef.h>

int64_t cnns_pointwise_packed_floats(int c, int k) { return (int64_t)((k + 15) / 16) * 16 * c; }

void cnns_pointwise_pack(int c, int k, const float *weights, float *packed) {
    const int panels = (k + 15) / 16;
    for (int j = 0; j < panels; j++) {
        float *dst = packed + (int64_t)j * 16 * c;
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < 16; t++) {
                const int col = j * 16 + t;
                dst[(int64_t)ch * 16 + t] = col < k ? weights[(int64_t)ch * k + col] : 0.0f;
            }
    }
}

static inline float pw_clamp(float v, int clamp, float lo, float hi) {
    if (!clamp) return v;
    return v < lo ? lo : (v > hi ? hi : v);
}

void cnns_pointwise_forward_scalar(int c, int k, const float *input, const float *weights, const float *bias,
                                   int clamp, float lo, float hi, float *output, long m0, long m1, int j0,
                                   int j1) {
    const int col0 = j0 * 16, col1 = j1 * 16 < k ? j1 * 16 : k;
    for (long i = m0; i < m1; i++) {
        const float *x = input + i * (long)c;
        for (int j = col0; j < col1; j++) {
            float acc = bias ? bias[j] : 0.0f;
            for (int ch = 0; ch < c; ch++) acc += x[ch] * weights[(long)ch * k + j];
            output[i * (long)k + j] = pw_clamp(acc, clamp, lo, hi);
        }
    }
}

#if CNNS_X86
#include <immintrin.h>

// One tile: rows x 16 columns (rows ≤ 6, a constant at each call so the loops unroll), `cols`
// of the 16 stored (the last panel's tail by mask).
__attribute__((target("avx2,fma"), always_inline)) static inline void pw_tile(
    int rows, int c, const float *x, const float *panel, const float *bias16, int clamp, __m256 vlo, __m256 vhi,
    float *o, long ldo, int cols) {
    __m256 acc0[6], acc1[6];
    const __m256 b0 = _mm256_loadu_ps(bias16), b1 = _mm256_loadu_ps(bias16 + 8);
    for (int r = 0; r < rows; r++) acc0[r] = b0, acc1[r] = b1;
    for (int ch = 0; ch < c; ch++) {
        const __m256 w0 = _mm256_load_ps(panel + (long)ch * 16), w1 = _mm256_load_ps(panel + (long)ch * 16 + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 v = _mm256_broadcast_ss(x + (long)r * c + ch);
            acc0[r] = _mm256_fmadd_ps(v, w0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(v, w1, acc1[r]);
        }
    }
    if (clamp) {
        for (int r = 0; r < rows; r++) {
            acc0[r] = _mm256_min_ps(_mm256_max_ps(acc0[r], vlo), vhi);
            acc1[r] = _mm256_min_ps(_mm256_max_ps(acc1[r], vlo), vhi);
        }
    }
    if (cols == 16) {
        for (int r = 0; r < rows; r++) {
            _mm256_storeu_ps(o + r * ldo, acc0[r]);
            _mm256_storeu_ps(o + r * ldo + 8, acc1[r]);
        }
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane);
    for (int r = 0; r < rows; r++) {
        _mm256_maskstore_ps(o + r * ldo, m0, acc0[r]);
        _mm256_maskstore_ps(o + r * ldo + 8, m1, acc1[r]);
    }
}

__attribute__((target("avx2,fma"))) static void pw_forward_avx2(int c, int k, const float *input, const float *packed,
                                                                 const float *bias, int clamp, float lo, float hi,
                                                                 float *output, long m0, long m1, int j0, int j1) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    // Rows per block: the block's input (rows x c floats) within 128 KiB, so it stays in L2 while
    // every panel of the range passes over it.
    long block = (32768 / (c > 0 ? c : 1)) / 6 * 6;
    if (block < 6) block = 6;
    float bias16[16] __attribute__((aligned(32)));
    for (long b0 = m0; b0 < m1; b0 += block) {
        const long b1 = b0 + block < m1 ? b0 + block : m1;
        for (int j = j0; j < j1; j++) {
            const int col = j * 16, cols = k - col < 16 ? k - col : 16;
            for (int t = 0; t < 16; t++) bias16[t] = bias && t < cols ? bias[col + t] : 0.0f;
            const float *panel = packed + (long)j * 16 * c;
            long i = b0;
            // A 1- or 2-row tail tile has 2 or 4 FMA chains, too few to hide the FMA latency: the
            // last 7 or 8 rows go as 4 + 3 or 4 + 4 instead of 6 + 1 or 6 + 2.
            long full = b1 - i;
            if (full >= 7 && (full % 6 == 1 || full % 6 == 2)) full -= 6 + full % 6;
            for (; i + 6 <= b0 + full; i += 6)
                pw_tile(6, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols);
            if (b1 - i == 7 || b1 - i == 8) {
                pw_tile(4, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols);
                i += 4;
            }
            switch (b1 - i) {
            case 5: pw_tile(5, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols); break;
            case 4: pw_tile(4, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols); break;
            case 3: pw_tile(3, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols); break;
            case 2: pw_tile(2, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols); break;
            case 1: pw_tile(1, c, input + i * c, panel, bias16, clamp, vlo, vhi, output + i * k + col, k, cols); break;
            default: break;
            }
        }
    }
}
#endif

void cnns_pointwise_forward(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                            float lo, float hi, float *output, long m0, long m1, int j0, int j1) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        pw_forward_avx2(c, k, input, packed, bias, clamp, lo, hi, output, m0, m1, j0, j1);
        return;
    }
#endif
    // Without AVX2: the packed panels read as plain C (same order of sums as the reference).
    const int col0 = j0 * 16, col1 = j1 * 16 < k ? j1 * 16 : k;
    for (long i = m0; i < m1; i++) {
        const float *x = input + i * (long)c;
        for (int j = col0; j < col1; j++) {
            const float *panel = packed + (long)(j / 16) * 16 * c + (j % 16);
            float acc = bias ? bias[j] : 0.0f;
            for (int ch = 0; ch < c; ch++) acc += x[ch] * panel[(long)ch * 16];
            output[i * (long)k + j] = pw_clamp(acc, clamp, lo, hi);
        }
    }
}
