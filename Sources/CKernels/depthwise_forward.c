// Depthwise convolution forward, NHWC, depth multiplier 1 (MobileNetV2's 3x3 layers).
//   input (n, h, w, c), weights (r, s, c), bias (c) -> output (n, p, q, c)
//   out[n,p,q,c] = clamp(bias[c] + Σ_{r,s in bounds} in[n, p·sh+r−pt, q·sw+s−pl, c] · w[r,s,c])
// AVX2+FMA: for 8 channels at a time the r·s weight vectors (up to 9) stay in registers while
// four output columns accumulate in four more, so every output is written once, with its
// activation applied; columns whose window leaves the map take the bounds-checked path.
// The scalar function below is the plain reference (and the fallback without AVX2).
#include "cnns_kernels.h"
#include <stddef.h>

static inline float clampf(float v, int clamp, float lo, float hi) {
    if (!clamp) return v;
    return v < lo ? lo : (v > hi ? hi : v);
}

void cnns_depthwise_forward_scalar(const cnns_conv_shape *g, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                   long row1) {
    for (long row = row0; row < row1; row++) {
        long n = row / g->p, p = row % g->p;
        for (int q = 0; q < g->q; q++) {
            float *o = output + ((n * g->p + p) * g->q + q) * g->c;
            for (int c = 0; c < g->c; c++) {
                float acc = bias ? bias[c] : 0.0f;
                for (int r = 0; r < g->r; r++) {
                    long ih = p * g->stride_h + r - g->pad_top;
                    if (ih < 0 || ih >= g->h) continue;
                    for (int s = 0; s < g->s; s++) {
                        long iw = (long)q * g->stride_w + s - g->pad_left;
                        if (iw < 0 || iw >= g->w) continue;
                        acc += input[((n * g->h + ih) * g->w + iw) * g->c + c] * weights[(r * g->s + s) * g->c + c];
                    }
                }
                o[c] = clampf(acc, clamp, lo, hi);
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define DW_MAX_TAPS 25

// One output row, channels c0..c0+8, columns q0..q1 (all with windows inside the map in width).
__attribute__((target("avx2,fma"))) static void dw_row_block8(const cnns_conv_shape *g, const float *in_n,
                                                                const __m256 *wv, __m256 b, int clamp, __m256 vlo,
                                                                __m256 vhi, float *out_row, long p, int c0, int q0,
                                                                int q1) {
    const int C = g->c, W = g->w, S = g->s, sw = g->stride_w;
    int r_lo = 0, r_hi = g->r;
    long ih0 = p * g->stride_h - g->pad_top;
    while (ih0 + r_lo < 0) r_lo++;
    while (r_hi > r_lo && ih0 + r_hi - 1 >= g->h) r_hi--;
    int q = q0;
    for (; q + 4 <= q1; q += 4) {
        __m256 a0 = b, a1 = b, a2 = b, a3 = b;
        for (int r = r_lo; r < r_hi; r++) {
            const float *x = in_n + ((ih0 + r) * W + (long)q * sw - g->pad_left) * C + c0;
            for (int s = 0; s < S; s++) {
                __m256 w = wv[r * S + s];
                const float *xs = x + (long)s * C;
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xs), w, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xs + (long)sw * C), w, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xs + 2L * sw * C), w, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xs + 3L * sw * C), w, a3);
            }
        }
        if (clamp) {
            a0 = _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi);
            a1 = _mm256_min_ps(_mm256_max_ps(a1, vlo), vhi);
            a2 = _mm256_min_ps(_mm256_max_ps(a2, vlo), vhi);
            a3 = _mm256_min_ps(_mm256_max_ps(a3, vlo), vhi);
        }
        float *o = out_row + (long)q * C + c0;
        _mm256_storeu_ps(o, a0);
        _mm256_storeu_ps(o + C, a1);
        _mm256_storeu_ps(o + 2L * C, a2);
        _mm256_storeu_ps(o + 3L * C, a3);
    }
    for (; q < q1; q++) {
        __m256 a = b;
        for (int r = r_lo; r < r_hi; r++) {
            const float *x = in_n + ((ih0 + r) * W + (long)q * sw - g->pad_left) * C + c0;
            for (int s = 0; s < S; s++) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + (long)s * C), wv[r * S + s], a);
        }
        if (clamp) a = _mm256_min_ps(_mm256_max_ps(a, vlo), vhi);
        _mm256_storeu_ps(out_row + (long)q * C + c0, a);
    }
}

