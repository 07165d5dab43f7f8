// Int8 convolution by Winograd F(2x4,3x3) on 16-bit integers (3x3 kernels, stride 1):
//   xp: the quantised input (0..127) with its padding written in, hp x wp pixels of C bytes per
//       image; tiles t0..<t0+T of a tiles_y x tiles_x grid of 2x2 tiles per image (tile (n, i, j)
//       makes output rows 2i, 2i+1 and columns 2j, 2j+1). Two tiles side by side in a row of the
//       grid, both in the call, run as one 2x4 tile from the 4x6 patch at padded row 2i, column
//       2j; a tile whose right neighbour is not in the call runs as the left half of one, its
//       right half computed and dropped. Patch pixels past hp or wp read as `pad`.
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum: the same integers as the direct convolution's sums.
// Rows: F(2,3) on points 0, ±1, ∞; columns: F(4,3) on points 0, ±1, ±2, ∞. With G₂' = 2G₂ and
// G₄' = 24G₄ every transform has integer coefficients:
//   V = B₂ᵀ d B₄  (int16, 4 x 6 points ξ = 6a + b, |V| ≤ 16·127)
//       B₂ᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//       B₄ᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   U' = G₂' g G₄'ᵀ  (int16, |U'| ≤ 3·24·127)
//       G₂' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2], G₄' = [6 0 0; -4 -4 -4; -4 4 -4; 1 2 4; 1 -2 4; 0 0 24]
//   M = Σ_c V ⊙ U'  (int32: 24 GEMMs [T x Cp] · [Cp x K] on channel pairs)
//   48·Y = A₂ᵀ M A₄, A₂ᵀ = [1 1 1 0; 0 1 -1 -1], A₄ᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// and y = 48·Y / 48, exactly. Every step is an integer combination, so int32 arithmetic, which
// wraps, gives 48·Y modulo 2³²: that is 48·Y itself while |48·Y| ≤ 48·9·C·127·127 < 2³¹, so for
// up to QWINO3_PART channels. Wider layers sum their channels in parts of that many, each part's
// 48·Y exact and divided before the parts are added. The direct sums need 9 multiply-adds per
// output pixel and channel; this needs 24 per 2x4 tile (3 per pixel; F(2x2,3x3), which this
// replaced, needed 4) on pairs of 16-bit values.
#include "qwino_common.h"

enum { QWINO3_POINTS = 24, QWINO3_PART = 256, QWINO3_GROUP = CNNS_QWINO_TILE_GROUP };

static const int qwino3_bt2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const int qwino3_g2[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
static const int qwino3_g4[6][3] = {{6, 0, 0}, {-4, -4, -4}, {-4, 4, -4}, {1, 2, 4}, {1, -2, 4}, {0, 0, 24}};
static const int qwino3_at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
static const int qwino3_at4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1},
};

int cnns_qwino_fits(const cnns_conv_shape *s) {
    return s->r == 3 && s->s == 3 && s->stride_h == 1 && s->stride_w == 1 && s->c >= 1 &&
           s->c <= CNNS_QWINO_MAX_C && s->k >= 1;
}

int64_t cnns_qwino_packed_size(int c, int k) {
    return (int64_t)QWINO3_POINTS * cnns_qwino_padded_c(c) * cnns_qwino_padded_k(k) * 2;
}

int64_t cnns_qwino_workspace_size(int c, int k, int tiles) {
    (void)k, (void)tiles;  // one group of 2x4 tiles at a time, whatever the call
    return cnns_qwino_group_workspace_size(QWINO3_POINTS, cnns_qwino_padded_c(c));
}

void cnns_qwino_pack(int c, int k, const int8_t *w, int16_t *packed) {
    const int Cp = cnns_qwino_padded_c(c);
    memset(packed, 0, (size_t)cnns_qwino_packed_size(c, k));
    for (int ci = 0; ci < c; ci++)
        for (int ko = 0; ko < k; ko++) {
            int g[9], u[QWINO3_POINTS];  // U' = G₂' g G₄'ᵀ
            cnns_qwino_kernel_of(w, 3, c, k, ci, ko, g);
            cnns_qwino_weight_two_sided(3, 4, &qwino3_g2[0][0], 6, &qwino3_g4[0][0], g, u);
            for (int xi = 0; xi < QWINO3_POINTS; xi++)
                packed[cnns_qwino_packed_at(QWINO3_POINTS, xi, ci, ko, Cp)] = (int16_t)u[xi];
        }
}

// V of one channel: the 24 pixels' bytes x (4 rows of 6) -> v[24] = B₂ᵀ x B₄ (integers).
static void input_transform_one(const int x[24], int v[24]) {
    cnns_qwino_input_two_sided(4, &qwino3_bt2[0][0], 6, &cnns_qwino_bt6[0][0], x, 0, v);
}

