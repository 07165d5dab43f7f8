// Direct int8 convolution without im2col's lowering, for kernel rows of S·C ≤ 16 bytes (first
// layers of 1 or 3 channels) or of a multiple of 4 bytes (C a multiple of 4: no padding waste):
//   xp: the quantised input with its padding written in (zero point), hp x wp pixels of C bytes
//       per image, readable 3 bytes past the last image
//   -> int32 sums c[rows x K] of output pixels m0..<m0+rows (flattened n, p, q), row stride ldc.
// Each kernel row r of a pixel's receptive field is S·C contiguous bytes of xp, read as
// G = ceil(S·C / 4) groups of 4 (the bytes past S·C meet zero weights). The weights are packed
// as cnns_qgemm_pack_b packs a [R·G·4, K] matrix (cnns_qconv_direct_pack), so each vector build is
// an int8 GEMM's loop (AVX2: vpmaddubsw, vpmaddwd with ones; 16 lanes: vpdpbusd on AVX-512 VNNI,
// vpmaddubsw on zmm, or portable code) with A's groups at pixel base + r·wp·C + 4g instead of a
// lowered row. The scalar reference sums the same products one by one; all give the same int32
// sums, and so does lowering + cnns_qgemm_u7s8.
#include "cnns_kernels.h"
#include "direct_patch.h"
#include "output_pixel.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <string.h>

// The most 4-byte groups per patch (R·G) the AVX2 kernel's offset table holds.
#define DIRECT_MAX_GROUPS 512

int cnns_qconv_direct_fits(const cnns_conv_shape *s) {
    const int sc = s->s * s->c;
    return (sc <= 16 || sc % 4 == 0) && s->r * cnns_direct_groups_per_row(s) <= DIRECT_MAX_GROUPS;
}

int64_t cnns_qconv_direct_packed_size(const cnns_conv_shape *s) {
    return cnns_qgemm_packed_size(s->k, s->r * cnns_direct_groups_per_row(s) * 4);
}

void cnns_qconv_direct_pack(const cnns_conv_shape *s, const int8_t *w, int8_t *packed, int8_t *scratch) {
    const int G = cnns_direct_groups_per_row(s), SC = s->s * s->c, K = s->k, rows = s->r * G * 4;
    memset(scratch, 0, (size_t)rows * K);
    for (int r = 0; r < s->r; r++)
        for (int j = 0; j < SC; j++) memcpy(scratch + ((long)r * G * 4 + j) * K, w + ((long)r * SC + j) * K, K);
    cnns_qgemm_pack_b(K, rows, scratch, K, packed);
}

void cnns_qconv_direct_u7s8_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0, int rows,
                                   const int8_t *packed, int32_t *c, int ldc) {
    const int G = cnns_direct_groups_per_row(s), kg = s->r * G, K = s->k;
    long n;
    int p, q;
    cnns_pixel_of(s, m0, &n, &p, &q);
    for (int i = 0; i < rows; i++, cnns_pixel_next(s, &n, &p, &q)) {
        const uint8_t *a = xp + cnns_direct_pixel_base(s, hp, wp, n, p, q);
        for (int col = 0; col < K; col++) {
            const int8_t *b = packed + (long)(col / 8) * kg * 32 + (col % 8) * 4;
            int32_t sum = 0;
            for (int r = 0; r < s->r; r++)
                for (int g = 0; g < G; g++)
                    for (int t = 0; t < 4; t++)
                        sum += (int32_t)a[(long)r * wp * s->c + 4 * g + t] * b[(long)(r * G + g) * 32 + t];
            c[(long)i * ldc + col] = sum;
        }
    }
}

// Pixel bases of `count` consecutive output pixels from (n, p, q), which move past them.
static inline void step_bases(const cnns_conv_shape *s, int hp, int wp, long *n, int *p, int *q, int count,
                              const uint8_t *xp, const uint8_t **a) {
    for (int t = 0; t < count; t++, cnns_pixel_next(s, n, p, q))
        a[t] = xp + cnns_direct_pixel_base(s, hp, wp, *n, *p, *q);
}

#if CNNS_X86
// `rows` (1..8) pixels at bases a[0..rows) x 8 columns (one packed block); groups at a[i] + off[g].
// Eight rows (a constant at its call: the loops unroll) serve K = 8, a first layer of few filters.
__attribute__((target("avx2"), always_inline)) static inline void direct_block8(int rows, int kg,
                                                                                const uint8_t *const *a,
                                                                                const long *off, const int8_t *bp,
                                                                                int32_t *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[8];
    for (int i = 0; i < rows; i++) acc[i] = _mm256_setzero_si256();
    for (int g = 0; g < kg; g++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(bp + (long)g * 32));
        for (int i = 0; i < rows; i++) {
            int32_t w;
            memcpy(&w, a[i] + off[g], 4);
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(w), b), ones));
        }
    }
    for (int i = 0; i < rows; i++) _mm256_storeu_si256((__m256i *)(out + (long)i * ldo), acc[i]);
}

