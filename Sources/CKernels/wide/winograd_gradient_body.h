// The Winograd weight gradient's dy tile and the two-sided plane-stack transform, WT_W lanes at a
// time over filters, written once on WT_W-lane vector types and compiled per ISA by the file that
// includes it after winograd_tiles_body.h (AVX-512 at 16 lanes; the same 16-lane code for AVX2
// as `w16`, which the tests run on every machine). The plain references are
// cnns_wino_dy_tile_scalar and cnns_winograd_two_sided_scalar, with the same formulas.
//
// dy tile:   δ (rows×cols pixels of K at dy + i·rowStride + j·K, zero past them) -> D[ξ] (K floats)
//            at d + ξ·xs, D = A δ Aᵀ (A: α×m row-major, m ≤ 4, α ≤ 8); db[k] += Σ δ[i][j][k] when
//            db is given. δ stays in registers (m² vectors); each row a of A δ is formed once and
//            sent to its α outputs. Only the five transforms' own A run here, their coefficients as
//            constants (zero terms skipped at compile time, as the reference skips them); any
//            other A runs the plain reference.
// two-sided: out (rows, rows, C, K)[i][j][c][k] = Σ_s (Σ_r L[i][r]·in (n, n, C, K)[r][s][c][k])·L[j][s]
//            for channels c0..<c1 (rows, n ≤ 8). With n ≤ 5 the n² inputs stay in registers and
//            each output row is formed from them (the filter transform G·g·Gᵀ); with n > 5 (the
//            weight gradient's Gᵀ·M·G) the rows² outputs are the accumulators and the inputs pass
//            through a column s at a time. Every coefficient takes part, zeros included, and the
//            sums run in r, then s order, as in the reference.

#define WT_DY_MAX_M 4
#define WT_TS_MAX 8

WT_TARGET __attribute__((always_inline)) static inline void WT_NAME(dy_block)(
    int ALPHA, int M, const float *A, const float *dy, long rowStride, int rows, int cols, int K, int k, int n,
    float *d, long xs, float *db) {
    wt_v x[WT_DY_MAX_M][WT_DY_MAX_M];
    wt_v sum = {0};
    #pragma unroll
    for (int i = 0; i < M; i++)
        #pragma unroll
        for (int j = 0; j < M; j++) {
            if (i < rows && j < cols) {
                x[i][j] = wt_load_n(dy + i * rowStride + (long)j * K + k, n);
                sum += x[i][j];
            } else {
                x[i][j] = (wt_v){0};
            }
        }
    if (db) wt_store_n(db + k, wt_load_n(db + k, n) + sum, n);
    #pragma unroll
    for (int a = 0; a < ALPHA; a++) {
        wt_v t[WT_DY_MAX_M];
        #pragma unroll
        for (int j = 0; j < M; j++) {
            wt_v s = {0};
            #pragma unroll
            for (int i = 0; i < M; i++) {
                const float c = A[a * M + i];
                if (c != 0.0f) s += c * x[i][j];
            }
            t[j] = s;
        }
        #pragma unroll
        for (int b = 0; b < ALPHA; b++) {
            wt_v o = {0};
            #pragma unroll
            for (int j = 0; j < M; j++) {
                const float c = A[b * M + j];
                if (c != 0.0f) o += c * t[j];
            }
            wt_store_n(d + (long)(a * ALPHA + b) * xs + k, o, n);
        }
    }
}

#ifndef WT_DY_MATRICES_DEFINED
#define WT_DY_MATRICES_DEFINED
// Each transform's A (α×m, row-major: Aᵀ of WinogradTransform.swift transposed), so its dy tile
// compiles with the coefficients as constants: zeros and ones fold away. The kernel uses one only
// when the caller's A equals it.
static const float wt_dy_a4x2[8] = {1, 0, 1, 1, 1, -1, 0, -1};                         // F(2x2,3x3)
static const float wt_dy_a6x4[24] = {1, 0, 0, 0, 1, 1, 1, 1, 1, -1, 1, -1,              // F(4x4,3x3)
                                     1, 2, 4, 8, 1, -2, 4, -8, 0, 0, 0, 1};
static const float wt_dy_a6x2[12] = {1, 0, 1, 1, 1, -1, 1, 2, 1, -2, 0, 1};             // F(2x2,5x5)
static const float wt_dy_a4x3[12] = {1, 0, 0, 1, 1, 1, 1, -1, 1, 0, 0, -1};             // F(3x3,2x2)
static const float wt_dy_a8x4[32] = {1, 0,    0,    0,     1, 1,     1,    1,           // F(4x4,5x5)
                                     1, -1,   1,    -1,    1, 2,     4,    8,
                                     1, -2,   4,    -8,    1, 0.5f,  0.25f, 0.125f,
                                     1, -0.5f, 0.25f, -0.125f, 0, 0,  0,    1};
#endif

