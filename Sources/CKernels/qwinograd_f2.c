// Int8 convolution by Winograd F(2x2,3x3) on 16-bit integers (3x3 kernels, stride 1):
//   xp: the quantised input (0..127) with its padding written in, hp x wp pixels of C bytes per
//       image; tiles t0..<t0+T of a tiles_y x tiles_x grid per image (tile (n, i, j) makes output
//       rows 2i, 2i+1 and columns 2j, 2j+1 from the 4x4 patch at padded row 2i, column 2j;
//       patch pixels past hp or wp read as `pad`)
//   -> y: int32 per tile and output channel, its four sums (y00, y01, y10, y11; K each) or, with
//      `pool`, their maximum (K each): the same integers as the direct convolution's sums.
// With G' = 2G, every transform has integer coefficients:
//   V = Bᵀ d B   (int16, |V| ≤ 4·127)          Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   U = G' g G'ᵀ (int16, |U| ≤ 9·127)          G' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]
//   M = Σ_c V ⊙ U  (int32: 16 GEMMs [T x C] · [C x K], channel pairs on vpmaddwd)
//   Y = Aᵀ M A = 4 · (the direct sums), exactly  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// and y = Y >> 2. Every intermediate is an integer combination, so the sums are exact (int32
// wraps only where the final sum, at most 4·9·C·127·128, would not fit: C ≤ CNNS_QWINO_MAX_C
// keeps it inside). The direct sums need 9 multiply-adds per output pixel and channel pair of
// bytes; this needs 16 per 2x2 tile (4 per pixel) on pairs of 16-bit values.
#include "qwino_common.h"

int cnns_qwino_fits(const cnns_conv_shape *s) {
    return s->r == 3 && s->s == 3 && s->stride_h == 1 && s->stride_w == 1 && s->c >= 1 &&
           s->c <= CNNS_QWINO_MAX_C && s->k >= 1;
}

int64_t cnns_qwino_packed_size(int c, int k) {
    return (int64_t)16 * cnns_qwino_padded_c(c) * cnns_qwino_padded_k(k) * 2;
}

int64_t cnns_qwino_workspace_size(int c, int k, int tiles) {
    // V [16][T·Cp + 32] int16, then M [16][T·Kp + 16] int32 (64-byte aligned after V).
    const int64_t v = ((int64_t)16 * ((int64_t)tiles * cnns_qwino_padded_c(c) + 32) * 2 + 63) / 64 * 64;
    return v + (int64_t)16 * ((int64_t)tiles * cnns_qwino_padded_k(k) + 16) * 4;
}

void cnns_qwino_pack(int c, int k, const int8_t *w, int16_t *packed) {
    const int Cp = cnns_qwino_padded_c(c), Kp = cnns_qwino_padded_k(k);
    memset(packed, 0, (size_t)cnns_qwino_packed_size(c, k));
    for (int ci = 0; ci < c; ci++)
        for (int ko = 0; ko < k; ko++) {
            int g[3][3], u[16];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g[i][j] = w[((long)(i * 3 + j) * c + ci) * k + ko];
            cnns_qwino_weight_transform(g, u);
            for (int xi = 0; xi < 16; xi++) packed[cnns_qwino_packed_at(xi, ci, ko, Cp, Kp)] = (int16_t)u[xi];
        }
}

// The plain reference: the same transforms and sums one value at a time (int64, no wrapping).
void cnns_qwino_u7s8_scalar(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                            const int16_t *packed, void *work, int32_t *y) {
    (void)work;
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K);
    uint8_t d[16 * CNNS_QWINO_MAX_C];
    for (int t = 0; t < T; t++) {
        cnns_qwino_patch_of(s, xp, t0 + t, 4, 0, 0, d);
        for (int ko = 0; ko < K; ko++) {
            int64_t m[4][4] = {{0}};
            for (int ci = 0; ci < C; ci++) {
                int x[4][4], r[4][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) x[a][b] = d[(a * 4 + b) * C + ci];
                for (int b = 0; b < 4; b++) {  // r = Bᵀ x
                    r[0][b] = x[0][b] - x[2][b];
                    r[1][b] = x[1][b] + x[2][b];
                    r[2][b] = x[2][b] - x[1][b];
                    r[3][b] = x[1][b] - x[3][b];
                }
                for (int a = 0; a < 4; a++) {  // V = r B, times U
                    const int v[4] = {r[a][0] - r[a][2], r[a][1] + r[a][2], r[a][2] - r[a][1], r[a][1] - r[a][3]};
                    for (int b = 0; b < 4; b++) {
                        m[a][b] += (int64_t)v[b] * packed[cnns_qwino_packed_at(a * 4 + b, ci, ko, Cp, Kp)];
                    }
                }
            }
            int64_t o[2][4];
            for (int b = 0; b < 4; b++) {  // Aᵀ m, then times A
                o[0][b] = m[0][b] + m[1][b] + m[2][b];
                o[1][b] = m[1][b] - m[2][b] - m[3][b];
            }
            int32_t out[4];
            for (int a = 0; a < 2; a++) {
                out[2 * a] = (int32_t)((o[a][0] + o[a][1] + o[a][2]) / 4);
                out[2 * a + 1] = (int32_t)((o[a][1] - o[a][2] - o[a][3]) / 4);
            }
            cnns_qwino_store_tile(y, t, K, ko, out, pool);
        }
    }
}

