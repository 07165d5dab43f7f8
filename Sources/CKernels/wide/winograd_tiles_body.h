// Winograd tile transforms, vectorised over channels (input) or filters (output) WT_W lanes at a
// time, written once on WT_W-lane vector types and compiled per ISA by the file that includes it
// (winograd_tiles.c: AVX2+FMA at 8 lanes, AVX-512 at 16, and the 16-lane code for AVX2 as `w16`,
// which the tests run on every machine). The plain reference is the Swift kernels in
// WinogradTileKernels.swift (the `--isa scalar` path), with the same formulas.
//
// The includer defines (as wide_kernels_body.h's do):
//   WT_W                   the lanes of a vector
//   WT_TARGET              the function attribute (target ISA)
//   WT_NAME(x)             the exported name of kernel x
//   WT_LOAD_PART(p, n)     a vector with the first n < WT_W floats from p, the rest 0, reading
//                          nothing past them (a masked load)
//   WT_STORE_PART(p, v, n) the first n lanes of v to p, writing nothing past them
// A tail of fewer than WT_W channels or filters runs the same vector code on these, with no call
// (a first layer's C = 1 or 3 is all tail: with a call per partial vector, F(4x4,3x3) on
// 28x28x1->32 had spent 60% of its time in the input transform).
//
// Input tile:  d: α² pointers to the C channels of each input pixel (row-major i·α + j; a zero row
//              where padded) -> V[ξ] (C floats) at v + ξ·xs, V = Bᵀ d B. α = 4 (F(2x2,3x3), F(3x3,2x2)),
//              6 (F(4x4,3x3) and F(2x2,5x5), which share Bᵀ) or 8 (F(4x4,5x5)).
// Output tile: M[ξ] (K floats) at mtx + ξ·xs -> Y = Aᵀ M A + bias, clamped to [lo, hi] if asked,
//              rows x cols pixels at out + i·rowStride + j·K. variant 0: F(2x2,3x3), 1: F(4x4,3x3),
//              2: F(2x2,5x5), 3: F(3x3,2x2) (α = 4, F(2x2,3x3)'s input transform), 4: F(4x4,5x5)
//              (α = 8). With WT_STREAM,
//              whole aligned 64-byte vectors go out as non-temporal stores (no read for ownership
//              of lines the tile overwrites whole), then a store fence.
#include <stdint.h>
#include <string.h>

typedef float wt_v __attribute__((vector_size(4 * WT_W)));

#ifndef WT_FLAGS_DEFINED
#define WT_FLAGS_DEFINED
// The output kernel's flags (cnns_kernels.h: CNNS_WINO_CLAMP, CNNS_WINO_STREAM).
enum { WT_CLAMP = 1, WT_STREAM = 2 };

static inline void wt_store_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_sfence();
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}
#endif