// The plain reference: the same transforms one value at a time, the sums and 48·Y in int64 (no
// wrapping, no parts), then divided by 48.
void cnns_qwino_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                            const int16_t *packed, void *work, int32_t *y) {
    (void)work;
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C);
    uint8_t full[24 * CNNS_QWINO_MAX_C];
    int16_t v[CNNS_QWINO_MAX_C][24];  // |V| ≤ 16·127
    for (int i = 0; i < T;) {
        int first;
        const int both =
            cnns_qwino_reference_tile(s, xp, t0, T, &i, &first, 4, 6, input_transform_one, full, &v[0][0]);
        for (int ko = 0; ko < K; ko++) {
            int64_t m[24] = {0};
            for (int ci = 0; ci < C; ci++)
                for (int xi = 0; xi < 24; xi++)
                    m[xi] += (int64_t)v[ci][xi] * packed[cnns_qwino_packed_at(QWINO3_POINTS, xi, ci, ko, Cp)];
            int32_t out[8];
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 4; q++) {
                    int64_t acc = 0;
                    for (int xi = 0; xi < 24; xi++)
                        acc += (int64_t)qwino3_at2[r][xi / 6] * qwino3_at4[q][xi % 6] * m[xi];
                    out[r * 4 + q] = (int32_t)(acc / 48);
                }
            cnns_qwino_store_half(y, first, K, ko, out, 0, pool);
            if (both) cnns_qwino_store_half(y, first + 1, K, ko, out, 1, pool);
        }
    }
}

#if CNNS_X86
// Y of one column of one 2x4 tile from one part's sums m[ξ] (int32, modulo 2³²): A₂ᵀ down each
// column, A₄ᵀ across, in unsigned arithmetic (which wraps as the vectors do), giving 48·Y itself,
// then divided by 48.
static void output_transform_part(const int32_t m[24], int32_t out[8]) {
    uint32_t o[2][6];
    for (int b = 0; b < 6; b++) {
        const uint32_t m0 = (uint32_t)m[b], m1 = (uint32_t)m[6 + b], m2 = (uint32_t)m[12 + b], m3 = (uint32_t)m[18 + b];
        o[0][b] = m0 + m1 + m2;
        o[1][b] = m1 - m2 - m3;
    }
    for (int r = 0; r < 2; r++) {
        const uint32_t *x = o[r], s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        const uint32_t y48[4] = {x[0] + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + x[5]};
        for (int q = 0; q < 4; q++) out[r * 4 + q] = (int32_t)y48[q] / 48;
    }
}

// V of one patch (its 24 pixels at px[q]) for the channels of one vector from c0 -> v[ξ·ldv + c0 ..]:
// x B₄ along each row, then B₂ᵀ down each column. VEC is the vector type, LOAD widens one vector's
// bytes to int16, STORE writes a vector, SUB, ADD, TIMES2 and TIMES4 the int16 operations.
#define QWINO3_INPUT_TRANSFORM(VEC, LOAD, STORE, SUB, ADD, TIMES2, TIMES4)                        \
    do {                                                                                         \
        VEC r[4][6];                                                                             \
        for (int i = 0; i < 4; i++) {                                                            \
            VEC x[6];                                                                            \
            for (int j = 0; j < 6; j++) x[j] = LOAD(px[i * 6 + j] + c0);                         \
            CNNS_QWINO_BT6(VEC, x, r[i], SUB, ADD, TIMES2, TIMES4);                              \
        }                                                                                        \
        for (int b = 0; b < 6; b++) {                                                            \
            STORE(v + (long)(0 * 6 + b) * ldv + c0, SUB(r[0][b], r[2][b]));                      \
            STORE(v + (long)(1 * 6 + b) * ldv + c0, ADD(r[1][b], r[2][b]));                      \
            STORE(v + (long)(2 * 6 + b) * ldv + c0, SUB(r[2][b], r[1][b]));                      \
            STORE(v + (long)(3 * 6 + b) * ldv + c0, SUB(r[1][b], r[3][b]));                      \
        }                                                                                        \
    } while (0)
#define QWINO3_Y16_TIMES2(a) _mm256_slli_epi16((a), 1)
#define QWINO3_Y16_TIMES4(a) _mm256_slli_epi16((a), 2)
#define QWINO3_X8_TIMES2(a) _mm_slli_epi16((a), 1)
#define QWINO3_X8_TIMES4(a) _mm_slli_epi16((a), 2)
#define QWINO3_LOAD16(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p)))
#define QWINO3_STORE16(p, a) _mm256_storeu_si256((__m256i *)(p), (a))
#define QWINO3_LOAD8(p) _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(p)))
#define QWINO3_STORE8(p, a) _mm_storeu_si128((__m128i *)(p), (a))

