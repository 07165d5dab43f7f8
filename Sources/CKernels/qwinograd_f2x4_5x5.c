// Int8 convolution by Winograd F(2x4,5x5) on 16-bit integers (5x5 kernels, stride 1):
//   xp: the quantised input (0..127) with its padding written in, hp x wp pixels of C bytes per
//       image; tiles t0..<t0+T of a tiles_y x tiles_x grid of 2x2 tiles per image (tile (n, i, j)
//       makes output rows 2i, 2i+1 and columns 2j, 2j+1). Two tiles side by side in a row of the
//       grid, both in the call, run as one 2x4 tile from the 6x8 patch at padded row 2i, column
//       2j; a tile whose right neighbour is not in the call runs as the left half of one, its
//       right half computed and dropped. Patch pixels past hp or wp read as `pad`.
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum: the direct convolution's sums to within cnns_qwino5_error_bound.
// Rows: F(2,5) on points 0, ±1, ±2, ∞; columns: F(4,5) on points 0, ±1, ±2, ±1/2, ∞ (the float
// F(4x4,5x5)'s, its Bᵀ rows scaled to integers by λ = 4, 4, 4, 4, 4, 2, 2, 4):
//   x̃ = x − 64, so |x̃| ≤ 64 and |V| ≤ 64 · 10 · 50 = 32000 (10 and 50: the largest sums of
//       |coefficients| of a row of B₂ᵀ and of B₄ᵀ)
//   V = B₂ᵀ x̃ B₄  (int16, 6 x 8 points ξ = 8a + b)
//       B₂ᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//       B₄ᵀ = [-4 0 21 0 -21 0 4 0; 0 4 4 -17 -17 4 4 0; 0 -4 4 17 -17 -4 4 0; 0 2 1 -10 -5 8 4 0;
//              0 -2 1 10 -5 -8 4 0; 0 4 8 -5 -10 1 2 0; 0 -4 8 5 -10 -1 2 0; 0 -4 0 21 0 -21 0 4]
//   U = G₂ g G₄ᵀ / λ_b: 2160·λ_b·U = (24G₂) g (90G₄)ᵀ is computed exactly in integers, then rounded
//       per point ξ and column ko to int16, Uq = round(2160λU · s / m) with m = max over channels
//       of |2160λU| and s = min(32767, ⌊(2³¹ − 1) / (Cp · Vmax(ξ))⌋), so U ≈ scale · Uq with
//       scale = m / (2160 λ_b s)
//   M = Σ_c V ⊙ Uq  (int32: 48 GEMMs [T x Cp] · [Cp x K] on channel pairs; |M| ≤ Cp·Vmax·s, no wrap)
//   Y = A₂ᵀ (scale ⊙ M) A₄ on floats, rounded to the nearest integer, plus 64·Σw (x̃'s offset
//       through the convolution, in int32), A₂ᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1] and
//       A₄ᵀ = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0; 0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 1]
// The direct sums need 25 multiply-adds per output pixel and channel; this needs 48 per 2x4 tile (6
// per pixel; F(2x2,5x5), which this replaced, needed 9) on pairs of 16-bit values.
#include "qwino_common.h"
#include <math.h>
#include <stdlib.h>

// Every float operation of the output transform is written out, in the same order in the
// reference and the vector builds: the fused multiply-adds are explicit (fmaf, vfmadd), no other
// operation may be fused.
#pragma clang fp contract(off)

enum { QWINO5_POINTS = CNNS_QWINO5_POINTS };

