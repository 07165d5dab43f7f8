// Int8 convolution by Winograd F(2x2,5x5) on 16-bit integers (5x5 kernels, stride 1):
//   xp: the quantised input (0..127) with its padding written in, hp x wp pixels of C bytes per
//       image; tiles t0..<t0+T of a tiles_y x tiles_x grid per image (tile (n, i, j) makes output
//       rows 2i, 2i+1 and columns 2j, 2j+1 from the 6x6 patch at padded row 2i, column 2j;
//       patch pixels past hp or wp read as `pad`)
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum: the direct convolution's sums to within cnns_qwino5_error_bound.
// Points 0, ±1, ±2 and ∞:
//   V = Bᵀ d B  (int16, |V| ≤ 68·127)
//       Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   U = G g Gᵀ, with 24G = [6 0 0 0 0; -4 -4 -4 -4 -4; -4 4 -4 4 -4; 1 2 4 8 16; 1 -2 4 -8 16; 0 0 0 0 24]:
//       576·U is computed exactly in integers, then rounded per point ξ and column ko to int16,
//       Uq = round(576U · b / m) with m = max over channels of |576U| and b = min(32767,
//       ⌊(2³¹ − 1) / (Cp · Vmax(ξ))⌋), so U ≈ scale · Uq with scale = m / (576 b)
//   M = Σ_c V ⊙ Uq  (int32: 36 GEMMs [T x Cp] · [Cp x K] on channel pairs; |M| ≤ Cp·Vmax·b, no wrap)
//   Y = Aᵀ (scale ⊙ M) A on floats, Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1], the scaling folded into fused
//   multiply-adds (output_transform_one's order), rounded to the nearest integer.
// The direct sums need 25 multiply-adds per output pixel and channel pair of bytes; this needs 36
// per 2x2 tile (9 per pixel) on pairs of 16-bit values.
#include "qwino_common.h"
#include <math.h>
#include <stdlib.h>

// Every float operation of the output transform is written out, in the same order in the
// reference and the vector builds: the fused multiply-adds are explicit (fmaf, vfmadd), no other
// operation may be fused.
#pragma clang fp contract(off)

static const int qwino5_bt[6][6] = {
    {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const int qwino5_g24[6][5] = {
    {6, 0, 0, 0, 0}, {-4, -4, -4, -4, -4}, {-4, 4, -4, 4, -4}, {1, 2, 4, 8, 16}, {1, -2, 4, -8, 16}, {0, 0, 0, 0, 24},
};
static const int qwino5_at[2][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}};

// Where weight (ξ, ci, ko) lies in the packed block of int16: blocks of 16 columns, within one
// the 36 points, within one the channel pairs (32 values: 16 columns x 2 channels), so one
// column block's GEMMs read one stream.
static inline long qwino5_packed_at(int xi, int ci, int ko, int Cp) {
    return (((long)(ko / 16) * 36 + xi) * (Cp / 2) + ci / 2) * 32 + (ko % 16) * 2 + ci % 2;
}

int cnns_qwino5_fits(const cnns_conv_shape *s) {
    return s->r == 5 && s->s == 5 && s->stride_h == 1 && s->stride_w == 1 && s->c >= 1 &&
           s->c <= CNNS_QWINO5_MAX_C && s->k >= 1;
}

int64_t cnns_qwino5_packed_size(int c, int k) {
    return (int64_t)36 * cnns_qwino_padded_c(c) * cnns_qwino_padded_k(k) * 2;
}

// Tiles per group: as many rows as twelve of AVX2's sixteen registers hold for 16 columns (six
// rows of two), measured faster than four; the group's V (36·6·Cp int16, 14 KiB at Cp = 32) and
// M of one block of 16 columns (36·6·16 int32, 14 KiB) stay in L1 between the transforms and the
// GEMMs, while the weights stream from L2 in the order the GEMMs read them.
enum { QWINO5_GROUP = CNNS_QWINO5_TILE_GROUP };

int64_t cnns_qwino5_workspace_size(int c, int k, int tiles) {
    // Per group: V [36][GROUP·Cp + 32] int16, then M [36][GROUP·16 + 16] int32 (64-byte aligned
    // after V), whatever the number of tiles and columns.
    (void)k, (void)tiles;
    const int64_t v = ((int64_t)36 * (QWINO5_GROUP * cnns_qwino_padded_c(c) + 32) * 2 + 63) / 64 * 64;
    return v + (int64_t)36 * (QWINO5_GROUP * 16 + 16) * 4;
}

// The largest |V| at point ξ = 6a + b over inputs of 0..127: 127 times the larger of the sums of
// the positive and of the negative coefficients of Bᵀ's rows a and b multiplied.
static int64_t vmax(int xi) {
    int64_t pos = 0, neg = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            const int coef = qwino5_bt[xi / 6][i] * qwino5_bt[xi % 6][j];
            if (coef > 0) pos += coef;
            else neg -= coef;
        }
    return 127 * (pos > neg ? pos : neg);
}

