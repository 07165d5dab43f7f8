#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>

int cnns_have_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Rows [r0, r1) x 8 columns, one row at a time (the 8-wide column tail).
__attribute__((target("avx2,fma")))
static inline void rows_x8(int rows, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                           int accumulate) {
    for (int i = 0; i < rows; i++) {
        __m256 acc = accumulate ? _mm256_loadu_ps(c + (int64_t)i * ldc) : _mm256_setzero_ps();
        for (int p = 0; p < k; p++)
            acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (int64_t)i * lda + p), _mm256_loadu_ps(b + (int64_t)p * ldb),
                                  acc);
        _mm256_storeu_ps(c + (int64_t)i * ldc, acc);
    }
}

// R rows (R ≤ 6, a constant at each call, so the loops unroll into registers) x 16 columns:
// c[0..R) x [0..16) (+)= a[0..R) x k · b[k x 16), 2R FMA chains. R = 6 is the main block (12
// accumulators); 1-5 the row tail.
__attribute__((target("avx2,fma"), always_inline))
static inline void block_rows_x16(int R, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                                  int accumulate) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < R; r++) {
        c0[r] = accumulate ? _mm256_loadu_ps(c + (int64_t)r * ldc) : _mm256_setzero_ps();
        c1[r] = accumulate ? _mm256_loadu_ps(c + (int64_t)r * ldc + 8) : _mm256_setzero_ps();
    }
    for (int p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b + (int64_t)p * ldb), b1 = _mm256_loadu_ps(b + (int64_t)p * ldb + 8);
        for (int r = 0; r < R; r++) {
            const __m256 x = _mm256_broadcast_ss(a + (int64_t)r * lda + p);
            c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(c + (int64_t)r * ldc, c0[r]);
        _mm256_storeu_ps(c + (int64_t)r * ldc + 8, c1[r]);
    }
}

// Plain loops for the last columns (n not a multiple of 8).
static inline void rows_scalar(int rows, int cols, int k, const float *a, int lda, const float *b, int ldb, float *c,
                               int ldc, int accumulate) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float s = accumulate ? c[(int64_t)i * ldc + j] : 0;
            for (int p = 0; p < k; p++) s += a[(int64_t)i * lda + p] * b[(int64_t)p * ldb + j];
            c[(int64_t)i * ldc + j] = s;
        }
}

__attribute__((target("avx2,fma")))
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                        int acc) {
    int j = 0;
    // 16-column panels: the panel of b (k x 16) stays in L1 while every row block of a passes.
    // Six-row blocks; the last 7 or 8 rows as 4 + 3 or 4 + 4 (a 1- or 2-row block has too few
    // FMA chains), the rest of the rows in one block of 1 to 5.
    int six = m;
    if (m >= 7 && (m % 6 == 1 || m % 6 == 2)) six = m - 6 - m % 6;
    six -= six % 6;
    for (; j + 16 <= n; j += 16) {
        int i = 0;
        for (; i < six; i += 6)
            block_rows_x16(6, k, a + (int64_t)i * lda, lda, b + j, ldb, c + (int64_t)i * ldc + j, ldc, acc);
        if (m - i >= 7) {
            block_rows_x16(4, k, a + (int64_t)i * lda, lda, b + j, ldb, c + (int64_t)i * ldc + j, ldc, acc);
            i += 4;
        }
        const float *ai = a + (int64_t)i * lda;
        float *ci = c + (int64_t)i * ldc + j;
        switch (m - i) {
        case 5: block_rows_x16(5, k, ai, lda, b + j, ldb, ci, ldc, acc); break;
        case 4: block_rows_x16(4, k, ai, lda, b + j, ldb, ci, ldc, acc); break;
        case 3: block_rows_x16(3, k, ai, lda, b + j, ldb, ci, ldc, acc); break;
        case 2: block_rows_x16(2, k, ai, lda, b + j, ldb, ci, ldc, acc); break;
        case 1: block_rows_x16(1, k, ai, lda, b + j, ldb, ci, ldc, acc); break;
        default: break;
        }
    }
    for (; j + 8 <= n; j += 8) rows_x8(m, k, a, lda, b + j, ldb, c + j, ldc, acc);
    if (j < n) rows_scalar(m, n - j, k, a, lda, b + j, ldb, c + j, ldc, acc);
}

// C[m x n] (+)= A[m x k] · B[k x n]: k in blocks of KC rows; per block, each 16-column panel of B
// (kc x 16) is copied into `strip` (16 KiB, contiguous), which stays in L1 while every 6-row block
// of A passes it. Read in place, a panel's rows lie ldb floats apart: at a Dense layer's 1 KiB stride
// its 256 rows fall into 4 of the 64 sets of an 8-way 32 KiB L1 (Zen 3) and went back to L2 for
// every row block. Each block continues the sums in C, so the result equals cnns_sgemm_nn_avx2's
// bit for bit; the last n mod 16 columns run there unblocked.
__attribute__((target("avx2,fma")))
void cnns_sgemm_panels_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                            int acc) {
    const int n16 = n / 16 * 16;
    if (k == 0 || n16 == 0) {
        cnns_sgemm_nn_avx2(m, n, k, a, lda, b, ldb, c, ldc, acc);
        return;
    }
    float strip[16 * CNNS_SGEMM_PANEL_KC] __attribute__((aligned(64)));
    for (int p0 = 0; p0 < k; p0 += CNNS_SGEMM_PANEL_KC) {
        const int kc = k - p0 < CNNS_SGEMM_PANEL_KC ? k - p0 : CNNS_SGEMM_PANEL_KC;
        for (int j = 0; j < n16; j += 16) {
            for (int p = 0; p < kc; p++) {
                const float *row = b + (int64_t)(p0 + p) * ldb + j;
                _mm256_store_ps(strip + p * 16, _mm256_loadu_ps(row));
                _mm256_store_ps(strip + p * 16 + 8, _mm256_loadu_ps(row + 8));
            }
            cnns_sgemm_nn_avx2(m, 16, kc, a + p0, lda, strip, 16, c + j, ldc, acc || p0 > 0);
        }
    }
    if (n16 < n) cnns_sgemm_nn_avx2(m, n - n16, k, a, lda, b + n16, ldb, c + n16, ldc, acc);
}
#else
int cnns_have_avx2_fma(void) { return 0; }

// Without x86 the same product in plain C (callers ask cnns_have_avx2_fma() first and take
// cblas_sgemm; this keeps the symbol correct if called).
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                        int acc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float sum = acc ? c[(int64_t)i * ldc + j] : 0.0f;
            for (int l = 0; l < k; l++) sum += a[(int64_t)i * lda + l] * b[(int64_t)l * ldb + j];
            c[(int64_t)i * ldc + j] = sum;
        }
}

void cnns_sgemm_panels_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                            int acc) {
    cnns_sgemm_nn_avx2(m, n, k, a, lda, b, ldb, c, ldc, acc);
}
#endif