#if CNNS_X86
// V of one patch (pixels 4 x 4 at d + (a·4 + b)·ld, 16 channels from c0) -> v[ξ·ldv + c0 ..].
__attribute__((target("avx2"), always_inline)) static inline void input_transform16(const uint8_t *const *px,
                                                                                     int c0, int16_t *v, long ldv) {
    __m256i x[16];
    for (int q = 0; q < 16; q++) x[q] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(px[q] + c0)));
    __m256i r[16];
    for (int b = 0; b < 4; b++) {
        r[0 + b] = _mm256_sub_epi16(x[0 + b], x[8 + b]);
        r[4 + b] = _mm256_add_epi16(x[4 + b], x[8 + b]);
        r[8 + b] = _mm256_sub_epi16(x[8 + b], x[4 + b]);
        r[12 + b] = _mm256_sub_epi16(x[4 + b], x[12 + b]);
    }
    for (int a = 0; a < 4; a++) {
        const __m256i *ra = r + 4 * a;
        _mm256_storeu_si256((__m256i *)(v + (long)(4 * a + 0) * ldv + c0), _mm256_sub_epi16(ra[0], ra[2]));
        _mm256_storeu_si256((__m256i *)(v + (long)(4 * a + 1) * ldv + c0), _mm256_add_epi16(ra[1], ra[2]));
        _mm256_storeu_si256((__m256i *)(v + (long)(4 * a + 2) * ldv + c0), _mm256_sub_epi16(ra[2], ra[1]));
        _mm256_storeu_si256((__m256i *)(v + (long)(4 * a + 3) * ldv + c0), _mm256_sub_epi16(ra[1], ra[3]));
    }
}

// V of one patch, channels c0..<C one at a time (the tail past whole blocks of 16), and the
// zero channel that pads C to even.
static void input_transform_tail(const uint8_t *const *px, int c0, int C, int Cp, int16_t *v, long ldv) {
    for (int ci = c0; ci < Cp; ci++) {
        int x[16], r[16];
        for (int q = 0; q < 16; q++) x[q] = ci < C ? px[q][ci] : 0;
        for (int b = 0; b < 4; b++) {
            r[0 + b] = x[0 + b] - x[8 + b];
            r[4 + b] = x[4 + b] + x[8 + b];
            r[8 + b] = x[8 + b] - x[4 + b];
            r[12 + b] = x[4 + b] - x[12 + b];
        }
        for (int a = 0; a < 4; a++) {
            const int *ra = r + 4 * a;
            const int vv[4] = {ci < C ? ra[0] - ra[2] : 0, ci < C ? ra[1] + ra[2] : 0, ci < C ? ra[2] - ra[1] : 0,
                               ci < C ? ra[1] - ra[3] : 0};
            for (int b = 0; b < 4; b++) v[(long)(4 * a + b) * ldv + ci] = (int16_t)vv[b];
        }
    }
}