static const int qwino5_bt4[8][8] = {
    {-4, 0, 21, 0, -21, 0, 4, 0}, {0, 4, 4, -17, -17, 4, 4, 0}, {0, -4, 4, 17, -17, -4, 4, 0},
    {0, 2, 1, -10, -5, 8, 4, 0},  {0, -2, 1, 10, -5, -8, 4, 0}, {0, 4, 8, -5, -10, 1, 2, 0},
    {0, -4, 8, 5, -10, -1, 2, 0}, {0, -4, 0, 21, 0, -21, 0, 4},
};
// 24·G₂ and 90·G₄ (G₄ the float F(4x4,5x5)'s G, before the rows' λ).
static const int qwino5_g2[6][5] = {
    {6, 0, 0, 0, 0}, {-4, -4, -4, -4, -4}, {-4, 4, -4, 4, -4}, {1, 2, 4, 8, 16}, {1, -2, 4, -8, 16}, {0, 0, 0, 0, 24},
};
static const int qwino5_g4[8][5] = {
    {-90, 0, 0, 0, 0}, {-20, -20, -20, -20, -20}, {-20, 20, -20, 20, -20}, {1, 2, 4, 8, 16},
    {1, -2, 4, -8, 16}, {64, 32, 16, 8, 4},        {64, -32, 16, -8, 4},     {0, 0, 0, 0, 90},
};
static const int qwino5_lambda[8] = {4, 4, 4, 4, 4, 2, 2, 4};
// A₄ᵀ: every coefficient 0 or ±2^k, so its products are exact.
static const float qwino5_at4[4][8] = {
    {1, 1, 1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0.5f, -0.5f, 0},
    {0, 1, 1, 4, 4, 0.25f, 0.25f, 0},
    {0, 1, -1, 8, -8, 0.125f, -0.125f, 1},
};
static const int qwino5_at2[2][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}};

// The packed weights: cnns_qwino_packed_at's blocks of 16 columns of the 48 points, then 64·Σw per
// column (int32, Kp of them).
static inline const int32_t *qwino5_offsets(const int16_t *packed, int Cp, int Kp) {
    return (const int32_t *)(packed + (long)QWINO5_POINTS * Cp * Kp);
}

int cnns_qwino5_fits(const cnns_conv_shape *s) {
    return s->r == 5 && s->s == 5 && s->stride_h == 1 && s->stride_w == 1 && s->c >= 1 &&
           s->c <= CNNS_QWINO5_MAX_C && s->k >= 1;
}

int64_t cnns_qwino5_packed_size(int c, int k) {
    return (int64_t)QWINO5_POINTS * cnns_qwino_padded_c(c) * cnns_qwino_padded_k(k) * 2 +
           (int64_t)cnns_qwino_padded_k(k) * 4;
}

// 2x4 tiles per group (CNNS_QWINO_TILE_GROUP): the group's V (48·6·Cp int16, 18 KiB at Cp = 32) and
// M of one block of 16 columns (48·6·16 int32, 18 KiB) stay in L1 between the transforms and the
// GEMMs, while the weights stream from L2 in the order the GEMMs read them.
enum { QWINO5_GROUP = CNNS_QWINO_TILE_GROUP };

int64_t cnns_qwino5_workspace_size(int c, int k, int tiles) {
    (void)k, (void)tiles;  // one group of 2x4 tiles at a time, whatever the call
    return cnns_qwino_group_workspace_size(QWINO5_POINTS, cnns_qwino_padded_c(c));
}

// The largest |V| at point ξ = 8a + b over x̃ in −64..63: at most 64 times the sums of |coefficients|
// of B₂ᵀ's row a and B₄ᵀ's row b multiplied.
static int64_t vmax(int xi) {
    int64_t ra = 0, rb = 0;
    for (int i = 0; i < 6; i++) ra += abs(cnns_qwino_bt6[xi / 8][i]);
    for (int j = 0; j < 8; j++) rb += abs(qwino5_bt4[xi % 8][j]);
    return 64 * ra * rb;
}

// The int16 step of point ξ's weights: as large as keeps Cp products of |V| ≤ Vmax inside int32.
static int64_t weight_steps(int xi, int Cp) {
    const int64_t b = INT32_MAX / ((int64_t)Cp * vmax(xi));
    return b < 32767 ? b : 32767;
}

