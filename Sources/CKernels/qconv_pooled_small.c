// Int8 convolution, 2x2 max pooling and dequantising in one pass, for the direct kernel's layers
// (patches of at most 512 groups of 4 bytes) with K a multiple of 8:
//   xp: the quantised input with its padding written in (as for cnns_qconv_direct_u7s8), hp x wp
//       pixels of C bytes per image; packed: cnns_qconv_direct_pack's weights
//   -> out (N, P/2, Q/2, K) float for pooled rows pr0..<pr0+count (flattened n, pooled row):
//      out = clamp(float(max of the window's four int32 sums) · mul[k] + off[k], lo, hi)
// Each window's four pixels are summed in registers (per 4-byte group: one broadcast per pixel
// and one multiply-add per pixel and block of 8 channels), then pooled and dequantised there:
// neither the sums nor the lowered rows are written. The same floats as the direct kernel, then
// cnns_dequantize_pooled2x2 (multiply and add rounded separately; the clamp after).
#include "direct_patch.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <string.h>

// The most 4-byte groups per patch this kernel takes, as the direct kernel (first layers have 3 to
// 10, basic-cnn's 32-channel layer 72, a 5x5 one 200). In a C harness on one thread it ran
// basic-cnn's 14x14x32->64 layer 10% faster on VNNI than the direct kernel then the pooled
// dequantising pass, tiny-cnn's 8-channel one 39%, and 5x5 layers and AVX2 within 3% of it.
#define POOLED_SMALL_MAX_GROUPS 512

int cnns_qconv_pooled_small_fits(const cnns_conv_shape *s) {
    return cnns_qconv_direct_fits(s) && s->k % 8 == 0 &&
           s->r * cnns_direct_groups_per_row(s) <= POOLED_SMALL_MAX_GROUPS && s->p >= 2 && s->q >= 2;
}

// Byte offsets of the kernel's groups from a pixel's receptive field, and of the window's four
// pixels from its first.
static void offsets(const cnns_conv_shape *s, int wp, long *off, long win[4]) {
    cnns_direct_group_offsets(s, wp, off);
    const long right = (long)s->stride_w * s->c, down = (long)s->stride_h * wp * s->c;
    win[0] = 0, win[1] = right, win[2] = down, win[3] = down + right;
}

// The first pixel of window (pooled row pr, column j).
static inline const uint8_t *window_base(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr,
                                         int j) {
    const int P2 = s->p / 2;
    return xp + cnns_direct_pixel_base(s, hp, wp, pr / P2, 2 * (int)(pr % P2), 2 * j);
}

void cnns_qconv_pooled_small_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                                    const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                                    float *out) {
    const int kg = s->r * cnns_direct_groups_per_row(s), K = s->k, Q2 = s->q / 2;
    long off[POOLED_SMALL_MAX_GROUPS], win[4];
    offsets(s, wp, off, win);
    for (long pr = pr0; pr < pr0 + count; pr++)
        for (int j = 0; j < Q2; j++) {
            const uint8_t *a = window_base(s, xp, hp, wp, pr, j);
            for (int k = 0; k < K; k++) {
                const int8_t *b = packed + (long)(k / 8) * kg * 32 + (k % 8) * 4;
                int32_t m = 0;
                for (int px = 0; px < 4; px++) {
                    int32_t sum = 0;
                    for (int g = 0; g < kg; g++)
                        for (int t = 0; t < 4; t++) sum += (int32_t)a[win[px] + off[g] + t] * b[(long)g * 32 + t];
                    m = px == 0 || sum > m ? sum : m;
                }
                float y = (float)m * mul[k] + off_k[k];
                y = y < lo ? lo : y;
                out[(pr * Q2 + j) * K + k] = y > hi ? hi : y;
            }
        }
}

