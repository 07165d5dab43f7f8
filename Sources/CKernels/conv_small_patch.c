// input NHWC (N,H,W,C), weights [L = R·S·C, K] row-major (HWIO), bias (K) -> output NHWC (N,P,Q,K)
// dy NHWC (N,P,Q,K) -> dW [L, K] += Σ patchᵀ·dy, db [K] += Σ dy
//
// Convolutions whose receptive field is short (a first layer: 3x3x1 = 9, 3x3x3 = 27, 5x5x3 = 75
// values) make im2col's GEMM a poor fit: k = L is tiny, so the GEMM spends its time on packing
// and on the C tile, and the lowering writes and re-reads a column matrix L times the input.
// Here each output pixel's patch is gathered into a small stack buffer (zeros where padded) and
// multiplied by the L x K weights (in L1) in registers, bias and clamp included; the weight
// gradient gathers a tile of patches and accumulates patchᵀ·dy in registers. Same arithmetic as
// im2col + GEMM (one product per tap and output channel, summed over taps in order), so the
// results agree with it to rounding. The *_scalar functions are the plain references (and the
// fallback without AVX2); tests compare them with the AVX2 versions and with a Double reference.
#include "cnns_kernels.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define CNNS_TILE 64

// Patch of output pixel (n, p, q) into patch[0..<L), zeros where the window leaves the image.
static inline void gather_patch(const cnns_conv_shape *s, const float *input, long n, int p, int q, float *patch) {
    const int L = s->r * s->s * s->c;
    const int ih0 = p * s->stride_h - s->pad_top, iw0 = q * s->stride_w - s->pad_left;
    const float *img = input + n * (long)s->h * s->w * s->c;
    const int SC = s->s * s->c;
    if (ih0 >= 0 && ih0 + s->r <= s->h && iw0 >= 0 && iw0 + s->s <= s->w) {
        for (int r = 0; r < s->r; r++) {
            const float *src = img + ((long)(ih0 + r) * s->w + iw0) * s->c;
            for (int j = 0; j < SC; j++) patch[r * SC + j] = src[j];
        }
        return;
    }
    memset(patch, 0, sizeof(float) * L);
    for (int r = 0; r < s->r; r++) {
        const int ih = ih0 + r;
        if (ih < 0 || ih >= s->h) continue;
        for (int x = 0; x < s->s; x++) {
            const int iw = iw0 + x;
            if (iw < 0 || iw >= s->w) continue;
            const float *src = img + ((long)ih * s->w + iw) * s->c;
            for (int c = 0; c < s->c; c++) patch[r * SC + x * s->c + c] = src[c];
        }
    }
}

// Pointers to the R kernel rows of pixel (n, p, q)'s patch, each S·C floats: straight into the
// input when the window lies inside the image, else rows of `patch` gathered with zeros.
static inline void patch_rows(const cnns_conv_shape *s, const float *input, long n, int p, int q, float *patch,
                              const float **rows) {
    const int ih0 = p * s->stride_h - s->pad_top, iw0 = q * s->stride_w - s->pad_left;
    const int SC = s->s * s->c;
    if (ih0 >= 0 && ih0 + s->r <= s->h && iw0 >= 0 && iw0 + s->s <= s->w) {
        const float *base = input + ((n * s->h + ih0) * (long)s->w + iw0) * s->c;
        for (int r = 0; r < s->r; r++) rows[r] = base + (long)r * s->w * s->c;
        return;
    }
    gather_patch(s, input, n, p, q, patch);
    for (int r = 0; r < s->r; r++) rows[r] = patch + r * SC;
}

static inline void pixel_of(const cnns_conv_shape *s, long m, long *n, int *p, int *q) {
    const long pq = (long)s->p * s->q;
    *n = m / pq;
    const long rem = m - *n * pq;
    *p = (int)(rem / s->q);
    *q = (int)(rem - (long)*p * s->q);
}

int cnns_conv_small_patch_fits(const cnns_conv_shape *s) {
    const int L = s->r * s->s * s->c;
    return L >= 1 && L <= CNNS_SMALL_PATCH_MAX && s->k % 8 == 0 && s->k >= 8 && L * s->k <= 8192;
}

