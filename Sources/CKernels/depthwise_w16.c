// The 16-lane depthwise kernel compiled for AVX2 (each vector split in two) or, without x86, as
// portable code: the AVX-512 variant's source, run and tested on every machine.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define DW_W 16
#if CNNS_X86
#define DW_TARGET __attribute__((target("avx2,fma")))
#else
#define DW_TARGET
#endif
#define DW_NAME(x) cnns_##x##_w16
#include "wide/depthwise_body.h"

#if !CNNS_X86
// Without x86 the AVX2 and AVX-512 names run this portable build.
void cnns_depthwise_forward_avx2(const cnns_conv_shape *g, const float *input, const float *weights,
                                 const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                 long row1) {
    cnns_depthwise_forward_w16(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
}
void cnns_depthwise_forward_avx512(const cnns_conv_shape *g, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                   long row1) {
    cnns_depthwise_forward_w16(g, input, weights, bias, clamp, lo, hi, output, row0, row1);
}
void cnns_depthwise_row3x3_avx2(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                const float *weights, const float *bias, int clamp, float lo, float hi, float *out) {
    cnns_depthwise_row3x3_w16(rows, stride, w, c, q, pad_left, weights, bias, clamp, lo, hi, out);
}
void cnns_depthwise_row3x3_avx512(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                  const float *weights, const float *bias, int clamp, float lo, float hi, float *out) {
    cnns_depthwise_row3x3_w16(rows, stride, w, c, q, pad_left, weights, bias, clamp, lo, hi, out);
}
#endif
