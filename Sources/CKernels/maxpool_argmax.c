// input window x (k x k pixels, C channels, rows rowStride floats apart) -> y (C), argmax (C bytes)
// dy (C), argmax (C) -> dx window (k x k pixels, C channels)
//
// Max pooling that keeps, per output, the row-major window position of the first maximum as a
// byte (255: no gradient, where a fused ReLU's derivative is 0, i.e. max ≤ 0), so backward reads
// a byte per output instead of the input and output tensors. AVX2 eight channels at a time,
// scalar tail and fallback; both give identical results (comparisons only).
#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>
#endif

void cnns_maxpool_argmax_forward_channels(const float *x, long rowStride, int k, int c0, int C, float *y,
                                          uint8_t *argmax, int relu) {
    for (int c = c0; c < C; c++) {
        float m = x[c];
        int idx = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                const float v = x[i * rowStride + (long)j * C + c];
                if (v > m) { m = v; idx = i * k + j; }
            }
        y[c] = m;
        argmax[c] = (relu && m <= 0) ? 255 : (uint8_t)idx;
    }
}

// The maximum first (independent max operations), then the position: equality tests from the
// last position to the first, so the first occurrence wins, as in the scalar scan.
#if CNNS_X86
__attribute__((target("avx2,fma")))
static void window_avx2(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax, int relu) {
    const __m256 zero = _mm256_setzero_ps();
    int c = 0;
    if (k == 2) {            // the lab's pooling: a max tree of depth two, four independent tests
        const __m256i i0 = _mm256_set1_epi32(0), i1 = _mm256_set1_epi32(1), i2 = _mm256_set1_epi32(2);
        const __m256i i3 = _mm256_set1_epi32(3), none = _mm256_set1_epi32(255);
        for (; c + 8 <= C; c += 8) {
            const __m256 a = _mm256_loadu_ps(x + c), b = _mm256_loadu_ps(x + C + c);
            const __m256 d0 = _mm256_loadu_ps(x + rowStride + c), d1 = _mm256_loadu_ps(x + rowStride + C + c);
            const __m256 m = _mm256_max_ps(_mm256_max_ps(a, b), _mm256_max_ps(d0, d1));
            __m256 idx = _mm256_castsi256_ps(i3);
            idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(i2), _mm256_cmp_ps(d0, m, _CMP_EQ_OQ));
            idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(i1), _mm256_cmp_ps(b, m, _CMP_EQ_OQ));
            idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(i0), _mm256_cmp_ps(a, m, _CMP_EQ_OQ));
            if (relu) idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(none), _mm256_cmp_ps(m, zero, _CMP_LE_OQ));
            _mm256_storeu_ps(y + c, m);
            const __m256i v = _mm256_castps_si256(idx);
            const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            _mm_storel_epi64((__m128i *)(argmax + c), _mm_packus_epi16(w, w));
        }
    }
    for (; k != 2 && c + 8 <= C; c += 8) {
        __m256 m = _mm256_loadu_ps(x + c);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i * rowStride + (long)j * C + c));
        __m256 idx = _mm256_castsi256_ps(_mm256_set1_epi32(k * k - 1));
        for (int i = k - 1; i >= 0; i--)
            for (int j = k - 1; j >= 0; j--) {
                const __m256 v = _mm256_loadu_ps(x + i * rowStride + (long)j * C + c);
                idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(_mm256_set1_epi32(i * k + j)),
                                       _mm256_cmp_ps(v, m, _CMP_EQ_OQ));
            }
        if (relu)
            idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(_mm256_set1_epi32(255)),
                                   _mm256_cmp_ps(m, zero, _CMP_LE_OQ));
        _mm256_storeu_ps(y + c, m);
        const __m256i v = _mm256_castps_si256(idx);
        const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(argmax + c), _mm_packus_epi16(w, w));
    }
    if (c < C) cnns_maxpool_argmax_forward_channels(x, rowStride, k, c, C, y, argmax, relu);
}
#else
static void window_avx2(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax, int relu) {
    cnns_maxpool_argmax_forward_channels(x, rowStride, k, 0, C, y, argmax, relu);
}
#endif


void cnns_maxpool_argmax_forward_scalar(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax,
                                        int relu) {
    cnns_maxpool_argmax_forward_channels(x, rowStride, k, 0, C, y, argmax, relu);
}

void cnns_maxpool_argmax_forward(const float *x, long rowStride, int k, int C, float *y, uint8_t *argmax, int relu) {
    cnns_maxpool_argmax_forward_row(x, rowStride, k, C, 1, y, argmax, relu);
}

void cnns_maxpool_argmax_forward_row(const float *x, long rowStride, int k, int C, int windows, float *y,
                                     uint8_t *argmax, int relu) {
    const int avx = cnns_have_avx2_fma();
    for (int t = 0; t < windows; t++, x += (long)k * C, y += C, argmax += C) {
        if (avx) window_avx2(x, rowStride, k, C, y, argmax, relu);
        else cnns_maxpool_argmax_forward_channels(x, rowStride, k, 0, C, y, argmax, relu);
    }
}

void cnns_maxpool_route_channels(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int c0,
                                  int C) {
    for (int c = c0; c < C; c++)
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) dx[i * rowStride + (long)j * C + c] = argmax[c] == i * k + j ? g[c] : 0.0f;
}

#if CNNS_X86
__attribute__((target("avx2,fma")))
static void route_avx2(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C) {
    int c = 0;
    for (; c + 8 <= C; c += 8) {
        const __m256 gv = _mm256_loadu_ps(g + c);
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(argmax + c)));
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                const __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, _mm256_set1_epi32(i * k + j)));
                _mm256_storeu_ps(dx + i * rowStride + (long)j * C + c, _mm256_and_ps(hit, gv));
            }
    }
    if (c < C) cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, c, C);
}
#else
static void route_avx2(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C) {
    cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, 0, C);
}
#endif


void cnns_maxpool_route_scalar(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C) {
    cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, 0, C);
}

void cnns_maxpool_route(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C) {
    cnns_maxpool_route_row(argmax, g, dx, rowStride, k, C, 1);
}

void cnns_maxpool_route_row(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k, int C,
                            int windows) {
    const int avx = cnns_have_avx2_fma();
    for (int t = 0; t < windows; t++, argmax += C, g += C, dx += (long)k * C) {
        if (avx) route_avx2(argmax, g, dx, rowStride, k, C);
        else cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, 0, C);
    }
}
