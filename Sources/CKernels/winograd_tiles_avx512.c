// The 16-lane Winograd tile transforms for AVX-512F (see wide/winograd_tiles_body.h), and the
// weight gradient's dy tile and two-sided transform (wide/winograd_gradient_body.h).
#include "cnns_kernels.h"

#if CNNS_X86
#include <immintrin.h>

#define WT_W 16
#define WT_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx512
#define WT_LOAD_PART(p, n) ((wt_v)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define WT_STORE_PART(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#include "wide/winograd_tiles_body.h"
#include "wide/winograd_gradient_body.h"
#endif
