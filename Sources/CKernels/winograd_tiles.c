// Winograd tile transforms (wide/winograd_tiles_body.h) per ISA: AVX2+FMA at 8 lanes
// (`_avx2`), AVX-512F at 16 (`_avx512`), and the 16-lane code compiled for AVX2 (`_w16`, for
// the tests on machines without AVX-512). Without x86 only `_w16` is compiled, as portable code,
// and winograd_tiles_w16.c gives the other names that code.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#include <immintrin.h>

#define WT_W 8
#define WT_TARGET __attribute__((target("avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx2
// vmaskmovps: lane t where t < n.
WT_TARGET static inline __m256i wt_mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define WT_LOAD_PART(p, n) ((wt_v)_mm256_maskload_ps((p), wt_mask8(n)))
#define WT_STORE_PART(p, v, n) _mm256_maskstore_ps((p), wt_mask8(n), (__m256)(v))
#include "wide/winograd_tiles_body.h"
#endif
