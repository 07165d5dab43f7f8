#include "cnns_microkernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
float cnns_fma_avx2(int64_t iterations) {
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

float cnns_muladd_sse(int64_t iterations) {
    __m128 a[12];
    for (int k = 0; k < 12; k++) a[k] = _mm_set1_ps(1.0f);
    const __m128 m = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm_add_ps(_mm_mul_ps(a[k], m), c);
    __m128 s = a[0];
    for (int k = 1; k < 12; k++) s = _mm_add_ps(s, a[k]);
    float out[4];
    _mm_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma")))
float cnns_fma_add_avx2(int64_t iterations) {
    __m256 f0 = _mm256_set1_ps(1.0f), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0;
    __m256 s0 = _mm256_set1_ps(0.5f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f), d = _mm256_set1_ps(-1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        f0 = _mm256_fmadd_ps(f0, m, c); s0 = _mm256_add_ps(s0, d);
        f1 = _mm256_fmadd_ps(f1, m, c); s1 = _mm256_add_ps(s1, d);
        f2 = _mm256_fmadd_ps(f2, m, c); s2 = _mm256_add_ps(s2, d);
        f3 = _mm256_fmadd_ps(f3, m, c); s3 = _mm256_add_ps(s3, d);
        f4 = _mm256_fmadd_ps(f4, m, c); s4 = _mm256_add_ps(s4, d);
        f5 = _mm256_fmadd_ps(f5, m, c); s5 = _mm256_add_ps(s5, d);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(f0, f1), _mm256_add_ps(f2, f3)), _mm256_add_ps(f4, f5));
    s = _mm256_add_ps(
        s, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)), _mm256_add_ps(s4, s5)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

// Eight add chains of aligned loads of W floats over a: one stream (8·W floats a step), or two
// (the buffer's halves, 4·W floats each a step). `two` is a constant at each call. The body of
// the 256-bit and the 512-bit load kernels; `s` is the chains' sum.
#define LOAD_CHAINS(VEC, ZERO, LOAD, ADD, W)                                                                   \
    const int64_t h = two ? n / 2 : 4 * (W), step = two ? 4 * (W) : 8 * (W), end = two ? n / 2 : n;           \
    VEC s0 = ZERO(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;                             \
    for (int64_t r = 0; r < reps; r++) {                                                                       \
        for (int64_t i = 0; i < end; i += step) {                                                              \
            s0 = ADD(s0, LOAD(a + i));                                                                         \
            s1 = ADD(s1, LOAD(a + i + (W)));                                                                   \
            s2 = ADD(s2, LOAD(a + i + 2 * (W)));                                                               \
            s3 = ADD(s3, LOAD(a + i + 3 * (W)));                                                               \
            s4 = ADD(s4, LOAD(a + h + i));                                                                     \
            s5 = ADD(s5, LOAD(a + h + i + (W)));                                                               \
            s6 = ADD(s6, LOAD(a + h + i + 2 * (W)));                                                           \
            s7 = ADD(s7, LOAD(a + h + i + 3 * (W)));                                                           \
        }                                                                                                      \
        __asm__ volatile("" ::: "memory");                                                                     \
    }                                                                                                          \
    VEC s = ADD(ADD(ADD(s0, s1), ADD(s2, s3)), ADD(ADD(s4, s5), ADD(s6, s7)));

__attribute__((target("avx2"), always_inline)) static inline float load_chains(const float *a, int64_t n, int64_t reps,
                                                                              int two) {
    LOAD_CHAINS(__m256, _mm256_setzero_ps, _mm256_load_ps, _mm256_add_ps, 8)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2"))) float cnns_load_one_stream_avx2(const float *a, int64_t n, int64_t reps) {
    return load_chains(a, n, reps, 0);
}

// Two streams: more prefetch streams in flight, which matters in the L3.
__attribute__((target("avx2"))) float cnns_load_avx2(const float *a, int64_t n, int64_t reps) {
    return load_chains(a, n, reps, 1);
}

// copy b = a, four vectors of W floats a step; triad a = b + 1.0001·c, two a step. The bodies of
// the 256-bit and the 512-bit kernels.
#define COPY_STREAM(LOAD, STORE, W)                                                                            \
    for (int64_t r = 0; r < reps; r++) {                                                                       \
        for (int64_t i = 0; i < n; i += 4 * (W)) {                                                             \
            STORE(b + i, LOAD(a + i));                                                                         \
            STORE(b + i + (W), LOAD(a + i + (W)));                                                             \
            STORE(b + i + 2 * (W), LOAD(a + i + 2 * (W)));                                                     \
            STORE(b + i + 3 * (W), LOAD(a + i + 3 * (W)));                                                     \
        }                                                                                                      \
        __asm__ volatile("" ::: "memory");                                                                     \
    }                                                                                                          \
    return b[n / 2];

#define TRIAD_STREAM(SET1, LOAD, STORE, FMADD, W)                                                              \
    const __typeof__(SET1(0.0f)) s = SET1(1.0001f);                                                            \
    for (int64_t r = 0; r < reps; r++) {                                                                       \
        for (int64_t i = 0; i < n; i += 2 * (W)) {                                                             \
            STORE(a + i, FMADD(LOAD(c + i), s, LOAD(b + i)));                                                  \
            STORE(a + i + (W), FMADD(LOAD(c + i + (W)), s, LOAD(b + i + (W))));                                \
        }                                                                                                      \
        __asm__ volatile("" ::: "memory");                                                                     \
    }                                                                                                          \
    return a[n / 2];

__attribute__((target("avx2"))) float cnns_copy_avx2(const float *a, float *b, int64_t n, int64_t reps) {
    COPY_STREAM(_mm256_load_ps, _mm256_store_ps, 8)
}

__attribute__((target("avx2,fma"))) float cnns_triad_avx2(float *a, const float *b, const float *c, int64_t n,
                                                          int64_t reps) {
    TRIAD_STREAM(_mm256_set1_ps, _mm256_load_ps, _mm256_store_ps, _mm256_fmadd_ps, 8)
}

float cnns_load_sse(const float *a, int64_t n, int64_t reps) {
    __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 16) {
            s0 = _mm_add_ps(s0, _mm_load_ps(a + i)); s1 = _mm_add_ps(s1, _mm_load_ps(a + i + 4));
            s2 = _mm_add_ps(s2, _mm_load_ps(a + i + 8)); s3 = _mm_add_ps(s3, _mm_load_ps(a + i + 12));
        }
        __asm__ volatile("" ::: "memory");
    }
    float out[4];
    _mm_storeu_ps(out, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
    return out[0];
}

float cnns_copy_sse(const float *a, float *b, int64_t n, int64_t reps) {
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 4) _mm_store_ps(b + i, _mm_load_ps(a + i));
        __asm__ volatile("" ::: "memory");
    }
    return b[n / 2];
}

