// The 16-lane kernels (wide/wide_kernels_body.h) compiled for AVX-512F/BW/VL: the small GEMM,
// the pointwise kernel and the int8 GEMM on vpmaddubsw/vpmaddwd (AVX-512BW, for machines without
// VNNI; wide_avx512vnni.c has the vpdpbusd one). Masked loads and stores for the column tails.
// Callers ask cnns_have_avx512() first; without x86 wide_on_avx2.c gives these names the
// portable 16-lane code.
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
#define WK_DPBUSD8(acc, a, b)                                                                                   \
    ((wk_vi8)_mm256_add_epi32(                                                                                  \
        (__m256i)(acc), _mm256_madd_epi16(_mm256_maddubs_epi16((__m256i)(a), (__m256i)(b)), _mm256_set1_epi16(1))))
#define WK_LOAD_PART(p, n) ((wk_vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define WK_STORE_PART(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#include "wide/wide_kernels_body.h"

#else
int cnns_have_avx512(void) { return 0; }
#endif
