// Winograd tile transforms (wide/winograd_tiles_body.h) per ISA: AVX2+FMA at 8 lanes
// (`_avx2`), AVX-512F at 16 (`_avx512`), and the 16-lane code compiled for AVX2 (`_w16`, for
// the tests on machines without AVX-512). Without x86 only `_w16` is compiled, as portable code,
// and the other names run it.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#define WT_W 8
#define WT_TARGET __attribute__((target("avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx2
#include "wide/winograd_tiles_body.h"
#else
void cnns_wino_input_tile_avx2(int alpha, const float *const *d, int C, float *v, long xs) {
    cnns_wino_input_tile_w16(alpha, d, C, v, xs);
}
void cnns_wino_output_tile_avx2(int variant, const float *mtx, long xs, int K, const float *bias, int clamp, float lo,
                                float hi, float *out, long rowStride, int rows, int cols) {
    cnns_wino_output_tile_w16(variant, mtx, xs, K, bias, clamp, lo, hi, out, rowStride, rows, cols);
}
#endif
