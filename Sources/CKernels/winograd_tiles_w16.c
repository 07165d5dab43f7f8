// The 16-lane Winograd tile transforms compiled for AVX2 (each vector split in two) or, without
// x86, as portable code: the AVX-512 variant's source, run and tested on every machine.
#include "cnns_kernels.h"
#include "wide/part_lanes.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define WT_W 16
#if CNNS_X86
#define WT_TARGET __attribute__((target("avx2,fma")))
#else
#define WT_TARGET
#endif
#define WT_NAME(x) cnns_##x##_w16
// Partial vectors lane by lane, as wide_on_avx2.c's.
typedef float wt_v16 __attribute__((vector_size(64)));
CNNS_PART_LANES(WT_TARGET, wt_v16, wt_load_part_lanes, wt_store_part_lanes)
#define WT_LOAD_PART(p, n) wt_load_part_lanes((p), (n))
#define WT_STORE_PART(p, v, n) wt_store_part_lanes((p), (v), (n))
#include "wide/winograd_tiles_body.h"
#include "wide/winograd_gradient_body.h"

#if !CNNS_X86
// Without x86 the AVX2 and AVX-512 names run this portable build.
void cnns_wino_dy_tile_avx512(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols,
                              int K, float *d, long xs, float *tmp, float *db) {
    cnns_wino_dy_tile_w16(alpha, m, A, dy, rowStride, rows, cols, K, d, xs, tmp, db);
}
void cnns_winograd_two_sided_avx512(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                                    float *out) {
    cnns_winograd_two_sided_w16(rows, n, L, in, C, K, c0, c1, out);
}
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