// out / dy0 point at the row of pixel m0 in the *_rel functions.
static void forward_scalar_rel(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                               int clamp, float lo, float hi, float *out, long m0, long m1) {
    const int L = s->r * s->s * s->c, K = s->k;
    float patch[CNNS_SMALL_PATCH_MAX];
    for (long m = m0; m < m1; m++) {
        long n; int p, q;
        pixel_of(s, m, &n, &p, &q);
        gather_patch(s, input, n, p, q, patch);
        float *o = out + (m - m0) * K;
        for (int k = 0; k < K; k++) {
            float acc = bias ? bias[k] : 0.0f;
            for (int l = 0; l < L; l++) acc += patch[l] * weights[(long)l * K + k];
            if (clamp) acc = acc < lo ? lo : (acc > hi ? hi : acc);
            o[k] = acc;
        }
    }
}

void cnns_conv_small_patch_forward_scalar(const cnns_conv_shape *s, const float *input, const float *weights,
                                          const float *bias, int clamp, float lo, float hi, float *output,
                                          long m0, long m1) {
    forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, output + m0 * s->k, m0, m1);
}

// ---- AVX2: output rows are walked left to right. Pixels whose window lies inside the image
// horizontally read the input in place (kernel rows above or below the image point at a zero
// row), six at a time; the few others gather their patch first.

// Walks output pixels m0..<m1 row by row, in segments: one border pixel (its window partly
// outside the image horizontally: run = 0, its patch must be gathered), or a run of `run`
// interior pixels read in place, kernel row r of the first at rows[r] (pixel_walk_rows), the
// next ones stride_w·C floats further; kernel rows above or below the image point at a row
// of zeros.
typedef struct {
    const cnns_conv_shape *s;
    const float *input, *zeros;                  // zeros: W·C floats
    const float *row[CNNS_SMALL_PATCH_MAX];      // kernel row r of the current output row, at input column 0
    int qi0, qi1;                                // columns whose window is inside the image horizontally
    int qend;                                    // end of the current row's part of the range; -1: row not started
    long n; int p, q;
    long m, m1;
} pixel_walk;

typedef struct { long m, n; int p, q, run; } pixel_segment;

static inline void pixel_walk_init(pixel_walk *w, const cnns_conv_shape *s, const float *input, const float *zeros,
                                   long m0, long m1) {
    w->s = s; w->input = input; w->zeros = zeros;
    // iw0 = q·sw − padLeft ≥ 0 and iw0 + S ≤ W
    w->qi0 = (s->pad_left + s->stride_w - 1) / s->stride_w;
    const int last = s->w - s->s + s->pad_left;
    w->qi1 = last < 0 ? 0 : last / s->stride_w + 1;
    if (w->qi1 > s->q) w->qi1 = s->q;
    if (w->qi1 < w->qi0) w->qi1 = w->qi0;
    pixel_of(s, m0, &w->n, &w->p, &w->q);
    w->m = m0; w->m1 = m1; w->qend = -1;
}

static inline int pixel_walk_next(pixel_walk *w, pixel_segment *g) {
    const cnns_conv_shape *s = w->s;
    if (w->m >= w->m1) return 0;
    if (w->qend < 0) {
        const int ih0 = w->p * s->stride_h - s->pad_top;
        const float *img = w->input + w->n * (long)s->h * s->w * s->c;
        for (int r = 0; r < s->r; r++) {
            const int ih = ih0 + r;
            w->row[r] = (ih >= 0 && ih < s->h) ? img + (long)ih * s->w * s->c : w->zeros;
        }
        w->qend = (w->m1 - w->m < s->q - w->q) ? w->q + (int)(w->m1 - w->m) : s->q;
    }
    g->m = w->m; g->n = w->n; g->p = w->p; g->q = w->q;
    const int border = w->q < w->qi0 || w->q >= w->qi1;
    const int len = border ? 1 : (w->qend < w->qi1 ? w->qend : w->qi1) - w->q;
    g->run = border ? 0 : len;
    w->q += len; w->m += len;
    if (w->q >= w->qend) {               // the row pointers stay valid until the next call
        w->q = 0; w->qend = -1;
        if (++w->p == s->p) { w->p = 0; w->n++; }
    }
    return 1;
}

static inline void pixel_walk_rows(const pixel_walk *w, int q, const float **rows) {
    const long col = (long)(q * w->s->stride_w - w->s->pad_left) * w->s->c;
    for (int r = 0; r < w->s->r; r++) rows[r] = w->row[r] + col;
}

