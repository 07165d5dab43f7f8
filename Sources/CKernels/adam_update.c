// Adam's update of n elements, Keras's formulas in float:
//   m = β1·m + (1−β1)·g;  v = β2·v + ((1−β2)·g)·g;  w = w − (lrT·m) / (√v + ε)
// (c1 = 1−β1, c2 = 1−β2, lrT the step's bias-corrected rate). Every build does each element's
// operations in this order, rounded one at a time (no FMA contraction; division and square root
// are correctly rounded), so the AVX2 and AVX-512 builds equal the plain reference bit for bit.
#include "cnns_kernels.h"
#include <string.h>

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
// One body for both widths: W lanes of the compiler's vector type, loads and stores through memcpy
// (unaligned), the square root elementwise; then the tail one element at a time.
#define ADAM_VECTOR_BODY(W)                                                                                   \
    typedef float vec __attribute__((vector_size(4 * W)));                                                    \
    const float c1 = 1 - b1, c2 = 1 - b2;                                                                     \
    const vec B1 = (vec){0} + b1, B2 = (vec){0} + b2, C1 = (vec){0} + c1, C2 = (vec){0} + c2,                 \
              E = (vec){0} + eps, LR = (vec){0} + lrT;                                                        \
    long i = 0;                                                                                               \
    for (; i + W <= n; i += W) {                                                                              \
        vec gi, mo, vo, wo;                                                                                   \
        memcpy(&gi, g + i, sizeof gi), memcpy(&mo, m + i, sizeof mo), memcpy(&vo, v + i, sizeof vo);          \
        memcpy(&wo, w + i, sizeof wo);                                                                        \
        const vec mn = B1 * mo + C1 * gi;                                                                     \
        const vec vn = B2 * vo + C2 * gi * gi;                                                                \
        const vec wn = wo - LR * mn / (__builtin_elementwise_sqrt(vn) + E);                                   \
        memcpy(m + i, &mn, sizeof mn), memcpy(v + i, &vn, sizeof vn), memcpy(w + i, &wn, sizeof wn);          \
    }                                                                                                         \
    adam_tail(w, g, m, v, i, n, b1, b2, c1, c2, eps, lrT);

__attribute__((target("avx2,fma"))) void cnns_adam_update_avx2(float *w, const float *g, float *m, float *v, long n,
                                                               float b1, float b2, float eps, float lrT) {
    ADAM_VECTOR_BODY(8)
}

__attribute__((target("avx512f,avx2,fma"))) void cnns_adam_update_avx512(float *w, const float *g, float *m, float *v,
                                                                         long n, float b1, float b2, float eps,
                                                                         float lrT) {
    ADAM_VECTOR_BODY(16)
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
