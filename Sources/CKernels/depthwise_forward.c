// Depthwise convolution forward, NHWC, depth multiplier 1 (MobileNetV2's 3x3 layers).
//   input (n, h, w, c), weights (r, s, c), bias (c) -> output (n, p, q, c)
//   out[n,p,q,c] = clamp(bias[c] + Σ_{r,s in bounds} in[n, p·sh+r−pt, q·sw+s−pl, c] · w[r,s,c])
// The scalar function below is the plain reference (and the fallback without AVX2); the vector
// kernels are one source, wide/depthwise_body.h, compiled here for AVX2+FMA at 8 lanes (`_avx2`),
// in depthwise_avx512.c at 16 lanes and in depthwise_w16.c as 16-lane code for AVX2 (tests).
#include "cnns_kernels.h"
#include <stddef.h>

static inline float clampf(float v, int clamp, float lo, float hi) {
    if (!clamp) return v;
    return v < lo ? lo : (v > hi ? hi : v);
}

void cnns_depthwise_forward_channels(const cnns_conv_shape *g, const float *input, const float *weights,
                                     const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                     long row1, int c0) {
    for (long row = row0; row < row1; row++) {
        long n = row / g->p, p = row % g->p;
        for (int q = 0; q < g->q; q++) {
            float *o = output + ((n * g->p + p) * g->q + q) * g->c;
            for (int c = c0; c < g->c; c++) {
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

void cnns_depthwise_forward_scalar(const cnns_conv_shape *g, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                   long row1) {
    cnns_depthwise_forward_channels(g, input, weights, bias, clamp, lo, hi, output, row0, row1, 0);
}

void cnns_depthwise_row3x3_channels(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                    const float *weights, const float *bias, int clamp, float lo, float hi, float *out,
                                    int c0) {
    for (int col = 0; col < q; col++) {
        for (int ch = c0; ch < c; ch++) {
            float acc = bias ? bias[ch] : 0.0f;
            for (int r = 0; r < 3; r++) {
                if (!rows[r]) continue;
                for (int s = 0; s < 3; s++) {
                    const int iw = col * stride + s - pad_left;
                    if (iw < 0 || iw >= w) continue;
                    acc += rows[r][(long)iw * c + ch] * weights[(r * 3 + s) * c + ch];
                }
            }
            out[(long)col * c + ch] = clampf(acc, clamp, lo, hi);
        }
    }
}

void cnns_depthwise_row3x3_scalar(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                  const float *weights, const float *bias, int clamp, float lo, float hi, float *out) {
    cnns_depthwise_row3x3_channels(rows, stride, w, c, q, pad_left, weights, bias, clamp, lo, hi, out, 0);
}

#if CNNS_X86
#pragma clang diagnostic ignored "-Wpsabi"
#define DW_W 8
#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_NAME(x) cnns_##x##_avx2
#include "wide/depthwise_body.h"
#endif

int cnns_depthwise_vector_fits(const cnns_conv_shape *g) {
#if CNNS_X86
    return cnns_have_avx2_fma() && g->c >= 8;
#else
    (void)g;
    return 0;
#endif
}

void cnns_depthwise_forward(const cnns_conv_shape *g, const float *input, const float *weights, const float *bias,
                            int clamp, float lo, float hi, float *output, long row0, long row1) {
#if CNNS_X86
    if (cnns_depthwise_vector_fits(g)) {
        cnns_depthwise_forward_avx2(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
        return;
    }
#endif
    cnns_depthwise_forward_scalar(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
}
