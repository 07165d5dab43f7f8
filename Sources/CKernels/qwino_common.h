// What the integer Winograd kernels share (qwinograd_f2x4_3x3.c: F(2x4,3x3), qwinograd_f2x4_5x5.c:
// F(2x4,5x5), qwinograd_f2_u8.c: the 8-bit domain): the padded channel and column counts of the
// packed weights, a tile's place in the image grid, the pairing of 2x2 tiles into 2x4 ones, the
// gathering of a border patch, the storing of a tile's four sums (or their maximum), and the GEMMs
// of the transform domain on int16 pairs.
#ifndef CNNS_QWINO_COMMON_H
#define CNNS_QWINO_COMMON_H
#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <string.h>

// Packed weights: per point ξ, per block of 16 columns, per channel pair, 16 columns x 2 channels
// of int16 (column-major pairs, as vpmaddwd takes them).
static inline int cnns_qwino_padded_k(int k) { return (k + 15) / 16 * 16; }
static inline int cnns_qwino_padded_c(int c) { return (c + 1) / 2 * 2; }

// Where weight (ξ, channel ci, column ko) sits in the packed weights of a kernel with `points`
// points and Cp channels: blocks of 16 columns, within one the points, within one the channel
// pairs (32 values: 16 columns x 2 channels), so one column block's GEMMs read one stream.
static inline long cnns_qwino_packed_at(int points, int xi, int ci, int ko, int Cp) {
    return (((long)(ko / 16) * points + xi) * (Cp / 2) + ci / 2) * 32 + (ko % 16) * 2 + ci % 2;
}