#if CNNS_X86
// One window, blocks j0..<j0+JB of 8 channels: four pixels' sums in registers, their maximum,
// dequantised and clamped. DOT(acc, x, w): acc + the 4-byte dot products of x and w per lane.
#define POOLED_SMALL_WINDOW(name, TARGET, JB, DOT)                                                              \
    TARGET __attribute__((always_inline)) static inline void name(const uint8_t *a, const long *win, int kg,    \
                                                                  const long *off, const int8_t *packed,        \
                                                                  int j0, const float *mul, const float *off_k, \
                                                                  __m256 vlo, __m256 vhi, float *o) {           \
        __m256i acc[4][JB];                                                                                     \
        for (int px = 0; px < 4; px++)                                                                          \
            for (int jb = 0; jb < JB; jb++) acc[px][jb] = _mm256_setzero_si256();                               \
        for (int g = 0; g < kg; g++) {                                                                          \
            __m256i w[JB];                                                                                      \
            for (int jb = 0; jb < JB; jb++)                                                                     \
                w[jb] = _mm256_loadu_si256((const __m256i *)(packed + ((long)(j0 + jb) * kg + g) * 32));        \
            for (int px = 0; px < 4; px++) {                                                                    \
                int32_t word;                                                                                   \
                memcpy(&word, a + win[px] + off[g], 4);                                                         \
                const __m256i x = _mm256_set1_epi32(word);                                                      \
                for (int jb = 0; jb < JB; jb++) acc[px][jb] = DOT(acc[px][jb], x, w[jb]);                       \
            }                                                                                                   \
        }                                                                                                       \
        for (int jb = 0; jb < JB; jb++) {                                                                       \
            const __m256i m = _mm256_max_epi32(_mm256_max_epi32(acc[0][jb], acc[1][jb]),                        \
                                               _mm256_max_epi32(acc[2][jb], acc[3][jb]));                       \
            const int k = (j0 + jb) * 8;                                                                        \
            const __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(m), _mm256_loadu_ps(mul + k)),      \
                                           _mm256_loadu_ps(off_k + k));                                         \
            _mm256_storeu_ps(o + k, _mm256_min_ps(_mm256_max_ps(y, vlo), vhi));                                 \
        }                                                                                                       \
    }

// All windows of pooled rows pr0..<pr0+count, channel blocks JB at a time (`window`), then two
// (`two`, when JB > 2), then one (`one`).
#define POOLED_SMALL_ROWS(name, TARGET, window, JB, two, one)                                                   \
    TARGET static void name(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,   \
                            const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,     \
                            float *out) {                                                                       \
        const int kg = s->r * cnns_direct_groups_per_row(s), K = s->k, Q2 = s->q / 2, nb = K / 8;               \
        long off[POOLED_SMALL_MAX_GROUPS], win[4];                                                              \
        offsets(s, wp, off, win);                                                                               \
        const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);                                        \
        for (long pr = pr0; pr < pr0 + count; pr++)                                                             \
            for (int j = 0; j < Q2; j++) {                                                                      \
                const uint8_t *a = window_base(s, xp, hp, wp, pr, j);                                           \
                float *o = out + (pr * Q2 + j) * K;                                                             \
                int j0 = 0;                                                                                     \
                for (; j0 + JB <= nb; j0 += JB) window(a, win, kg, off, packed, j0, mul, off_k, vlo, vhi, o);   \
                if (JB > 2 && j0 + 2 <= nb) {                                                                   \
                    two(a, win, kg, off, packed, j0, mul, off_k, vlo, vhi, o);                                  \
                    j0 += 2;                                                                                    \
                }                                                                                               \
                for (; j0 < nb; j0++) one(a, win, kg, off, packed, j0, mul, off_k, vlo, vhi, o);                \
            }                                                                                                   \
    }

#define DOT_AVX2(acc, x, w) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((x), (w)), _mm256_set1_epi16(1)))
#define DOT_VNNI(acc, x, w) _mm256_dpbusd_epi32((acc), (x), (w))
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))
POOLED_SMALL_WINDOW(window_avx2, TARGET_AVX2, 2, DOT_AVX2)
POOLED_SMALL_WINDOW(window_avx2_one, TARGET_AVX2, 1, DOT_AVX2)
POOLED_SMALL_WINDOW(window_vnni, TARGET_VNNI, 4, DOT_VNNI)
POOLED_SMALL_WINDOW(window_vnni_two, TARGET_VNNI, 2, DOT_VNNI)
POOLED_SMALL_WINDOW(window_vnni_one, TARGET_VNNI, 1, DOT_VNNI)
POOLED_SMALL_ROWS(pooled_small_avx2, TARGET_AVX2, window_avx2, 2, window_avx2, window_avx2_one)
POOLED_SMALL_ROWS(pooled_small_vnni, TARGET_VNNI, window_vnni, 4, window_vnni_two, window_vnni_one)
#endif

void cnns_qconv_pooled_small(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                             const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                             float *out) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        pooled_small_avx2(s, xp, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
        return;
    }
#endif
    cnns_qconv_pooled_small_scalar(s, xp, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}

void cnns_qconv_pooled_small_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                        int count, const int8_t *packed, const float *mul, const float *off_k,
                                        float lo, float hi, float *out) {
#if CNNS_X86
    pooled_small_vnni(s, xp, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
#else
    cnns_qconv_pooled_small_scalar(s, xp, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
#endif
}
