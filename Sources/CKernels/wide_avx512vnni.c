// The 16-lane int8 GEMM (wide/wide_kernels_body.h) on vpdpbusd (AVX-512 VNNI): four u8·s8
// products per int32 lane in one instruction, without vpmaddubsw's int16 saturation.
#include "cnns_kernels.h"

#if CNNS_X86
#include <immintrin.h>

int cnns_have_avx512_vnni(void) {
    __builtin_cpu_init();
    return cnns_have_avx512() && __builtin_cpu_supports("avx512vnni");
}

#define WK_INT8_ONLY 1
#define WK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define WK_NAME(x) cnns_##x##_avx512vnni
#define WK_DPBUSD(acc, a, b) ((wk_vi)_mm512_dpbusd_epi32((__m512i)(acc), (__m512i)(a), (__m512i)(b)))
#define WK_DPBUSD8(acc, a, b) ((wk_vi8)_mm256_dpbusd_epi32((__m256i)(acc), (__m256i)(a), (__m256i)(b)))
#include "wide/wide_kernels_body.h"

#else
int cnns_have_avx512_vnni(void) { return 0; }
#endif
