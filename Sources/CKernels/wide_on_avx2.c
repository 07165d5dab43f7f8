// The 16-lane kernels (wide/wide_kernels_body.h) compiled for AVX2+FMA, where each 64-byte
// vector becomes two 32-byte ones and vpdpbusd, masked loads and masked stores become plain
// lane code. Not a fast path: it lets a machine without AVX-512 run, and the tests check, every
// line the AVX-512 kernels share with it. Without x86 it is the portable build of the same code.
#include "cnns_kernels.h"
#include "wide/part_lanes.h"

#if CNNS_X86
#define WK_TARGET __attribute__((target("avx2,fma")))
#else
#define WK_TARGET
#endif
#define WK_NAME(x) cnns_##x##_w16
// 64-byte vectors without AVX-512 are passed differently: these helpers are all inlined.
#pragma clang diagnostic ignored "-Wpsabi"

typedef int32_t wk_lanes_i __attribute__((vector_size(64)));
typedef uint32_t wk_lanes_u __attribute__((vector_size(64)));
typedef float wk_lanes_f __attribute__((vector_size(64)));

typedef int32_t wk_lanes_i8 __attribute__((vector_size(32)));
typedef uint32_t wk_lanes_u8 __attribute__((vector_size(32)));

// vpdpbusd lane by lane: acc + Σ_t u8(a byte t) · s8(b byte t), t = 0..3 of each 32-bit lane, on
// 16 lanes (name) or 8 (the int8 GEMM's last block of at most 8 columns).
#define WK_DPBUSD_LANES(name, TI, TU)                                                                           \
    WK_TARGET static inline TI name(TI acc, TI a, TI b) {                                                       \
        for (int t = 0; t < 4; t++) {                                                                           \
            const TI au = (TI)(((TU)a >> (unsigned)(8 * t)) & 0xffu);                                           \
            const TI bs = ((TI)((TU)b << (unsigned)(24 - 8 * t))) >> 24;                                        \
            acc += au * bs;                                                                                     \
        }                                                                                                       \
        return acc;                                                                                             \
    }
WK_DPBUSD_LANES(wk_dpbusd_lanes, wk_lanes_i, wk_lanes_u)
WK_DPBUSD_LANES(wk_dpbusd_lanes8, wk_lanes_i8, wk_lanes_u8)
#undef WK_DPBUSD_LANES

CNNS_PART_LANES(WK_TARGET, wk_lanes_f, wk_load_part_lanes, wk_store_part_lanes)

#define WK_DPBUSD(acc, a, b) wk_dpbusd_lanes((acc), (a), (b))
#define WK_DPBUSD8(acc, a, b) wk_dpbusd_lanes8((acc), (a), (b))
#define WK_LOAD_PART(p, n) wk_load_part_lanes((p), (n))
#define WK_STORE_PART(p, v, n) wk_store_part_lanes((p), (v), (n))
#include "wide/wide_kernels_body.h"

#if !CNNS_X86
// Without x86 the AVX-512 names run this portable build (callers ask cnns_have_avx512() first;
// these keep the symbols correct if called).
void cnns_sgemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          int accumulate) {
    cnns_sgemm_nn_w16(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void cnns_sgemm_blocked_avx512(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                               float *c, int ldc, int accumulate) {
    cnns_sgemm_blocked_w16(trans_a, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void cnns_sgemm_nt_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          int accumulate, float *scratch) {
    cnns_sgemm_nt_w16(m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch);
}

void cnns_pointwise_forward_avx512(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                                   float lo, float hi, float *output, long m0, long m1, int j0, int j1) {
    cnns_pointwise_forward_w16(c, k, input, packed, bias, clamp, lo, hi, output, m0, m1, j0, j1);
}

void cnns_qgemm_u7s8_avx512(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                            int ldc) {
    cnns_qgemm_u7s8_w16(m, n, k, a, lda, packed, c, ldc);
}

void cnns_qgemm_u7s8_avx512vnni(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                                int ldc) {
    cnns_qgemm_u7s8_w16(m, n, k, a, lda, packed, c, ldc);
}

void cnns_qgemm_gathered_avx512(int rows, int K, int kg, const uint8_t *const *a, const long *off,
                                const int8_t *packed, int32_t *c, int ldc) {
    cnns_qgemm_gathered_w16(rows, K, kg, a, off, packed, c, ldc);
}

void cnns_qgemm_gathered_avx512vnni(int rows, int K, int kg, const uint8_t *const *a, const long *off,
                                    const int8_t *packed, int32_t *c, int ldc) {
    cnns_qgemm_gathered_w16(rows, K, kg, a, off, packed, c, ldc);
}
#endif
