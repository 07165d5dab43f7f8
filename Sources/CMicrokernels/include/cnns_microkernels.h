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
/// Mixed kernel: 6 FMA chains and 6 add chains per iteration (for cores whose add ports exceed
/// their FMA ports). FLOPs executed: iterations * (6 * 8 * 2 + 6 * 8).
float cnns_fma_add_avx2(int64_t iterations);

/// Bandwidth kernels over `n` floats (n a multiple of 64, buffers 64-byte aligned), repeated
/// `reps` times. Return a value derived from the data so the loads are not elided.
/// load: reads a (AVX2 loads into 8 add chains, two streams: the buffer's halves); bytes moved:
/// 4·n·reps. load_one_stream: the same over one sequential stream (likwid's load_avx; the DRAM
/// level, where a second stream keeps more misses in flight than one thread's loads usually have).
float cnns_load_avx2(const float *a, int64_t n, int64_t reps);
float cnns_load_one_stream_avx2(const float *a, int64_t n, int64_t reps);
/// copy: b = a; bytes moved: 8·n·reps (read a, write b; write-allocate not counted, as likwid).
float cnns_copy_avx2(const float *a, float *b, int64_t n, int64_t reps);
/// triad: a = b + s·c; bytes moved: 12·n·reps.
float cnns_triad_avx2(float *a, const float *b, const float *c, int64_t n, int64_t reps);
/// The same with 512-bit loads and stores (AVX-512F; the kernels' ISA on AVX-512 machines). load
/// needs n a multiple of 128, copy of 64, triad of 32.
float cnns_load_avx512(const float *a, int64_t n, int64_t reps);
float cnns_load_one_stream_avx512(const float *a, int64_t n, int64_t reps);
float cnns_copy_avx512(const float *a, float *b, int64_t n, int64_t reps);
float cnns_triad_avx512(float *a, const float *b, const float *c, int64_t n, int64_t reps);
/// Portable (SSE) versions for CPUs without AVX2.
float cnns_load_sse(const float *a, int64_t n, int64_t reps);
float cnns_copy_sse(const float *a, float *b, int64_t n, int64_t reps);
float cnns_triad_sse(float *a, const float *b, const float *c, int64_t n, int64_t reps);
/// Scalar FMA (vfmadd231ss), 12 chains: FLOPs executed iterations * 12 * 2. Needs FMA.
float cnns_fma_scalar(int64_t iterations);
/// AVX-512F FMA, 12 chains of 16 lanes: FLOPs executed iterations * 12 * 32. Needs AVX-512F.
float cnns_fma_avx512(int64_t iterations);
#endif
