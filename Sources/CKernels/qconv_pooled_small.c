// Int8 convolution, 2x2 max pooling and dequantising in one pass, for the direct kernel's layers
// (patches of at most 512 groups of 4 bytes) with K a multiple of 8:
//   xp: the quantised input with its padding written in (as for cnns_qconv_direct_u7s8), hp x wp
//       pixels of C bytes per image; packed: cnns_qconv_direct_pack's weights
//   -> out (N, P/2, Q/2, K) float for pooled rows pr0..<pr0+count (flattened n, pooled row):
//      out = clamp(float(max of the window's four int32 sums) · mul[k] + off[k], lo, hi)
// Each window's four pixels are summed in registers (per 4-byte group: one broadcast per pixel
// and one multiply-add per pixel and vector of 8 channels, 16 on VNNI), then pooled and dequantised there:
// neither the sums nor the lowered rows are written. The same floats as the direct kernel, then
// cnns_dequantize_pooled2x2 (multiply and add rounded separately; the clamp after).
// The `_quads` entries take a one-channel layer's kernel rows 0..4⌊R/4⌋−1 as columns of four from
// the input's column-quad copy xq4 (column_quads.h): a 5x5 kernel's 7 groups instead of 10.
#include "column_quads.h"
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

// Byte offsets of the kernel's groups from a pixel's receptive field (with column quads: the
// first kv from its place in the quad copy), and of the window's four pixels from its first (in
// the input; four times that in the quad copy). Returns the groups.
static int offsets(const cnns_conv_shape *s, int wp, int quads, long *off, long win[4]) {
    if (quads) cnns_quads_offsets(s, wp, off);
    else cnns_direct_group_offsets(s, wp, off);
    const long right = (long)s->stride_w * s->c, down = (long)s->stride_h * wp * s->c;
    win[0] = 0, win[1] = right, win[2] = down, win[3] = down + right;
    return quads ? cnns_quads_groups(s) : s->r * cnns_direct_groups_per_row(s);
}

// The first pixel of window (pooled row pr, column j).
static inline const uint8_t *window_base(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr,
                                         int j) {
    const int P2 = s->p / 2;
    return xp + cnns_direct_pixel_base(s, hp, wp, pr / P2, 2 * (int)(pr % P2), 2 * j);
}

// The plain loops: group g of pixel px at a + win[px] + off[g], or for the first kv groups (column
// quads, where xq4 is given) at a4 + 4·win[px] + off[g].
static void pooled_scalar(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp, long pr0,
                          int count, const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                          float *out) {
    const int K = s->k, Q2 = s->q / 2, kv = xq4 ? cnns_quads_vertical(s) : 0;
    long off[POOLED_SMALL_MAX_GROUPS], win[4];
    const int kg = offsets(s, wp, xq4 != NULL, off, win);
    for (long pr = pr0; pr < pr0 + count; pr++)
        for (int j = 0; j < Q2; j++) {
            const uint8_t *a = window_base(s, xp, hp, wp, pr, j), *a4 = xq4 ? xq4 + 4 * (a - xp) : NULL;
            for (int k = 0; k < K; k++) {
                const int8_t *b = packed + (long)(k / 8) * kg * 32 + (k % 8) * 4;
                int32_t m = 0;
                for (int px = 0; px < 4; px++) {
                    int32_t sum = 0;
                    for (int g = 0; g < kg; g++) {
                        const uint8_t *x = g < kv ? a4 + 4 * win[px] + off[g] : a + win[px] + off[g];
                        for (int t = 0; t < 4; t++) sum += (int32_t)x[t] * b[(long)g * 32 + t];
                    }
                    m = px == 0 || sum > m ? sum : m;
                }
                float y = (float)m * mul[k] + off_k[k];
                y = y < lo ? lo : y;
                out[(pr * Q2 + j) * K + k] = y > hi ? hi : y;
            }
        }
}