// The int16 step of point ξ's weights: as large as keeps Cp products of |V| ≤ Vmax inside int32.
static int64_t weight_steps(int xi, int Cp) {
    const int64_t b = INT32_MAX / ((int64_t)Cp * vmax(xi));
    return b < 32767 ? b : 32767;
}

void cnns_qwino5_pack(int c, int k, const int8_t *w, int16_t *packed, float *scale) {
    const int Cp = cnns_qwino_padded_c(c);
    memset(packed, 0, (size_t)cnns_qwino5_packed_size(c, k));
    int32_t *u = malloc(sizeof(int32_t) * 36 * (size_t)c);  // 576·U of one column, [ci][ξ]
    for (int ko = 0; ko < k; ko++) {
        for (int ci = 0; ci < c; ci++) {
            int32_t t[6][5];  // t = 24G g, then 576U = t (24G)ᵀ
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 5; j++) {
                    int32_t acc = 0;
                    for (int q = 0; q < 5; q++) acc += qwino5_g24[i][q] * w[((long)(q * 5 + j) * c + ci) * k + ko];
                    t[i][j] = acc;
                }
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    int32_t acc = 0;
                    for (int q = 0; q < 5; q++) acc += t[i][q] * qwino5_g24[j][q];
                    u[(long)ci * 36 + i * 6 + j] = acc;
                }
        }
        for (int xi = 0; xi < 36; xi++) {
            int32_t m = 0;
            for (int ci = 0; ci < c; ci++) m = abs(u[(long)ci * 36 + xi]) > m ? abs(u[(long)ci * 36 + xi]) : m;
            const int64_t b = weight_steps(xi, Cp);
            for (int ci = 0; ci < c && m > 0; ci++)
                packed[qwino5_packed_at(xi, ci, ko, Cp)] =
                    (int16_t)llround((double)u[(long)ci * 36 + xi] * (double)b / (double)m);
            scale[(long)xi * k + ko] = m > 0 ? (float)((double)m / (576.0 * (double)b)) : 0.0f;
        }
    }
    free(u);
}

double cnns_qwino5_error_bound(int c, int k, const float *scale, int ko) {
    const int Cp = cnns_qwino_padded_c(c);
    double worst = 0;
    for (int corner = 0; corner < 4; corner++) {
        double rounding = 0, magnitude = 0;
        for (int xi = 0; xi < 36; xi++) {
            const double a = fabs((double)qwino5_at[corner / 2][xi / 6] * qwino5_at[corner % 2][xi % 6]);
            const double s = scale[(long)xi * k + ko];
            rounding += a * 0.5 * s * c * (double)vmax(xi);
            magnitude += a * s * (double)Cp * (double)vmax(xi) * (double)weight_steps(xi, Cp);
        }
        // On its way to y each term is rounded once in the conversion and at most ten times in the
        // fused multiply-adds and sums of the two stages: 2^-20 of the terms' magnitudes covers them.
        const double bound = rounding + magnitude * 0x1p-20 + 0.5;
        worst = bound > worst ? bound : worst;
    }
    return worst;
}

// Bᵀ applied to one column of six values x0..x5 (integers).
#define QWINO5_BT(T, x, r, SUB, ADD, TIMES2, TIMES4)                              \
    do {                                                                          \
        const T d02 = SUB(x[0], x[2]), d24 = SUB(x[2], x[4]), s12 = ADD(x[1], x[2]); \
        const T d13 = SUB(x[1], x[3]), s34 = ADD(x[3], x[4]), d42 = SUB(x[4], x[2]); \
        const T d12 = SUB(x[1], x[2]), d34 = SUB(x[3], x[4]), d35 = SUB(x[3], x[5]); \
        r[0] = SUB(TIMES4(d02), d24);                                             \
        r[1] = SUB(s34, TIMES4(s12));                                             \
        r[2] = SUB(TIMES4(d12), d34);                                             \
        r[3] = SUB(d42, TIMES2(d13));                                             \
        r[4] = ADD(d42, TIMES2(d13));                                             \
        r[5] = SUB(TIMES4(d13), d35);                                             \
    } while (0)

