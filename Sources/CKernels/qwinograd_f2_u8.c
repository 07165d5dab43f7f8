// Int8 convolution by Winograd F(2x2,3x3) with an 8-bit transform domain (3x3 or 5x5 kernels,
// stride 1), for vpdpbusd (AVX-512 VNNI): four u8·s8 products a 32-bit lane, twice the 16-bit kernel's
// (qwinograd_f2.c) multiply-adds an instruction, at the price of rounding both transforms:
//   xp: the quantised input (0..127) with its padding written in, as for cnns_qwino_u7s8; tiles
//       t0..<t0+T of the tiles_y x tiles_x grid per image (4x4 patch at padded row 2i, column 2j;
//       for a 5x5 kernel four of them, at offsets 0 and 2 in each direction)
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum: the direct convolution's sums to within cnns_qwino8_error_bound.
// With G' = 2G every transform has integer coefficients (as in qwinograd_f2.c):
//   V  = Bᵀ d B: every point but one is two pixels minus two others (|V| ≤ 254); the point (1, 1)
//        is the sum of four (0..508)
//   V' = ⌈P/2⌉ − ⌈N/2⌉, P and N the sums of V's positive and negative terms, each halved and rounded
//        up on its own (so |V − 2V'| ≤ 1, and the two roundings cancel on average): -127..127 (0..254
//        at (1, 1)), stored as V' + off(ξ) in a byte, off = 128 where V may be negative, else 0.
//        On bytes: ⌈(a + b)/2⌉ is vpavgb, and (1, 1)'s pair sums fit a byte, so the transform runs
//        64 channels an instruction with no widening.
//   U  = G' g G'ᵀ (|U| ≤ 9·127), U' = round(127 · U / m_k) in -127..127, m_k = max over ξ and c of |U|
//   M  = Σ_c (V' + off) · U'  (int32: 16 GEMMs [T x C4] · [C4 x K] on byte quads, vpdpbusd)
//   Y  = Aᵀ M A − Aᵀ (off · Σ_c U') A   (int32, exact: the second term is packed per corner and column)
//   y  = round(float(Y) · m_k / 254)    (4·sum = Aᵀ(V ⊙ U)A ≈ Aᵀ(2V' ⊙ U'·m_k/127)A = Y · m_k/63.5)
// The direct sums need 36 byte multiply-adds per 2x2 tile and channel; this needs 16.
// A 5x5 kernel is four 3x3 sub-kernels at offsets (0,0), (0,2), (2,0) and (2,2), the offset-2 ones
// without their first row or column (taps 2 belong to the offset-0 ones): its tile is the sum of
// four F(2x2,3x3) tiles of the patches at those offsets, so the sub-kernels are four blocks of
// channels of one GEMM (4·C channels), and the output transform is still one: 64 byte multiply-adds
// per tile and channel instead of 100, with the 3x3 kernel's rounding (F(2x2,5x5)'s own input
// transform reaches 68·127, too wide for a byte). Offset 2 is one tile of the grid, so a tile's
// patches at (0,2), (2,0) and (2,2) are the offset-0 patches of the tiles right, below and
// below-right of it: the vector build transforms each patch of a grid extended by one row and
// column per image once, and the sub-kernels' rows of the GEMM point into that.
#include "qwino_common.h"
#include <math.h>
#include <stdlib.h>

// The float operations are written out in the same order in the reference and the vector build.
#pragma clang fp contract(off)

// Channels padded to whole quads (vpdpbusd's four bytes), columns to whole blocks of 16.
static inline int q8_padded_c(int c) { return (c + 3) / 4 * 4; }

// Where transformed weight (ξ, ci, ko) lies: per point, per channel quad, the Kp columns' quads.
static inline long q8_packed_at(int xi, int ci, int ko, int Cq, int Kp) {
    return (((long)xi * (Cq / 4) + ci / 4) * Kp + ko) * 4 + ci % 4;
}

// Whether point ξ = 4a + b may have V < 0: every point but (1, 1), whose rows of Bᵀ are both [0 1 1 0].
static inline int q8_offset(int xi) { return xi == 5 ? 0 : 128; }

