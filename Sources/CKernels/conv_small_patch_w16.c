// The small-patch kernels' 16-lane source (wide/small_patch_body.h, the AVX-512 build's blocks
// of 12) compiled for AVX2, each vector split in two, or, without x86, as portable code: the
// AVX-512 variant's lines, run and tested on every machine.
#include "small_patch_walk.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define SP_W 16
#define SP_PIX 12
#define SP_TAPS 12
#if CNNS_X86
#define SP_TARGET __attribute__((target("avx2,fma")))
#else
#define SP_TARGET
#endif
#define SP_NAME(x) x##_w16
#include "wide/small_patch_body.h"

#if !CNNS_X86
// Without x86 the AVX2 and AVX-512 builds' names run this portable one (the AVX2 entry points
// only call them where cnns_have_avx2_fma() says so, which it never does here).
void cnns_sp_forward_with_avx2(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                               int clamp, float lo, float hi, float *out, long m0, long m1, const float *zeros) {
    cnns_sp_forward_with_w16(s, input, weights, bias, clamp, lo, hi, out, m0, m1, zeros);
}
void cnns_sp_forward_with_avx512(const cnns_conv_shape *s, const float *input, const float *weights,
                                 const float *bias, int clamp, float lo, float hi, float *out, long m0, long m1,
                                 const float *zeros) {
    cnns_sp_forward_with_w16(s, input, weights, bias, clamp, lo, hi, out, m0, m1, zeros);
}
void cnns_sp_dweights_with_avx2(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                                long m0, long m1, const cnns_sp_buffers *buf) {
    cnns_sp_dweights_with_w16(s, input, dy0, dw, db, m0, m1, buf);
}
void cnns_sp_dweights_with_avx512(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw,
                                  float *db, long m0, long m1, const cnns_sp_buffers *buf) {
    cnns_sp_dweights_with_w16(s, input, dy0, dw, db, m0, m1, buf);
}
#endif
