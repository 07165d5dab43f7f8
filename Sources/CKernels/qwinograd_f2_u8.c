// Int8 convolution by Winograd F(2x2,3x3) with an 8-bit transform domain (3x3 or 5x5 kernels,
// stride 1), for vpdpbusd (AVX-512 VNNI): four u8·s8 products a 32-bit lane, twice the 16-bit kernel's
// (qwinograd_f2.c) multiply-adds an instruction, at the price of rounding both transforms:
//   xp: the quantised input (0..127) with its padding written in, as for cnns_qwino_u7s8; tiles
//       t0..<t0+T of the tiles_y x tiles_x grid per image (4x4 patch at padded row 2i, column 2j;
//       for a 5x5 kernel four of them, at offsets 0 and 3 in each direction)
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum: the direct convolution's sums to within cnns_qwino8_error_bound.
// With G' = 2G every transform has integer coefficients (as in qwinograd_f2.c):
//   V  = Bᵀ d B  (|V| ≤ 254, and 0 ≤ V ≤ 508 at the one point whose coefficients are all +1)
//   V' = V / 2 rounded half to even: -127..127 (0..254 at that point), stored as V' + off(ξ) in a
//        byte, off = 128 where V may be negative, else 0
//   U  = G' g G'ᵀ (|U| ≤ 9·127), U' = round(127 · U / m_k) in -127..127, m_k = max over ξ and c of |U|
//   M  = Σ_c (V' + off) · U'  (int32: 16 GEMMs [T x C4] · [C4 x K] on byte quads, vpdpbusd)
//   Y  = Aᵀ M A − Aᵀ (off · Σ_c U') A   (int32, exact: the second term is packed per corner and column)
//   y  = round(float(Y) · m_k / 254)    (4·sum = Aᵀ(V ⊙ U)A ≈ Aᵀ(2V' ⊙ U'·m_k/127)A = Y · m_k/63.5)
// The direct sums need 36 byte multiply-adds per 2x2 tile and channel; this needs 16.
// A 5x5 kernel, padded to 6x6 with zeros, is four 3x3 sub-kernels at offsets (0,0), (0,3), (3,0)
// and (3,3): its tile is the sum of four F(2x2,3x3) tiles of the patches at those offsets, so the
// sub-kernels are four blocks of channels of one GEMM (4·C channels), and the output transform is
// still one: 64 byte multiply-adds per tile and channel instead of 100, with the 3x3 kernel's
// rounding (F(2x2,5x5)'s own input transform reaches 68·127, too wide for a byte).
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

// The 3x3 sub-kernels of an r x r kernel (1 or 4), and sub-kernel j's offset in the padded 6x6 one.
static inline int q8_subs(int r) { return r == 5 ? 4 : 1; }
static inline int q8_sub_dy(int j) { return 3 * (j / 2); }
static inline int q8_sub_dx(int j) { return 3 * (j % 2); }

int64_t cnns_qwino8_packed_size(int c, int k, int r) {
    return (int64_t)16 * q8_subs(r) * q8_padded_c(c) * cnns_qwino_padded_k(k);
}

enum { Q8_ROWS = 6, Q8_COLS = 64 };  // tiles per group (the GEMM's rows), columns per GEMM pass

int64_t cnns_qwino8_workspace_size(int c, int k, int r, int tiles) {
    (void)k, (void)tiles;
    // V' [16][ROWS·subs·Cq + 64] bytes, then M [16][ROWS·COLS + 16] int32 (64-byte aligned after V').
    const int64_t v = ((int64_t)16 * (Q8_ROWS * q8_subs(r) * q8_padded_c(c) + 64) + 63) / 64 * 64;
    return v + (int64_t)16 * (Q8_ROWS * Q8_COLS + 16) * 4;
}