// The scalar operations of the references (integers in the input transform, floats in the output).
#define QWINO5_SUB(a, b) ((a) - (b))
#define QWINO5_ADD(a, b) ((a) + (b))
#define QWINO5_TIMES2(a) (2 * (a))
#define QWINO5_TIMES4(a) (4 * (a))

// V of one channel: the 36 pixels' bytes x -> v[36] (integers).
static void input_transform_one(const int x[36], int v[36]) {
    int r[36];
    for (int b = 0; b < 6; b++) {  // r = Bᵀ x, column by column
        const int col[6] = {x[b], x[6 + b], x[12 + b], x[18 + b], x[24 + b], x[30 + b]};
        int out[6];
        QWINO5_BT(int, col, out, QWINO5_SUB, QWINO5_ADD, QWINO5_TIMES2, QWINO5_TIMES4);
        for (int a = 0; a < 6; a++) r[a * 6 + b] = out[a];
    }
    for (int a = 0; a < 6; a++)  // V = r B, row by row
        QWINO5_BT(int, (r + a * 6), (v + a * 6), QWINO5_SUB, QWINO5_ADD, QWINO5_TIMES2, QWINO5_TIMES4);
}

// The float output transform, Y = Aᵀ (s ⊙ M) A, in one order that the vector builds repeat exactly
// (fused multiply-adds included): per column b of the 6x6 grid, with c_a = float(M[a][b]) and s_a
// its scale, o0 = c0s0 + c1s1 + c2s2 + c3s3 + c4s4 and o1 = c1s1 - c2s2 + (2c3)s3 - (2c4)s4 + c5s5
// (Aᵀ's two rows, each a chain of fused multiply-adds from its first product), then along b the
// same rows: Y0· = o_0 + o_1 + o_2 + o_3 + o_4, Y1· = o_1 - o_2 + 2o_3 - 2o_4 + o_5, summed in
// order. FMA(a, b, c) is a·b + c rounded once; doubling is exact.
#define QWINO5_OUT_COLUMN(T, c, s, o0, o1, MUL, ADD, FMA, NEG)                                      \
    do {                                                                                          \
        o0 = FMA(c[4], s[4], FMA(c[3], s[3], FMA(c[2], s[2], FMA(c[1], s[1], MUL(c[0], s[0]))))); \
        const T c3x2 = ADD(c[3], c[3]), c4x2 = ADD(c[4], c[4]);                                  \
        o1 = FMA(c[5], s[5], FMA(NEG(c4x2), s[4], FMA(c3x2, s[3], FMA(NEG(c[2]), s[2], MUL(c[1], s[1]))))); \
    } while (0)
// Y's two rows along b, o_b arriving in order b = 0..5 into y0 (Aᵀ's first row) and y1 (its second).
#define QWINO5_OUT_ROW(b, o, y0, y1, ADD, SUB, FMA, TWO, MINUS_TWO) \
    do {                                                           \
        switch (b) {                                               \
        case 0: y0 = o; break;                                     \
        case 1: y0 = ADD(y0, o); y1 = o; break;                    \
        case 2: y0 = ADD(y0, o); y1 = SUB(y1, o); break;           \
        case 3: y0 = ADD(y0, o); y1 = FMA(TWO, o, y1); break;      \
        case 4: y0 = ADD(y0, o); y1 = FMA(MINUS_TWO, o, y1); break; \
        default: y1 = ADD(y1, o); break;                           \
        }                                                          \
    } while (0)

#define QWINO5_F_MUL(a, b) ((a) * (b))
#define QWINO5_F_NEG(a) (-(a))

