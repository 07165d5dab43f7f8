// The int8 convolution's two element-wise passes, with plain references beside them:
//   quantize:   x (n floats) -> q (n bytes) = clamp(round_half_even(x · inv) + zp, 0, 127)
//   dequantize: acc (rows x K int32, row stride K) -> out (rows x K floats, row stride ldo)
//               = min(max(float(acc) · mul[k] + off[k], lo), hi)
//   pooled:     acc (two output rows of q pixels, K int32 each) -> out (q/2 pixels x K floats):
//               the dequantised maximum of each 2x2 window's sums
// The AVX2 versions round the product first and multiply, then add, as the references do (no
// fused multiply-add), so both give the same bytes and floats; the tests compare them exactly.
#include "cnns_kernels.h"
#include <math.h>

void cnns_quantize_u7_scalar(const float *x, long n, float inv, float zp, uint8_t *q) {
    for (long i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * inv) + zp;
        v = v < 0 ? 0 : (v > 127 ? 127 : v);
        q[i] = (uint8_t)v;
    }
}

void cnns_dequantize_rows_scalar(const int32_t *acc, int rows, int K, const float *mul, const float *off, float lo,
                                 float hi, float *out, long ldo) {
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < K; k++) {
            float y = (float)acc[(long)r * K + k] * mul[k] + off[k];
            y = y < lo ? lo : y;
            out[r * ldo + k] = y > hi ? hi : y;
        }
}

void cnns_dequantize_pooled2x2_scalar(const int32_t *acc, int q, int K, const float *mul, const float *off, float lo,
                                      float hi, float *out) {
    const int32_t *row1 = acc + (long)q * K;
    for (int j = 0; j < q / 2; j++)
        for (int k = 0; k < K; k++) {
            const long a = (long)2 * j * K + k, b = a + K;
            int32_t m = acc[a];
            m = acc[b] > m ? acc[b] : m;
            m = row1[a] > m ? row1[a] : m;
            m = row1[b] > m ? row1[b] : m;
            float y = (float)m * mul[k] + off[k];
            y = y < lo ? lo : y;
            out[(long)j * K + k] = y > hi ? hi : y;
        }
}

#if CNNS_X86
#include <immintrin.h>

__attribute__((target("avx2"))) static void quantize_avx2(const float *x, long n, float inv, float zp, uint8_t *q) {
    const __m256 vinv = _mm256_set1_ps(inv), vzp = _mm256_set1_ps(zp), zero = _mm256_setzero_ps(),
                 top = _mm256_set1_ps(127.0f);
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i w[4];
        for (int j = 0; j < 4; j++) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vinv);
            v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vzp);
            w[j] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, zero), top));
        }
        // int32 -> int16 -> uint8 packs work within 128-bit lanes: restore the order after.
        const __m256i h01 = _mm256_packs_epi32(w[0], w[1]), h23 = _mm256_packs_epi32(w[2], w[3]);
        const __m256i b = _mm256_packus_epi16(h01, h23);
        const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + i), ordered);
    }
    cnns_quantize_u7_scalar(x + i, n - i, inv, zp, q + i);
}

__attribute__((target("avx2"))) static void dequantize_avx2(const int32_t *acc, int rows, int K, const float *mul,
                                                             const float *off, float lo, float hi, float *out,
                                                             long ldo) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int r = 0; r < rows; r++) {
        const int32_t *a = acc + (long)r * K;
        float *o = out + r * ldo;
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            const __m256 f = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(a + k)));
            const __m256 y = _mm256_add_ps(_mm256_mul_ps(f, _mm256_loadu_ps(mul + k)), _mm256_loadu_ps(off + k));
            _mm256_storeu_ps(o + k, _mm256_min_ps(_mm256_max_ps(y, vlo), vhi));
        }
        cnns_dequantize_rows_scalar(a + k, 1, K - k, mul + k, off + k, lo, hi, o + k, ldo);
    }
}

__attribute__((target("avx2"))) static void dequantize_pooled2x2_avx2(const int32_t *acc, int q, int K,
                                                                       const float *mul, const float *off, float lo,
                                                                       float hi, float *out) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const int32_t *row1 = acc + (long)q * K;
    const int K8 = K / 8 * 8;
    for (int j = 0; j < q / 2; j++) {
        const long a = (long)2 * j * K, b = a + K;
        for (int k = 0; k < K8; k += 8) {
            const __m256i m0 = _mm256_max_epi32(_mm256_loadu_si256((const __m256i *)(acc + a + k)),
                                                _mm256_loadu_si256((const __m256i *)(acc + b + k)));
            const __m256i m1 = _mm256_max_epi32(_mm256_loadu_si256((const __m256i *)(row1 + a + k)),
                                                _mm256_loadu_si256((const __m256i *)(row1 + b + k)));
            const __m256 f = _mm256_cvtepi32_ps(_mm256_max_epi32(m0, m1));
            const __m256 y = _mm256_add_ps(_mm256_mul_ps(f, _mm256_loadu_ps(mul + k)), _mm256_loadu_ps(off + k));
            _mm256_storeu_ps(out + (long)j * K + k, _mm256_min_ps(_mm256_max_ps(y, vlo), vhi));
        }
        for (int k = K8; k < K; k++) {
            int32_t m = acc[a + k];
            m = acc[b + k] > m ? acc[b + k] : m;
            m = row1[a + k] > m ? row1[a + k] : m;
            m = row1[b + k] > m ? row1[b + k] : m;
            float y = (float)m * mul[k] + off[k];
            y = y < lo ? lo : y;
            out[(long)j * K + k] = y > hi ? hi : y;
        }
    }
}
#endif

void cnns_quantize_u7(const float *x, long n, float inv, float zp, uint8_t *q) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        quantize_avx2(x, n, inv, zp, q);
        return;
    }
#endif
    cnns_quantize_u7_scalar(x, n, inv, zp, q);
}

void cnns_dequantize_rows(const int32_t *acc, int rows, int K, const float *mul, const float *off, float lo, float hi,
                          float *out, long ldo) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        dequantize_avx2(acc, rows, K, mul, off, lo, hi, out, ldo);
        return;
    }
#endif
    cnns_dequantize_rows_scalar(acc, rows, K, mul, off, lo, hi, out, ldo);
}

void cnns_dequantize_pooled2x2(const int32_t *acc, int q, int K, const float *mul, const float *off, float lo,
                               float hi, float *out) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        dequantize_pooled2x2_avx2(acc, q, K, mul, off, lo, hi, out);
        return;
    }
#endif
    cnns_dequantize_pooled2x2_scalar(acc, q, K, mul, off, lo, hi, out);
}
