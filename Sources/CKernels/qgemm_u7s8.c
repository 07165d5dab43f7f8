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
                    if (kk < k)
                        s += (int32_t)a[(int64_t)i * lda + kk] * packed[((int64_t)j * kg + g) * 32 + cc * 4 + t];
                }
            c[(int64_t)i * ldc + col] = s;
        }
}

// The AVX2 kernel is the direct convolution's (qconv_direct.c) with A's rows as pointers and its
// groups of 4 bytes at 4·g: one register-blocked vpmaddubsw loop for both.
#if CNNS_X86
#include <stdlib.h>

__attribute__((target("avx2"))) static void qgemm_avx2(int m, int n, int k, const uint8_t *a, int lda,
                                                        const int8_t *packed, int32_t *c, int ldc) {
    enum { ROWS = 256, GROUPS = 256 };
    const int kg = (k + 3) / 4;
    long local[GROUPS], *off = kg <= GROUPS ? local : malloc(sizeof(long) * (size_t)kg);
    for (int g = 0; g < kg; g++) off[g] = 4L * g;
    const uint8_t *rows[ROWS + 8];
    for (int i0 = 0; i0 < m; i0 += ROWS) {
        const int mb = m - i0 < ROWS ? m - i0 : ROWS;
        for (int t = 0; t < mb + 8; t++) rows[t] = a + (long)(i0 + (t < mb ? t : 0)) * lda;
        cnns_qgemm_gathered_avx2(mb, n, kg, rows, off, packed, c + (long)i0 * ldc, ldc);
    }
    if (off != local) free(off);
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
