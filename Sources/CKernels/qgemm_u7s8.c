#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <string.h>

// Packed layout: for each block of 8 columns (n padded to 8), for each group of 4 k (k padded
// to 4): 8 columns x 4 bytes = 32 bytes, column-major within the group.
int64_t cnns_qgemm_packed_size(int n, int k) {
    int64_t nb = (n + 7) / 8, kg = (k + 3) / 4;
    return nb * kg * 32;
}

void cnns_qgemm_pack_b(int n, int k, const int8_t *b, int ldb, int8_t *packed) {
    int nb = (n + 7) / 8, kg = (k + 3) / 4;
    memset(packed, 0, (size_t)cnns_qgemm_packed_size(n, k));
    for (int j = 0; j < nb; j++)
        for (int g = 0; g < kg; g++)
            for (int c = 0; c < 8; c++)
                for (int t = 0; t < 4; t++) {
                    int col = j * 8 + c, kk = g * 4 + t;
                    if (col < n && kk < k) packed[((int64_t)j * kg + g) * 32 + c * 4 + t] = b[(int64_t)kk * ldb + col];
                }
}

void cnns_qgemm_u7s8_scalar(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc) {
    int kg = (k + 3) / 4;
    for (int i = 0; i < m; i++)
        for (int col = 0; col < n; col++) {
            int j = col / 8, cc = col % 8;
            int32_t s = 0;
            for (int g = 0; g < kg; g++)
                for (int t = 0; t < 4; t++) {
                    int kk = g * 4 + t;
                    if (kk < k) s += (int32_t)a[(int64_t)i * lda + kk] * packed[((int64_t)j * kg + g) * 32 + cc * 4 + t];
                }
            c[(int64_t)i * ldc + col] = s;
        }
}

// Rows [i, i+R) x one 8-column block, R = 1..4.
#if CNNS_X86
__attribute__((target("avx2")))
static inline void block(int rows, int kg, const uint8_t *a, int lda, const int8_t *bp, int32_t *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int g = 0; g < kg; g++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(bp + (int64_t)g * 32));
        int32_t w;
        memcpy(&w, a + g * 4, 4);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(w), b), ones));
        if (rows > 1) { memcpy(&w, a + lda + g * 4, 4); acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(w), b), ones)); }
        if (rows > 2) { memcpy(&w, a + 2 * lda + g * 4, 4); acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(w), b), ones)); }
        if (rows > 3) { memcpy(&w, a + 3 * lda + g * 4, 4); acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi32(w), b), ones)); }
    }
    _mm256_storeu_si256((__m256i *)out, acc0);
    if (rows > 1) _mm256_storeu_si256((__m256i *)(out + ldo), acc1);
    if (rows > 2) _mm256_storeu_si256((__m256i *)(out + 2 * ldo), acc2);
    if (rows > 3) _mm256_storeu_si256((__m256i *)(out + 3 * ldo), acc3);
}

// 4 rows x 16 columns (two blocks), the main loop: each A broadcast feeds two maddubs.
__attribute__((target("avx2")))
static inline void block4x16(int kg, const uint8_t *a, int lda, const int8_t *bp0, const int8_t *bp1, int32_t *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int g = 0; g < kg; g++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(bp0 + (int64_t)g * 32));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(bp1 + (int64_t)g * 32));
        int32_t w; __m256i x;
        memcpy(&w, a + g * 4, 4); x = _mm256_set1_epi32(w);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        memcpy(&w, a + lda + g * 4, 4); x = _mm256_set1_epi32(w);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        memcpy(&w, a + 2 * lda + g * 4, 4); x = _mm256_set1_epi32(w);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
        memcpy(&w, a + 3 * lda + g * 4, 4); x = _mm256_set1_epi32(w);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), ones));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), ones));
    }
    _mm256_storeu_si256((__m256i *)out, c00);                 _mm256_storeu_si256((__m256i *)(out + 8), c01);
    _mm256_storeu_si256((__m256i *)(out + ldo), c10);         _mm256_storeu_si256((__m256i *)(out + ldo + 8), c11);
    _mm256_storeu_si256((__m256i *)(out + 2 * ldo), c20);     _mm256_storeu_si256((__m256i *)(out + 2 * ldo + 8), c21);
    _mm256_storeu_si256((__m256i *)(out + 3 * ldo), c30);     _mm256_storeu_si256((__m256i *)(out + 3 * ldo + 8), c31);
}

__attribute__((target("avx2")))
static void qgemm_avx2(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc) {
    int kg = (k + 3) / 4, nb = (n + 7) / 8;
    int32_t tmp[4 * 16];
    for (int i = 0; i < m; i += 4) {
        int rows = m - i < 4 ? m - i : 4;
        const uint8_t *ar = a + (int64_t)i * lda;
        int j = 0;
        for (; j + 1 < nb && rows == 4; j += 2) {
            const int8_t *b0 = packed + (int64_t)j * kg * 32, *b1 = b0 + (int64_t)kg * 32;
            if ((j + 2) * 8 <= n) {
                block4x16(kg, ar, lda, b0, b1, c + (int64_t)i * ldc + j * 8, ldc);
            } else {
                block4x16(kg, ar, lda, b0, b1, tmp, 16);
                for (int r = 0; r < 4; r++) for (int q = 0; q < 16 && j * 8 + q < n; q++) c[(int64_t)(i + r) * ldc + j * 8 + q] = tmp[r * 16 + q];
            }
        }
        for (; j < nb; j++) {
            const int8_t *b0 = packed + (int64_t)j * kg * 32;
            if ((j + 1) * 8 <= n) {
                block(rows, kg, ar, lda, b0, c + (int64_t)i * ldc + j * 8, ldc);
            } else {
                block(rows, kg, ar, lda, b0, tmp, 8);
                for (int r = 0; r < rows; r++) for (int q = 0; j * 8 + q < n; q++) c[(int64_t)(i + r) * ldc + j * 8 + q] = tmp[r * 8 + q];
            }
        }
    }
}

#endif

void cnns_qgemm_u7s8(int m, int n, int k, const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc) {
#if CNNS_X86
    static int have = -1;
    if (have < 0) { __builtin_cpu_init(); have = __builtin_cpu_supports("avx2"); }
    if (have) { qgemm_avx2(m, n, k, a, lda, packed, c, ldc); return; }
#endif
    cnns_qgemm_u7s8_scalar(m, n, k, a, lda, packed, c, ldc);
}