// y of one column from its 36 sums m (the transform domain) and scales s: the float output transform.
static void output_transform_one(const int32_t m[36], const float s[36], int32_t out[4]) {
    float y00 = 0, y01 = 0, y10 = 0, y11 = 0;
    for (int b = 0; b < 6; b++) {
        const float c[6] = {(float)m[b], (float)m[6 + b], (float)m[12 + b], (float)m[18 + b], (float)m[24 + b],
                            (float)m[30 + b]};
        const float sc[6] = {s[b], s[6 + b], s[12 + b], s[18 + b], s[24 + b], s[30 + b]};
        float o0, o1;
        QWINO5_OUT_COLUMN(float, c, sc, o0, o1, QWINO5_F_MUL, QWINO5_ADD, fmaf, QWINO5_F_NEG);
        QWINO5_OUT_ROW(b, o0, y00, y01, QWINO5_ADD, QWINO5_SUB, fmaf, 2.0f, -2.0f);
        QWINO5_OUT_ROW(b, o1, y10, y11, QWINO5_ADD, QWINO5_SUB, fmaf, 2.0f, -2.0f);
    }
    out[0] = (int32_t)lrintf(y00);
    out[1] = (int32_t)lrintf(y01);
    out[2] = (int32_t)lrintf(y10);
    out[3] = (int32_t)lrintf(y11);
}

// The plain reference: the same transforms one value at a time, the sums in int64 (they fit int32).
void cnns_qwino5_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                             const int16_t *packed, const float *scale, void *work, int32_t *y) {
    (void)work;
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C);
    uint8_t d[36 * CNNS_QWINO5_MAX_C];
    int v[CNNS_QWINO5_MAX_C][36];
    for (int t = 0; t < T; t++) {
        cnns_qwino_patch_of(s, xp, t0 + t, 6, 0, 0, d);
        for (int ci = 0; ci < C; ci++) {
            int x[36];
            for (int q = 0; q < 36; q++) x[q] = d[q * C + ci];
            input_transform_one(x, v[ci]);
        }
        for (int ko = 0; ko < K; ko++) {
            int32_t m[36];
            float sc[36];
            for (int xi = 0; xi < 36; xi++) {
                int64_t acc = 0;
                for (int ci = 0; ci < C; ci++)
                    acc += (int64_t)v[ci][xi] * packed[qwino5_packed_at(xi, ci, ko, Cp)];
                m[xi] = (int32_t)acc;
                sc[xi] = scale[(long)xi * K + ko];
            }
            int32_t out[4];
            output_transform_one(m, sc, out);
            cnns_qwino_store_tile(y, t, K, ko, out, pool);
        }
    }
}

#if CNNS_X86
#define QWINO5_V_SUB(a, b) _mm256_sub_epi16((a), (b))
#define QWINO5_V_ADD(a, b) _mm256_add_epi16((a), (b))
#define QWINO5_V_TIMES2(a) _mm256_slli_epi16((a), 1)
#define QWINO5_V_TIMES4(a) _mm256_slli_epi16((a), 2)
#define QWINO5_PS_SUB(a, b) _mm256_sub_ps((a), (b))
#define QWINO5_PS_ADD(a, b) _mm256_add_ps((a), (b))

// V of one patch (its 36 pixels at px[q]), 16 channels from c0 -> v[ξ·ldv + c0 ..].
__attribute__((target("avx2"))) static void input_transform16(const uint8_t *const *px, int c0, int16_t *v, long ldv) {
    __m256i r[36];
    for (int b = 0; b < 6; b++) {
        __m256i col[6], out[6];
        for (int a = 0; a < 6; a++)
            col[a] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(px[a * 6 + b] + c0)));
        QWINO5_BT(__m256i, col, out, QWINO5_V_SUB, QWINO5_V_ADD, QWINO5_V_TIMES2, QWINO5_V_TIMES4);
        for (int a = 0; a < 6; a++) r[a * 6 + b] = out[a];
    }
    for (int a = 0; a < 6; a++) {
        __m256i out[6];
        QWINO5_BT(__m256i, (r + a * 6), out, QWINO5_V_SUB, QWINO5_V_ADD, QWINO5_V_TIMES2, QWINO5_V_TIMES4);
        for (int b = 0; b < 6; b++) _mm256_storeu_si256((__m256i *)(v + (long)(a * 6 + b) * ldv + c0), out[b]);
    }
}

// V of one patch, channels c0..<Cp one at a time (the tail past whole blocks of 16; the channel
// that pads C to even is zero).
static void input_transform_tail(const uint8_t *const *px, int c0, int C, int Cp, int16_t *v, long ldv) {
    for (int ci = c0; ci < Cp; ci++) {
        int x[36], vv[36];
        for (int q = 0; q < 36; q++) x[q] = ci < C ? px[q][ci] : 0;
        input_transform_one(x, vv);
        for (int q = 0; q < 36; q++) v[(long)q * ldv + ci] = (int16_t)(ci < C ? vv[q] : 0);
    }
}