#if CNNS_X86
// One pixel: rows[r] → the S·C values of kernel row r. Four chains per 32 channels.
__attribute__((target("avx2,fma")))
static inline void pixel1_avx2(const float *const *rows, int R, int SC, const float *weights, int K, const float *bias,
                               int clamp, __m256 vlo, __m256 vhi, float *o) {
    int k0 = 0;
    for (; k0 + 32 <= K; k0 += 32) {
        __m256 a0, a1, a2, a3;
        if (bias) {
            a0 = _mm256_loadu_ps(bias + k0); a1 = _mm256_loadu_ps(bias + k0 + 8);
            a2 = _mm256_loadu_ps(bias + k0 + 16); a3 = _mm256_loadu_ps(bias + k0 + 24);
        } else {
            a0 = a1 = a2 = a3 = _mm256_setzero_ps();
        }
        const float *w = weights + k0;
        for (int r = 0; r < R; r++)
            for (int j = 0; j < SC; j++, w += K) {
                const __m256 x = _mm256_broadcast_ss(rows[r] + j);
                a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w), a0);
                a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 16), a2);
                a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 24), a3);
            }
        if (clamp) {
            a0 = _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi); a1 = _mm256_min_ps(_mm256_max_ps(a1, vlo), vhi);
            a2 = _mm256_min_ps(_mm256_max_ps(a2, vlo), vhi); a3 = _mm256_min_ps(_mm256_max_ps(a3, vlo), vhi);
        }
        _mm256_storeu_ps(o + k0, a0); _mm256_storeu_ps(o + k0 + 8, a1);
        _mm256_storeu_ps(o + k0 + 16, a2); _mm256_storeu_ps(o + k0 + 24, a3);
    }
    for (; k0 < K; k0 += 8) {
        __m256 a0 = bias ? _mm256_loadu_ps(bias + k0) : _mm256_setzero_ps();
        const float *w = weights + k0;
        for (int r = 0; r < R; r++)
            for (int j = 0; j < SC; j++, w += K)
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(rows[r] + j), _mm256_loadu_ps(w), a0);
        if (clamp) a0 = _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi);
        _mm256_storeu_ps(o + k0, a0);
    }
}

