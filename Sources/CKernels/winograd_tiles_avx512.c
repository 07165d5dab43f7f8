// The 16-lane Winograd tile transforms for AVX-512F (see wide/winograd_tiles_body.h), and the
// weight gradient's dy tile and two-sided transform (wide/winograd_gradient_body.h).
#include "cnns_kernels.h"

#if CNNS_X86
#define WT_W 16
#define WT_AVX512 1
#define WT_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx512
#include "wide/winograd_tiles_body.h"
#include "wide/winograd_gradient_body.h"
#endif