// m[4 rows x 16 columns] (row stride ldm) = Σ over `pairs` channel pairs of a row's pair (rows at
// a[i], 2 int16 each) times the packed block's 16 columns (b: 32 int16 per pair), with ACC
// (qwino_common.h).
#define QWINO_GEMM_ROWS(name, TARGET, ACC)                                                                      \
    TARGET static inline void name##_block(int pairs, const int16_t *const *a, const int16_t *b, int32_t *m,    \
                                           long ldm) {                                                         \
        __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, \
                c31 = c00;                                                                                      \
        for (int p = 0; p < pairs; p++) {                                                                       \
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32));                         \
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32 + 16));                    \
            int32_t w0, w1, w2, w3;                                                                             \
            memcpy(&w0, a[0] + 2 * p, 4);                                                                       \
            memcpy(&w1, a[1] + 2 * p, 4);                                                                       \
            memcpy(&w2, a[2] + 2 * p, 4);                                                                       \
            memcpy(&w3, a[3] + 2 * p, 4);                                                                       \
            __m256i x = _mm256_set1_epi32(w0);                                                                  \
            c00 = ACC(c00, x, b0);                                                                              \
            c01 = ACC(c01, x, b1);                                                                              \
            x = _mm256_set1_epi32(w1);                                                                          \
            c10 = ACC(c10, x, b0);                                                                              \
            c11 = ACC(c11, x, b1);                                                                              \
            x = _mm256_set1_epi32(w2);                                                                          \
            c20 = ACC(c20, x, b0);                                                                              \
            c21 = ACC(c21, x, b1);                                                                              \
            x = _mm256_set1_epi32(w3);                                                                          \
            c30 = ACC(c30, x, b0);                                                                              \
            c31 = ACC(c31, x, b1);                                                                              \
        }                                                                                                       \
        _mm256_storeu_si256((__m256i *)m, c00);                                                                 \
        _mm256_storeu_si256((__m256i *)(m + 8), c01);                                                           \
        _mm256_storeu_si256((__m256i *)(m + ldm), c10);                                                         \
        _mm256_storeu_si256((__m256i *)(m + ldm + 8), c11);                                                     \
        _mm256_storeu_si256((__m256i *)(m + 2 * ldm), c20);                                                     \
        _mm256_storeu_si256((__m256i *)(m + 2 * ldm + 8), c21);                                                 \
        _mm256_storeu_si256((__m256i *)(m + 3 * ldm), c30);                                                     \
        _mm256_storeu_si256((__m256i *)(m + 3 * ldm + 8), c31);                                                 \
    }                                                                                                           \
    /* M[t][16 columns] (row stride ldm) for rows t < T of V (row stride ldv), in blocks of 4. */               \
    TARGET static void name(int pairs, const int16_t *v, long ldv, int T, const int16_t *b, int32_t *m, long ldm) { \
        for (int t = 0; t < T; t += 4) {                                                                        \
            const int rows = T - t < 4 ? T - t : 4;                                                             \
            const int16_t *a[4];                                                                                \
            for (int r = 0; r < 4; r++) a[r] = v + (long)(t + (r < rows ? r : 0)) * ldv;                        \
            if (rows == 4) {                                                                                    \
                name##_block(pairs, a, b, m + (long)t * ldm, ldm);                                              \
            } else {                                                                                            \
                int32_t tmp[4 * 16];                                                                            \
                name##_block(pairs, a, b, tmp, 16);                                                             \
                for (int r = 0; r < rows; r++) memcpy(m + (long)(t + r) * ldm, tmp + r * 16, 64);               \
            }                                                                                                   \
        }                                                                                                       \
    }

QWINO_GEMM_ROWS(gemm_rows_avx2, __attribute__((target("avx2"))), CNNS_QWINO_ACC_AVX2)
QWINO_GEMM_ROWS(gemm_rows_vnni, __attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))),
                CNNS_QWINO_ACC_VNNI)

// Aᵀ M A for 8 output channels of one tile (m16[ξ] points at M[ξ][tile][k]), then >> 2.
__attribute__((target("avx2"), always_inline)) static inline void output_transform8(const int32_t *const *m16,
                                                                                      __m256i out[4]) {
    __m256i o[2][4];
    for (int b = 0; b < 4; b++) {
        const __m256i m0 = _mm256_loadu_si256((const __m256i *)m16[b]),
                      m1 = _mm256_loadu_si256((const __m256i *)m16[4 + b]),
                      m2 = _mm256_loadu_si256((const __m256i *)m16[8 + b]),
                      m3 = _mm256_loadu_si256((const __m256i *)m16[12 + b]);
        o[0][b] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
        o[1][b] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
    }
    for (int a = 0; a < 2; a++) {
        out[2 * a] = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(o[a][0], o[a][1]), o[a][2]), 2);
        out[2 * a + 1] = _mm256_srai_epi32(_mm256_sub_epi32(_mm256_sub_epi32(o[a][1], o[a][2]), o[a][3]), 2);
    }
}