// Six neighbouring pixels of a row, pixel i reading rows[r] + i·step: 16 channels per pass,
// 12 independent accumulators (two weight loads and six broadcasts per twelve FMAs).
__attribute__((target("avx2,fma")))
static inline void pixel6_avx2(const float *const *rows, int R, int SC, long step, const float *weights, int K,
                               const float *bias, int clamp, __m256 vlo, __m256 vhi, float *o) {
    int k0 = 0;
    for (; k0 + 16 <= K; k0 += 16) {
        const __m256 i0 = bias ? _mm256_loadu_ps(bias + k0) : _mm256_setzero_ps();
        const __m256 i1 = bias ? _mm256_loadu_ps(bias + k0 + 8) : _mm256_setzero_ps();
        __m256 c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1;
        __m256 c30 = i0, c31 = i1, c40 = i0, c41 = i1, c50 = i0, c51 = i1;
        const float *w = weights + k0;
        for (int r = 0; r < R; r++) {
            const float *x = rows[r];
            for (int j = 0; j < SC; j++, w += K, x++) {
                const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                __m256 b;
                b = _mm256_broadcast_ss(x);
                c00 = _mm256_fmadd_ps(b, w0, c00), c01 = _mm256_fmadd_ps(b, w1, c01);
                b = _mm256_broadcast_ss(x + step);
                c10 = _mm256_fmadd_ps(b, w0, c10), c11 = _mm256_fmadd_ps(b, w1, c11);
                b = _mm256_broadcast_ss(x + 2 * step);
                c20 = _mm256_fmadd_ps(b, w0, c20), c21 = _mm256_fmadd_ps(b, w1, c21);
                b = _mm256_broadcast_ss(x + 3 * step);
                c30 = _mm256_fmadd_ps(b, w0, c30), c31 = _mm256_fmadd_ps(b, w1, c31);
                b = _mm256_broadcast_ss(x + 4 * step);
                c40 = _mm256_fmadd_ps(b, w0, c40), c41 = _mm256_fmadd_ps(b, w1, c41);
                b = _mm256_broadcast_ss(x + 5 * step);
                c50 = _mm256_fmadd_ps(b, w0, c50), c51 = _mm256_fmadd_ps(b, w1, c51);
            }
        }
        if (clamp) {
#define CL(v) v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi)
            CL(c00); CL(c01); CL(c10); CL(c11); CL(c20); CL(c21); CL(c30); CL(c31); CL(c40); CL(c41); CL(c50); CL(c51);
#undef CL
        }
        float *d = o + k0;
        _mm256_storeu_ps(d, c00); _mm256_storeu_ps(d + 8, c01); d += K;
        _mm256_storeu_ps(d, c10); _mm256_storeu_ps(d + 8, c11); d += K;
        _mm256_storeu_ps(d, c20); _mm256_storeu_ps(d + 8, c21); d += K;
        _mm256_storeu_ps(d, c30); _mm256_storeu_ps(d + 8, c31); d += K;
        _mm256_storeu_ps(d, c40); _mm256_storeu_ps(d + 8, c41); d += K;
        _mm256_storeu_ps(d, c50); _mm256_storeu_ps(d + 8, c51);
    }
    for (; k0 < K; k0 += 8) {
        const __m256 i0 = bias ? _mm256_loadu_ps(bias + k0) : _mm256_setzero_ps();
        __m256 c0 = i0, c1 = i0, c2 = i0, c3 = i0, c4 = i0, c5 = i0;
        const float *w = weights + k0;
        for (int r = 0; r < R; r++) {
            const float *x = rows[r];
            for (int j = 0; j < SC; j++, w += K, x++) {
                const __m256 w0 = _mm256_loadu_ps(w);
                c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x), w0, c0);
                c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + step), w0, c1);
                c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + 2 * step), w0, c2);
                c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + 3 * step), w0, c3);
                c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + 4 * step), w0, c4);
                c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + 5 * step), w0, c5);
            }
        }
        if (clamp) {
#define CL(v) v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi)
            CL(c0); CL(c1); CL(c2); CL(c3); CL(c4); CL(c5);
#undef CL
        }
        float *d = o + k0;
        _mm256_storeu_ps(d, c0); _mm256_storeu_ps(d + K, c1); _mm256_storeu_ps(d + 2 * K, c2);
        _mm256_storeu_ps(d + 3 * K, c3); _mm256_storeu_ps(d + 4 * K, c4); _mm256_storeu_ps(d + 5 * K, c5);
    }
}

// A run of `run` neighbouring pixels, pixel i reading rows[r] + i·step (rows is advanced):
// blocks of six, then the run's last pixels as one more block of six ending at the run's end
// (the pixels it repeats get the same values again, same arithmetic), single pixels only in
// runs shorter than six.
__attribute__((target("avx2,fma")))
static inline void pixel_run_avx2(const float **rows, int R, int SC, long step, int run, const float *weights, int K,
                                  const float *bias, int clamp, __m256 vlo, __m256 vhi, float *o) {
    int left = run;
    for (; left >= 6; left -= 6, o += 6 * K) {
        pixel6_avx2(rows, R, SC, step, weights, K, bias, clamp, vlo, vhi, o);
        for (int r = 0; r < R; r++) rows[r] += 6 * step;
    }
    if (left > 0 && run >= 6) {
        const int back = 6 - left;
        for (int r = 0; r < R; r++) rows[r] -= back * step;
        pixel6_avx2(rows, R, SC, step, weights, K, bias, clamp, vlo, vhi, o - (long)back * K);
        return;
    }
    for (; left > 0; left--, o += K) {
        pixel1_avx2(rows, R, SC, weights, K, bias, clamp, vlo, vhi, o);
        for (int r = 0; r < R; r++) rows[r] += step;
    }
}

// Whole output rows from a zero-padded copy of the R input rows under them (built per output
// row: R·PW·C floats, PW = the padded width), so that every pixel of the row, border pixels
// included, runs in blocks of six with no gathering. Used when the copy fits PADDED_MAX floats.
#define PADDED_MAX 8192

static inline int padded_width(const cnns_conv_shape *s) {
    const int need = (s->q - 1) * s->stride_w + s->s, have = s->pad_left + s->w;
    return need > have ? need : have;
}