void cnns_qwino5_pack(int c, int k, const int8_t *w, int16_t *packed, float *scale) {
    const int Cp = cnns_qwino_padded_c(c), Kp = cnns_qwino_padded_k(k);
    memset(packed, 0, (size_t)cnns_qwino5_packed_size(c, k));
    int32_t *offsets = (int32_t *)qwino5_offsets(packed, Cp, Kp);
    int *u = malloc(sizeof(int) * QWINO5_POINTS * (size_t)c);  // 2160λU of one column, [ci][ξ]
    for (int ko = 0; ko < k; ko++) {
        int64_t sum = 0;
        for (int ci = 0; ci < c; ci++) {
            int g[25];  // 2160λU = (24G₂) g (90G₄)ᵀ
            cnns_qwino_kernel_of(w, 5, c, k, ci, ko, g);
            cnns_qwino_weight_two_sided(5, 6, &qwino5_g2[0][0], 8, &qwino5_g4[0][0], g, u + (long)ci * QWINO5_POINTS);
            for (int tap = 0; tap < 25; tap++) sum += g[tap];
        }
        offsets[ko] = (int32_t)(64 * sum);
        for (int xi = 0; xi < QWINO5_POINTS; xi++) {
            int m = 0;
            for (int ci = 0; ci < c; ci++) {
                const int a = abs(u[(long)ci * QWINO5_POINTS + xi]);
                m = a > m ? a : m;
            }
            const int64_t b = weight_steps(xi, Cp);
            for (int ci = 0; ci < c && m > 0; ci++)
                packed[cnns_qwino_packed_at(QWINO5_POINTS, xi, ci, ko, Cp)] =
                    (int16_t)llround((double)u[(long)ci * QWINO5_POINTS + xi] * (double)b / (double)m);
            const double lambda = qwino5_lambda[xi % 8];
            scale[(long)xi * k + ko] = m > 0 ? (float)((double)m / (2160.0 * lambda * (double)b)) : 0.0f;
        }
    }
    free(u);
}

double cnns_qwino5_error_bound(int c, int k, const float *scale, int ko) {
    const int Cp = cnns_qwino_padded_c(c);
    double worst = 0;
    for (int corner = 0; corner < 8; corner++) {  // output row corner / 4, column corner % 4
        double rounding = 0, magnitude = 0;
        for (int xi = 0; xi < QWINO5_POINTS; xi++) {
            const double a = fabs((double)qwino5_at2[corner / 4][xi / 8] * qwino5_at4[corner % 4][xi % 8]);
            const double s = scale[(long)xi * k + ko];
            rounding += a * 0.5 * s * c * (double)vmax(xi);
            magnitude += a * s * (double)Cp * (double)vmax(xi) * (double)weight_steps(xi, Cp);
        }
        // On its way to y each term is rounded once in the conversion and at most fourteen times in
        // the fused multiply-adds of the two stages: 2^-20 of the terms' magnitudes covers them.
        const double bound = rounding + magnitude * 0x1p-20 + 0.5;
        worst = bound > worst ? bound : worst;
    }
    return worst;
}

// The scalar operations of the references (integers in the input transform, floats in the output).
#define QWINO5_SUB(a, b) ((a) - (b))
#define QWINO5_ADD(a, b) ((a) + (b))
#define QWINO5_F_MUL(a, b) ((a) * (b))
#define QWINO5_F_NEG(a) (-(a))

// V of one channel: the 48 pixels' bytes x (6 rows of 8) -> v[48] = B₂ᵀ x̃ B₄ (integers, |v| ≤ 32000).
static void input_transform_one(const int x[48], int v[48]) {
    cnns_qwino_input_two_sided(6, &cnns_qwino_bt6[0][0], 8, &qwino5_bt4[0][0], x, 64, v);
}

// The float output transform, Y = A₂ᵀ (s ⊙ M) A₄, in one order that the vector builds repeat
// exactly (fused multiply-adds included): per column b of the 6x8 grid, with c_a = float(M[a][b])
// and s_a its scale, o0 = c0s0 + c1s1 + c2s2 + c3s3 + c4s4 and o1 = c1s1 - c2s2 + (2c3)s3 - (2c4)s4
// + c5s5 (A₂ᵀ's two rows, each a chain of fused multiply-adds from its first product); then Y's
// row r, column q = Σ_b A₄ᵀ[q][b]·o_r,b over b = 0..7 in order, each non-zero term a fused
// multiply-add onto a sum that starts at zero (A₄ᵀ's products are exact). FMA(a, b, c) is a·b + c
// rounded once; doubling is exact.
#define QWINO5_OUT_COLUMN(T, c, s, o0, o1, MUL, ADD, FMA, NEG)                                      \
    do {                                                                                          \
        o0 = FMA(c[4], s[4], FMA(c[3], s[3], FMA(c[2], s[2], FMA(c[1], s[1], MUL(c[0], s[0]))))); \
        const T c3x2 = ADD(c[3], c[3]), c4x2 = ADD(c[4], c[4]);                                  \
        o1 = FMA(c[5], s[5], FMA(NEG(c4x2), s[4], FMA(c3x2, s[3], FMA(NEG(c[2]), s[2], MUL(c[1], s[1]))))); \
    } while (0)

