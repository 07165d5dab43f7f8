// Microkernels Swift cannot emit reliably (explicit FMA chains), chosen at run time from the
// CPU's features. Used to measure the machine's compute ceiling.
#ifndef CNNS_MICROKERNELS_H
#define CNNS_MICROKERNELS_H
#include <stdint.h>

/// Runs `iterations` rounds of 12 independent 8-wide FMA chains (AVX2+FMA).
/// Returns a value derived from the accumulators so the work cannot be elided.
/// FLOPs executed: iterations * 12 * 8 * 2.
float cnns_fma_avx2(int64_t iterations);
/// The same with SSE multiply + add (4-wide, no FMA), for CPUs without AVX2/FMA.
/// FLOPs executed: iterations * 12 * 4 * 2.
float cnns_muladd_sse(int64_t iterations);
#endif