void cnns_qconv_pooled_small_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                                    const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                                    float *out) {
    pooled_scalar(s, xp, NULL, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}

void cnns_qconv_pooled_quads_scalar(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp,
                                    long pr0, int count, const int8_t *packed, const float *mul, const float *off_k,
                                    float lo, float hi, float *out) {
    pooled_scalar(s, xp, xq4, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}

#if CNNS_X86
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

// What every call of a layer reads: the window's pixels from its first (win, and win4 in the quad
// copy), the groups (the first kv from the quad copy) and their offsets, the packed weights and the
// epilogue. Passed by value, so once inlined its fields live in registers.
typedef struct {
    long win[4], win4[4];
    int kv, kg, K;
    const long *off;
    const int8_t *packed;
    const float *mul, *off_k;
    float lo, hi;
} small_layer;

// A call's windows: their bases in the input (a) and in the quad copy (a4), and their outputs.
typedef struct {
    const uint8_t *a[4], *a4[4];
    float *o[4];
} small_at;

// WN windows at once (bases a[0..<WN], outputs o[0..<WN]), JB vectors of channels from 8-channel
// block b8: four pixels' sums a window in registers, their maximum, dequantised and clamped.
// DOT(acc, x, w): acc + the 4-byte dot products of x and w per lane; WEIGHT: JB vector jb's
// weights of group g. WN·4·JB accumulators keep enough chains of multiply-adds in flight for a
// layer of few channels.
#define SMALL_WINDOWS(name, TARGET, V, WN, JB, ZERO, WEIGHT, BROADCAST, DOT, MAX, DEQUANT)                      \
    TARGET __attribute__((always_inline)) static inline void name(const small_layer c, const small_at *at,      \
                                                                  int b8, int quads) {                          \
        V acc[WN][4][JB];                                                                                       \
        for (int wn = 0; wn < WN; wn++)                                                                         \
            for (int px = 0; px < 4; px++)                                                                      \
                for (int jb = 0; jb < JB; jb++) acc[wn][px][jb] = ZERO();                                       \
        if (quads) SMALL_GROUPS(0, c.kv, at->a4, c.win4, V, WN, JB, WEIGHT, BROADCAST, DOT)                     \
        SMALL_GROUPS(quads ? c.kv : 0, c.kg, at->a, c.win, V, WN, JB, WEIGHT, BROADCAST, DOT)                   \
        for (int wn = 0; wn < WN; wn++)                                                                         \
            for (int jb = 0; jb < JB; jb++)                                                                     \
                DEQUANT(MAX(MAX(acc[wn][0][jb], acc[wn][1][jb]), MAX(acc[wn][2][jb], acc[wn][3][jb])), b8, jb, \
                        c.mul, c.off_k, c.lo, c.hi, at->o[wn]);                                                 \
    }
// Groups g0..<g1 of the windows at bases[wn], their pixels win[px] from them.
#define SMALL_GROUPS(g0, g1, bases, win, V, WN, JB, WEIGHT, BROADCAST, DOT)                                     \
    for (int g = (g0); g < (g1); g++) {                                                                         \
        V w[JB];                                                                                                \
        for (int jb = 0; jb < JB; jb++) w[jb] = WEIGHT(c.packed, c.kg, b8, jb, g);                              \
        for (int wn = 0; wn < WN; wn++)                                                                         \
            for (int px = 0; px < 4; px++) {                                                                    \
                int32_t word;                                                                                   \
                memcpy(&word, (bases)[wn] + (win)[px] + c.off[g], 4);                                           \
                const V x = BROADCAST(word);                                                                    \
                for (int jb = 0; jb < JB; jb++) acc[wn][px][jb] = DOT(acc[wn][px][jb], x, w[jb]);               \
            }                                                                                                   \
    }

// 16 channels of group g: block b8 + 2·jb's 8 and the next block's 8, joined.
#define WEIGHT16(packed, kg, b8, jb, g)                                                                         \
    _mm512_inserti64x4(                                                                                         \
        _mm512_castsi256_si512(                                                                                 \
            _mm256_loadu_si256((const __m256i *)((packed) + ((long)((b8) + 2 * (jb)) * (kg) + (g)) * 32))),     \
        _mm256_loadu_si256((const __m256i *)((packed) + ((long)((b8) + 2 * (jb) + 1) * (kg) + (g)) * 32)), 1)
#define WEIGHT8(packed, kg, b8, jb, g)                                                                          \
    _mm256_loadu_si256((const __m256i *)((packed) + ((long)((b8) + (jb)) * (kg) + (g)) * 32))
// max(sums) · mul[k] + off[k] (multiply and add rounded separately), clamped to [lo, hi], on vectors
// of LANES floats (P: the intrinsics' prefix, VF their float type).
#define DEQUANT(P, VF, LANES, m, b8, jb, mul, off_k, lo, hi, o)                                                 \
    do {                                                                                                        \
        const int k = (b8) * 8 + (LANES) * (jb);                                                                \
        const VF y = P##_add_ps(P##_mul_ps(P##_cvtepi32_ps(m), P##_loadu_ps((mul) + k)), P##_loadu_ps((off_k) + k)); \
        P##_storeu_ps((o) + k, P##_min_ps(P##_max_ps(y, P##_set1_ps(lo)), P##_set1_ps(hi)));                   \
    } while (0)
#define DEQUANT16(...) DEQUANT(_mm512, __m512, 16, __VA_ARGS__)
#define DEQUANT8(...) DEQUANT(_mm256, __m256, 8, __VA_ARGS__)

// The windows of pooled rows pr0..<pr0+count in order (pooled row, column), WN at a time (`windows`
// runs n windows' every channel), the windows left over one at a time. Bases step along a row; a
// division only at a new row. With xq4 (column quads), each window's base there too.
#define POOLED_SMALL_WALK(name, TARGET, WN, windows, QUADS)                                                     \
    TARGET static void name(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp,    \
                            long pr0, int count, const int8_t *packed, const float *mul, const float *off_k,    \
                            float lo, float hi, float *out) {                                                   \
        long off[POOLED_SMALL_MAX_GROUPS];                                                                      \
        small_layer c = {.kv = QUADS ? cnns_quads_vertical(s) : 0, .K = s->k, .off = off, .packed = packed,     \
                         .mul = mul, .off_k = off_k, .lo = lo, .hi = hi};                                       \
        c.kg = offsets(s, wp, QUADS, off, c.win);                                                               \
        for (int px = 0; px < 4; px++) c.win4[px] = 4 * c.win[px];                                              \
        const int K = s->k, Q2 = s->q / 2;                                                                      \
        const long t1 = (pr0 + count) * Q2, step = 2L * s->stride_w * s->c;                                     \
        long t = pr0 * Q2, pr = pr0;                                                                            \
        int j = 0;                                                                                              \
        const uint8_t *row = window_base(s, xp, hp, wp, pr, 0);                                                 \
        small_at at;                                                                                            \
        while (t < t1) {                                                                                        \
            const int n = t + (WN) <= t1 ? (WN) : 1;                                                            \
            for (int wn = 0; wn < n; wn++, t++) {                                                               \
                at.a[wn] = row + j * step;                                                                      \
                if (QUADS) at.a4[wn] = xq4 + 4 * (at.a[wn] - xp);                                               \
                at.o[wn] = out + t * K;                                                                         \
                if (++j == Q2 && ++pr < pr0 + count) row = window_base(s, xp, hp, wp, pr, 0), j = 0;            \
            }                                                                                                   \
            if (n == 4) windows(4, c, &at, QUADS);                                                              \
            else if (n == 2) windows(2, c, &at, QUADS);                                                         \
            else windows(1, c, &at, QUADS);                                                                     \
        }                                                                                                       \
    }

// AVX2: vpmaddubsw then vpmaddwd (u7 · s8 pairs cannot saturate 16 bits); 8 channels a vector,
// two vectors of one window, or one vector of two windows where K = 8.
#define DOT_AVX2(acc, x, w) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((x), (w)), _mm256_set1_epi16(1)))
#define AVX2_8(name, WN, JB)                                                                                    \
    SMALL_WINDOWS(name, TARGET_AVX2, __m256i, WN, JB, _mm256_setzero_si256, WEIGHT8, _mm256_set1_epi32,         \
                  DOT_AVX2, _mm256_max_epi32, DEQUANT8)
AVX2_8(avx2_1x2, 1, 2)
AVX2_8(avx2_1x1, 1, 1)
AVX2_8(avx2_2x1, 2, 1)

TARGET_AVX2 __attribute__((always_inline)) static inline void avx2_windows(int WN, const small_layer c,
                                                                           const small_at *at, int q) {
    const int nb = c.K / 8;
    int b = 0;
    if (WN == 1) {
        for (; b + 2 <= nb; b += 2) avx2_1x2(c, at, b, q);
        if (b < nb) avx2_1x1(c, at, b, q);
    } else {
        for (; b < nb; b++) avx2_2x1(c, at, b, q);
    }
}
POOLED_SMALL_WALK(pooled_small_avx2, TARGET_AVX2, K == 8 ? 2 : 1, avx2_windows, 0)
POOLED_SMALL_WALK(pooled_quads_avx2, TARGET_AVX2, K == 8 ? 2 : 1, avx2_windows, 1)

// VNNI: 16 channels a 512-bit vector (two packed blocks joined), a last 8 (K an odd multiple of 8)
// in a 256-bit one; four windows at once for K ≤ 16, two for K ≤ 48, one above.
#define VNNI16(name, WN, JB)                                                                                    \
    SMALL_WINDOWS(name, TARGET_VNNI, __m512i, WN, JB, _mm512_setzero_si512, WEIGHT16, _mm512_set1_epi32,        \
                  _mm512_dpbusd_epi32, _mm512_max_epi32, DEQUANT16)
#define VNNI8(name, WN)                                                                                         \
    SMALL_WINDOWS(name, TARGET_VNNI, __m256i, WN, 1, _mm256_setzero_si256, WEIGHT8, _mm256_set1_epi32,          \
                  _mm256_dpbusd_epi32, _mm256_max_epi32, DEQUANT8)
VNNI16(vnni16_1x4, 1, 4)
VNNI16(vnni16_1x2, 1, 2)
VNNI16(vnni16_1x1, 1, 1)
VNNI16(vnni16_2x2, 2, 2)
VNNI16(vnni16_2x1, 2, 1)
VNNI16(vnni16_4x1, 4, 1)
VNNI8(vnni8_1, 1)
VNNI8(vnni8_2, 2)
VNNI8(vnni8_4, 4)

// Every channel of WN windows: 16-channel vectors as many at once as the accumulators allow,
// then a last 8-channel block (K an odd multiple of 8) in a 256-bit vector.
TARGET_VNNI __attribute__((always_inline)) static inline void vnni_windows(int WN, const small_layer c,
                                                                           const small_at *at, int q) {
    const int n16 = c.K / 16, K = c.K;
    int b = 0;
    if (WN == 1) {
        for (; b + 4 <= n16; b += 4) vnni16_1x4(c, at, 2 * b, q);
        for (; b + 2 <= n16; b += 2) vnni16_1x2(c, at, 2 * b, q);
        for (; b < n16; b++) vnni16_1x1(c, at, 2 * b, q);
        if (K % 16) vnni8_1(c, at, 2 * n16, q);
    } else if (WN == 2) {
        for (; b + 2 <= n16; b += 2) vnni16_2x2(c, at, 2 * b, q);
        for (; b < n16; b++) vnni16_2x1(c, at, 2 * b, q);
        if (K % 16) vnni8_2(c, at, 2 * n16, q);
    } else {
        for (; b < n16; b++) vnni16_4x1(c, at, 2 * b, q);
        if (K % 16) vnni8_4(c, at, 2 * n16, q);
    }
}

POOLED_SMALL_WALK(pooled_small_vnni, TARGET_VNNI, K <= 16 ? 4 : K <= 48 ? 2 : 1, vnni_windows, 0)
POOLED_SMALL_WALK(pooled_quads_vnni, TARGET_VNNI, K <= 16 ? 4 : K <= 48 ? 2 : 1, vnni_windows, 1)
#endif

void cnns_qconv_pooled_quads(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp, int wp, long pr0,
                             int count, const int8_t *packed, const float *mul, const float *off_k, float lo,
                             float hi, float *out) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        (xq4 ? pooled_quads_avx2 : pooled_small_avx2)(s, xp, xq4, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
        return;
    }
#endif
    pooled_scalar(s, xp, xq4, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}

void cnns_qconv_pooled_quads_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, const uint8_t *xq4, int hp,
                                        int wp, long pr0, int count, const int8_t *packed, const float *mul,
                                        const float *off_k, float lo, float hi, float *out) {
#if CNNS_X86
    (xq4 ? pooled_quads_vnni : pooled_small_vnni)(s, xp, xq4, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
#else
    pooled_scalar(s, xp, xq4, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
#endif
}

// Kernel rows only: the quads entries with no quad copy.
void cnns_qconv_pooled_small(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0, int count,
                             const int8_t *packed, const float *mul, const float *off_k, float lo, float hi,
                             float *out) {
    cnns_qconv_pooled_quads(s, xp, NULL, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}

void cnns_qconv_pooled_small_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                        int count, const int8_t *packed, const float *mul, const float *off_k,
                                        float lo, float hi, float *out) {
    cnns_qconv_pooled_quads_avx512vnni(s, xp, NULL, hp, wp, pr0, count, packed, mul, off_k, lo, hi, out);
}