__attribute__((target("avx2,fma")))
static void forward_avx2_rows(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                              int clamp, float lo, float hi, float *out, long m0, long m1) {
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c, PW = padded_width(s);
    const long step = (long)s->stride_w * C, pitch = (long)PW * C;
    float prow[PADDED_MAX];
    const float *rows[CNNS_SMALL_PATCH_MAX];
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (long m = m0; m < m1;) {
        long n; int p, q;
        pixel_of(s, m, &n, &p, &q);
        const int qb = (m1 - m < s->q - q) ? q + (int)(m1 - m) : s->q;
        const float *img = input + n * (long)s->h * s->w * C;
        for (int r = 0; r < R; r++) {
            float *dst = prow + r * pitch;
            const int ih = p * s->stride_h - s->pad_top + r;
            if (ih < 0 || ih >= s->h) { memset(dst, 0, sizeof(float) * pitch); continue; }
            memset(dst, 0, sizeof(float) * (size_t)s->pad_left * C);
            memcpy(dst + (long)s->pad_left * C, img + (long)ih * s->w * C, sizeof(float) * (size_t)s->w * C);
            memset(dst + (long)(s->pad_left + s->w) * C, 0, sizeof(float) * (size_t)(PW - s->pad_left - s->w) * C);
        }
        for (int r = 0; r < R; r++) rows[r] = prow + r * pitch + (long)q * step;
        pixel_run_avx2(rows, R, SC, step, qb - q, weights, K, bias, clamp, vlo, vhi, out + (m - m0) * K);
        m += qb - q;
    }
}

__attribute__((target("avx2,fma")))
static void forward_avx2_with(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                              int clamp, float lo, float hi, float *out, long m0, long m1, const float *zeros) {
    // out: the output row of pixel m0; zeros: W·C zero floats
    // Rows with border pixels (padding in width) run from a padded copy; without them the
    // input is read in place.
    const int borders = s->pad_left > 0 || padded_width(s) > s->w;
    if (borders && (long)s->r * padded_width(s) * s->c <= PADDED_MAX) {
        forward_avx2_rows(s, input, weights, bias, clamp, lo, hi, out, m0, m1);
        return;
    }
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c;
    const long step = (long)s->stride_w * C;
    float patch[CNNS_SMALL_PATCH_MAX];
    const float *rows[CNNS_SMALL_PATCH_MAX];
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    pixel_walk w;
    pixel_segment g;
    pixel_walk_init(&w, s, input, zeros, m0, m1);
    while (pixel_walk_next(&w, &g)) {
        float *o = out + (g.m - m0) * K;
        if (g.run == 0) {
            gather_patch(s, input, g.n, g.p, g.q, patch);
            for (int r = 0; r < R; r++) rows[r] = patch + r * SC;
            pixel1_avx2(rows, R, SC, weights, K, bias, clamp, vlo, vhi, o);
            continue;
        }
        pixel_walk_rows(&w, g.q, rows);
        pixel_run_avx2(rows, R, SC, step, g.run, weights, K, bias, clamp, vlo, vhi, o);
    }
}

__attribute__((target("avx2,fma")))
static void forward_avx2(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                         int clamp, float lo, float hi, float *out, long m0, long m1) {
    float *zeros = calloc((size_t)s->w * s->c + 8, sizeof(float));
    if (!zeros) { forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, out, m0, m1); return; }
    forward_avx2_with(s, input, weights, bias, clamp, lo, hi, out, m0, m1, zeros);
    free(zeros);
}
#else
static void forward_avx2_with(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                              int clamp, float lo, float hi, float *out, long m0, long m1, const float *zeros) {
    (void)zeros;
    forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, out, m0, m1);
}

static void forward_avx2(const cnns_conv_shape *s, const float *input, const float *weights, const float *bias,
                         int clamp, float lo, float hi, float *out, long m0, long m1) {
    forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, out, m0, m1);
}
#endif


void cnns_conv_small_patch_forward(const cnns_conv_shape *s, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long m0, long m1) {
    if (cnns_have_avx2_fma()) forward_avx2(s, input, weights, bias, clamp, lo, hi, output + m0 * s->k, m0, m1);
    else forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, output + m0 * s->k, m0, m1);
}