// Aᵀ's coefficient of corner q (row q/2, column q%2) at point ξ (row ξ/4, column ξ%4).
static const int q8_at[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
static inline int q8_a(int q, int xi) { return q8_at[q / 2][xi / 4] * q8_at[q % 2][xi % 4]; }

int cnns_qwino8_fits(const cnns_conv_shape *s) {
    const int three = s->r == 3 && s->s == 3, five = s->r == 5 && s->s == 5;
    return (three || five) && s->stride_h == 1 && s->stride_w == 1 && s->c >= 1 &&
           s->c <= (three ? CNNS_QWINO8_MAX_C : CNNS_QWINO8_MAX_C / 4) && s->k >= 1;
}

// The 3x3 sub-kernels of an r x r kernel (1 or 4), and sub-kernel j's offset in it.
static inline int q8_subs(int r) { return r == 5 ? 4 : 1; }
static inline int q8_sub_dy(int j) { return 2 * (j / 2); }
static inline int q8_sub_dx(int j) { return 2 * (j % 2); }

// The transform grid of the vector build: the tile grid for a 3x3 kernel; for a 5x5 one, the tile
// grid with one more row and column per image, whose patch (i, j) is at padded row 2i, column 2j.
static inline int q8_grid_h(const cnns_qwino_shape *s, int r) { return s->tiles_y + (r == 5); }
static inline int q8_grid_w(const cnns_qwino_shape *s, int r) { return s->tiles_x + (r == 5); }
static inline long q8_grid_of(const cnns_qwino_shape *s, int r, long t) {
    long n;
    int i, j;
    cnns_qwino_tile_of(s, t, &n, &i, &j);
    return (n * q8_grid_h(s, r) + i) * q8_grid_w(s, r) + j;
}
// Sub-kernel j's patch of tile t is grid entry q8_grid_of(t) + this.
static inline long q8_sub_step(const cnns_qwino_shape *s, int r, int j) {
    return (long)(q8_sub_dy(j) / 2) * q8_grid_w(s, r) + q8_sub_dx(j) / 2;
}
// The most grid entries T consecutive tiles reach (from the first tile's entry to the last one's
// last sub-kernel's): a step to the next tile moves one entry, a new row of tiles one more, a new
// image tiles_x + 1 more again.
static inline long q8_grid_span(const cnns_qwino_shape *s, int r, int T) {
    const long tx = s->tiles_x, per = tx * s->tiles_y;
    if (r != 5 || T < 1 || per < 1) return T;
    const long rows = (T - 1 + tx - 1) / tx, images = (T - 1 + per - 1) / per;
    return (T - 1) + rows + images * (tx + 1) + q8_sub_step(s, r, 3) + 1;
}

int64_t cnns_qwino8_packed_size(int c, int k, int r) {
    return (int64_t)16 * q8_subs(r) * q8_padded_c(c) * cnns_qwino_padded_k(k);
}

enum { Q8_ROWS = 6, Q8_COLS = 64 };  // tiles per group (the GEMM's rows), columns per GEMM pass

int64_t cnns_qwino8_workspace_size(const cnns_qwino_shape *s, int r, int tiles) {
    // V' [16][span·Cq + 64] bytes (span: the grid entries of `tiles` tiles), then M [16][ROWS·COLS + 16]
    // int32 (64-byte aligned after V').
    const int64_t v = ((int64_t)16 * (q8_grid_span(s, r, tiles) * q8_padded_c(s->c) + 64) + 63) / 64 * 64;
    return v + (int64_t)16 * (Q8_ROWS * Q8_COLS + 16) * 4;
}

// U = G' g G'ᵀ of sub-kernel j (of an r x r kernel w, HWIO), channel ci, column ko: u[16] (integers).
static void weight_transform(const int8_t *w, int r, int c, int k, int j, int ci, int ko, int u[16]) {
    int g[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const int row = q8_sub_dy(j) + a, col = q8_sub_dx(j) + b;
            const int own = (a > 0 || q8_sub_dy(j) == 0) && (b > 0 || q8_sub_dx(j) == 0);
            g[a][b] = own && row < r && col < r ? w[((long)(row * r + col) * c + ci) * k + ko] : 0;
        }
    cnns_qwino_weight_transform(g, u);
}

// m_k: the largest |U| of column ko over the sub-kernels, points and channels.
static int weight_range(const int8_t *w, int r, int c, int k, int ko) {
    int m = 0;
    for (int j = 0; j < q8_subs(r); j++)
        for (int ci = 0; ci < c; ci++) {
            int u[16];
            weight_transform(w, r, c, k, j, ci, ko, u);
            for (int xi = 0; xi < 16; xi++) m = abs(u[xi]) > m ? abs(u[xi]) : m;
        }
    return m;
}

// Sub-kernel j's channels are channels j·Cq.. of the packed GEMM (Cq4 = subs·Cq channels in all).
void cnns_qwino8_pack(int c, int k, int r, const int8_t *w, int8_t *packed, int32_t *comp, float *scale) {
    const int Cq = q8_padded_c(c), Kp = cnns_qwino_padded_k(k), Cq4 = q8_subs(r) * Cq;
    memset(packed, 0, (size_t)cnns_qwino8_packed_size(c, k, r));
    memset(comp, 0, sizeof(int32_t) * 4 * (size_t)Kp);
    for (int ko = 0; ko < k; ko++) {
        const int m = weight_range(w, r, c, k, ko);
        scale[ko] = m > 0 ? (float)((double)m / 254.0) : 0.0f;
        int64_t sums[16] = {0};  // Σ_c U' per point
        for (int j = 0; j < q8_subs(r) && m > 0; j++)
            for (int ci = 0; ci < c; ci++) {
                int u[16];
                weight_transform(w, r, c, k, j, ci, ko, u);
                for (int xi = 0; xi < 16; xi++) {
                    const int uq = (int)lrint(127.0 * u[xi] / m);
                    packed[q8_packed_at(xi, j * Cq + ci, ko, Cq4, Kp)] = (int8_t)uq;
                    sums[xi] += uq;
                }
            }
        for (int q = 0; q < 4; q++) {
            int64_t acc = 0;
            for (int xi = 0; xi < 16; xi++) acc += (int64_t)q8_a(q, xi) * q8_offset(xi) * sums[xi];
            comp[q * Kp + ko] = (int32_t)acc;
        }
    }
}

double cnns_qwino8_error_bound(int c, int k, int r, const int8_t *w, int ko) {
    const int m = weight_range(w, r, c, k, ko);
    if (m == 0) return 0.5;
    double worst = 0;
    for (int q = 0; q < 4; q++) {
        // With Y the exact integer before scaling: 4·|sum − Y·m/254| ≤ Σ_ξ |A| Σ_c (|V − 2V'|·|U| +
        // 2|V'|·|U − U'·m/127|), where |V − 2V'| ≤ 1 and |U − U'·m/127| ≤ m/254; then the float
        // rounding of Y·m/254 (|Y| ≤ Σ 255·127 over the terms) and the final 0.5.
        double err = 0, magnitude = 0;
        for (int j = 0; j < q8_subs(r); j++)
            for (int ci = 0; ci < c; ci++) {
                int u[16];
                weight_transform(w, r, c, k, j, ci, ko, u);
                for (int xi = 0; xi < 16; xi++) {
                    if (q8_a(q, xi) == 0) continue;
                    const double vmax = xi == 5 ? 254 : 127;
                    err += abs(u[xi]) + 2 * vmax * m / 254.0;
                    magnitude += 255.0 * 127.0;
                }
            }
        const double bound = err / 4 + magnitude * (m / 254.0) * 0x1p-22 + 0.5;
        worst = bound > worst ? bound : worst;
    }
    return worst;
}

// Bᵀ of F(2x2,3x3): row a's coefficients of the patch's rows (and, as B, of its columns).
static const int q8_bt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};

