// Depthwise convolution forward, NHWC, depth multiplier 1, vectorised over channels DW_W lanes
// at a time; written once on DW_W-lane vector types and compiled per ISA by the file that
// includes it (depthwise_forward.c: AVX2+FMA at 8 lanes, AVX-512 at 16, and the 16-lane code for
// AVX2 as `w16`, which the tests run on every machine). The plain reference is
// cnns_depthwise_forward_scalar in depthwise_forward.c.
//
//   input (n, h, w, c), weights (r, s, c), bias (c) -> output (n, p, q, c), rows row0..<row1 of (n·p)
//   out[n,p,q,c] = clamp(bias[c] + Σ_{r,s in bounds} in[n, p·sh+r−pt, q·sw+s−pl, c] · w[r,s,c])
//
// 3x3 at stride 1 or 2 (MobileNetV2's layers): for each output row and each block of DW_W
// channels the row's columns go eight (then four) at a time, eight independent FMA chains, each
// input column loaded once for the outputs it feeds (ten loads a window row for 24 FMAs at
// stride 1, seventeen at stride 2); a group at the map's border skips the columns outside it (a
// 7-column map is two groups a row, not one group and three single columns). Rows outside the
// map are skipped, as in the reference; each output sums its taps in the reference's order.
// Other kernel sizes: one column at a time, taps clipped, weights from L1. Channels past the last
// full vector: the reference's loop.
//
// The includer defines DW_W (lanes), DW_TARGET (function attribute) and DW_NAME(x).
#include <string.h>

typedef float dw_v __attribute__((vector_size(4 * DW_W)));