// 16 channels from c0, and 8 channels from c0 (a last block of 8 to 15).
__attribute__((target("avx2"))) static void input_transform16(const uint8_t *const *px, int c0, int16_t *v, long ldv) {
    QWINO3_INPUT_TRANSFORM(__m256i, QWINO3_LOAD16, QWINO3_STORE16, _mm256_sub_epi16, _mm256_add_epi16,
                           QWINO3_Y16_TIMES2, QWINO3_Y16_TIMES4);
}
__attribute__((target("avx2"))) static void input_transform8(const uint8_t *const *px, int c0, int16_t *v, long ldv) {
    QWINO3_INPUT_TRANSFORM(__m128i, QWINO3_LOAD8, QWINO3_STORE8, _mm_sub_epi16, _mm_add_epi16, QWINO3_X8_TIMES2,
                           QWINO3_X8_TIMES4);
}

// V of one patch, channels c0..<Cp one at a time (the last few past whole blocks of 8; the channel
// that pads C to even is zero), with input_transform16's operations on integers.
#define QWINO3_INT_SUB(a, b) ((a) - (b))
#define QWINO3_INT_ADD(a, b) ((a) + (b))
#define QWINO3_INT_TIMES2(a) (2 * (a))
#define QWINO3_INT_TIMES4(a) (4 * (a))
#define QWINO3_INT_LOAD(p) ((int)*(p))
#define QWINO3_INT_STORE(p, a) (*(p) = (int16_t)(a))
static void input_transform_tail(const uint8_t *const *px, int c0, int C, int Cp, int16_t *v, long ldv) {
    for (; c0 < C; c0++)
        QWINO3_INPUT_TRANSFORM(int, QWINO3_INT_LOAD, QWINO3_INT_STORE, QWINO3_INT_SUB, QWINO3_INT_ADD,
                               QWINO3_INT_TIMES2, QWINO3_INT_TIMES4);
    for (; c0 < Cp; c0++)
        for (int q = 0; q < 24; q++) v[(long)q * ldv + c0] = 0;
}

// V of one patch, every channel: blocks of 16, one of 8, then one at a time.
__attribute__((target("avx2"))) static void transform_patch(const uint8_t *const *px, int C, int Cp, int16_t *v,
                                                             long ldv) {
    int c = 0;
    for (; c + 16 <= C; c += 16) input_transform16(px, c, v, ldv);
    if (C - c >= 8) input_transform8(px, c, v, ldv), c += 8;
    input_transform_tail(px, c, C, Cp, v, ldv);
}

// Y of 8 columns of one 2x4 tile from one part's sums at m[ξ·ldm] (output_transform_part on
// vectors): A₂ᵀ down each column, A₄ᵀ across, then 48·Y >> 4 times the inverse of 3 modulo 2³².
__attribute__((target("avx2"), always_inline)) static inline void output_transform8(const int32_t *m, long ldm,
                                                                                     __m256i out[8]) {
    __m256i o[2][6];
    for (int b = 0; b < 6; b++) {
        const __m256i m0 = _mm256_loadu_si256((const __m256i *)(m + (0 * 6 + b) * ldm)),
                      m1 = _mm256_loadu_si256((const __m256i *)(m + (1 * 6 + b) * ldm)),
                      m2 = _mm256_loadu_si256((const __m256i *)(m + (2 * 6 + b) * ldm)),
                      m3 = _mm256_loadu_si256((const __m256i *)(m + (3 * 6 + b) * ldm));
        o[0][b] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
        o[1][b] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
    }
    const __m256i inverse3 = _mm256_set1_epi32((int32_t)0xAAAAAAABu);
    for (int r = 0; r < 2; r++) {
        const __m256i *x = o[r];
        const __m256i s12 = _mm256_add_epi32(x[1], x[2]), d12 = _mm256_sub_epi32(x[1], x[2]);
        const __m256i s34 = _mm256_add_epi32(x[3], x[4]), d34 = _mm256_sub_epi32(x[3], x[4]);
        const __m256i y48[4] = {
            _mm256_add_epi32(_mm256_add_epi32(x[0], s12), s34),
            _mm256_add_epi32(d12, _mm256_slli_epi32(d34, 1)),
            _mm256_add_epi32(s12, _mm256_slli_epi32(s34, 2)),
            _mm256_add_epi32(_mm256_add_epi32(d12, _mm256_slli_epi32(d34, 3)), x[5]),
        };
        for (int q = 0; q < 4; q++) out[r * 4 + q] = _mm256_mullo_epi32(_mm256_srai_epi32(y48[q], 4), inverse3);
    }
}