// V' + off of one channel's 4x4 patch x[16] -> v[16] (bytes): V' = ⌈P/2⌉ − ⌈N/2⌉ of V = Bᵀ x B's
// positive terms P and negative terms N.
static void input_transform_one(const int x[16], uint8_t v[16]) {
    for (int xi = 0; xi < 16; xi++) {
        int plus = 0, minus = 0;
        for (int p = 0; p < 16; p++) {
            const int coefficient = q8_bt[xi / 4][p / 4] * q8_bt[xi % 4][p % 4];
            if (coefficient > 0) plus += x[p];
            if (coefficient < 0) minus += x[p];
        }
        v[xi] = (uint8_t)((plus + 1) / 2 - (minus + 1) / 2 + q8_offset(xi));
    }
}

// y of one tile and column from its 16 sums (offsets included), the corners' compensation and the scale.
static void output_transform_one(const int64_t m[16], const int32_t comp[4], float scale, int32_t out[4]) {
    for (int q = 0; q < 4; q++) {
        int64_t acc = 0;
        for (int xi = 0; xi < 16; xi++) acc += (int64_t)q8_a(q, xi) * m[xi];
        out[q] = (int32_t)lrintf((float)(int32_t)(acc - comp[q]) * scale);
    }
}

// The plain reference: the same rounded transforms one value at a time, the sums in int64.
void cnns_qwino8_u7s8_scalar(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                             const int8_t *packed, const int32_t *comp, const float *scale, void *work, int32_t *y) {
    (void)work;
    const int C = s->c, K = s->k, Cq = q8_padded_c(C), Kp = cnns_qwino_padded_k(K), subs = q8_subs(r);
    uint8_t(*v)[16] = malloc(sizeof(uint8_t[16]) * (size_t)C * subs);  // v[j·C + ci]
    uint8_t d[16 * CNNS_QWINO8_MAX_C];
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < subs; j++) {
            cnns_qwino_patch_of(s, xp, t0 + t, 4, 4, q8_sub_dy(j), q8_sub_dx(j), d);
            for (int ci = 0; ci < C; ci++) {
                int x[16];
                for (int q = 0; q < 16; q++) x[q] = d[q * C + ci];
                input_transform_one(x, v[j * C + ci]);
            }
        }
        for (int ko = 0; ko < K; ko++) {
            int64_t m[16] = {0};
            for (int xi = 0; xi < 16; xi++)
                for (int j = 0; j < subs; j++)
                    for (int ci = 0; ci < C; ci++)
                        m[xi] += (int64_t)v[j * C + ci][xi] * packed[q8_packed_at(xi, j * Cq + ci, ko, subs * Cq, Kp)];
            const int32_t cq[4] = {comp[ko], comp[Kp + ko], comp[2 * Kp + ko], comp[3 * Kp + ko]};
            int32_t out[4];
            output_transform_one(m, cq, scale[ko], out);
            cnns_qwino_store_tile(y, t, K, ko, out, pool);
        }
    }
    free(v);
}

