// The 16-lane Winograd tile transforms compiled for AVX2 (each vector split in two) or, without
// x86, as portable code: the AVX-512 variant's source, run and tested on every machine.
#include "cnns_kernels.h"

#pragma clang diagnostic ignored "-Wpsabi"

#define WT_W 16
#if CNNS_X86
#define WT_TARGET __attribute__((target("avx2,fma")))
#else
#define WT_TARGET
#endif
#define WT_NAME(x) cnns_##x##_w16
#include "wide/winograd_tiles_body.h"