// y of 8 columns of one tile: its sums at m[ξ·ldm], the scales at sc[ξ·K] (output_transform_one's
// order, on vectors).
#define QWINO5_PS_MUL(a, b) _mm256_mul_ps((a), (b))
#define QWINO5_PS_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define QWINO5_PS_NEG(a) _mm256_xor_ps((a), _mm256_set1_ps(-0.0f))
__attribute__((target("avx2,fma"), always_inline)) static inline void output_transform8(const int32_t *m, long ldm,
                                                                                         const float *sc, int K,
                                                                                         __m256i out[4]) {
    __m256 y00 = _mm256_setzero_ps(), y01 = y00, y10 = y00, y11 = y00;
    const __m256 two = _mm256_set1_ps(2.0f), minus_two = _mm256_set1_ps(-2.0f);
    _Pragma("clang loop unroll(full)") for (int b = 0; b < 6; b++) {
        __m256 c[6], s[6], o0, o1;
        for (int a = 0; a < 6; a++) {
            c[a] = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(m + (a * 6 + b) * ldm)));
            s[a] = _mm256_loadu_ps(sc + (long)(a * 6 + b) * K);
        }
        QWINO5_OUT_COLUMN(__m256, c, s, o0, o1, QWINO5_PS_MUL, QWINO5_PS_ADD, QWINO5_PS_FMA, QWINO5_PS_NEG);
        QWINO5_OUT_ROW(b, o0, y00, y01, QWINO5_PS_ADD, QWINO5_PS_SUB, QWINO5_PS_FMA, two, minus_two);
        QWINO5_OUT_ROW(b, o1, y10, y11, QWINO5_PS_ADD, QWINO5_PS_SUB, QWINO5_PS_FMA, two, minus_two);
    }
    out[0] = _mm256_cvtps_epi32(y00);
    out[1] = _mm256_cvtps_epi32(y01);
    out[2] = _mm256_cvtps_epi32(y10);
    out[3] = _mm256_cvtps_epi32(y11);
}

// For each of `planes` points ξ: m[G rows x 16 columns] (row stride ldm; plane ξ at m + ξ·mplane) =
// Σ over `pairs` channel pairs of row r's pair (at v + ξ·vplane + r·ldv) times the packed block's 16
// columns (b + ξ·bplane: 32 int16 per pair), for G ≤ QWINO5_GROUP: the whole group in twelve
// accumulators (rows past G repeat the last row and are not stored). One call for all the points.
#define QWINO5_GEMM_GROUP(name, TARGET, ACC)                                                                   \
    TARGET static void name(int planes, int pairs, const int16_t *v, long ldv, long vplane, int G,            \
                            const int16_t *b, long bplane, int32_t *m, long ldm, long mplane) {               \
        for (int xi = 0; xi < planes; xi++, v += vplane, b += bplane, m += mplane) {                          \
            const int16_t *a[QWINO5_GROUP];                                                                   \
            for (int r = 0; r < QWINO5_GROUP; r++) a[r] = v + (long)(r < G ? r : G - 1) * ldv;               \
            __m256i c[QWINO5_GROUP][2];                                                                       \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < QWINO5_GROUP; r++) c[r][0] = c[r][1] =      \
                _mm256_setzero_si256();                                                                       \
            for (int p = 0; p < pairs; p++) {                                                                 \
                const __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32));                   \
                const __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32 + 16));              \
                _Pragma("clang loop unroll(full)") for (int r = 0; r < QWINO5_GROUP; r++) {                   \
                    int32_t w;                                                                                \
                    memcpy(&w, a[r] + 2 * p, 4);                                                              \
                    const __m256i x = _mm256_set1_epi32(w);                                                   \
                    c[r][0] = ACC(c[r][0], x, b0);                                                            \
                    c[r][1] = ACC(c[r][1], x, b1);                                                            \
                }                                                                                             \
            }                                                                                                 \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < QWINO5_GROUP; r++) {                       \
                if (r < G) {                                                                                  \
                    _mm256_storeu_si256((__m256i *)(m + r * ldm), c[r][0]);                                   \
                    _mm256_storeu_si256((__m256i *)(m + r * ldm + 8), c[r][1]);                               \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }

typedef void (*qwino5_gemm_fn)(int planes, int pairs, const int16_t *v, long ldv, long vplane, int G,
                               const int16_t *b, long bplane, int32_t *m, long ldm, long mplane);

QWINO5_GEMM_GROUP(gemm5_group_avx2, __attribute__((target("avx2"))), CNNS_QWINO_ACC_AVX2)
QWINO5_GEMM_GROUP(gemm5_group_vnni, __attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))), CNNS_QWINO_ACC_VNNI)