#if CNNS_X86
#define Q8_TARGET __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

// The positive and the negative pixel pairs of V = Bᵀ d B at each point (pixel 4·row + column); at (1, 1)
// all four are positive.
static const int8_t q8_pairs[16][4] = {{0, 10, 2, 8}, {1, 2, 9, 10}, {2, 9, 1, 10},  {1, 11, 3, 9},
                                       {4, 8, 6, 10}, {5, 6, 9, 10}, {6, 10, 5, 9},  {5, 9, 7, 11},
                                       {8, 6, 10, 4}, {9, 10, 5, 6}, {10, 5, 9, 6},  {9, 7, 11, 5},
                                       {4, 14, 6, 12}, {5, 6, 13, 14}, {6, 13, 5, 14}, {5, 15, 7, 13}};

// V' + off of one patch (its 16 pixels at px[q]), W = 64 or 32 channels from c0 (`load`: the channels
// that exist, the missing ones as for zero pixels) -> v[ξ·ldv + c0 ..] (bytes, all W stored: a masked
// store is slow on AMD, and what lies past the row's Cq channels is overwritten by the next entry's
// or falls in the plane's padding). ⌈(a+b)/2⌉ is vpavgb; at (1, 1) the pairs' sums (≤ 254) fit a byte.
// Both loops unroll fully, so q8_pairs' indices are constants and the 16 pixel vectors stay in registers
// (indexed at run time they went through the stack: the 5x5 layer ran 8-10% slower).
#define Q8_INPUT_TRANSFORM(W, BITS, VEC, MASK, P)                                                               \
    Q8_TARGET static inline void input_transform##W(const uint8_t *const *px, int c0, MASK load, uint8_t *v,    \
                                                    long ldv) {                                                 \
        VEC x[16];                                                                                              \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < 16; q++) x[q] =                                 \
            P##_maskz_loadu_epi8(load, px[q] + c0);                                                             \
        const VEC off = P##_set1_epi8((char)0x80);                                                              \
        _Pragma("clang loop unroll(full)") for (int xi = 0; xi < 16; xi++) {                                    \
            const int8_t *pq = q8_pairs[xi];                                                                    \
            VEC h;                                                                                              \
            if (xi == 5) {                                                                                      \
                h = P##_avg_epu8(P##_add_epi8(x[5], x[6]), P##_add_epi8(x[9], x[10]));                          \
            } else { /* ⌈P/2⌉ + 128 − ⌈N/2⌉: 1..255, no wrap */                                                \
                const VEC p = P##_xor_si##BITS(P##_avg_epu8(x[pq[0]], x[pq[1]]), off);                         \
                h = P##_sub_epi8(p, P##_avg_epu8(x[pq[2]], x[pq[3]]));                                          \
            }                                                                                                   \
            P##_storeu_si##BITS((void *)(v + (long)xi * ldv + c0), h);                                         \
        }                                                                                                       \
    }