// y of one column from its 48 sums m (the transform domain), scales s and offset: Y row-major 2 x 4.
static void output_transform_one(const int32_t m[48], const float s[48], int32_t offset, int32_t out[8]) {
    float y[2][4] = {{0}};
    for (int b = 0; b < 8; b++) {
        float c[6], sc[6], o[2];
        for (int a = 0; a < 6; a++) {
            c[a] = (float)m[a * 8 + b];
            sc[a] = s[a * 8 + b];
        }
        QWINO5_OUT_COLUMN(float, c, sc, o[0], o[1], QWINO5_F_MUL, QWINO5_ADD, fmaf, QWINO5_F_NEG);
        for (int r = 0; r < 2; r++)
            for (int q = 0; q < 4; q++)
                if (qwino5_at4[q][b] != 0.0f) y[r][q] = fmaf(qwino5_at4[q][b], o[r], y[r][q]);
    }
    for (int q = 0; q < 8; q++) out[q] = (int32_t)lrintf(y[q / 4][q % 4]) + offset;
}

// The plain reference: the same transforms one value at a time, the sums in int64 (they fit int32).
void cnns_qwino5_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                             const int16_t *packed, const float *scale, void *work, int32_t *y) {
    (void)work;
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K);
    const int32_t *offsets = qwino5_offsets(packed, Cp, Kp);
    uint8_t full[48 * CNNS_QWINO5_MAX_C];
    int16_t v[CNNS_QWINO5_MAX_C][48];  // |V| ≤ 32000
    for (int i = 0; i < T;) {
        int first;
        const int both =
            cnns_qwino_reference_tile(s, xp, t0, T, &i, &first, 6, 8, input_transform_one, full, &v[0][0]);
        for (int ko = 0; ko < K; ko++) {
            int32_t m[48], out[8];
            float sc[48];
            for (int xi = 0; xi < 48; xi++) {
                int64_t acc = 0;
                for (int ci = 0; ci < C; ci++)
                    acc += (int64_t)v[ci][xi] * packed[cnns_qwino_packed_at(QWINO5_POINTS, xi, ci, ko, Cp)];
                m[xi] = (int32_t)acc;
                sc[xi] = scale[(long)xi * K + ko];
            }
            output_transform_one(m, sc, offsets[ko], out);
            cnns_qwino_store_half(y, first, K, ko, out, 0, pool);
            if (both) cnns_qwino_store_half(y, first + 1, K, ko, out, 1, pool);
        }
    }
}

#if CNNS_X86
#define QWINO5_V_SUB(a, b) _mm256_sub_epi16((a), (b))
#define QWINO5_V_ADD(a, b) _mm256_add_epi16((a), (b))
#define QWINO5_V_TIMES2(a) _mm256_slli_epi16((a), 1)
#define QWINO5_V_TIMES4(a) _mm256_slli_epi16((a), 2)
#define QWINO5_V_MUL(a, k) _mm256_mullo_epi16((a), _mm256_set1_epi16(k))