// The transforms around the 36 GEMMs, which `gemm` computes (AVX2 or VNNI), a group of tiles at a
// time and, within it, a block of 16 columns at a time.
__attribute__((target("avx2,fma"))) static void qwino5_x86(qwino5_gemm_fn gemm, const cnns_qwino_shape *s,
                                                        const uint8_t *xp, long t0, int T, int pool,
                                                        const int16_t *packed, const float *scale, void *work,
                                                        int32_t *y) {
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K), C16 = C / 16 * 16;
    // Plane strides padded by a cache line, so the 36 planes of one tile do not share an L1 set.
    const long ldv = (long)QWINO5_GROUP * Cp + 32, ldm = QWINO5_GROUP * 16 + 16;
    int16_t *v = (int16_t *)work;
    int32_t *m = (int32_t *)((char *)work + (36 * ldv * 2 + 63) / 64 * 64);
    uint8_t full[36 * CNNS_QWINO5_MAX_C];
    const int pairs = Cp / 2;
    for (int g0 = 0; g0 < T; g0 += QWINO5_GROUP) {
        const int G = T - g0 < QWINO5_GROUP ? T - g0 : QWINO5_GROUP;
        // 1. Input transform: V[ξ][t][c] (a border patch is gathered with `pad` first).
        for (int t = 0; t < G; t++) {
            const uint8_t *px[36];
            cnns_qwino_patch_pixels(s, xp, t0 + g0 + t, 6, 0, 0, full, px);
            int c = 0;
            for (; c < C16; c += 16) input_transform16(px, c, v + (long)t * Cp, ldv);
            input_transform_tail(px, c, C, Cp, v + (long)t * Cp, ldv);
        }
        for (int kb = 0; kb < Kp / 16; kb++) {
            // 2. 36 GEMMs: M[ξ][t][16 columns] = Σ pairs V[ξ][t][pair] · Uq[ξ][pair][columns].
            gemm(36, pairs, v, Cp, ldv, G, packed + (long)kb * 36 * pairs * 32, (long)pairs * 32, m, 16, ldm);
            // 3. Output transform on floats, rounded: y, or the maximum of the four.
            const int k0 = kb * 16, k1 = K < k0 + 16 ? K : k0 + 16, k8 = k0 + (k1 - k0) / 8 * 8;
            for (int t = 0; t < G; t++) {
                const long tile = g0 + t;
                for (int k = k0; k < k8; k += 8) {
                    __m256i out[4];
                    output_transform8(m + (long)t * 16 + (k - k0), ldm, scale + k, K, out);
                    cnns_qwino_store_tile8(y, tile, K, k, out, pool);
                }
                for (int k = k8; k < k1; k++) {
                    int32_t mm[36], out[4];
                    float sc[36];
                    for (int q = 0; q < 36; q++) {
                        mm[q] = m[(long)q * ldm + (long)t * 16 + (k - k0)];
                        sc[q] = scale[(long)q * K + k];
                    }
                    output_transform_one(mm, sc, out);
                    cnns_qwino_store_tile(y, tile, K, k, out, pool);
                }
            }
        }
    }
}
#endif

void cnns_qwino5_u7s8(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool, const int16_t *packed,
                      const float *scale, void *work, int32_t *y) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        qwino5_x86(gemm5_group_avx2, s, xp, t0, T, pool, packed, scale, work, y);
        return;
    }
#endif
    cnns_qwino5_u7s8_scalar(s, xp, t0, T, pool, packed, scale, work, y);
}

void cnns_qwino5_u7s8_avx512vnni(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                                 const int16_t *packed, const float *scale, void *work, int32_t *y) {
#if CNNS_X86
    qwino5_x86(gemm5_group_vnni, s, xp, t0, T, pool, packed, scale, work, y);
#else
    cnns_qwino5_u7s8_scalar(s, xp, t0, T, pool, packed, scale, work, y);
#endif
}
