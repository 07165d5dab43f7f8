// The 16-lane Winograd tile transforms compiled for AVX2 (each vector split in two) or, without
// x86, as portable code: the AVX-512 variant's source, run and tested on every machine.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define WT_W 16
#if CNNS_X86
#define WT_TARGET __attribute__((target("avx2,fma")))
#else
#define WT_TARGET
#endif
#define WT_NAME(x) cnns_##x##_w16
#include "wide/winograd_tiles_body.h"

#if !CNNS_X86
// Without x86 the AVX2 and AVX-512 names run this portable build.
void cnns_wino_input_tile_avx2(int alpha, const float *const *d, int C, float *v, long xs) {
    cnns_wino_input_tile_w16(alpha, d, C, v, xs);
}
void cnns_wino_input_tile_avx512(int alpha, const float *const *d, int C, float *v, long xs) {
    cnns_wino_input_tile_w16(alpha, d, C, v, xs);
}
void cnns_wino_output_tile_avx2(int variant, const float *mtx, long xs, int K, const float *bias, int flags, float lo,
                                float hi, float *out, long rowStride, int rows, int cols) {
    cnns_wino_output_tile_w16(variant, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols);
}
void cnns_wino_output_tile_avx512(int variant, const float *mtx, long xs, int K, const float *bias, int flags,
                                  float lo, float hi, float *out, long rowStride, int rows, int cols) {
    cnns_wino_output_tile_w16(variant, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols);
}
#endif