// One row of the patch times B₄ on 16 channels: x[0..7] the row's bytes widened (not centred) ->
// r[0..7] = x̃ B₄, with B₄ᵀ's rows paired as a ± b. In int16 arithmetic, which wraps, so only the
// results need to fit (|r| ≤ 64·50). Of B₄ᵀ's rows only row 1 sums to non-zero (−18): centring
// adds 64·18 there.
__attribute__((target("avx2"), always_inline)) static inline void row_transform16(const __m256i x[8], __m256i r[8]) {
    const __m256i x3x5 = QWINO5_V_MUL(x[3], 5), x4x5 = QWINO5_V_MUL(x[4], 5);
    r[0] = QWINO5_V_ADD(QWINO5_V_TIMES4(QWINO5_V_SUB(x[6], x[0])), QWINO5_V_MUL(QWINO5_V_SUB(x[2], x[4]), 21));
    r[7] = QWINO5_V_ADD(QWINO5_V_TIMES4(QWINO5_V_SUB(x[7], x[1])), QWINO5_V_MUL(QWINO5_V_SUB(x[3], x[5]), 21));
    // rows 1, 2: a = 4(x2 + x6) − 17x4, b = 4(x1 + x5) − 17x3
    __m256i a = QWINO5_V_SUB(QWINO5_V_TIMES4(QWINO5_V_ADD(x[2], x[6])), QWINO5_V_MUL(x[4], 17));
    __m256i b = QWINO5_V_SUB(QWINO5_V_TIMES4(QWINO5_V_ADD(x[1], x[5])), QWINO5_V_MUL(x[3], 17));
    r[1] = QWINO5_V_ADD(QWINO5_V_ADD(a, b), _mm256_set1_epi16(64 * 18));
    r[2] = QWINO5_V_SUB(a, b);
    // rows 3, 4: a = x2 − 5x4 + 4x6, b = 2(x1 − 5x3 + 4x5)
    a = QWINO5_V_ADD(QWINO5_V_SUB(x[2], x4x5), QWINO5_V_TIMES4(x[6]));
    b = QWINO5_V_TIMES2(QWINO5_V_ADD(QWINO5_V_SUB(x[1], x3x5), QWINO5_V_TIMES4(x[5])));
    r[3] = QWINO5_V_ADD(a, b);
    r[4] = QWINO5_V_SUB(a, b);
    // rows 5, 6: a = 2(4x2 − 5x4 + x6), b = 4x1 − 5x3 + x5
    a = QWINO5_V_TIMES2(QWINO5_V_ADD(QWINO5_V_SUB(QWINO5_V_TIMES4(x[2]), x4x5), x[6]));
    b = QWINO5_V_ADD(QWINO5_V_SUB(QWINO5_V_TIMES4(x[1]), x3x5), x[5]);
    r[5] = QWINO5_V_ADD(a, b);
    r[6] = QWINO5_V_SUB(a, b);
}

// V of one patch (its 48 pixels at px[q]), 16 channels from c0 -> v[ξ·ldv + c0 ..].
__attribute__((target("avx2"))) static void input_transform16(const uint8_t *const *px, int c0, int16_t *v, long ldv) {
    __m256i r[6][8];
    for (int i = 0; i < 6; i++) {
        __m256i x[8];
        for (int j = 0; j < 8; j++)
            x[j] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(px[i * 8 + j] + c0)));
        row_transform16(x, r[i]);
    }
    for (int b = 0; b < 8; b++) {
        __m256i col[6], out[6];
        for (int i = 0; i < 6; i++) col[i] = r[i][b];
        CNNS_QWINO_BT6(__m256i, col, out, QWINO5_V_SUB, QWINO5_V_ADD, QWINO5_V_TIMES2, QWINO5_V_TIMES4);
        for (int a = 0; a < 6; a++) _mm256_storeu_si256((__m256i *)(v + (long)(a * 8 + b) * ldv + c0), out[a]);
    }
}

// V of one patch, channels c0..<Cp one at a time (the tail past whole blocks of 16; the channel
// that pads C to even is zero).
static void input_transform_tail(const uint8_t *const *px, int c0, int C, int Cp, int16_t *v, long ldv) {
    for (int ci = c0; ci < Cp; ci++) {
        int x[48], vv[48];
        for (int q = 0; q < 48; q++) x[q] = ci < C ? px[q][ci] : 64;
        input_transform_one(x, vv);
        for (int q = 0; q < 48; q++) v[(long)q * ldv + ci] = (int16_t)vv[q];
    }
}

// V of one patch, every channel: blocks of 16, then one at a time.
__attribute__((target("avx2"))) static void transform_patch(const uint8_t *const *px, int C, int Cp, int16_t *v,
                                                             long ldv) {
    int c = 0;
    for (; c + 16 <= C; c += 16) input_transform16(px, c, v, ldv);
    input_transform_tail(px, c, C, Cp, v, ldv);
}

