// Adam's update of n elements, Keras's formulas in float:
//   m = β1·m + (1−β1)·g;  v = β2·v + ((1−β2)·g)·g;  w = w − (lrT·m) / (√v + ε)
// (c1 = 1−β1, c2 = 1−β2, lrT the step's bias-corrected rate). Every build does each element's
// operations in this order, rounded one at a time (no FMA contraction; division and square root
// are correctly rounded), so the AVX2 and AVX-512 builds equal the plain reference bit for bit.
#include "cnns_kernels.h"

#pragma clang fp contract(off)

static void adam_tail(float *w, const float *g, float *m, float *v, long i, long n, float b1, float b2, float c1,
                      float c2, float eps, float lrT) {
    for (; i < n; i++) {
        const float gi = g[i];
        const float mn = b1 * m[i] + c1 * gi;
        const float vn = b2 * v[i] + c2 * gi * gi;
        m[i] = mn;
        v[i] = vn;
        w[i] = w[i] - lrT * mn / (__builtin_sqrtf(vn) + eps);
    }
}

void cnns_adam_update_scalar(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                             float lrT) {
    adam_tail(w, g, m, v, 0, n, b1, b2, 1 - b1, 1 - b2, eps, lrT);
}

#if CNNS_X86
#include <immintrin.h>

__attribute__((target("avx2,fma"))) void cnns_adam_update_avx2(float *w, const float *g, float *m, float *v, long n,
                                                               float b1, float b2, float eps, float lrT) {
    const float c1 = 1 - b1, c2 = 1 - b2;
    const __m256 B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2), C1 = _mm256_set1_ps(c1),
                 C2 = _mm256_set1_ps(c2), E = _mm256_set1_ps(eps), LR = _mm256_set1_ps(lrT);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gi = _mm256_loadu_ps(g + i);
        const __m256 mn = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(C1, gi));
        const __m256 vn =
            _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(C2, gi), gi));
        const __m256 step = _mm256_div_ps(_mm256_mul_ps(LR, mn), _mm256_add_ps(_mm256_sqrt_ps(vn), E));
        _mm256_storeu_ps(m + i, mn);
        _mm256_storeu_ps(v + i, vn);
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
    }
    adam_tail(w, g, m, v, i, n, b1, b2, c1, c2, eps, lrT);
}

__attribute__((target("avx512f,avx2,fma"))) void cnns_adam_update_avx512(float *w, const float *g, float *m, float *v,
                                                                         long n, float b1, float b2, float eps,
                                                                         float lrT) {
    const float c1 = 1 - b1, c2 = 1 - b2;
    const __m512 B1 = _mm512_set1_ps(b1), B2 = _mm512_set1_ps(b2), C1 = _mm512_set1_ps(c1),
                 C2 = _mm512_set1_ps(c2), E = _mm512_set1_ps(eps), LR = _mm512_set1_ps(lrT);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 gi = _mm512_loadu_ps(g + i);
        const __m512 mn = _mm512_add_ps(_mm512_mul_ps(B1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(C1, gi));
        const __m512 vn =
            _mm512_add_ps(_mm512_mul_ps(B2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(_mm512_mul_ps(C2, gi), gi));
        const __m512 step = _mm512_div_ps(_mm512_mul_ps(LR, mn), _mm512_add_ps(_mm512_sqrt_ps(vn), E));
        _mm512_storeu_ps(m + i, mn);
        _mm512_storeu_ps(v + i, vn);
        _mm512_storeu_ps(w + i, _mm512_sub_ps(_mm512_loadu_ps(w + i), step));
    }
    adam_tail(w, g, m, v, i, n, b1, b2, c1, c2, eps, lrT);
}
#else
// Without x86 the AVX2 and AVX-512 names run the plain build.
void cnns_adam_update_avx2(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                           float lrT) {
    cnns_adam_update_scalar(w, g, m, v, n, b1, b2, eps, lrT);
}
void cnns_adam_update_avx512(float *w, const float *g, float *m, float *v, long n, float b1, float b2, float eps,
                             float lrT) {
    cnns_adam_update_scalar(w, g, m, v, n, b1, b2, eps, lrT);
}
#endif