Q8_INPUT_TRANSFORM(64, 512, __m512i, __mmask64, _mm512)
Q8_INPUT_TRANSFORM(32, 256, __m256i, __mmask32, _mm256)
// Mask of the first n (≤ 64) of 64 lanes.
static inline __mmask64 q8_lanes(int n) { return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1; }

// m[rows x NB·16 columns] (row stride ldm) = Σ over sub-kernels j = on[0..<subs] and their `quads`
// channel quads of row r's quad (at v + row[r] + step[j]) times the packed quads of NB blocks of 16
// columns (w: a quad's columns ldw bytes apart, sub-kernel j's quads from quad j·quads); rows past
// `rows` repeat the last and are not stored. (The rows' offsets come from an array written once per
// group: pointers written just before, per plane, and read back here stalled every call.)
#define Q8_GEMM(NB)                                                                                           \
    Q8_TARGET static void gemm_##NB(int subs, const int *on, const long *step, int quads, const uint8_t *v,   \
                                    const long *row, int rows, const int8_t *w, long ldw, int32_t *m,         \
                                    long ldm) {                                                               \
        __m512i c[Q8_ROWS][NB];                                                                               \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++)                                  \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) c[r][j] = _mm512_setzero_si512(); \
        for (int k = 0; k < subs; k++) {                                                                      \
            const int sub = on[k];                                                                            \
            const uint8_t *a[Q8_ROWS];                                                                        \
            for (int r = 0; r < Q8_ROWS; r++) a[r] = v + row[r < rows ? r : rows - 1] + step[sub];            \
            const int8_t *ws = w + (long)sub * quads * ldw;                                                   \
            for (int p = 0; p < quads; p++) {                                                                 \
                __m512i b[NB];                                                                                \
                _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) b[j] =                        \
                    _mm512_loadu_si512((const void *)(ws + (long)p * ldw + 64 * j));                          \
                _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++) {                        \
                    int32_t q;                                                                                \
                    memcpy(&q, a[r] + 4 * p, 4);                                                              \
                    const __m512i x = _mm512_set1_epi32(q);                                                   \
                    _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) c[r][j] =                 \
                        _mm512_dpbusd_epi32(c[r][j], x, b[j]);                                                \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++) {                                \
            if (r < rows) {                                                                                   \
                _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++)                               \
                    _mm512_storeu_si512((void *)(m + r * ldm + 16 * j), c[r][j]);                             \
            }                                                                                                 \
        }                                                                                                     \
    }
Q8_GEMM(4)
Q8_GEMM(2)
Q8_GEMM(1)

