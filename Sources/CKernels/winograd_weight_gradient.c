// Winograd weight gradient helpers (WinogradWeightGradient.swift), with plain C references:
//   dy tile:   dy (m×m pixels of K, rows×cols of them inside the map, the rest zero) -> D[ξ] (K each)
//              D = A δ Aᵀ,  A (α×m) row-major;  D[ξ = a·α + b] at d + ξ·xs;  db[k] += Σ δ[i][j][k]
//              when db is given (the bias gradient)
//   transpose: src (rows × cols, leading dimension lds) -> dst (cols × rows, leading dimension ldd)
// The AVX2 builds vectorise over K (dy tile) or run 8x8 blocks (transpose); without AVX2 the
// plain functions run. Coefficients are read from A, zeros skipped, so one function serves every
// transform (F(2x2,3x3), F(4x4,3x3), F(2x2,5x5)).
#include "cnns_kernels.h"

#define DYT_MAX_ALPHA 8

// The body, vectorised over K by the compiler (for each coefficient an axpy over K).
#define DY_TILE_BODY                                                                                          \
    if (db)                                                                                                   \
        for (int i = 0; i < rows; i++)                                                                        \
            for (int j = 0; j < cols; j++) {                                                                  \
                const float *s = dy + i * rowStride + (long)j * K;                                            \
                for (int k = 0; k < K; k++) db[k] += s[k];                                                    \
            }                                                                                                 \
    for (int a = 0; a < alpha; a++)                                                                           \
        for (int j = 0; j < cols; j++) {                                                                      \
            float *t = tmp + ((long)a * m + j) * K;                                                           \
            for (int k = 0; k < K; k++) t[k] = 0.0f;                                                          \
            for (int i = 0; i < rows; i++) {                                                                  \
                const float c = A[a * m + i];                                                                 \
                if (c == 0.0f) continue;                                                                      \
                const float *s = dy + i * rowStride + (long)j * K;                                            \
                for (int k = 0; k < K; k++) t[k] += c * s[k];                                                 \
            }                                                                                                 \
        }                                                                                                     \
    for (int a = 0; a < alpha; a++)                                                                           \
        for (int b = 0; b < alpha; b++) {                                                                     \
            float *o = d + (long)(a * alpha + b) * xs;                                                        \
            for (int k = 0; k < K; k++) o[k] = 0.0f;                                                          \
            for (int j = 0; j < cols; j++) {                                                                  \
                const float c = A[b * m + j];                                                                 \
                if (c == 0.0f) continue;                                                                      \
                const float *t = tmp + ((long)a * m + j) * K;                                                 \
                for (int k = 0; k < K; k++) o[k] += c * t[k];                                                 \
            }                                                                                                 \
        }

void cnns_wino_dy_tile_scalar(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols,
                              int K, float *d, long xs, float *tmp, float *db) {
    DY_TILE_BODY
}

#define TRANSPOSE_BODY                                                                                        \
    for (int r0 = 0; r0 < rows; r0 += 8)                                                                      \
        for (int c0 = 0; c0 < cols; c0 += 8) {                                                                \
            const int r1 = r0 + 8 < rows ? r0 + 8 : rows, c1 = c0 + 8 < cols ? c0 + 8 : cols;                 \
            for (int c = c0; c < c1; c++)                                                                     \
                for (int r = r0; r < r1; r++) dst[(long)c * ldd + r] = src[(long)r * lds + c];                \
        }

void cnns_transpose_scalar(const float *src, int rows, int cols, long lds, float *dst, long ldd) { TRANSPOSE_BODY }

#if CNNS_X86
__attribute__((target("avx2,fma"))) static void dy_tile_avx2(int alpha, int m, const float *A, const float *dy,
                                                             long rowStride, int rows, int cols, int K, float *d,
                                                             long xs, float *tmp, float *db) {
    DY_TILE_BODY
}

__attribute__((target("avx2,fma"))) static void transpose_avx2(const float *src, int rows, int cols, long lds,
                                                               float *dst, long ldd) {
    TRANSPOSE_BODY
}
#endif

void cnns_wino_dy_tile(int alpha, int m, const float *A, const float *dy, long rowStride, int rows, int cols, int K,
                       float *d, long xs, float *tmp, float *db) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        dy_tile_avx2(alpha, m, A, dy, rowStride, rows, cols, K, d, xs, tmp, db);
        return;
    }
#endif
    cnns_wino_dy_tile_scalar(alpha, m, A, dy, rowStride, rows, cols, K, d, xs, tmp, db);
}

void cnns_transpose(const float *src, int rows, int cols, long lds, float *dst, long ldd) {
#if CNNS_X86
    if (cnns_have_avx2_fma()) {
        transpose_avx2(src, rows, cols, lds, dst, ldd);
        return;
    }
#endif
    cnns_transpose_scalar(src, rows, cols, lds, dst, ldd);
}