// U = G' g G'ᵀ of sub-kernel j (of an r x r kernel w, HWIO), channel ci, column ko: u[16] (integers).
static void weight_transform(const int8_t *w, int r, int c, int k, int j, int ci, int ko, int u[16]) {
    int g[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const int row = q8_sub_dy(j) + a, col = q8_sub_dx(j) + b;
            g[a][b] = row < r && col < r ? w[((long)(row * r + col) * c + ci) * k + ko] : 0;
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

// V' + off of one channel's 4x4 patch x[16] -> v[16] (bytes), V' = V/2 rounded half to even.
static void input_transform_one(const int x[16], uint8_t v[16]) {
    int r[16];
    for (int b = 0; b < 4; b++) {  // r = Bᵀ x
        r[0 + b] = x[0 + b] - x[8 + b];
        r[4 + b] = x[4 + b] + x[8 + b];
        r[8 + b] = x[8 + b] - x[4 + b];
        r[12 + b] = x[4 + b] - x[12 + b];
    }
    for (int a = 0; a < 4; a++) {  // V = r B
        const int *ra = r + 4 * a;
        const int vv[4] = {ra[0] - ra[2], ra[1] + ra[2], ra[2] - ra[1], ra[1] - ra[3]};
        for (int b = 0; b < 4; b++) {
            const int V = vv[b], half = (V + ((V >> 1) & 1)) >> 1;  // arithmetic shifts: half to even
            v[4 * a + b] = (uint8_t)(half + q8_offset(4 * a + b));
        }
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
            cnns_qwino_patch_of(s, xp, t0 + t, 4, q8_sub_dy(j), q8_sub_dx(j), d);
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

// V' + off of one patch (its 16 pixels at px[q]), 32 channels from c0 (`mask`: the channels that
// exist) -> v[ξ·ldv + c0 ..] (bytes).
Q8_TARGET static inline void input_transform32(const uint8_t *const *px, int c0, __mmask32 mask, uint8_t *v,
                                               long ldv) {
    __m512i x[16], r[16];
    for (int q = 0; q < 16; q++) x[q] = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, px[q] + c0));
    for (int b = 0; b < 4; b++) {
        r[0 + b] = _mm512_sub_epi16(x[0 + b], x[8 + b]);
        r[4 + b] = _mm512_add_epi16(x[4 + b], x[8 + b]);
        r[8 + b] = _mm512_sub_epi16(x[8 + b], x[4 + b]);
        r[12 + b] = _mm512_sub_epi16(x[4 + b], x[12 + b]);
    }
    const __m512i one = _mm512_set1_epi16(1), off = _mm512_set1_epi16(128);
    for (int a = 0; a < 4; a++) {
        const __m512i *ra = r + 4 * a;
        const __m512i vv[4] = {_mm512_sub_epi16(ra[0], ra[2]), _mm512_add_epi16(ra[1], ra[2]),
                               _mm512_sub_epi16(ra[2], ra[1]), _mm512_sub_epi16(ra[1], ra[3])};
        for (int b = 0; b < 4; b++) {
            const __m512i V = vv[b];
            __m512i h = _mm512_srai_epi16(_mm512_add_epi16(V, _mm512_and_si512(_mm512_srai_epi16(V, 1), one)), 1);
            if (4 * a + b != 5) h = _mm512_add_epi16(h, off);
            _mm256_storeu_si256((__m256i *)(v + (long)(4 * a + b) * ldv + c0), _mm512_cvtepi16_epi8(h));
        }
    }
}

// m[rows x NB·16 columns] (row stride ldm) = Σ over `quads` channel quads of row r's quad (at
// v + r·ldv) times the packed quads of NB blocks of 16 columns (w: a quad's columns 4·Kp bytes
// apart, ldw); rows past `rows` repeat the last and are not stored.
#define Q8_GEMM(NB)                                                                                             \
    Q8_TARGET static void gemm_##NB(int quads, const uint8_t *v, long ldv, int rows, const int8_t *w, long ldw, \
                                    int32_t *m, long ldm) {                                                     \
        const uint8_t *a[Q8_ROWS];                                                                              \
        for (int r = 0; r < Q8_ROWS; r++) a[r] = v + (long)(r < rows ? r : rows - 1) * ldv;                     \
        __m512i c[Q8_ROWS][NB];                                                                                 \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++)                                    \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) c[r][j] = _mm512_setzero_si512();   \
        for (int p = 0; p < quads; p++) {                                                                       \
            __m512i b[NB];                                                                                      \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) b[j] =                              \
                _mm512_loadu_si512((const void *)(w + (long)p * ldw + 64 * j));                                 \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++) {                              \
                int32_t q;                                                                                      \
                memcpy(&q, a[r] + 4 * p, 4);                                                                    \
                const __m512i x = _mm512_set1_epi32(q);                                                         \
                _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) c[r][j] =                       \
                    _mm512_dpbusd_epi32(c[r][j], x, b[j]);                                                      \
            }                                                                                                   \
        }                                                                                                       \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < Q8_ROWS; r++) {                                  \
            if (r < rows) {                                                                                     \
                _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++)                                 \
                    _mm512_storeu_si512((void *)(m + r * ldm + 16 * j), c[r][j]);                               \
            }                                                                                                   \
        }                                                                                                       \
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

