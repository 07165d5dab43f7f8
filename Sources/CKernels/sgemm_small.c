#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>

int cnns_have_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// One 6x16 block: c[0..6) x [0..16) = a[0..6) x k · b[k x 16)
__attribute__((target("avx2,fma")))
static inline void block6x16(int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    if (acc) {
        c00 = _mm256_loadu_ps(c);           c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc);     c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc); c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc); c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc); c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc); c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    }
    for (int p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b + (int64_t)p * ldb), b1 = _mm256_loadu_ps(b + (int64_t)p * ldb + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a + p);                 c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + lda + p);           c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2 * lda + p);       c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3 * lda + p);       c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4 * lda + p);       c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5 * lda + p);       c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    _mm256_storeu_ps(c, c00);           _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10);     _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

// Rows [r0, r1) x 8 columns, one row at a time (row tails and 8-wide column tails).
__attribute__((target("avx2,fma")))
static inline void rows_x8(int rows, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int accumulate) {
    for (int i = 0; i < rows; i++) {
        __m256 acc = accumulate ? _mm256_loadu_ps(c + (int64_t)i * ldc) : _mm256_setzero_ps();
        for (int p = 0; p < k; p++) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (int64_t)i * lda + p), _mm256_loadu_ps(b + (int64_t)p * ldb), acc);
        _mm256_storeu_ps(c + (int64_t)i * ldc, acc);
    }
}

// Plain loops for the last columns (n not a multiple of 8).
static inline void rows_scalar(int rows, int cols, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int accumulate) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float s = accumulate ? c[(int64_t)i * ldc + j] : 0;
            for (int p = 0; p < k; p++) s += a[(int64_t)i * lda + p] * b[(int64_t)p * ldb + j];
            c[(int64_t)i * ldc + j] = s;
        }
}

__attribute__((target("avx2,fma")))
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int acc) {
    int j = 0;
    // 16-column panels: the panel of b (k x 16) stays in L1 while every row block of a passes.
    for (; j + 16 <= n; j += 16) {
        int i = 0;
        for (; i + 6 <= m; i += 6) block6x16(k, a + (int64_t)i * lda, lda, b + j, ldb, c + (int64_t)i * ldc + j, ldc, acc);
        if (i < m) {
            rows_x8(m - i, k, a + (int64_t)i * lda, lda, b + j, ldb, c + (int64_t)i * ldc + j, ldc, acc);
            rows_x8(m - i, k, a + (int64_t)i * lda, lda, b + j + 8, ldb, c + (int64_t)i * ldc + j + 8, ldc, acc);
        }
    }
    for (; j + 8 <= n; j += 8) rows_x8(m, k, a, lda, b + j, ldb, c + j, ldc, acc);
    if (j < n) rows_scalar(m, n - j, k, a, lda, b + j, ldb, c + j, ldc, acc);
}
#else
int cnns_have_avx2_fma(void) { return 0; }

// Without x86 the same product in plain C (callers ask cnns_have_avx2_fma() first and take
// cblas_sgemm; this keeps the symbol correct if called).
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int acc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float sum = acc ? c[(int64_t)i * ldc + j] : 0.0f;
            for (int l = 0; l < k; l++) sum += a[(int64_t)i * lda + l] * b[(int64_t)l * ldb + j];
            c[(int64_t)i * ldc + j] = sum;
        }
}
#endif