static void dweights_scalar_rel(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                                long m0, long m1) {
    const int L = s->r * s->s * s->c, K = s->k;
    float patch[CNNS_SMALL_PATCH_MAX];
    for (long m = m0; m < m1; m++) {
        long n; int p, q;
        pixel_of(s, m, &n, &p, &q);
        gather_patch(s, input, n, p, q, patch);
        const float *d = dy0 + (m - m0) * K;
        for (int l = 0; l < L; l++)
            for (int k = 0; k < K; k++) dw[(long)l * K + k] += patch[l] * d[k];
        if (db) for (int k = 0; k < K; k++) db[k] += d[k];
    }
}

void cnns_conv_small_patch_dweights_scalar(const cnns_conv_shape *s, const float *input, const float *dy,
                                           float *dw, float *db, long m0, long m1) {
    dweights_scalar_rel(s, input, dy + m0 * s->k, dw, db, m0, m1);
}

#if CNNS_X86
// dW rows for up to 6 taps (tap i's value for pixel t at x[i] + t·step), 16 (then 8) columns per
// pass, over T pixels whose dy rows are dy + t·ldy: 12 accumulators, added to dw at the end.
__attribute__((target("avx2,fma")))
static void dweights_run_avx2(const float *const *x, int taps, long step, const float *dy, long ldy, int K, int T,
                              float *const *dwRow) {
    const float *x0 = x[0], *x1 = x[taps > 1 ? 1 : 0], *x2 = x[taps > 2 ? 2 : 0];
    const float *x3 = x[taps > 3 ? 3 : 0], *x4 = x[taps > 4 ? 4 : 0], *x5 = x[taps > 5 ? 5 : 0];
    int k0 = 0;
    for (; k0 + 16 <= K; k0 += 16) {
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        const float *d = dy + k0;
        for (long t = 0, o = 0; t < T; t++, o += step, d += ldy) {
            const __m256 d0 = _mm256_loadu_ps(d), d1 = _mm256_loadu_ps(d + 8);
            __m256 b;
            b = _mm256_broadcast_ss(x0 + o); c00 = _mm256_fmadd_ps(b, d0, c00); c01 = _mm256_fmadd_ps(b, d1, c01);
            b = _mm256_broadcast_ss(x1 + o); c10 = _mm256_fmadd_ps(b, d0, c10); c11 = _mm256_fmadd_ps(b, d1, c11);
            b = _mm256_broadcast_ss(x2 + o); c20 = _mm256_fmadd_ps(b, d0, c20); c21 = _mm256_fmadd_ps(b, d1, c21);
            b = _mm256_broadcast_ss(x3 + o); c30 = _mm256_fmadd_ps(b, d0, c30); c31 = _mm256_fmadd_ps(b, d1, c31);
            b = _mm256_broadcast_ss(x4 + o); c40 = _mm256_fmadd_ps(b, d0, c40); c41 = _mm256_fmadd_ps(b, d1, c41);
            b = _mm256_broadcast_ss(x5 + o); c50 = _mm256_fmadd_ps(b, d0, c50); c51 = _mm256_fmadd_ps(b, d1, c51);
        }
        __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
        for (int i = 0; i < taps; i++) {
            float *row = dwRow[i] + k0;
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]));
            _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]));
        }
    }
    for (; k0 < K; k0 += 8) {
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        const float *d = dy + k0;
        for (long t = 0, o = 0; t < T; t++, o += step, d += ldy) {
            const __m256 d0 = _mm256_loadu_ps(d);
            c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + o), d0, c0);
            c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + o), d0, c1);
            c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x2 + o), d0, c2);
            c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x3 + o), d0, c3);
            c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(x4 + o), d0, c4);
            c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(x5 + o), d0, c5);
        }
        __m256 acc[6] = {c0, c1, c2, c3, c4, c5};
        for (int i = 0; i < taps; i++) {
            float *row = dwRow[i] + k0;
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[i]));
        }
    }
}

// All L taps over T pixels: tap l = (r, j) of pixel t at base[r] + j + t·step.
__attribute__((target("avx2,fma")))
static void dweights_pixels_avx2(const cnns_conv_shape *s, const float *const *base, long step, const float *dy,
                                 long ldy, int T, float *dw) {
    const int SC = s->s * s->c, L = s->r * SC, K = s->k;
    const float *x[6];
    float *rows[6];
    for (int l0 = 0; l0 < L; l0 += 6) {
        const int taps = L - l0 < 6 ? L - l0 : 6;
        for (int i = 0; i < taps; i++) {
            const int l = l0 + i;
            x[i] = base[l / SC] + l % SC;
            rows[i] = dw + (long)l * K;
        }
        dweights_run_avx2(x, taps, step, dy, ldy, K, T, rows);
    }
}