// Edge columns (window partly outside in width): bounds-checked, 8 channels at a time.
__attribute__((target("avx2,fma"))) static void dw_edge_block8(const cnns_conv_shape *g, const float *in_n,
                                                                 const __m256 *wv, __m256 b, int clamp, __m256 vlo,
                                                                 __m256 vhi, float *out_row, long p, int c0, int q) {
    const int C = g->c;
    __m256 a = b;
    for (int r = 0; r < g->r; r++) {
        long ih = p * g->stride_h + r - g->pad_top;
        if (ih < 0 || ih >= g->h) continue;
        for (int s = 0; s < g->s; s++) {
            long iw = (long)q * g->stride_w + s - g->pad_left;
            if (iw < 0 || iw >= g->w) continue;
            a = _mm256_fmadd_ps(_mm256_loadu_ps(in_n + (ih * g->w + iw) * C + c0), wv[r * g->s + s], a);
        }
    }
    if (clamp) a = _mm256_min_ps(_mm256_max_ps(a, vlo), vhi);
    _mm256_storeu_ps(out_row + (long)q * C + c0, a);
}

__attribute__((target("avx2,fma"))) static void dw_forward_avx2(const cnns_conv_shape *g, const float *input,
                                                                  const float *weights, const float *bias, int clamp,
                                                                  float lo, float hi, float *output, long row0,
                                                                  long row1) {
    const int C = g->c, taps = g->r * g->s, C8 = C / 8 * 8;
    // Columns whose window stays inside the map in width: q in [qa, qb).
    int qa = 0, qb = g->q;
    while (qa < g->q && (long)qa * g->stride_w - g->pad_left < 0) qa++;
    while (qb > qa && (long)(qb - 1) * g->stride_w - g->pad_left + g->s > g->w) qb--;
    __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    __m256 wv[DW_MAX_TAPS];
    for (long row = row0; row < row1; row++) {
        long n = row / g->p, p = row % g->p;
        const float *in_n = input + n * (long)g->h * g->w * C;
        float *out_row = output + row * (long)g->q * C;
        for (int c0 = 0; c0 < C8; c0 += 8) {
            for (int t = 0; t < taps; t++) wv[t] = _mm256_loadu_ps(weights + (long)t * C + c0);
            __m256 b = bias ? _mm256_loadu_ps(bias + c0) : _mm256_setzero_ps();
            for (int q = 0; q < qa; q++) dw_edge_block8(g, in_n, wv, b, clamp, vlo, vhi, out_row, p, c0, q);
            dw_row_block8(g, in_n, wv, b, clamp, vlo, vhi, out_row, p, c0, qa, qb);
            for (int q = qb; q < g->q; q++) dw_edge_block8(g, in_n, wv, b, clamp, vlo, vhi, out_row, p, c0, q);
        }
        if (C8 < C) {  // channel tail
            for (int q = 0; q < g->q; q++) {
                for (int c = C8; c < C; c++) {
                    float acc = bias ? bias[c] : 0.0f;
                    for (int r = 0; r < g->r; r++) {
                        long ih = p * g->stride_h + r - g->pad_top;
                        if (ih < 0 || ih >= g->h) continue;
                        for (int s = 0; s < g->s; s++) {
                            long iw = (long)q * g->stride_w + s - g->pad_left;
                            if (iw < 0 || iw >= g->w) continue;
                            acc += in_n[(ih * g->w + iw) * C + c] * weights[(r * g->s + s) * C + c];
                        }
                    }
                    out_row[(long)q * C + c] = clampf(acc, clamp, lo, hi);
                }
            }
        }
    }
}
#endif

int cnns_depthwise_vector_fits(const cnns_conv_shape *g) {
#if defined(__x86_64__) || defined(__i386__)
    return cnns_have_avx2_fma() && g->r * g->s <= DW_MAX_TAPS && g->c >= 8;
#else
    (void)g;
    return 0;
#endif
}

void cnns_depthwise_forward(const cnns_conv_shape *g, const float *input, const float *weights, const float *bias,
                            int clamp, float lo, float hi, float *output, long row0, long row1) {
#if defined(__x86_64__) || defined(__i386__)
    if (cnns_depthwise_vector_fits(g)) {
        dw_forward_avx2(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
        return;
    }
#endif
    cnns_depthwise_forward_scalar(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
}