Q8_TARGET static void qwino8_vnni(const cnns_qwino_shape *s, int r, const uint8_t *xp, long t0, int T, int pool,
                                  const int8_t *packed, const int32_t *comp, const float *scale, void *work,
                                  int32_t *y) {
    const int C = s->c, K = s->k, Cq = q8_padded_c(C), Kp = cnns_qwino_padded_k(K), subs = q8_subs(r);
    const int Cq4 = subs * Cq, quads = Cq4 / 4;
    // Plane strides padded by a cache line, so the 16 planes of one tile do not share an L1 set.
    const long ldv = (long)Q8_ROWS * Cq4 + 64, ldm = Q8_ROWS * Q8_COLS + 16;
    uint8_t *v = (uint8_t *)work;
    int32_t *m = (int32_t *)((char *)work + (16 * ldv + 63) / 64 * 64);
    uint8_t full[16 * CNNS_QWINO8_MAX_C];
    for (int g0 = 0; g0 < T; g0 += Q8_ROWS) {
        const int G = T - g0 < Q8_ROWS ? T - g0 : Q8_ROWS;
        // 1. Input transform of the group's tiles, each sub-kernel's patch its block of channels:
        //    V'[ξ][t][j·Cq + c] + off (channels C..Cq-1 of a block are zero).
        for (int t = 0; t < G; t++) {
            for (int j = 0; j < subs; j++) {
                const uint8_t *px[16];
                cnns_qwino_patch_pixels(s, xp, t0 + g0 + t, 4, q8_sub_dy(j), q8_sub_dx(j), full, px);
                for (int c = 0; c < Cq; c += 32) {
                    const int n = C - c < 32 ? C - c : 32;
                    input_transform32(px, c, n >= 32 ? 0xFFFFFFFFu : (((__mmask32)1 << n) - 1),
                                      v + (long)t * Cq4 + (long)j * Cq, ldv);
                }
            }
        }
        // 2. Per pass of up to 64 columns: 16 GEMMs, then the output transform of those columns.
        for (int k0 = 0; k0 < Kp; k0 += Q8_COLS) {
            const int blocks = (Kp - k0) / 16 < 4 ? (Kp - k0) / 16 : 4;
            for (int xi = 0; xi < 16; xi++) {
                const int8_t *w = packed + ((long)xi * quads * Kp + k0) * 4;
                int32_t *mx = m + (long)xi * ldm;
                const uint8_t *vx = v + (long)xi * ldv;
                int j = 0;
                if (blocks == 4) gemm_4(quads, vx, Cq4, G, w, 4L * Kp, mx, Q8_COLS), j = 4;
                if (blocks - j >= 2) gemm_2(quads, vx, Cq4, G, w + 64 * j, 4L * Kp, mx + 16 * j, Q8_COLS), j += 2;
                if (blocks - j >= 1) gemm_1(quads, vx, Cq4, G, w + 64 * j, 4L * Kp, mx + 16 * j, Q8_COLS);
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