// y of 8 columns of one 2x4 tile: its sums at m[ξ·ldm], the scales at sc[ξ·K], the columns'
// offsets (output_transform_one's order, on vectors) -> out[r·4 + q].
#define QWINO5_PS_SUB(a, b) _mm256_sub_ps((a), (b))
#define QWINO5_PS_ADD(a, b) _mm256_add_ps((a), (b))
#define QWINO5_PS_MUL(a, b) _mm256_mul_ps((a), (b))
#define QWINO5_PS_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define QWINO5_PS_NEG(a) _mm256_xor_ps((a), _mm256_set1_ps(-0.0f))
__attribute__((target("avx2,fma"), always_inline)) static inline void output_transform8(const int32_t *m, long ldm,
                                                                                         const float *sc, int K,
                                                                                         __m256i offset,
                                                                                         __m256i out[8]) {
    __m256 y[2][4];
    for (int q = 0; q < 8; q++) y[q / 4][q % 4] = _mm256_setzero_ps();
    _Pragma("clang loop unroll(full)") for (int b = 0; b < 8; b++) {
        __m256 c[6], s[6], o[2];
        for (int a = 0; a < 6; a++) {
            c[a] = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(m + (a * 8 + b) * ldm)));
            s[a] = _mm256_loadu_ps(sc + (long)(a * 8 + b) * K);
        }
        QWINO5_OUT_COLUMN(__m256, c, s, o[0], o[1], QWINO5_PS_MUL, QWINO5_PS_ADD, QWINO5_PS_FMA, QWINO5_PS_NEG);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < 2; r++) {
            _Pragma("clang loop unroll(full)") for (int q = 0; q < 4; q++) {
                if (qwino5_at4[q][b] != 0.0f)
                    y[r][q] = _mm256_fmadd_ps(_mm256_set1_ps(qwino5_at4[q][b]), o[r], y[r][q]);
            }
        }
    }
    for (int q = 0; q < 8; q++) out[q] = _mm256_add_epi32(_mm256_cvtps_epi32(y[q / 4][q % 4]), offset);
}

CNNS_QWINO_GEMM_GROUP(gemm5_group_avx2, __attribute__((target("avx2"))))
CNNS_QWINO_GEMM_GROUP_ZMM(gemm5_group_vnni, __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni"))))

// The transforms around the 48 GEMMs, which `gemm` computes (AVX2 or VNNI), a group of 2x4 tiles
// at a time and, within it, a block of 16 columns at a time.
__attribute__((target("avx2,fma"))) static void qwino5_x86(cnns_qwino_gemm_group_fn gemm, const cnns_qwino_shape *s,
                                                        const uint8_t *xp, long t0, int T, int pool,
                                                        const int16_t *packed, const float *scale, void *work,
                                                        int32_t *y) {
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K);
    const int32_t *offsets = qwino5_offsets(packed, Cp, Kp);
    int16_t *v;
    int32_t *m;
    long ldv, ldm;
    cnns_qwino_group_workspace(QWINO5_POINTS, Cp, work, &v, &ldv, &m, &ldm);
    uint8_t full[48 * CNNS_QWINO5_MAX_C];
    const int pairs = Cp / 2;
    for (int i = 0; i < T;) {
        // 1. The group's 2x4 tiles and the input transform: V[ξ][g][c].
        int first[QWINO5_GROUP], both[QWINO5_GROUP];
        const int G = cnns_qwino_transform_group(s, xp, t0, T, &i, 6, 8, transform_patch, full, v, ldv, first, both);
        for (int kb = 0; kb < Kp / 16; kb++) {
            // 2. 48 GEMMs: M[ξ][g][16 columns] = Σ pairs V[ξ][g][pair] · Uq[ξ][pair][columns].
            gemm(QWINO5_POINTS, pairs, v, Cp, ldv, G, packed + (long)kb * QWINO5_POINTS * pairs * 32,
                 (long)pairs * 32, m, 16, ldm);
            // 3. Output transform on floats, rounded, plus the offsets: y, or the maximum of each 2x2.
            const int k0 = kb * 16, k1 = K < k0 + 16 ? K : k0 + 16, k8 = k0 + (k1 - k0) / 8 * 8;
            for (int g = 0; g < G; g++) {
                for (int k = k0; k < k8; k += 8) {
                    __m256i out[8];
                    output_transform8(m + (long)g * 16 + (k - k0), ldm, scale + k, K,
                                      _mm256_loadu_si256((const __m256i *)(offsets + k)), out);
                    cnns_qwino_store_pair8(y, first[g], both[g], K, k, out, pool);
                }
                for (int k = k8; k < k1; k++) {
                    int32_t mm[48], out[8];
                    float sc[48];
                    for (int q = 0; q < 48; q++) {
                        mm[q] = m[(long)q * ldm + (long)g * 16 + (k - k0)];
                        sc[q] = scale[(long)q * K + k];
                    }
                    output_transform_one(mm, sc, offsets[k], out);
                    cnns_qwino_store_half(y, first[g], K, k, out, 0, pool);
                    if (both[g]) cnns_qwino_store_half(y, first[g] + 1, K, k, out, 1, pool);
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