// y of one tile, 16 columns from k (`mask`: those that exist): its sums at m16[ξ], the corners'
// compensation at comp[q·Kp], the scales.
Q8_TARGET static inline void output_transform16(const int32_t *const *m16, const int32_t *comp, long Kp,
                                                const float *scale, __mmask16 mask, int32_t *y, long t, int K,
                                                int k, int pool) {
    __m512i o[2][4];
    for (int b = 0; b < 4; b++) {
        const __m512i m0 = _mm512_loadu_si512((const void *)m16[b]), m1 = _mm512_loadu_si512((const void *)m16[4 + b]),
                      m2 = _mm512_loadu_si512((const void *)m16[8 + b]),
                      m3 = _mm512_loadu_si512((const void *)m16[12 + b]);
        o[0][b] = _mm512_add_epi32(_mm512_add_epi32(m0, m1), m2);
        o[1][b] = _mm512_sub_epi32(_mm512_sub_epi32(m1, m2), m3);
    }
    const __m512 sc = _mm512_maskz_loadu_ps(mask, scale + k);
    __m512i out[4];
    for (int a = 0; a < 2; a++) {
        const __m512i y0 = _mm512_add_epi32(_mm512_add_epi32(o[a][0], o[a][1]), o[a][2]);
        const __m512i y1 = _mm512_sub_epi32(_mm512_sub_epi32(o[a][1], o[a][2]), o[a][3]);
        const __m512i c0 = _mm512_loadu_si512((const void *)(comp + (2 * a) * Kp + k));
        const __m512i c1 = _mm512_loadu_si512((const void *)(comp + (2 * a + 1) * Kp + k));
        out[2 * a] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(y0, c0)), sc));
        out[2 * a + 1] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(y1, c1)), sc));
    }
    if (pool) {
        const __m512i mx = _mm512_max_epi32(_mm512_max_epi32(out[0], out[1]), _mm512_max_epi32(out[2], out[3]));
        _mm512_mask_storeu_epi32(y + t * K + k, mask, mx);
    } else {
        for (int q = 0; q < 4; q++) _mm512_mask_storeu_epi32(y + (t * 4 + q) * K + k, mask, out[q]);
    }
}

// The pixels of grid entry (n, i, j)'s patch: tile (n, i', j')'s patch at offset (2(i − i'), 2(j − j')),
// i' and j' the last tile row and column at or before i and j.
static void grid_pixels(const cnns_qwino_shape *s, const uint8_t *xp, long n, int i, int j, uint8_t *full,
                        const uint8_t **px) {
    const int ti = i < s->tiles_y ? i : s->tiles_y - 1, tj = j < s->tiles_x ? j : s->tiles_x - 1;
    cnns_qwino_patch_pixels_at(s, xp, n, ti, tj, 4, 4, 2 * (i - ti), 2 * (j - tj), full, px);
}

// A walk over consecutive places of an h x w grid per image, (n, i, j) kept as it goes so that no step
// divides (each tile's and entry's place had taken six 64-bit divisions: 1-5% of a lab layer's time).
typedef struct {
    long n;
    int i, j, h, w;
} q8_walk;
static inline q8_walk q8_walk_from(long at, int h, int w) {
    q8_walk k = {0, 0, 0, h, w};
    cnns_qwino_place_of(at, h, w, &k.n, &k.i, &k.j);
    return k;
}
static inline void q8_walk_next(q8_walk *k) {
    if (++k->j < k->w) return;
    k->j = 0;
    if (++k->i < k->h) return;
    k->i = 0;
    k->n++;
}