// The transforms around the sixteen GEMMs, which `gemm` computes (AVX2 or VNNI).
__attribute__((target("avx2"))) static void qwino_x86(cnns_qwino_gemm_rows_fn gemm, const cnns_qwino_shape *s,
                                                       const uint8_t *xp, long t0, int T, int pool,
                                                       const int16_t *packed, void *work, int32_t *y) {
    const int C = s->c, K = s->k, Cp = cnns_qwino_padded_c(C), Kp = cnns_qwino_padded_k(K), C16 = C / 16 * 16;
    int16_t *v = (int16_t *)work;
    int32_t *m = (int32_t *)((char *)work + ((int64_t)16 * ((long)T * Cp + 32) * 2 + 63) / 64 * 64);
    // Plane strides padded by a cache line, so the 16 planes of one tile do not share an L1 set.
    const long ldv = (long)T * Cp + 32, ldm = (long)T * Kp + 16;
    uint8_t full[16 * CNNS_QWINO_MAX_C];
    // 1. Input transform: V[ξ][t][c] (a border patch is gathered with `pad` first).
    for (int t = 0; t < T; t++) {
        const uint8_t *px[16];
        cnns_qwino_patch_pixels(s, xp, t0 + t, 4, 0, 0, full, px);
        int c = 0;
        for (; c < C16; c += 16) input_transform16(px, c, v + (long)t * Cp, ldv);
        input_transform_tail(px, c, C, Cp, v + (long)t * Cp, ldv);
    }
    // 2. Sixteen GEMMs: M[ξ][t][k] = Σ pairs V[ξ][t][pair] · U[ξ][pair][k].
    const int pairs = Cp / 2;
    for (int xi = 0; xi < 16; xi++) {
        const int16_t *vx = v + (long)xi * ldv;
        int32_t *mx = m + (long)xi * ldm;
        for (int kb = 0; kb < Kp / 16; kb++)
            gemm(pairs, vx, Cp, T, packed + ((long)xi * (Kp / 16) + kb) * pairs * 32, mx + kb * 16, Kp);
    }
    // 3. Output transform: y = (Aᵀ M A) >> 2, or the maximum of the four.
    const int K8 = K / 8 * 8;
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < K8; k += 8) {
            const int32_t *m16[16];
            for (int q = 0; q < 16; q++) m16[q] = m + (long)q * ldm + (long)t * Kp + k;
            __m256i out[4];
            output_transform8(m16, out);
            cnns_qwino_store_tile8(y, t, K, k, out, pool);
        }
        for (int k = K8; k < K; k++) {
            int64_t mm[16];
            for (int q = 0; q < 16; q++) mm[q] = m[(long)q * ldm + (long)t * Kp + k];
            int32_t o[4];
            for (int a = 0; a < 2; a++) {
                const int64_t r0 = a == 0 ? mm[0] + mm[4] + mm[8] : mm[4] - mm[8] - mm[12];
                const int64_t r1 = a == 0 ? mm[1] + mm[5] + mm[9] : mm[5] - mm[9] - mm[13];
                const int64_t r2 = a == 0 ? mm[2] + mm[6] + mm[10] : mm[6] - mm[10] - mm[14];
                const int64_t r3 = a == 0 ? mm[3] + mm[7] + mm[11] : mm[7] - mm[11] - mm[15];
                o[2 * a] = (int32_t)(uint32_t)(r0 + r1 + r2) >> 2;
                o[2 * a + 1] = (int32_t)(uint32_t)(r1 - r2 - r3) >> 2;
            }
            cnns_qwino_store_tile(y, t, K, k, o, pool);
        }
    }
}
#endif

void cnns_qwino_u7s8(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool, const int16_t *packed,
                     void *work, int32_t *y) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        qwino_x86(gemm_rows_avx2, s, xp, t0, T, pool, packed, work, y);
        return;
    }
#endif
    cnns_qwino_u7s8_scalar(s, xp, t0, T, pool, packed, work, y);
}

void cnns_qwino_u7s8_avx512vnni(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int pool,
                                const int16_t *packed, void *work, int32_t *y) {
#if CNNS_X86
    qwino_x86(gemm_rows_vnni, s, xp, t0, T, pool, packed, work, y);
#else
    cnns_qwino_u7s8_scalar(s, xp, t0, T, pool, packed, work, y);
#endif
}
