// Two-sided Winograd transform of a whole (C, K) plane stack, for input channels c0..<c1:
//   in (n, n, C, K), L (rows, n) dense row-major -> out (rows, rows, C, K)
//   out[i][j][c][k] = Σ_s (Σ_r L[i][r] · in[r][s][c][k]) · L[j][s]
// the filter transform U = G·g·Gᵀ (L = G, n = r) and the weight gradient's dW = Gᵀ·M·G (L = Gᵀ,
// n = α). Every coefficient takes part, zeros included (no branches; an infinite input gives NaN
// where a zero meets it), the sums in r, then s order as in the plain reference below. AVX2+FMA:
// eight filters at a time with the n·n inputs and one row of the half-transformed values in
// registers, the transforms' shapes unrolled, each output written once. rows, n ≤ 8.
#include "cnns_kernels.h"

#define TS_MAX 8

// The plain reference over filters k0..<k1 (also the tail of the AVX2 version).
static void two_sided_lanes(int rows, int n, const float *L, const float *in, int C, int K, int c, int k0, int k1,
                            float *out) {
    for (int k = k0; k < k1; k++) {
        float half[TS_MAX][TS_MAX];
        for (int i = 0; i < rows; i++)
            for (int s = 0; s < n; s++) {
                float h = 0;
                for (int r = 0; r < n; r++) h += L[i * n + r] * in[((long)(r * n + s) * C + c) * K + k];
                half[i][s] = h;
            }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < rows; j++) {
                float o = 0;
                for (int s = 0; s < n; s++) o += half[i][s] * L[j * n + s];
                out[((long)(i * rows + j) * C + c) * K + k] = o;
            }
    }
}

void cnns_winograd_two_sided_scalar(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                                    float *out) {
    for (int c = c0; c < c1; c++) two_sided_lanes(rows, n, L, in, C, K, c, 0, K, out);
}

#if CNNS_X86
#include <immintrin.h>

// Eight filters at k of channel c, ROWS and N constants after inlining (the loops unroll and the
// inputs stay in registers); Lv holds each coefficient broadcast, zeros included.
__attribute__((target("avx2,fma"), always_inline)) static inline void two_sided_block(int ROWS, int N,
                                                                                     const __m256 *Lv,
                                                                                     const float *in, int C, int K,
                                                                                     int c, int k, float *out) {
    __m256 x[TS_MAX * TS_MAX];
    for (int rs = 0; rs < N * N; rs++) x[rs] = _mm256_loadu_ps(in + ((long)rs * C + c) * K + k);
    for (int i = 0; i < ROWS; i++) {
        __m256 half[TS_MAX];
        for (int s = 0; s < N; s++) {
            __m256 h = _mm256_mul_ps(Lv[i * N], x[s]);
            for (int r = 1; r < N; r++) h = _mm256_fmadd_ps(Lv[i * N + r], x[r * N + s], h);
            half[s] = h;
        }
        for (int j = 0; j < ROWS; j++) {
            __m256 o = _mm256_mul_ps(half[0], Lv[j * N]);
            for (int s = 1; s < N; s++) o = _mm256_fmadd_ps(half[s], Lv[j * N + s], o);
            _mm256_storeu_ps(out + ((long)(i * ROWS + j) * C + c) * K + k, o);
        }
    }
}

__attribute__((target("avx2,fma"))) static void two_sided_avx2(int rows, int n, const float *L, const float *in, int C,
                                                                int K, int c0, int c1, float *out) {
    __m256 Lv[TS_MAX * TS_MAX];
    for (int i = 0; i < rows * n; i++) Lv[i] = _mm256_set1_ps(L[i]);
    for (int c = c0; c < c1; c++) {
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            // The transforms' shapes as constants: G·g·Gᵀ of F(2x2,3x3), F(4x4,3x3), F(2x2,5x5) and
            // the weight gradient's Gᵀ·M·G of each; any other shape runs the general loops.
#define TS_CASE(R, M)                                                                                             \
    if (rows == R && n == M) {                                                                                    \
        two_sided_block(R, M, Lv, in, C, K, c, k, out);                                                           \
        continue;                                                                                                 \
    }
            TS_CASE(4, 3)
            TS_CASE(6, 3)
            TS_CASE(6, 5)
            TS_CASE(3, 4)
            TS_CASE(3, 6)
            TS_CASE(5, 6)
#undef TS_CASE
            two_sided_block(rows, n, Lv, in, C, K, c, k, out);
        }
        if (k < K) two_sided_lanes(rows, n, L, in, C, K, c, k, K, out);
    }
}
#endif

void cnns_winograd_two_sided(int rows, int n, const float *L, const float *in, int C, int K, int c0, int c1,
                             float *out) {
#if CNNS_X86
    if (rows <= TS_MAX && n <= TS_MAX && cnns_have_avx2_fma()) {
        two_sided_avx2(rows, n, L, in, C, K, c0, c1, out);
        return;
    }
#endif
    cnns_winograd_two_sided_scalar(rows, n, L, in, C, K, c0, c1, out);
}
