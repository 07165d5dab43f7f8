// Winograd tile transforms (wide/winograd_tiles_body.h) per ISA: AVX2+FMA at 8 lanes
// (`_avx2`), AVX-512F at 16 (`_avx512`), and the 16-lane code compiled for AVX2 (`_w16`, for
// the tests on machines without AVX-512). Without x86 only `_w16` is compiled, as portable code,
// and winograd_tiles_w16.c gives the other names that code.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#define WT_W 8
#define WT_TARGET __attribute__((target("avx2,fma")))
#define WT_NAME(x) cnns_##x##_avx2
#include "wide/winograd_tiles_body.h"
#endif
