// What the integer Winograd kernels share (qwinograd_f2.c: F(2x2,3x3), qwinograd_f2x4_5x5.c:
// F(2x4,5x5)): the padded channel and column counts of the packed weights, a tile's place in the
// image grid, the gathering of a border patch, the storing of a tile's four sums (or their
// maximum), and the multiply-accumulate of the GEMMs of the transform domain on int16 pairs.
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

// Where weight (ξ, channel ci, column ko) sits in the packed weights of Cp channels, Kp columns.
static inline long cnns_qwino_packed_at(int xi, int ci, int ko, int Cp, int Kp) {
    return (((long)xi * (Kp / 16) + ko / 16) * (Cp / 2) + ci / 2) * 32 + (ko % 16) * 2 + ci % 2;
}

// U = G' g G'ᵀ of one 3x3 kernel g (G' = 2G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]): u[16], integers.
static inline void cnns_qwino_weight_transform(const int g[3][3], int u[16]) {
    int t[4][3];  // t = G' g, then U = t G'ᵀ
    for (int j = 0; j < 3; j++) {
        t[0][j] = 2 * g[0][j];
        t[1][j] = g[0][j] + g[1][j] + g[2][j];
        t[2][j] = g[0][j] - g[1][j] + g[2][j];
        t[3][j] = 2 * g[2][j];
    }
    for (int i = 0; i < 4; i++) {
        u[i * 4 + 0] = 2 * t[i][0];
        u[i * 4 + 1] = t[i][0] + t[i][1] + t[i][2];
        u[i * 4 + 2] = t[i][0] - t[i][1] + t[i][2];
        u[i * 4 + 3] = 2 * t[i][2];
    }
}

// Tile t's image n and its row i and column j in the image's tile grid.
static inline void cnns_qwino_tile_of(const cnns_qwino_shape *s, long t, long *n, int *i, int *j) {
    const long per = (long)s->tiles_y * s->tiles_x;
    *n = t / per;
    *i = (int)(t % per) / s->tiles_x;
    *j = (int)(t % per) % s->tiles_x;
}

// Whether tile t's `side` x `side` patch at offset (dy, dx) from padded row 2i, column 2j lies
// inside the padded input.
static inline int cnns_qwino_patch_inside(const cnns_qwino_shape *s, long t, int side, int dy, int dx) {
    long n;
    int i, j;
    cnns_qwino_tile_of(s, t, &n, &i, &j);
    return 2 * i + dy + side - 1 < s->hp && 2 * j + dx + side - 1 < s->wp;
}

// The `side` x `side` patch of tile t at offset (dy, dx) (C bytes per pixel, row-major) into d,
// `pad` past the padded input's extent.
static inline void cnns_qwino_patch_of(const cnns_qwino_shape *s, const uint8_t *xp, long t, int side, int dy, int dx,
                                       uint8_t *d) {
    long n;
    int i, j;
    cnns_qwino_tile_of(s, t, &n, &i, &j);
    for (int a = 0; a < side; a++)
        for (int b = 0; b < side; b++) {
            const int row = 2 * i + dy + a, col = 2 * j + dx + b;
            uint8_t *dst = d + (long)(a * side + b) * s->c;
            if (row < s->hp && col < s->wp)
                memcpy(dst, xp + ((n * s->hp + row) * s->wp + col) * s->c, (size_t)s->c);
            else
                memset(dst, s->pad, (size_t)s->c);
        }
}

// Pointers to the pixels of tile t's patch at offset (dy, dx) (side x side, row-major): in place
// when the patch lies inside the padded input, else gathered into `full` with `pad`.
static inline void cnns_qwino_patch_pixels(const cnns_qwino_shape *s, const uint8_t *xp, long t, int side, int dy,
                                           int dx, uint8_t *full, const uint8_t **px) {
    const int C = s->c;
    if (cnns_qwino_patch_inside(s, t, side, dy, dx)) {
        long n;
        int i, j;
        cnns_qwino_tile_of(s, t, &n, &i, &j);
        const uint8_t *base = xp + ((n * s->hp + 2 * i + dy) * s->wp + 2 * j + dx) * C;
        for (int q = 0; q < side * side; q++) px[q] = base + ((long)(q / side) * s->wp + q % side) * C;
    } else {
        cnns_qwino_patch_of(s, xp, t, side, dy, dx, full);
        for (int q = 0; q < side * side; q++) px[q] = full + (long)q * C;
    }
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

// ACC(c, x, b): c + the pair products of x and b (AVX2: vpmaddwd then vpaddd; AVX-512 VNNI:
// vpdpwssd), for the GEMMs of the transform domain on channel pairs.
#define CNNS_QWINO_ACC_AVX2(c, x, b) _mm256_add_epi32((c), _mm256_madd_epi16((x), (b)))
#define CNNS_QWINO_ACC_VNNI(c, x, b) _mm256_dpwssd_epi32((c), (x), (b))

typedef void (*cnns_qwino_gemm_rows_fn)(int pairs, const int16_t *v, long ldv, int T, const int16_t *b, int32_t *m,
                                        long ldm);
#endif
#endif