// 4 pixels x 16 columns (two packed blocks): each 4-byte group broadcast feeds two vpmaddubsw.
__attribute__((target("avx2"))) static inline void direct_block4x16(int kg, const uint8_t *const *a, const long *off,
                                                                     const int8_t *bp0, const int8_t *bp1,
                                                                     int32_t *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00;
    for (int g = 0; g < kg; g++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(bp0 + (long)g * 32));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(bp1 + (long)g * 32));
        int32_t w0, w1, w2, w3;
        memcpy(&w0, a[0] + off[g], 4);
        memcpy(&w1, a[1] + off[g], 4);
        memcpy(&w2, a[2] + off[g], 4);
        memcpy(&w3, a[3] + off[g], 4);
        __m256i x = _mm256_set1_epi32(w0);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        x = _mm256_set1_epi32(w1);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        x = _mm256_set1_epi32(w2);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        x = _mm256_set1_epi32(w3);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
    }
    _mm256_storeu_si256((__m256i *)out, c00);
    _mm256_storeu_si256((__m256i *)(out + 8), c01);
    _mm256_storeu_si256((__m256i *)(out + ldo), c10);
    _mm256_storeu_si256((__m256i *)(out + ldo + 8), c11);
    _mm256_storeu_si256((__m256i *)(out + 2 * ldo), c20);
    _mm256_storeu_si256((__m256i *)(out + 2 * ldo + 8), c21);
    _mm256_storeu_si256((__m256i *)(out + 3 * ldo), c30);
    _mm256_storeu_si256((__m256i *)(out + 3 * ldo + 8), c31);
}

// Rows of A at a[0..<rows) (each readable at a[i] + off[g], 4 bytes, g < kg) x the packed
// weights -> c: column pairs outer, so a 16-column panel of the weights stays in L1 while every
// row passes under it. a must hold rows rounded up to 8 pointers (the extra ones valid).
__attribute__((target("avx2"))) void cnns_qgemm_gathered_avx2(int rows, int K, int kg, const uint8_t *const *a,
                                                               const long *off, const int8_t *packed, int32_t *c,
                                                               int ldc) {
    const int nb = (K + 7) / 8;
    int32_t tmp[4 * 16];
    int i0 = 0;
    if (K == 8)
        for (; i0 + 8 <= rows; i0 += 8) direct_block8(8, kg, a + i0, off, packed, c + (long)i0 * ldc, ldc);
    int j = 0;
    for (; j + 1 < nb; j += 2) {
        const int8_t *b0 = packed + (long)j * kg * 32, *b1 = b0 + (long)kg * 32;
        const int cols = K - j * 8 < 16 ? K - j * 8 : 16;
        for (int i = i0; i < rows; i += 4) {
            const int m = rows - i < 4 ? rows - i : 4;
            int32_t *out = c + (long)i * ldc + j * 8;
            if (m == 4 && cols == 16) {
                direct_block4x16(kg, a + i, off, b0, b1, out, ldc);
                continue;
            }
            direct_block4x16(kg, a + i, off, b0, b1, tmp, 16);
            for (int r = 0; r < m; r++)
                for (int t = 0; t < cols; t++) out[(long)r * ldc + t] = tmp[r * 16 + t];
        }
    }
    for (; j < nb; j++) {
        const int8_t *b0 = packed + (long)j * kg * 32;
        const int cols = K - j * 8;
        for (int i = i0; i < rows; i += 4) {
            const int m = rows - i < 4 ? rows - i : 4;
            int32_t *out = c + (long)i * ldc + j * 8;
            if (cols >= 8) {
                direct_block8(m, kg, a + i, off, b0, out, ldc);
                continue;
            }
            direct_block8(m, kg, a + i, off, b0, tmp, 8);
            for (int r = 0; r < m; r++)
                for (int t = 0; t < cols; t++) out[(long)r * ldc + t] = tmp[r * 8 + t];
        }
    }
}

#endif

// Output pixels per pass of the weight panels (their bases on the stack).
#define DIRECT_ROWS 256

typedef void (*gathered_gemm)(int rows, int K, int kg, const uint8_t *const *a, const long *off, const int8_t *packed,
                              int32_t *c, int ldc);

// The direct convolution on a gathered int8 loop: each pass of up to DIRECT_ROWS output pixels
// lists their receptive fields' bases; the groups' offsets are the same for every pixel.
static void direct_on(gathered_gemm gemm, const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long m0,
                      int rows, const int8_t *packed, int32_t *c, int ldc) {
    const int G = cnns_direct_groups_per_row(s), kg = s->r * G;
    long off[DIRECT_MAX_GROUPS];
    cnns_direct_group_offsets(s, wp, off);
    long n;
    int p, q;
    cnns_pixel_of(s, m0, &n, &p, &q);
    const uint8_t *a[DIRECT_ROWS + 8];
    for (int i0 = 0; i0 < rows; i0 += DIRECT_ROWS) {
        const int mb = rows - i0 < DIRECT_ROWS ? rows - i0 : DIRECT_ROWS;
        step_bases(s, hp, wp, &n, &p, &q, mb, xp, a);
        for (int t = mb; t < mb + 8; t++) a[t] = a[0];
        gemm(mb, s->k, kg, a, off, packed, c + (long)i0 * ldc, ldc);
    }
}