float cnns_triad_sse(float *a, const float *b, const float *c, int64_t n, int64_t reps) {
    const __m128 s = _mm_set1_ps(1.0001f);
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 4)
            _mm_store_ps(a + i, _mm_add_ps(_mm_load_ps(b + i), _mm_mul_ps(_mm_load_ps(c + i), s)));
        __asm__ volatile("" ::: "memory");
    }
    return a[n / 2];
}

// The same three bandwidth kernels with 512-bit loads and stores, for machines whose kernels run
// AVX-512: a core that executes them at full width (Zen 5) reads twice as many bytes a cycle from
// L1 as with 256-bit loads, so the AVX2 kernels would understate the L1 and L2 roofs there.
// load: the eight chains of 512-bit loads over two streams or one; n is a multiple of 128.
__attribute__((target("avx512f"), always_inline)) static inline float load_chains512(const float *a, int64_t n,
                                                                                   int64_t reps, int two) {
    LOAD_CHAINS(__m512, _mm512_setzero_ps, _mm512_load_ps, _mm512_add_ps, 16)
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f"))) float cnns_load_one_stream_avx512(const float *a, int64_t n, int64_t reps) {
    return load_chains512(a, n, reps, 0);
}

__attribute__((target("avx512f"))) float cnns_load_avx512(const float *a, int64_t n, int64_t reps) {
    return load_chains512(a, n, reps, 1);
}

// copy: 64 floats a step (n a multiple of 64); triad: 32 (n a multiple of 32).
__attribute__((target("avx512f"))) float cnns_copy_avx512(const float *a, float *b, int64_t n, int64_t reps) {
    COPY_STREAM(_mm512_load_ps, _mm512_store_ps, 16)
}

__attribute__((target("avx512f"))) float cnns_triad_avx512(float *a, const float *b, const float *c, int64_t n,
                                                           int64_t reps) {
    TRIAD_STREAM(_mm512_set1_ps, _mm512_load_ps, _mm512_store_ps, _mm512_fmadd_ps, 16)
}