CNNS_QWINO_GEMM_GROUP(gemm3_group_avx2, __attribute__((target("avx2"))))
CNNS_QWINO_GEMM_GROUP_ZMM(gemm3_group_vnni, __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni"))))

// The transforms around the 24 GEMMs, which `gemm` computes (AVX2 or VNNI), a group of 2x4 tiles
// at a time and, within it, a block of 16 columns and a part of the channels at a time.
__attribute__((target("avx2"))) static void qwino3_x86(cnns_qwino_gemm_group_fn gemm, const cnns_qwino_shape *s,
                                                        const uint8_t *xp, long t0, int T, int pool,
                                                        const int16_t *packed, void *work, int32_t *y) {
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K);
    int16_t *v;
    int32_t *m;
    long ldv, ldm;
    cnns_qwino_group_workspace(QWINO3_POINTS, Cp, work, &v, &ldv, &m, &ldm);
    uint8_t full[24 * CNNS_QWINO_MAX_C];
    const int pairs = Cp / 2, partPairs = QWINO3_PART / 2;
    for (int i = 0; i < T;) {
        // 1. The group's 2x4 tiles and the input transform: V[ξ][g][c].
        int first[QWINO3_GROUP], both[QWINO3_GROUP];
        const int G = cnns_qwino_transform_group(s, xp, t0, T, &i, 4, 6, transform_patch, full, v, ldv, first, both);
        for (int kb = 0; kb < Kp / 16; kb++) {
            const int k0 = kb * 16, k1 = K < k0 + 16 ? K : k0 + 16, k8 = k0 + (k1 - k0) / 8 * 8;
            int32_t sum[QWINO3_GROUP][8][16];  // Y over the parts so far: per tile, output, column
            for (int p0 = 0; p0 < pairs; p0 += partPairs) {
                // 2. 24 GEMMs over the part's channel pairs: M[ξ][g][16 columns].
                const int n = pairs - p0 < partPairs ? pairs - p0 : partPairs;
                gemm(QWINO3_POINTS, n, v + 2L * p0, Cp, ldv, G,
                     packed + ((long)kb * QWINO3_POINTS * pairs + p0) * 32, (long)pairs * 32, m, 16, ldm);
                // 3. The part's Y, exact, added to the parts before it.
                for (int g = 0; g < G; g++) {
                    for (int k = k0; k < k8; k += 8) {
                        __m256i out[8];
                        output_transform8(m + (long)g * 16 + (k - k0), ldm, out);
                        for (int q = 0; q < 8; q++) {
                            __m256i *at = (__m256i *)(sum[g][q] + (k - k0));
                            const __m256i before = p0 == 0 ? _mm256_setzero_si256() : _mm256_loadu_si256(at);
                            _mm256_storeu_si256(at, _mm256_add_epi32(before, out[q]));
                        }
                    }
                    for (int k = k8; k < k1; k++) {
                        int32_t mm[24], out[8];
                        for (int q = 0; q < 24; q++) mm[q] = m[(long)q * ldm + (long)g * 16 + (k - k0)];
                        output_transform_part(mm, out);
                        for (int q = 0; q < 8; q++) sum[g][q][k - k0] = (p0 == 0 ? 0 : sum[g][q][k - k0]) + out[q];
                    }
                }
            }
            // 4. y, or the maximum of each 2x2.
            for (int g = 0; g < G; g++) {
                for (int k = k0; k < k8; k += 8) {
                    __m256i out[8];
                    for (int q = 0; q < 8; q++) out[q] = _mm256_loadu_si256((const __m256i *)(sum[g][q] + (k - k0)));
                    cnns_qwino_store_pair8(y, first[g], both[g], K, k, out, pool);
                }
                for (int k = k8; k < k1; k++) {
                    int32_t out[8];
                    for (int q = 0; q < 8; q++) out[q] = sum[g][q][k - k0];
                    cnns_qwino_store_half(y, first[g], K, k, out, 0, pool);
                    if (both[g]) cnns_qwino_store_half(y, first[g] + 1, K, k, out, 1, pool);
                }
            }
        }
    }
}
#endif

void cnns_qwino_u7s8(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool, const int16_t *packed,
                     void *work, int32_t *y) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        qwino3_x86(gemm3_group_avx2, s, xp, t0, T, pool, packed, work, y);
        return;
    }
#endif
    cnns_qwino_u7s8_scalar(s, xp, t0, T, pool, packed, work, y);
}

void cnns_qwino_u7s8_avx512vnni(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                                const int16_t *packed, void *work, int32_t *y) {
#if CNNS_X86
    qwino3_x86(gemm3_group_vnni, s, xp, t0, T, pool, packed, work, y);
#else
    cnns_qwino_u7s8_scalar(s, xp, t0, T, pool, packed, work, y);
#endif
}