#endif

typedef struct { float *zeros, *ptile, *dtile; } dw_buffers;

static int dw_buffers_make(const cnns_conv_shape *s, dw_buffers *b) {
    const int L = s->r * s->s * s->c;
    b->zeros = calloc((size_t)s->w * s->c + 8, sizeof(float));
    b->ptile = malloc(sizeof(float) * CNNS_TILE * L);
    b->dtile = malloc(sizeof(float) * CNNS_TILE * s->k);
    return b->zeros && b->ptile && b->dtile;
}

static void dw_buffers_free(dw_buffers *b) { free(b->zeros); free(b->ptile); free(b->dtile); }

#if CNNS_X86
__attribute__((target("avx2,fma")))
static void dweights_avx2_with(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                               long m0, long m1, const dw_buffers *buf) {
    // dy0: the dy row of pixel m0
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c, L = R * SC;
    const long step = (long)s->stride_w * C;
    // Border pixels (window partly outside the image horizontally) are gathered, with their dy
    // rows, into tiles of 64 and handled like a run.
    const float *zeros = buf->zeros;
    float *ptile = buf->ptile, *dtile = buf->dtile;
    const float *pbase[CNNS_SMALL_PATCH_MAX], *rows[CNNS_SMALL_PATCH_MAX];
    for (int r = 0; r < R; r++) pbase[r] = ptile + r * SC;
    int pending = 0;
    pixel_walk w;
    pixel_segment g;
    pixel_walk_init(&w, s, input, zeros, m0, m1);
    while (pixel_walk_next(&w, &g)) {
        if (g.run == 0) {
            gather_patch(s, input, g.n, g.p, g.q, ptile + (long)pending * L);
            memcpy(dtile + (long)pending * K, dy0 + (g.m - m0) * K, sizeof(float) * K);
            if (++pending == CNNS_TILE) { dweights_pixels_avx2(s, pbase, L, dtile, K, pending, dw); pending = 0; }
            continue;
        }
        pixel_walk_rows(&w, g.q, rows);
        dweights_pixels_avx2(s, rows, step, dy0 + (g.m - m0) * K, K, g.run, dw);
    }
    if (pending) dweights_pixels_avx2(s, pbase, L, dtile, K, pending, dw);
    if (db) {
        for (int k0 = 0; k0 < K; k0 += 8) {
            __m256 a = _mm256_loadu_ps(db + k0);
            for (long i = 0; i < m1 - m0; i++) a = _mm256_add_ps(a, _mm256_loadu_ps(dy0 + i * K + k0));
            _mm256_storeu_ps(db + k0, a);
        }
    }
}

__attribute__((target("avx2,fma")))
static void dweights_avx2(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                          long m0, long m1) {
    dw_buffers buf;
    if (dw_buffers_make(s, &buf)) dweights_avx2_with(s, input, dy0, dw, db, m0, m1, &buf);
    else dweights_scalar_rel(s, input, dy0, dw, db, m0, m1);
    dw_buffers_free(&buf);
}
#else
static void dweights_avx2_with(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                               long m0, long m1, const dw_buffers *buf) {
    (void)buf;
    dweights_scalar_rel(s, input, dy0, dw, db, m0, m1);
}

static void dweights_avx2(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                          long m0, long m1) {
    dweights_scalar_rel(s, input, dy0, dw, db, m0, m1);
}
#endif

void cnns_conv_small_patch_dweights(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                    float *db, long m0, long m1) {
    if (cnns_have_avx2_fma()) dweights_avx2(s, input, dy + m0 * s->k, dw, db, m0, m1);
    else dweights_scalar_rel(s, input, dy + m0 * s->k, dw, db, m0, m1);
}

// ---- Fused with a following ReLU and 2x2 max pooling (stride 2), for the first layers of the
// lab's models: pooled row r = (n, pp) computes convolution rows 2pp and 2pp+1 into `scratch`
// (2·Q·K floats, in L1/L2), then pools them. The 6.4 MB activation of a 28x28x32 batch of 64
// is never written. argmax keeps, per pooled output, the window position
// (0..3, row-major) of the first maximum, or 255 where the maximum is ≤ 0 (ReLU passes no
// gradient), exactly the routing of the unfused pooling layer's backward.