// Whole vectors.
WT_TARGET static inline wt_v wt_load(const float *p) {
    wt_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

WT_TARGET static inline void wt_store(float *p, wt_v v) { memcpy(p, &v, sizeof v); }

// Whole vectors where n = WT_W (a constant in the blocks' whole-vector loops), else the includer's
// partial ones.
WT_TARGET static inline wt_v wt_load_n(const float *p, int n) { return n == WT_W ? wt_load(p) : WT_LOAD_PART(p, n); }
WT_TARGET static inline void wt_store_n(float *p, wt_v v, int n) {
    if (n == WT_W)
        wt_store(p, v);
    else
        WT_STORE_PART(p, v, n);
}

// Bᵀ of F(2,3): rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
WT_TARGET __attribute__((always_inline)) static inline void wt_bt4(const wt_v *x, wt_v *o) {
    o[0] = x[0] - x[2];
    o[1] = x[1] + x[2];
    o[2] = x[2] - x[1];
    o[3] = x[1] - x[3];
}

// Bᵀ of F(4,3) with points 0, ±1, ±2, ∞ (Lavin & Gray).
WT_TARGET __attribute__((always_inline)) static inline void wt_bt6(const wt_v *x, wt_v *o) {
    const wt_v s12 = x[1] + x[2], s34 = x[3] + x[4], t12 = x[1] - x[2], t43 = x[4] - x[3];
    const wt_v t31 = x[3] - x[1], t42 = x[4] - x[2];
    o[0] = x[0] * 4.0f - x[2] * 5.0f + x[4];
    o[1] = s34 - s12 * 4.0f;
    o[2] = t43 + t12 * 4.0f;
    o[3] = t42 + t31 * 2.0f;
    o[4] = t42 - t31 * 2.0f;
    o[5] = x[1] * 4.0f - x[3] * 5.0f + x[5];
}

// Bᵀ of F(4,5) with points 0, ±1, ±2, ±1/2, ∞ (WinogradTransform.f4x5): rows 1-6 in pairs that share
// their even-index part E and differ in the sign of their odd-index part O.
WT_TARGET __attribute__((always_inline)) static inline void wt_bt8(const wt_v *x, wt_v *o) {
    const wt_v e1 = x[2] + x[6] - x[4] * 4.25f, o1 = x[1] + x[5] - x[3] * 4.25f;
    const wt_v e3 = x[2] * 0.25f - x[4] * 1.25f + x[6], o3 = x[1] * 0.5f - x[3] * 2.5f + x[5] * 2.0f;
    const wt_v e5 = x[2] * 4.0f - x[4] * 5.0f + x[6], o5 = x[1] * 2.0f - x[3] * 2.5f + x[5] * 0.5f;
    o[0] = (x[2] - x[4]) * 5.25f + x[6] - x[0];
    o[1] = e1 + o1;
    o[2] = e1 - o1;
    o[3] = e3 + o3;
    o[4] = e3 - o3;
    o[5] = e5 + o5;
    o[6] = e5 - o5;
    o[7] = (x[3] - x[5]) * 5.25f + x[7] - x[1];
}

// Aᵀ: F(2,3) 2x4, F(4,3) 4x6, F(2,5) 2x6, F(3,2) 3x4 (F(2,3)'s points, so its Bᵀ), F(4,5) 4x8.
WT_TARGET __attribute__((always_inline)) static inline void wt_at(int variant, const wt_v *m, wt_v *y) {
    if (variant == 0) {
        y[0] = m[0] + m[1] + m[2];
        y[1] = m[1] - m[2] - m[3];
    } else if (variant == 1) {
        const wt_v a = m[1] + m[2], b = m[3] + m[4], c = m[1] - m[2], d = m[3] - m[4];
        y[0] = m[0] + a + b;
        y[1] = c + d * 2.0f;
        y[2] = a + b * 4.0f;
        y[3] = c + d * 8.0f + m[5];
    } else if (variant == 2) {
        y[0] = m[0] + m[1] + m[2] + m[3] + m[4];
        y[1] = (m[1] - m[2]) + (m[3] - m[4]) * 2.0f + m[5];
    } else if (variant == 3) {
        y[0] = m[0] + m[1] + m[2];
        y[1] = m[1] - m[2];
        y[2] = m[1] + m[2] - m[3];
    } else {
        const wt_v a1 = m[1] + m[2], b1 = m[1] - m[2], a2 = m[3] + m[4], b2 = m[3] - m[4];
        const wt_v a3 = m[5] + m[6], b3 = m[5] - m[6];
        y[0] = m[0] + a1 + a2 + a3;
        y[1] = b1 + b2 * 2.0f + b3 * 0.5f;
        y[2] = a1 + a2 * 4.0f + a3 * 0.25f;
        y[3] = b1 + b2 * 8.0f + b3 * 0.125f + m[7];
    }
}

// Channels cb..<cb+n of one input tile (n = WT_W, or fewer for the last channels).
WT_TARGET __attribute__((always_inline)) static inline void wt_input_block(int alpha, const float *const *d, int cb,
                                                                           int n, float *v, long xs) {
    wt_v s[64], x[8], o[8];
    for (int j = 0; j < alpha; j++) {
        for (int i = 0; i < alpha; i++) x[i] = wt_load_n(d[i * alpha + j] + cb, n);
        if (alpha == 4) wt_bt4(x, o); else if (alpha == 6) wt_bt6(x, o); else wt_bt8(x, o);
        for (int i = 0; i < alpha; i++) s[i * alpha + j] = o[i];
    }
    for (int i = 0; i < alpha; i++) {
        if (alpha == 4) wt_bt4(s + 4 * i, o); else if (alpha == 6) wt_bt6(s + 6 * i, o); else wt_bt8(s + 8 * i, o);
        float *base = v + (long)(alpha * i) * xs + cb;
        for (int k = 0; k < alpha; k++) wt_store_n(base + k * xs, o[k], n);
    }
}

WT_TARGET __attribute__((always_inline)) static inline void wt_input(int alpha, const float *const *d, int C, float *v,
                                                                     long xs) {
    int cb = 0;
    for (; cb + WT_W <= C; cb += WT_W) wt_input_block(alpha, d, cb, WT_W, v, xs);
    // The last n < WT_W channels (all of them where C < WT_W, as in a first layer) on partial
    // vectors, after the loop, so that the whole-vector loop carries no mask code.
    if (cb < C) wt_input_block(alpha, d, cb, C - cb, v, xs);
}

WT_TARGET void WT_NAME(wino_input_tile)(int alpha, const float *const *d, int C, float *v, long xs) {
    if (alpha == 4)
        wt_input(4, d, C, v, xs);
    else if (alpha == 6)
        wt_input(6, d, C, v, xs);
    else
        wt_input(8, d, C, v, xs);
}

static inline int wt_alpha(int variant) { return variant == 0 || variant == 3 ? 4 : variant == 4 ? 8 : 6; }
static inline int wt_m(int variant) { return variant == 1 || variant == 4 ? 4 : variant == 3 ? 3 : 2; }

// Filters kb..<kb+n of one output tile (n = WT_W, or fewer for the last filters): pixel (i, c) at
// out + i·rowStride + c·K + kb.
WT_TARGET __attribute__((always_inline)) static inline void wt_output_block(int variant, const float *mtx, long xs,
                                                                            int K, int kb, int n, const float *bias,
                                                                            int clamp, int stream, float lo, float hi,
                                                                            float *out, long rowStride, int rows,
                                                                            int cols) {
    const int alpha = wt_alpha(variant), m = wt_m(variant);
    wt_v s[32], x[8], y[4];
    wt_v vlo = {0}, vhi = {0};
    vlo += lo, vhi += hi;
    for (int j = 0; j < alpha; j++) {
        const float *p = mtx + j * xs + kb;
        for (int i = 0; i < alpha; i++) x[i] = wt_load_n(p + (long)i * alpha * xs, n);
        wt_at(variant, x, y);
        for (int i = 0; i < m; i++) s[i * alpha + j] = y[i];
    }
    const wt_v b = bias ? wt_load_n(bias + kb, n) : (wt_v){0};
    for (int i = 0; i < rows; i++) {
        wt_at(variant, s + alpha * i, y);
        float *o = out + i * rowStride + kb;
        for (int c = 0; c < cols; c++) {
            wt_v z = y[c] + b;
            if (clamp) z = __builtin_elementwise_min(__builtin_elementwise_max(z, vlo), vhi);
            float *dst = o + (long)c * K;
            if (stream && n == WT_W && ((uintptr_t)dst & (4 * WT_W - 1)) == 0)
                __builtin_nontemporal_store(z, (wt_v *)dst);
            else
                wt_store_n(dst, z, n);
        }
    }
}

WT_TARGET __attribute__((always_inline)) static inline void wt_output(int variant, const float *mtx, long xs, int K,
                                                                      const float *bias, int flags, float lo, float hi,
                                                                      float *out, long rowStride, int rows, int cols) {
    // Only whole-line vectors stream: at 8 lanes the two halves of a line are written a tile pass
    // apart, and the write-combining buffers flush them as partial lines (F(4x4,3x3) 16x16x32->64
    // under --isa avx2 on Zen 4: 2.73 ms plain, 3.43 ms streaming).
    const int clamp = flags & WT_CLAMP, stream = (flags & WT_STREAM) && 4 * WT_W == 64;
    int kb = 0;
    for (; kb + WT_W <= K; kb += WT_W)
        wt_output_block(variant, mtx, xs, K, kb, WT_W, bias, clamp, stream, lo, hi, out, rowStride, rows, cols);
    // The last n < WT_W filters (all of them where K < WT_W) on partial vectors and plain stores.
    if (kb < K) wt_output_block(variant, mtx, xs, K, kb, K - kb, bias, clamp, 0, lo, hi, out, rowStride, rows, cols);
    // Streaming stores are weakly ordered: fence them before another thread may read the output.
    if (stream) wt_store_fence();
}

WT_TARGET void WT_NAME(wino_output_tile)(int variant, const float *mtx, long xs, int K, const float *bias, int flags,
                                         float lo, float hi, float *out, long rowStride, int rows, int cols) {
    switch (variant) {
    case 0: wt_output(0, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols); break;
    case 1: wt_output(1, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols); break;
    case 3: wt_output(3, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols); break;
    case 4: wt_output(4, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols); break;
    default: wt_output(2, mtx, xs, K, bias, flags, lo, hi, out, rowStride, rows, cols); break;
    }
}
