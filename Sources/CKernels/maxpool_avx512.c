// The 16-lane max-pooling kernels (wide/maxpool_body.h) for AVX-512F/BW/VL. Callers ask
// cnns_have_avx512() first; without x86 maxpool_w16.c gives these names the portable code.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#define MP_W 16
#define MP_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define MP_NAME(x) cnns_##x##_avx512
#include "wide/maxpool_body.h"
#endif