WT_TARGET void WT_NAME(wino_dy_tile)(int alpha, int m, const float *A, const float *dy, long rowStride, int rows,
                                     int cols, int K, float *d, long xs, float *tmp, float *db) {
    // The transforms' shapes and coefficients as constants where A is the transform's own (the
    // loops unroll, δ stays in registers, zero terms vanish); any other A runs the plain reference.
    const float *known = NULL;
    if (alpha == 4 && m == 2) known = wt_dy_a4x2;
    if (alpha == 6 && m == 4) known = wt_dy_a6x4;
    if (alpha == 6 && m == 2) known = wt_dy_a6x2;
    if (alpha == 4 && m == 3) known = wt_dy_a4x3;
    if (alpha == 8 && m == 4) known = wt_dy_a8x4;
    if (!known || memcmp(known, A, sizeof(float) * alpha * m) != 0) {
        cnns_wino_dy_tile_scalar(alpha, m, A, dy, rowStride, rows, cols, K, d, xs, tmp, db);
        return;
    }
    for (int k = 0; k < K; k += WT_W) {
        const int n = K - k < WT_W ? K - k : WT_W;
        // Whole vectors with n a constant (no mask code in the loop that keeps δ in registers),
        // then the tail on masked loads and stores.
#define WT_DY_CASE(AL, MM, MAT)                                                                               \
    if (known == MAT) {                                                                                       \
        if (n == WT_W)                                                                                        \
            WT_NAME(dy_block)(AL, MM, MAT, dy, rowStride, rows, cols, K, k, WT_W, d, xs, db);                 \
        else                                                                                                  \
            WT_NAME(dy_block)(AL, MM, MAT, dy, rowStride, rows, cols, K, k, n, d, xs, db);                    \
        continue;                                                                                             \
    }
        WT_DY_CASE(4, 2, wt_dy_a4x2)
        WT_DY_CASE(6, 4, wt_dy_a6x4)
        WT_DY_CASE(6, 2, wt_dy_a6x2)
        WT_DY_CASE(4, 3, wt_dy_a4x3)
        WT_DY_CASE(8, 4, wt_dy_a8x4)
#undef WT_DY_CASE
    }
}

// n ≤ 5: the n² inputs of WT_W filters in registers, one output row at a time.
WT_TARGET __attribute__((always_inline)) static inline void WT_NAME(ts_inputs_block)(
    int ROWS, int N, const float *L, const float *in, int C, int K, int c, int k, int w, float *out) {
    wt_v x[25];
    for (int rs = 0; rs < N * N; rs++) x[rs] = wt_load_n(in + ((long)rs * C + c) * K + k, w);
    for (int i = 0; i < ROWS; i++) {
        wt_v half[5];
        for (int s = 0; s < N; s++) {
            wt_v h = L[i * N] * x[s];
            for (int r = 1; r < N; r++) h += L[i * N + r] * x[r * N + s];
            half[s] = h;
        }
        for (int j = 0; j < ROWS; j++) {
            wt_v o = half[0] * L[j * N];
            for (int s = 1; s < N; s++) o += half[s] * L[j * N + s];
            wt_store_n(out + ((long)(i * ROWS + j) * C + c) * K + k, o, w);
        }
    }
}

// n > 5 (rows ≤ 5): the rows² outputs of WT_W filters are the accumulators; column s of the
// inputs passes through, its rows half-transformed and added to every output of their row.
WT_TARGET __attribute__((always_inline)) static inline void WT_NAME(ts_outputs_block)(
    int ROWS, int N, const float *L, const float *in, int C, int K, int c, int k, int w, float *out) {
    wt_v o[25];
    for (int s = 0; s < N; s++) {
        wt_v x[WT_TS_MAX];
        for (int r = 0; r < N; r++) x[r] = wt_load_n(in + ((long)(r * N + s) * C + c) * K + k, w);
        for (int i = 0; i < ROWS; i++) {
            wt_v h = L[i * N] * x[0];
            for (int r = 1; r < N; r++) h += L[i * N + r] * x[r];
            for (int j = 0; j < ROWS; j++) {
                if (s == 0)
                    o[i * ROWS + j] = h * L[j * N];
                else
                    o[i * ROWS + j] += h * L[j * N + s];
            }
        }
    }
    for (int ij = 0; ij < ROWS * ROWS; ij++) wt_store_n(out + ((long)ij * C + c) * K + k, o[ij], w);
}

WT_TARGET void WT_NAME(winograd_two_sided)(int rows, int n, const float *L, const float *in, int C, int K, int c0,
                                           int c1, float *out) {
    if (n > 5 && rows > 5) {
        cnns_winograd_two_sided_scalar(rows, n, L, in, C, K, c0, c1, out);
        return;
    }
    for (int c = c0; c < c1; c++)
        for (int k = 0; k < K; k += WT_W) {
            const int w = K - k < WT_W ? K - k : WT_W;
#define WT_TS_IN(R, NN)                                                                                       \
    if (rows == R && n == NN) {                                                                               \
        WT_NAME(ts_inputs_block)(R, NN, L, in, C, K, c, k, w, out);                                           \
        continue;                                                                                             \
    }
#define WT_TS_OUT(R, NN)                                                                                      \
    if (rows == R && n == NN) {                                                                               \
        WT_NAME(ts_outputs_block)(R, NN, L, in, C, K, c, k, w, out);                                          \
        continue;                                                                                             \
    }
            // G·g·Gᵀ of every transform, then Gᵀ·M·G of each (F(3x3,2x2)'s too).
            WT_TS_IN(4, 3)
            WT_TS_IN(6, 3)
            WT_TS_IN(6, 5)
            WT_TS_IN(4, 2)
            WT_TS_IN(8, 5)
            WT_TS_IN(3, 4)
            WT_TS_IN(2, 4)
            WT_TS_OUT(3, 6)
            WT_TS_OUT(5, 6)
            WT_TS_OUT(5, 8)
#undef WT_TS_IN
#undef WT_TS_OUT
            if (n <= 5)
                WT_NAME(ts_inputs_block)(rows, n, L, in, C, K, c, k, w, out);
            else
                WT_NAME(ts_outputs_block)(rows, n, L, in, C, K, c, k, w, out);  // rows ≤ 5 here
        }
}