Q8_TARGET static void qwino8_vnni(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                                  const int8_t *packed, const int32_t *comp, const float *scale, void *work,
                                  int32_t *y) {
    const int C = s->c, K = s->k, Cq = q8_padded_c(C), Kp = cnns_qwino_padded_k(K), subs = q8_subs(r);
    const int quads = Cq / 4, allQuads = subs * quads;
    // Plane strides padded by a cache line, so the 16 planes of one entry do not share an L1 set.
    const long e0 = q8_grid_of(s, r, t0), ldv = q8_grid_span(s, r, T) * Cq + 64;
    const long ldm = Q8_ROWS * Q8_COLS + 16;
    uint8_t *v = (uint8_t *)work;
    int32_t *m = (int32_t *)((char *)work + (16 * ldv + 63) / 64 * 64);
    uint8_t full[16 * CNNS_QWINO8_MAX_C];
    long step[4], done = 0;  // entries transformed so far
    for (int j = 0; j < subs; j++) step[j] = q8_sub_step(s, r, j) * Cq;
    // The sub-kernels whose U is not zero at point ξ: an offset-2 one has no first row (U's row 0 is 0)
    // or column (U's column 0): 49 of the 64 blocks of a 5x5 layer's GEMMs.
    int active[16], which[16][4];
    for (int xi = 0; xi < 16; xi++) {
        active[xi] = 0;
        for (int j = 0; j < subs; j++)
            if (!(q8_sub_dy(j) > 0 && xi / 4 == 0) && !(q8_sub_dx(j) > 0 && xi % 4 == 0)) which[xi][active[xi]++] = j;
    }
    const int gh = q8_grid_h(s, r), gw = q8_grid_w(s, r);
    q8_walk tile = q8_walk_from(t0, s->tiles_y, s->tiles_x), entry = q8_walk_from(e0, gh, gw);
    for (int g0 = 0; g0 < T; g0 += Q8_ROWS) {
        const int G = T - g0 < Q8_ROWS ? T - g0 : Q8_ROWS;
        long row[Q8_ROWS];  // the group's tiles' entries, from e0, in bytes
        for (int t = 0; t < G; t++, q8_walk_next(&tile))
            row[t] = (((tile.n * gh + tile.i) * gw + tile.j) - e0) * Cq;
        // 1. Input transform of the grid entries the group reaches that are not yet done, in order (the
        //    entries of a few tiles stay in L1 between their transform and their GEMMs):
        //    V'[ξ][e − e0][c] + off (channels C..Cq-1 as for zero pixels).
        const long reach = row[G - 1] / Cq + q8_sub_step(s, r, subs - 1) + 1;
        for (; done < reach; done++, q8_walk_next(&entry)) {
            const uint8_t *px[16];
            grid_pixels(s, xp, entry.n, entry.i, entry.j, full, px);
            for (int c = 0; c < Cq; c += Cq - c > 32 ? 64 : 32) {
                if (Cq - c > 32)
                    input_transform64(px, c, q8_lanes(C - c), v + done * Cq, ldv);
                else
                    input_transform32(px, c, (__mmask32)q8_lanes(C - c), v + done * Cq, ldv);
            }
        }
        // 2. Per pass of up to 64 columns: 16 GEMMs, then the output transform of those columns.
        for (int k0 = 0; k0 < Kp; k0 += Q8_COLS) {
            const int blocks = (Kp - k0) / 16 < 4 ? (Kp - k0) / 16 : 4;
            for (int xi = 0; xi < 16; xi++) {
                const int8_t *w = packed + ((long)xi * allQuads * Kp + k0) * 4;
                int32_t *mx = m + (long)xi * ldm;
                const uint8_t *vx = v + (long)xi * ldv;
                int j = 0;
                const int n = active[xi], *on = which[xi];
                const long ldw = 4L * Kp;
                if (blocks == 4) gemm_4(n, on, step, quads, vx, row, G, w, ldw, mx, Q8_COLS), j = 4;
                if (blocks - j >= 2)
                    gemm_2(n, on, step, quads, vx, row, G, w + 64 * j, ldw, mx + 16 * j, Q8_COLS), j += 2;
                if (blocks - j >= 1) gemm_1(n, on, step, quads, vx, row, G, w + 64 * j, ldw, mx + 16 * j, Q8_COLS);
            }
            for (int t = 0; t < G; t++) {
                for (int j = 0; j < blocks; j++) {
                    const int k = k0 + 16 * j;
                    if (k >= K) break;
                    const int n = K - k < 16 ? K - k : 16;
                    const int32_t *m16[16];
                    for (int q = 0; q < 16; q++) m16[q] = m + (long)q * ldm + (long)t * Q8_COLS + 16 * j;
                    output_transform16(m16, comp, Kp, scale, (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1), y,
                                       g0 + t, K, k, pool);
                }
            }
        }
    }
}
#endif

void cnns_qwino8_u7s8_avx512vnni(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                                 const int8_t *packed, const int32_t *comp, const float *scale, void *work,
                                 int32_t *y) {
#if CNNS_X86
    qwino8_vnni(s, r, xp, t0, T, pool, packed, comp, scale, work, y);
#else
    cnns_qwino8_u7s8_scalar(s, r, xp, t0, T, pool, packed, comp, scale, work, y);
#endif
}