// The same for the 2x2 max pooling after the convolution: per pooled row (flattened n, row) from
// pr0, the first 2·⌊Q/2⌋ pixels of each of its two output rows (a last odd column or row is not
// pooled, so it is not computed), all listed before the loop runs over them.
static void direct_pooled_on(gathered_gemm gemm, const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp,
                             long pr0, int count, const int8_t *packed, int32_t *c, int ldc) {
    const int G = cnns_direct_groups_per_row(s), kg = s->r * G, P2 = s->p / 2, W2 = 2 * (s->q / 2);
    long off[DIRECT_MAX_GROUPS];
    cnns_direct_group_offsets(s, wp, off);
    const uint8_t *a[DIRECT_ROWS + 8];
    int filled = 0;
    long done = 0;
    for (long pr = pr0; pr < pr0 + count; pr++) {
        const long n = pr / P2;
        const int p0 = 2 * (int)(pr % P2);
        for (int i = 0; i < 2; i++)
            for (int q = 0; q < W2; q++) {
                a[filled++] = xp + cnns_direct_pixel_base(s, hp, wp, n, p0 + i, q);
                if (filled < DIRECT_ROWS) continue;
                for (int t = filled; t < filled + 8; t++) a[t] = a[0];
                gemm(filled, s->k, kg, a, off, packed, c + done * ldc, ldc);
                done += filled;
                filled = 0;
            }
    }
    if (filled == 0) return;
    for (int t = filled; t < filled + 8; t++) a[t] = a[0];
    gemm(filled, s->k, kg, a, off, packed, c + done * ldc, ldc);
}

void cnns_qconv_direct_pooled_u7s8_scalar(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long pr0,
                                          int count, const int8_t *packed, int32_t *c, int ldc) {
    const int P2 = s->p / 2, W2 = 2 * (s->q / 2);
    for (long pr = pr0; pr < pr0 + count; pr++)
        for (int i = 0; i < 2; i++) {
            const long m0 = ((pr / P2) * s->p + 2 * (pr % P2) + i) * s->q;
            cnns_qconv_direct_u7s8_scalar(s, xp, hp, wp, m0, W2, packed, c + ((pr - pr0) * 2 + i) * W2 * ldc, ldc);
        }
}

// The builds of one entry point: the 16-lane loops (VNNI, AVX-512BW, portable), and the AVX2
// one where the CPU has it (else the scalar reference). ARG: the range argument (m0 or pr0).
#define DIRECT_BUILDS(name, on, ARG, COUNT)                                                                     \
    void name##_avx512vnni(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long ARG, int COUNT,     \
                           const int8_t *packed, int32_t *c, int ldc) {                                          \
        on(cnns_qgemm_gathered_avx512vnni, s, xp, hp, wp, ARG, COUNT, packed, c, ldc);                           \
    }                                                                                                            \
    void name##_avx512(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long ARG, int COUNT,         \
                       const int8_t *packed, int32_t *c, int ldc) {                                              \
        on(cnns_qgemm_gathered_avx512, s, xp, hp, wp, ARG, COUNT, packed, c, ldc);                               \
    }                                                                                                            \
    void name##_w16(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long ARG, int COUNT,            \
                    const int8_t *packed, int32_t *c, int ldc) {                                                 \
        on(cnns_qgemm_gathered_w16, s, xp, hp, wp, ARG, COUNT, packed, c, ldc);                                  \
    }                                                                                                            \
    void name(const cnns_conv_shape *s, const uint8_t *xp, int hp, int wp, long ARG, int COUNT,                  \
              const int8_t *packed, int32_t *c, int ldc) {                                                       \
        if (CNNS_X86 && cnns_have_avx2_fma()) {                                                                  \
            DIRECT_AVX2(on, s, xp, hp, wp, ARG, COUNT, packed, c, ldc);                                          \
            return;                                                                                              \
        }                                                                                                        \
        name##_scalar(s, xp, hp, wp, ARG, COUNT, packed, c, ldc);                                                \
    }

#if CNNS_X86
#define DIRECT_AVX2(on, ...) on(cnns_qgemm_gathered_avx2, __VA_ARGS__)
#else
#define DIRECT_AVX2(on, ...) (void)0
#endif

DIRECT_BUILDS(cnns_qconv_direct_pooled_u7s8, direct_pooled_on, pr0, count)
DIRECT_BUILDS(cnns_qconv_direct_u7s8, direct_on, m0, rows)