DW_TARGET __attribute__((always_inline)) static inline dw_v dw_ld(const float *p) {
    dw_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

DW_TARGET __attribute__((always_inline)) static inline void dw_st(float *p, dw_v v) { memcpy(p, &v, sizeof v); }

DW_TARGET __attribute__((always_inline)) static inline dw_v dw_clamp(dw_v a, int clamp, dw_v lo, dw_v hi) {
    return clamp ? __builtin_elementwise_min(__builtin_elementwise_max(a, lo), hi) : a;
}

// J output columns (4 or 8) of one row, channels c0..c0+DW_W, 3x3 taps at stride ST (J, ST
// constants after inlining: the loops unroll fully). J independent FMA chains; per window row its
// three weight vectors in registers and each input column loaded once for every output it feeds.
// x[r]: input row r of the window at channel c0 and the group's first column (NULL where the row
// lies outside the map); input columns k outside [klo, khi) lie outside the map and count as zero
// (a border group); the first jn outputs are stored. w: the weights at c0 (tap t at w + t·C).
DW_TARGET __attribute__((always_inline)) static inline void dw_group3x3(const float *const x[3], int ST, int J,
                                                                      int klo, int khi, int jn, int C,
                                                                      const float *w, dw_v b, int clamp, dw_v lo,
                                                                      dw_v hi, float *o) {
    dw_v a[8];
#pragma clang loop unroll(full)
    for (int j = 0; j < J; j++) a[j] = b;
#pragma clang loop unroll(full)
    for (int r = 0; r < 3; r++) {
        if (!x[r]) continue;
        const dw_v w0 = dw_ld(w + 3L * r * C), w1 = dw_ld(w + (3L * r + 1) * C), w2 = dw_ld(w + (3L * r + 2) * C);
#pragma clang loop unroll(full)
        for (int k = 0; k < (J - 1) * ST + 3; k++) {  // input column k feeds output j = (k − s) / ST
            if (k < klo || k >= khi) continue;
            const dw_v v = dw_ld(x[r] + (long)k * C);
            if (k % ST == 0 && k / ST < J) a[k / ST] += v * w0;
            if (k >= 1 && (k - 1) % ST == 0 && (k - 1) / ST < J) a[(k - 1) / ST] += v * w1;
            if (k >= 2 && (k - 2) % ST == 0 && (k - 2) / ST < J) a[(k - 2) / ST] += v * w2;
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < J; j++)
        if (j < jn) dw_st(o + (long)j * C, dw_clamp(a[j], clamp, lo, hi));
}

// One output row, every full block of DW_W channels, 3x3 taps at stride ST (a constant after
// inlining): columns eight at a time (four where fewer than eight remain), each group over all
// channel blocks before the next (the group's input pixels are read channel after channel,
// sequential in NHWC, and its lines are used up while in L1). A group whose window stays inside
// the map runs with constant bounds (no checks after inlining); a group at the border, or with
// fewer columns left than it has, skips the input columns outside the map and stores only those.
// x[r]: input row r of the window (NULL outside the map); w: the weights (tap t at w + t·C).
DW_TARGET __attribute__((always_inline)) static inline void dw_row3x3(const float *const x[3], int ST, int W, int C,
                                                                    int CV, int Q, int pl, const float *w,
                                                                    const float *bias, int clamp, dw_v lo, dw_v hi,
                                                                    float *o) {
    for (int q = 0; q < Q;) {
        const int J = Q - q >= 8 ? 8 : 4, jn = Q - q < J ? Q - q : J;
        const int iw0 = q * ST - pl;  // input column of the group's first tap (−pl at the left border)
        const int span = (J - 1) * ST + 3;
        const int klo = iw0 < 0 ? -iw0 : 0, khi = W - iw0 < span ? W - iw0 : span;
        const int inside = klo == 0 && khi == span && jn == J;
        for (int c0 = 0; c0 < CV; c0 += DW_W) {
            const dw_v b = bias ? dw_ld(bias + c0) : (dw_v){0};
            const float *xq[3];
            for (int r = 0; r < 3; r++) xq[r] = x[r] ? x[r] + (long)iw0 * C + c0 : NULL;
            float *oq = o + (long)q * C + c0;
            if (J == 8 && inside)
                dw_group3x3(xq, ST, 8, 0, 7 * ST + 3, 8, C, w + c0, b, clamp, lo, hi, oq);
            else if (J == 8)
                dw_group3x3(xq, ST, 8, klo, khi, jn, C, w + c0, b, clamp, lo, hi, oq);
            else if (inside)
                dw_group3x3(xq, ST, 4, 0, 3 * ST + 3, 4, C, w + c0, b, clamp, lo, hi, oq);
            else
                dw_group3x3(xq, ST, 4, klo, khi, jn, C, w + c0, b, clamp, lo, hi, oq);
        }
        q += J;
    }
}

// Any kernel size: one output column at a time, taps clipped to the map, weights from L1.
DW_TARGET static void dw_row_any(const cnns_conv_shape *g, const float *in_n, long ih0, int c0, const float *weights,
                                 dw_v b, int clamp, dw_v lo, dw_v hi, float *o) {
    const int C = g->c, S = g->s;
    for (int q = 0; q < g->q; q++) {
        dw_v a = b;
        const long iw0 = (long)q * g->stride_w - g->pad_left;
        for (int r = 0; r < g->r; r++) {
            if (ih0 + r < 0 || ih0 + r >= g->h) continue;
            for (int s = 0; s < S; s++) {
                if (iw0 + s < 0 || iw0 + s >= g->w) continue;
                a += dw_ld(in_n + ((ih0 + r) * g->w + iw0 + s) * C + c0) * dw_ld(weights + (long)(r * S + s) * C + c0);
            }
        }
        dw_st(o + (long)q * C + c0, dw_clamp(a, clamp, lo, hi));
    }
}

DW_TARGET void DW_NAME(depthwise_forward)(const cnns_conv_shape *g, const float *input, const float *weights,
                                          const float *bias, int clamp, float lo, float hi, float *output, long row0,
                                          long row1) {
    const int C = g->c, CV = C / DW_W * DW_W;
    const int fast = g->r == 3 && g->s == 3 && (g->stride_w == 1 || g->stride_w == 2);
    const dw_v vlo = (dw_v){0} + lo, vhi = (dw_v){0} + hi;
    for (long row = row0; row < row1; row++) {
        const long n = row / g->p, p = row % g->p;
        const float *in_n = input + n * (long)g->h * g->w * C;
        float *out_row = output + row * (long)g->q * C;
        const long ih0 = p * g->stride_h - g->pad_top;
        if (fast) {
            const float *x[3];
            for (int r = 0; r < 3; r++) x[r] = ih0 + r >= 0 && ih0 + r < g->h ? in_n + (ih0 + r) * g->w * C : NULL;
            if (g->stride_w == 1)
                dw_row3x3(x, 1, g->w, C, CV, g->q, g->pad_left, weights, bias, clamp, vlo, vhi, out_row);
            else
                dw_row3x3(x, 2, g->w, C, CV, g->q, g->pad_left, weights, bias, clamp, vlo, vhi, out_row);
        } else {
            for (int c0 = 0; c0 < CV; c0 += DW_W) {
                const dw_v b = bias ? dw_ld(bias + c0) : (dw_v){0};
                dw_row_any(g, in_n, ih0, c0, weights, b, clamp, vlo, vhi, out_row);
            }
        }
        // Channels past the last full vector: the reference's loop.
        if (CV < C) cnns_depthwise_forward_channels(g, input, weights, bias, clamp, lo, hi, output, row, row + 1, CV);
    }
}

// One output row of a 3x3 depthwise convolution at stride 1 or 2 from three input rows (NULL for
// a row outside the map; rows are w pixels of c channels), q output columns, pad_left zero
// columns before the map: the row the fused expand -> depthwise pass computes from its ring of
// expanded rows. Same arithmetic as DW_NAME(depthwise_forward).
DW_TARGET void DW_NAME(depthwise_row3x3)(const float *const rows[3], int stride, int w, int c, int q, int pad_left,
                                         const float *weights, const float *bias, int clamp, float lo, float hi,
                                         float *out) {
    const int CV = c / DW_W * DW_W;
    const dw_v vlo = (dw_v){0} + lo, vhi = (dw_v){0} + hi;
    if (stride == 1)
        dw_row3x3(rows, 1, w, c, CV, q, pad_left, weights, bias, clamp, vlo, vhi, out);
    else
        dw_row3x3(rows, 2, w, c, CV, q, pad_left, weights, bias, clamp, vlo, vhi, out);
    // Channels past the last full vector: the reference's loop.
    if (CV < c) cnns_depthwise_row3x3_channels(rows, stride, w, c, q, pad_left, weights, bias, clamp, lo, hi, out, CV);
}