// Compute ceilings per ISA, each 12 independent FMA chains (enough to cover FMA latency on two
// pipes). The scalar one is what code the compiler cannot vectorise reaches.
__attribute__((target("fma")))
float cnns_fma_scalar(int64_t iterations) {
    __m128 a[12];
    for (int k = 0; k < 12; k++) a[k] = _mm_set_ss(1.0f);
    const __m128 m = _mm_set_ss(0.999999f), c = _mm_set_ss(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a[0] = _mm_fmadd_ss(a[0], m, c); a[1] = _mm_fmadd_ss(a[1], m, c);
        a[2] = _mm_fmadd_ss(a[2], m, c); a[3] = _mm_fmadd_ss(a[3], m, c);
        a[4] = _mm_fmadd_ss(a[4], m, c); a[5] = _mm_fmadd_ss(a[5], m, c);
        a[6] = _mm_fmadd_ss(a[6], m, c); a[7] = _mm_fmadd_ss(a[7], m, c);
        a[8] = _mm_fmadd_ss(a[8], m, c); a[9] = _mm_fmadd_ss(a[9], m, c);
        a[10] = _mm_fmadd_ss(a[10], m, c); a[11] = _mm_fmadd_ss(a[11], m, c);
    }
    float s = 0;
    for (int k = 0; k < 12; k++) s += _mm_cvtss_f32(a[k]);
    return s;
}

__attribute__((target("avx512f")))
float cnns_fma_avx512(int64_t iterations) {
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m512 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
        a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}
#else
// Other architectures (aarch64): the same loops in portable C, which the compiler vectorises
// for the machine (NEON); the entry points keep their x86 names so that callers stay one. The
// ceilings they measure are labelled by the ISA the CPU reports, not by these names.
#define CNNS_CHAINS 12

static float chains(int64_t iterations, int width) {
    float a[CNNS_CHAINS * 16];
    for (int k = 0; k < CNNS_CHAINS * width; k++) a[k] = 1.0f;
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < CNNS_CHAINS * width; k++) a[k] = a[k] * 0.999999f + 1e-7f;
    float s = 0;
    for (int k = 0; k < CNNS_CHAINS * width; k++) s += a[k];
    return s;
}

float cnns_fma_avx2(int64_t iterations) { return chains(iterations, 8); }
float cnns_muladd_sse(int64_t iterations) { return chains(iterations, 4); }
float cnns_fma_add_avx2(int64_t iterations) { return chains(iterations, 8); }
float cnns_fma_scalar(int64_t iterations) { return chains(iterations, 1); }
float cnns_fma_avx512(int64_t iterations) { return chains(iterations, 16); }

static float load_all(const float *a, int64_t n, int64_t reps) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i + 4 <= n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    return s0 + s1 + s2 + s3;
}

static float copy_all(const float *a, float *b, int64_t n, int64_t reps) {
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i < n; i++) b[i] = a[i];
    return n > 0 ? b[n - 1] : 0;
}

static float triad_all(float *a, const float *b, const float *c, int64_t n, int64_t reps) {
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
    return n > 0 ? a[n - 1] : 0;
}

float cnns_load_avx2(const float *a, int64_t n, int64_t reps) { return load_all(a, n, reps); }
float cnns_load_one_stream_avx2(const float *a, int64_t n, int64_t reps) { return load_all(a, n, reps); }
float cnns_copy_avx2(const float *a, float *b, int64_t n, int64_t reps) { return copy_all(a, b, n, reps); }
float cnns_triad_avx2(float *a, const float *b, const float *c, int64_t n, int64_t reps) {
    return triad_all(a, b, c, n, reps);
}
float cnns_load_avx512(const float *a, int64_t n, int64_t reps) { return load_all(a, n, reps); }
float cnns_load_one_stream_avx512(const float *a, int64_t n, int64_t reps) { return load_all(a, n, reps); }
float cnns_copy_avx512(const float *a, float *b, int64_t n, int64_t reps) { return copy_all(a, b, n, reps); }
float cnns_triad_avx512(float *a, const float *b, const float *c, int64_t n, int64_t reps) {
    return triad_all(a, b, c, n, reps);
}
float cnns_load_sse(const float *a, int64_t n, int64_t reps) { return load_all(a, n, reps); }
float cnns_copy_sse(const float *a, float *b, int64_t n, int64_t reps) { return copy_all(a, b, n, reps); }
float cnns_triad_sse(float *a, const float *b, const float *c, int64_t n, int64_t reps) {
    return triad_all(a, b, c, n, reps);
}
#endif
