// The 16-lane Winograd tile transforms for AVX-512F (see wide/winograd_tiles_body.h).
#include "cnns_kernels.h"

#if CNNS_X86
#define WT_W 16
#define WT_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx512
#include "wide/winograd_tiles_body.h"
#else
void cnns_wino_input_tile_avx512(int alpha, const float *const *d, int C, float *v, long xs) {
    cnns_wino_input_tile_w16(alpha, d, C, v, xs);
}
void cnns_wino_output_tile_avx512(int variant, const float *mtx, long xs, int K, const float *bias, int clamp,
                                  float lo, float hi, float *out, long rowStride, int rows, int cols) {
    cnns_wino_output_tile_w16(variant, mtx, xs, K, bias, clamp, lo, hi, out, rowStride, rows, cols);
}
#endif