int cnns_conv_small_patch_maxpool2_fits(const cnns_conv_shape *s) {
    return cnns_conv_small_patch_fits(s) && s->p % 2 == 0 && s->q % 2 == 0 && s->p >= 2 && s->q >= 2;
}

void cnns_conv_small_patch_maxpool2_forward(const cnns_conv_shape *s, const float *input, const float *weights,
                                            const float *bias, float hi, float *pooled, uint8_t *argmax,
                                            long r0, long r1, float *scratch, int reference) {
    const int K = s->k, Q = s->q, Q2 = s->q / 2, P2 = s->p / 2;
    float *zeros = 0;
    const int avx = cnns_have_avx2_fma() && !reference && (zeros = calloc((size_t)s->w * s->c + 8, sizeof(float)));
    for (long r = r0; r < r1; r++) {
        const long n = r / P2, pp = r % P2;
        const long m = (n * s->p + 2 * pp) * Q;
        float *o = pooled + r * Q2 * K;
        uint8_t *am = argmax + r * Q2 * K;
        if (avx) forward_avx2_with(s, input, weights, bias, 1, 0.0f, hi, scratch, m, m + 2 * Q, zeros);
        else forward_scalar_rel(s, input, weights, bias, 1, 0.0f, hi, scratch, m, m + 2 * Q);
        // The pooling layer's own window kernel, on the two rows in scratch.
        if (avx) cnns_maxpool_argmax_forward_row(scratch, (long)Q * K, 2, K, Q2, o, am, 1);
        else for (int pq = 0; pq < Q2; pq++)
            cnns_maxpool_argmax_forward_scalar(scratch + (long)(2 * pq) * K, (long)Q * K, 2, K, o + (long)pq * K,
                                               am + (long)pq * K, 1);
    }
    free(zeros);
}

// Pooled rows per backward step: as many (of one image) as keep the routed gradient of their
// convolution rows within 128 KiB, so the weight-gradient runs are long.
static int pool_group(const cnns_conv_shape *s) {
    int g = 32768 / (2 * s->q * s->k);
    if (g < 1) g = 1;
    if (g > s->p / 2) g = s->p / 2;
    return g;
}

long cnns_conv_small_patch_maxpool2_scratch_floats(const cnns_conv_shape *s) {
    return 2L * pool_group(s) * s->q * s->k;
}

void cnns_conv_small_patch_maxpool2_dweights(const cnns_conv_shape *s, const float *input, const float *dPooled,
                                             const uint8_t *argmax, float *dw, float *db, long r0, long r1,
                                             float *scratch, int reference) {
    const int K = s->k, Q = s->q, Q2 = s->q / 2, P2 = s->p / 2, G = pool_group(s);
    dw_buffers buf = {0, 0, 0};
    const int avx = cnns_have_avx2_fma() && !reference && dw_buffers_make(s, &buf);
    for (long r = r0; r < r1; ) {
        const long n = r / P2, pp = r % P2;
        long rows = G;
        if (rows > P2 - pp) rows = P2 - pp;          // stay within the image
        if (rows > r1 - r) rows = r1 - r;
        const long m = (n * s->p + 2 * pp) * Q;
        // The pooled gradient routed back to the convolution rows by the pooling layer's own
        // window kernel (zeros elsewhere; the windows tile the rows, Q being even).
        for (long j = 0; j < rows; j++) {
            const long o = (r + j) * Q2 * K;
            float *rowScratch = scratch + j * 2 * (long)Q * K;
            if (avx) cnns_maxpool_route_row(argmax + o, dPooled + o, rowScratch, (long)Q * K, 2, K, Q2);
            else for (int pq = 0; pq < Q2; pq++)
                cnns_maxpool_route_scalar(argmax + o + (long)pq * K, dPooled + o + (long)pq * K,
                                          rowScratch + (long)(2 * pq) * K, (long)Q * K, 2, K);
        }
        if (avx) dweights_avx2_with(s, input, scratch, dw, db, m, m + 2 * rows * Q, &buf);
        else dweights_scalar_rel(s, input, scratch, dw, db, m, m + 2 * rows * Q);
        r += rows;
    }
    dw_buffers_free(&buf);
}