// Bᵀ of the six points 0, ±1, ±2, ∞ (F(4,3) and F(2,5)), and the same applied to six values x0..x5
// into r with the given operations (integers: plain or vector int16).
static const int cnns_qwino_bt6[6][6] = {
    {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
#define CNNS_QWINO_BT6(T, x, r, SUB, ADD, TIMES2, TIMES4)                            \
    do {                                                                             \
        const T d02 = SUB(x[0], x[2]), d24 = SUB(x[2], x[4]), s12 = ADD(x[1], x[2]); \
        const T d13 = SUB(x[1], x[3]), s34 = ADD(x[3], x[4]), d42 = SUB(x[4], x[2]); \
        const T d12 = SUB(x[1], x[2]), d34 = SUB(x[3], x[4]), d35 = SUB(x[3], x[5]); \
        r[0] = SUB(TIMES4(d02), d24);                                                \
        r[1] = SUB(s34, TIMES4(s12));                                                \
        r[2] = SUB(TIMES4(d12), d34);                                                \
        r[3] = SUB(d42, TIMES2(d13));                                                \
        r[4] = ADD(d42, TIMES2(d13));                                                \
        r[5] = SUB(TIMES4(d13), d35);                                                \
    } while (0)

// U = Gd g Geᵀ of an R x R kernel g (row-major integers), with Gd (ad x R) down and Ge (ae x R)
// across, both row-major integers: u[a·ae + b], each a sum over the taps (packing runs once per
// weights, so plainly).
static inline void cnns_qwino_weight_two_sided(int R, int ad, const int *gd, int ae, const int *ge, const int *g,
                                               int *u) {
    for (int a = 0; a < ad; a++)
        for (int b = 0; b < ae; b++) {
            int acc = 0;
            for (int tap = 0; tap < R * R; tap++) acc += gd[a * R + tap / R] * g[tap] * ge[b * R + tap % R];
            u[a * ae + b] = acc;
        }
}

// The R x R kernel of channel ci, column ko of w (int8 HWIO [R·R·c, k]) into g[R·R].
static inline void cnns_qwino_kernel_of(const int8_t *w, int R, int c, int k, int ci, int ko, int *g) {
    for (int tap = 0; tap < R * R; tap++) g[tap] = w[((long)tap * c + ci) * k + ko];
}

// U = G' g G'ᵀ of one 3x3 kernel g, G' = 2G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2] (F(2x2,3x3)): u[16].
static const int cnns_qwino_g2x3[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
static inline void cnns_qwino_weight_transform(const int g[3][3], int u[16]) {
    cnns_qwino_weight_two_sided(3, 4, &cnns_qwino_g2x3[0][0], 4, &cnns_qwino_g2x3[0][0], &g[0][0], u);
}

// V = Bdᵀ (x − offset) Be of a rows x cols patch x (row-major), with Bdᵀ (rows x rows) down and Beᵀ
// (cols x cols) across, row-major integers (rows, cols ≤ 8): v[a·cols + b], the plain reference of
// the input transforms.
static inline void cnns_qwino_input_two_sided(int rows, const int *bd, int cols, const int *be, const int *x,
                                              int offset, int *v) {
    int r[8][8];
    for (int i = 0; i < rows; i++)  // r = (x − offset) Be, row by row
        for (int b = 0; b < cols; b++) {
            int acc = 0;
            for (int j = 0; j < cols; j++) acc += be[b * cols + j] * (x[i * cols + j] - offset);
            r[i][b] = acc;
        }
    for (int a = 0; a < rows; a++)  // V = Bdᵀ r, column by column
        for (int b = 0; b < cols; b++) {
            int acc = 0;
            for (int i = 0; i < rows; i++) acc += bd[a * rows + i] * r[i][b];
            v[a * cols + b] = acc;
        }
}

// Place `at` of an h x w grid per image, counted over the images: image n, row i, column j.
static inline void cnns_qwino_place_of(long at, int h, int w, long *n, int *i, int *j) {
    const long per = (long)h * w;
    *n = at / per;
    *i = (int)(at % per) / w;
    *j = (int)(at % per) % w;
}

// Tile t's image n and its row i and column j in the image's tile grid.
static inline void cnns_qwino_tile_of(const cnns_qwino_shape *s, long t, long *n, int *i, int *j) {
    cnns_qwino_place_of(t, s->tiles_y, s->tiles_x, n, i, j);
}

// The rows x cols patch of tile (n, i, j) at offset (dy, dx) from padded row 2i, column 2j (C bytes
// per pixel, row-major) into d, `pad` past the padded input's extent.
static inline void cnns_qwino_patch_at(const cnns_qwino_shape *s, const uint8_t *xp, long n, int i, int j, int rows,
                                       int cols, int dy, int dx, uint8_t *d) {
    for (int a = 0; a < rows; a++)
        for (int b = 0; b < cols; b++) {
            const int row = 2 * i + dy + a, col = 2 * j + dx + b;
            uint8_t *dst = d + (long)(a * cols + b) * s->c;
            if (row < s->hp && col < s->wp)
                memcpy(dst, xp + ((n * s->hp + row) * s->wp + col) * s->c, (size_t)s->c);
            else
                memset(dst, s->pad, (size_t)s->c);
        }
}

// The same patch of tile t.
static inline void cnns_qwino_patch_of(const cnns_qwino_shape *s, const uint8_t *xp, long t, int rows, int cols,
                                       int dy, int dx, uint8_t *d) {
    long n;
    int i, j;
    cnns_qwino_tile_of(s, t, &n, &i, &j);
    cnns_qwino_patch_at(s, xp, n, i, j, rows, cols, dy, dx, d);
}

// Pointers to the pixels of tile (n, i, j)'s rows x cols patch at offset (dy, dx) (row-major): in
// place when the patch lies inside the padded input, else gathered into `full` with `pad`.
static inline void cnns_qwino_patch_pixels_at(const cnns_qwino_shape *s, const uint8_t *xp, long n, int i, int j,
                                              int rows, int cols, int dy, int dx, uint8_t *full,
                                              const uint8_t **px) {
    const int C = s->c;
    if (2 * i + dy + rows - 1 < s->hp && 2 * j + dx + cols - 1 < s->wp) {
        const uint8_t *base = xp + ((n * s->hp + 2 * i + dy) * s->wp + 2 * j + dx) * C;
        for (int q = 0; q < rows * cols; q++) px[q] = base + ((long)(q / cols) * s->wp + q % cols) * C;
    } else {
        cnns_qwino_patch_at(s, xp, n, i, j, rows, cols, dy, dx, full);
        for (int q = 0; q < rows * cols; q++) px[q] = full + (long)q * C;
    }
}

// The same pointers for tile t.
static inline void cnns_qwino_patch_pixels(const cnns_qwino_shape *s, const uint8_t *xp, long t, int rows, int cols,
                                           int dy, int dx, uint8_t *full, const uint8_t **px) {
    long n;
    int i, j;
    cnns_qwino_tile_of(s, t, &n, &i, &j);
    cnns_qwino_patch_pixels_at(s, xp, n, i, j, rows, cols, dy, dx, full, px);
}

// The next 2x4 tile of a call of the 2x4 kernels, from tile t0 + *i (i < T): its first 2x2 tile
// (relative to t0) into *first; returns whether that tile's right neighbour, in the same row of
// the grid and in the call, is its second half (else the right half is computed and dropped).
static inline int cnns_qwino_next_pair(const cnns_qwino_shape *s, long t0, int T, int *i, int *first) {
    *first = *i;
    const int both = *i + 1 < T && (int)((t0 + *i) % s->tiles_x) + 1 < s->tiles_x;
    *i += both ? 2 : 1;
    return both;
}

// Tile t's four sums into y: as they are (y00, y01, y10, y11; K apart), or with `pool` their maximum.
static inline void cnns_qwino_store_tile(int32_t *y, long t, int K, int ko, const int32_t out[4], int pool) {
    if (pool) {
        int32_t mx = out[0];
        for (int q = 1; q < 4; q++) mx = out[q] > mx ? out[q] : mx;
        y[t * K + ko] = mx;
    } else {
        for (int q = 0; q < 4; q++) y[(t * 4 + q) * K + ko] = out[q];
    }
}

// The left (half 0) or right (half 1) 2x2 tile of a 2x4 tile's sums (row-major 2 x 4) into tile t.
static inline void cnns_qwino_store_half(int32_t *y, long t, int K, int ko, const int32_t out[8], int half,
                                         int pool) {
    const int32_t four[4] = {out[2 * half], out[2 * half + 1], out[4 + 2 * half], out[5 + 2 * half]};
    cnns_qwino_store_tile(y, t, K, ko, four, pool);
}

// The workspace of a 2x4 kernel with `points` points: per group of tiles V [points][GROUP·Cp + 32]
// int16 (plane strides padded by a cache line, so a tile's planes do not share an L1 set), then, 64-byte
// aligned, M [points][GROUP·16 + 16] int32 (one block of 16 columns). Its size, and its parts in work.
static inline int64_t cnns_qwino_group_workspace_size(int points, int Cp) {
    const int64_t v = ((int64_t)points * (CNNS_QWINO_TILE_GROUP * Cp + 32) * 2 + 63) / 64 * 64;
    return v + (int64_t)points * (CNNS_QWINO_TILE_GROUP * 16 + 16) * 4;
}
static inline void cnns_qwino_group_workspace(int points, int Cp, void *work, int16_t **v, long *ldv, int32_t **m,
                                              long *ldm) {
    *ldv = (long)CNNS_QWINO_TILE_GROUP * Cp + 32;
    *ldm = CNNS_QWINO_TILE_GROUP * 16 + 16;
    *v = (int16_t *)work;
    *m = (int32_t *)((char *)work + (points * *ldv * 2 + 63) / 64 * 64);
}

// The references' next 2x4 tile of a call, as cnns_qwino_next_pair, and V of its rows x cols patch
// for every channel into v[ci·rows·cols + ξ] from one channel's transform (pixels' bytes -> rows·cols
// integers, each fitting int16; rows·cols ≤ 48). Returns whether the tile has its second half.
static inline int cnns_qwino_reference_tile(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int *i,
                                            int *first, int rows, int cols, void (*one)(const int *x, int *v),
                                            uint8_t *full, int16_t *v) {
    const int both = cnns_qwino_next_pair(s, t0, T, i, first), points = rows * cols;
    const uint8_t *px[48];
    cnns_qwino_patch_pixels(s, xp, t0 + *first, rows, cols, 0, 0, full, px);
    for (int ci = 0; ci < s->c; ci++) {
        int x[48], vv[48];
        for (int q = 0; q < points; q++) x[q] = px[q][ci];
        one(x, vv);
        for (int q = 0; q < points; q++) v[(long)ci * points + q] = (int16_t)vv[q];
    }
    return both;
}

#if CNNS_X86
// cnns_qwino_store_tile for 8 columns k..k+7 at once (out: the four sums' vectors).
__attribute__((target("avx2"), always_inline)) static inline void cnns_qwino_store_tile8(int32_t *y, long t, int K,
                                                                                         int k, const __m256i out[4],
                                                                                         int pool) {
    if (pool) {
        const __m256i mx = _mm256_max_epi32(_mm256_max_epi32(out[0], out[1]), _mm256_max_epi32(out[2], out[3]));
        _mm256_storeu_si256((__m256i *)(y + t * K + k), mx);
    } else {
        for (int q = 0; q < 4; q++) _mm256_storeu_si256((__m256i *)(y + (t * 4 + q) * K + k), out[q]);
    }
}

// CNNS_QWINO_ACC_AVX2(c, x, b): c + the pair products of x and b (vpmaddwd then vpaddd), for the GEMMs of the
// transform domain on channel pairs (AVX-512 VNNI's are CNNS_QWINO_GEMM_GROUP_ZMM's, on vpdpwssd).
#define CNNS_QWINO_ACC_AVX2(c, x, b) _mm256_add_epi32((c), _mm256_madd_epi16((x), (b)))

// The left and right 2x2 tiles of 8 columns of a 2x4 tile's sums (out[r·4 + q]) into tile first
// and, where `both`, first + 1.
__attribute__((target("avx2"), always_inline)) static inline void cnns_qwino_store_pair8(int32_t *y, long first,
                                                                                         int both, int K, int k,
                                                                                         const __m256i out[8],
                                                                                         int pool) {
    const __m256i left[4] = {out[0], out[1], out[4], out[5]};
    cnns_qwino_store_tile8(y, first, K, k, left, pool);
    if (both) {
        const __m256i right[4] = {out[2], out[3], out[6], out[7]};
        cnns_qwino_store_tile8(y, first + 1, K, k, right, pool);
    }
}

// V of one patch (pixels px[q]) for channels 0..<Cp into v[ξ·ldv + c] (a kernel's input transform).
typedef void (*cnns_qwino_patch_transform_fn)(const uint8_t *const *px, int C, int Cp, int16_t *v, long ldv);

// The next group of up to CNNS_QWINO_TILE_GROUP 2x4 tiles of a call, from tile t0 + *i: their first
// tiles and whether each has its second half (first, both), and V of their rows x cols patches, tile
// g's at v + g·Cp (a border patch gathered into `full` first). Returns the group's size.
static inline int cnns_qwino_transform_group(const cnns_qwino_shape *s, const uint8_t *xp, long t0, int T, int *i,
                                             int rows, int cols, cnns_qwino_patch_transform_fn transform,
                                             uint8_t *full, int16_t *v, long ldv, int first[], int both[]) {
    const int Cp = cnns_qwino_padded_c(s->c);
    int G = 0;
    for (; G < CNNS_QWINO_TILE_GROUP && *i < T; G++) {
        both[G] = cnns_qwino_next_pair(s, t0, T, i, &first[G]);
        const uint8_t *px[48];  // rows·cols ≤ 48
        cnns_qwino_patch_pixels(s, xp, t0 + first[G], rows, cols, 0, 0, full, px);
        transform(px, s->c, Cp, v + (long)G * Cp, ldv);
    }
    return G;
}

// The GEMM group kernels' signature, their loop over the points and each point's G row pointers (rows
// past G repeat the last).
#define CNNS_QWINO_GEMM_GROUP_HEAD(name, TARGET)                                                                   \
    TARGET static void name(int planes, int pairs, const int16_t *v, long ldv, long vplane, int G,                 \
                            const int16_t *b, long bplane, int32_t *m, long ldm, long mplane) {                    \
        for (int xi = 0; xi < planes; xi++, v += vplane, b += bplane, m += mplane) {                               \
            const int16_t *a[CNNS_QWINO_TILE_GROUP];                                                               \
            for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) a[r] = v + (long)(r < G ? r : G - 1) * ldv;

// For each of `planes` points ξ: m[G rows x 16 columns] (row stride ldm; plane ξ at m + ξ·mplane) =
// Σ over `pairs` channel pairs of row r's pair (at v + ξ·vplane + r·ldv) times the packed block's 16
// columns (b + ξ·bplane: 32 int16 per pair), for G ≤ CNNS_QWINO_TILE_GROUP: the whole group in twelve
// accumulators (rows past G repeat the last row and are not stored). One call for all the points.
// AVX2, on ymm (CNNS_QWINO_GEMM_GROUP_ZMM below is the AVX-512 VNNI build).
#define CNNS_QWINO_GEMM_GROUP(name, TARGET)                                                                        \
    CNNS_QWINO_GEMM_GROUP_HEAD(name, TARGET)                                                                       \
            __m256i c[CNNS_QWINO_TILE_GROUP][2];                                                                   \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) c[r][0] = c[r][1] = \
                _mm256_setzero_si256();                                                                            \
            for (int p = 0; p < pairs; p++) {                                                                      \
                const __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32));                        \
                const __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (long)p * 32 + 16));                   \
                _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) {               \
                    int32_t w;                                                                                     \
                    memcpy(&w, a[r] + 2 * p, 4);                                                                   \
                    const __m256i x = _mm256_set1_epi32(w);                                                        \
                    c[r][0] = CNNS_QWINO_ACC_AVX2(c[r][0], x, b0);                                                 \
                    c[r][1] = CNNS_QWINO_ACC_AVX2(c[r][1], x, b1);                                                 \
                }                                                                                                  \
            }                                                                                                      \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) {                   \
                if (r < G) {                                                                                       \
                    _mm256_storeu_si256((__m256i *)(m + r * ldm), c[r][0]);                                        \
                    _mm256_storeu_si256((__m256i *)(m + r * ldm + 8), c[r][1]);                                    \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

// The same GEMMs on AVX-512 VNNI's zmm registers: a pair's 16 columns are one 64-byte load and one
// vpdpwssd a row (32 multiply-adds), the pairs taken two at a time into two sets of accumulators
// (twelve chains, enough to hide vpdpwssd's latency), added at the end. Same int32 sums, exactly.
#define CNNS_QWINO_GEMM_GROUP_ZMM(name, TARGET)                                                                    \
    CNNS_QWINO_GEMM_GROUP_HEAD(name, TARGET)                                                                       \
            __m512i c[CNNS_QWINO_TILE_GROUP][2];                                                                   \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) c[r][0] = c[r][1] = \
                _mm512_setzero_si512();                                                                            \
            int p = 0;                                                                                             \
            for (; p + 1 < pairs; p += 2) {                                                                        \
                const __m512i b0 = _mm512_loadu_si512((const void *)(b + (long)p * 32));                           \
                const __m512i b1 = _mm512_loadu_si512((const void *)(b + (long)p * 32 + 32));                      \
                _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) {               \
                    int32_t w0, w1;                                                                                \
                    memcpy(&w0, a[r] + 2 * p, 4);                                                                  \
                    memcpy(&w1, a[r] + 2 * p + 2, 4);                                                              \
                    c[r][0] = _mm512_dpwssd_epi32(c[r][0], _mm512_set1_epi32(w0), b0);                             \
                    c[r][1] = _mm512_dpwssd_epi32(c[r][1], _mm512_set1_epi32(w1), b1);                             \
                }                                                                                                  \
            }                                                                                                      \
            if (p < pairs) {                                                                                       \
                const __m512i b0 = _mm512_loadu_si512((const void *)(b + (long)p * 32));                           \
                _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) {               \
                    int32_t w0;                                                                                    \
                    memcpy(&w0, a[r] + 2 * p, 4);                                                                  \
                    c[r][0] = _mm512_dpwssd_epi32(c[r][0], _mm512_set1_epi32(w0), b0);                             \
                }                                                                                                  \
            }                                                                                                      \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < CNNS_QWINO_TILE_GROUP; r++) {                   \
                if (r < G) _mm512_storeu_si512((void *)(m + r * ldm), _mm512_add_epi32(c[r][0], c[r][1]));         \
            }                                                                                                      \
        }                                                                                                          \
    }

typedef void (*cnns_qwino_gemm_group_fn)(int planes, int pairs, const int16_t *v, long ldv, long vplane, int G,
                                         const int16_t *b, long bplane, int32_t *m, long ldm, long mplane);
#endif
#endif
