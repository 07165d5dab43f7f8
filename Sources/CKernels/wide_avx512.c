// The 16-lane kernels (wide/wide_kernels_body.h) compiled for AVX-512F/BW/VL: the small GEMM,
// the pointwise kernel and the int8 GEMM on vpmaddubsw/vpmaddwd (AVX-512BW, for machines without
// VNNI; wide_avx512vnni.c has the vpdpbusd one). Masked loads and stores for the column tails.
// Callers ask cnns_have_avx512() first; without x86 the names run the portable 16-lane code.
#include "cnns_kernels.h"

#if CNNS_X86
#include <immintrin.h>

int cnns_have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
}

#define WK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define WK_NAME(x) cnns_##x##_avx512
#define WK_DPBUSD(acc, a, b)                                                                                    \
    ((wk_vi)_mm512_add_epi32(                                                                                   \
        (__m512i)(acc), _mm512_madd_epi16(_mm512_maddubs_epi16((__m512i)(a), (__m512i)(b)), _mm512_set1_epi16(1))))
#define WK_LOAD_PART(p, n) ((wk_vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define WK_STORE_PART(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#include "wide/wide_kernels_body.h"

#else
int cnns_have_avx512(void) { return 0; }

void cnns_sgemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          int accumulate) {
    cnns_sgemm_nn_w16(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void cnns_pointwise_forward_avx512(int c, int k, const float *input, const float *packed, const float *bias, int clamp,
                                   float lo, float hi, float *output, long m0, long m1, int j0, int j1) {
    cnns_pointwise_forward_w16(c, k, input, packed, bias, clamp, lo, hi, output, m0, m1, j0, j1);
}

void cnns_qgemm_u7s8_avx512(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c,
                            int ldc) {
    cnns_qgemm_u7s8_w16(m, n, k, a, lda, packed, c, ldc);
}
#endif
