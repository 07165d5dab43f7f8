// Two-sided Winograd transform of a whole (C, K) plane stack, for input channels c0..<c1:
//   in (n, n, C, K), L (rows, n) dense row-major -> out (rows, rows, C, K)
//   out[i][j][c][k] = Σ_s (Σ_r L[i][r] · in[r][s][c][k]) · L[j][s]
// the filter transform U = G·g·Gᵀ (L = G, n = r) and the weight gradient's dW = Gᵀ·M·G (L = Gᵀ,
// n = α). Zero coefficients are skipped and the sums run in r, then s order, as in the plain
// reference below. AVX2+FMA: eight filters at a time with the n·n inputs and one row of the
// half-transformed values in registers, so each output is written once (the Swift loops it replaces
// added into every output plane once per term, and ran at about 1 GFLOP/s). rows, n ≤ 8.
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
                for (int r = 0; r < n; r++) {
                    const float l = L[i * n + r];
                    if (l != 0) h += l * in[((long)(r * n + s) * C + c) * K + k];
                }
                half[i][s] = h;
            }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < rows; j++) {
                float o = 0;
                for (int s = 0; s < n; s++) {
                    const float l = L[j * n + s];
                    if (l != 0) o += half[i][s] * l;
                }
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

__attribute__((target("avx2,fma"))) static void two_sided_avx2(int rows, int n, const float *L, const float *in, int C,
                                                                int K, int c0, int c1, float *out) {
    for (int c = c0; c < c1; c++) {
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 x[TS_MAX * TS_MAX];
            for (int rs = 0; rs < n * n; rs++) x[rs] = _mm256_loadu_ps(in + ((long)rs * C + c) * K + k);
            for (int i = 0; i < rows; i++) {
                __m256 half[TS_MAX];
                for (int s = 0; s < n; s++) {
                    __m256 h = _mm256_setzero_ps();
                    for (int r = 0; r < n; r++) {
                        const float l = L[i * n + r];
                        if (l != 0) h = _mm256_fmadd_ps(_mm256_set1_ps(l), x[r * n + s], h);
                    }
                    half[s] = h;
                }
                for (int j = 0; j < rows; j++) {
                    __m256 o = _mm256_setzero_ps();
                    for (int s = 0; s < n; s++) {
                        const float l = L[j * n + s];
                        if (l != 0) o = _mm256_fmadd_ps(half[s], _mm256_set1_ps(l), o);
                    }
                    _mm256_storeu_ps(out + ((long)(i * rows + j) * C + c) * K + k, o);
                }
            }
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
