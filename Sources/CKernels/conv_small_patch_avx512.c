// The small-patch kernels (wide/small_patch_body.h) for AVX-512F/VL: 16 lanes, blocks of 12
// pixels (forward) or 12 taps (weight gradient) times 32 channels, 24 of the 32 registers
// accumulating. Callers ask cnns_have_avx512() first; without x86 conv_small_patch_w16.c gives
// these names the portable code.
#include "small_patch_walk.h"

#pragma clang diagnostic ignored "-Wpsabi"

#if CNNS_X86
#define SP_W 16
#define SP_PIX 12
#define SP_TAPS 12
#define SP_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define SP_NAME(x) x##_avx512
#include "wide/small_patch_body.h"
#endif
