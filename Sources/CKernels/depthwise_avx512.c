// The 16-lane depthwise kernel (wide/depthwise_body.h) for AVX-512F. Callers ask
// cnns_have_avx512() first; without x86 depthwise_w16.c gives this name the portable code.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#define DW_W 16
#define DW_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define DW_NAME(x) cnns_##x##_avx512
#include "wide/depthwise_body.h"
#endif
