// The 16-lane max-pooling kernels compiled for AVX2 (each vector split in two) or, without x86,
// as portable code: the AVX-512 variant's source, run and tested on every machine.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define MP_W 16
#if CNNS_X86
#define MP_TARGET __attribute__((target("avx2,fma")))
#else
#define MP_TARGET
#endif
#define MP_NAME(x) cnns_##x##_w16
#include "wide/maxpool_body.h"

#if !CNNS_X86
// Without x86 the AVX-512 names run this portable build.
void cnns_maxpool_argmax_forward_row_avx512(const float *x, long rowStride, int k, int C, int windows, float *y,
                                            uint8_t *argmax, int relu) {
    cnns_maxpool_argmax_forward_row_w16(x, rowStride, k, C, windows, y, argmax, relu);
}
void cnns_maxpool_route_row_avx512(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C,
                                   int windows) {
    cnns_maxpool_route_row_w16(argmax, g, dx, rowStride, k, C, windows);
}
#endif
