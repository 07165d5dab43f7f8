// What every build of the small-patch kernels shares (conv_small_patch.c: the scalar references
// and the AVX2 build; conv_small_patch_avx512.c; conv_small_patch_w16.c): gathering one pixel's
// patch, walking output pixels row by row in runs whose windows lie inside the image, the
// padded-row geometry, the weight gradient's buffers, and the per-ISA entry points the fused
// convolution + pooling pass picks from.
#ifndef CNNS_SMALL_PATCH_WALK_H
#define CNNS_SMALL_PATCH_WALK_H

#include "cnns_kernels.h"
#include "output_pixel.h"
#include <stdlib.h>
#include <string.h>

// Border pixels gathered per weight-gradient tile.
#define CNNS_TILE 64
// Largest zero-padded copy of R input rows (floats) the forward builds per output row.
#define CNNS_PADDED_MAX 8192

// Patch of output pixel (n, p, q) into patch[0..<L), zeros where the window leaves the image.
static inline void cnns_sp_gather_patch(const cnns_conv_shape *s, const float *input, long n, int p, int q,
                                        float *patch) {
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

// Walks output pixels m0..<m1 row by row, in segments: one border pixel (its window partly
// outside the image horizontally: run = 0, its patch must be gathered), or a run of `run`
// interior pixels read in place, kernel row r of the first at rows[r] (cnns_sp_walk_rows), the
// next ones stride_w·C floats further; kernel rows above or below the image point at a row
// of zeros.
typedef struct {
    const cnns_conv_shape *s;
    const float *input, *zeros;              // zeros: W·C floats
    const float *row[CNNS_SMALL_PATCH_MAX];  // kernel row r of the current output row, at input column 0
    int qi0, qi1;                            // columns whose window is inside the image horizontally
    int qend;                                // end of the current row's part of the range; -1: row not started
    long n;
    int p, q;
    long m, m1;
} cnns_sp_walk;

typedef struct {
    long m, n;
    int p, q, run;
} cnns_sp_segment;

static inline void cnns_sp_walk_init(cnns_sp_walk *w, const cnns_conv_shape *s, const float *input,
                                     const float *zeros, long m0, long m1) {
    w->s = s;
    w->input = input;
    w->zeros = zeros;
    // iw0 = q·sw − padLeft ≥ 0 and iw0 + S ≤ W
    w->qi0 = (s->pad_left + s->stride_w - 1) / s->stride_w;
    const int last = s->w - s->s + s->pad_left;
    w->qi1 = last < 0 ? 0 : last / s->stride_w + 1;
    if (w->qi1 > s->q) w->qi1 = s->q;
    if (w->qi1 < w->qi0) w->qi1 = w->qi0;
    cnns_pixel_of(s, m0, &w->n, &w->p, &w->q);
    w->m = m0;
    w->m1 = m1;
    w->qend = -1;
}

static inline int cnns_sp_walk_next(cnns_sp_walk *w, cnns_sp_segment *g) {
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
    g->m = w->m;
    g->n = w->n;
    g->p = w->p;
    g->q = w->q;
    const int border = w->q < w->qi0 || w->q >= w->qi1;
    const int len = border ? 1 : (w->qend < w->qi1 ? w->qend : w->qi1) - w->q;
    g->run = border ? 0 : len;
    w->q += len;
    w->m += len;
    if (w->q >= w->qend) {  // the row pointers stay valid until the next call
        w->q = 0;
        w->qend = -1;
        if (++w->p == s->p) {
            w->p = 0;
            w->n++;
        }
    }
    return 1;
}

static inline void cnns_sp_walk_rows(const cnns_sp_walk *w, int q, const float **rows) {
    const long col = (long)(q * w->s->stride_w - w->s->pad_left) * w->s->c;
    for (int r = 0; r < w->s->r; r++) rows[r] = w->row[r] + col;
}

// Width of a zero-padded input row that every output column's window fits in.
static inline int cnns_sp_padded_width(const cnns_conv_shape *s) {
    const int need = (s->q - 1) * s->stride_w + s->s, have = s->pad_left + s->w;
    return need > have ? need : have;
}

// The weight gradient's buffers: a zero row, and a tile of gathered border patches with their
// dy rows.
typedef struct {
    float *zeros, *ptile, *dtile;
} cnns_sp_buffers;

static inline int cnns_sp_buffers_make(const cnns_conv_shape *s, cnns_sp_buffers *b) {
    const int L = s->r * s->s * s->c;
    b->zeros = calloc((size_t)s->w * s->c + 8, sizeof(float));
    b->ptile = malloc(sizeof(float) * CNNS_TILE * L);
    b->dtile = malloc(sizeof(float) * CNNS_TILE * s->k);
    return b->zeros && b->ptile && b->dtile;
}

static inline void cnns_sp_buffers_free(cnns_sp_buffers *b) {
    free(b->zeros);
    free(b->ptile);
    free(b->dtile);
}

// One build's entry points (wide/small_patch_body.h), `out` / `dy0` at the row of pixel m0:
//   forward_with:  out = clamp(patch · W + bias) over pixels m0..<m1; zeros: W·C zero floats
//   dweights_with: dw += Σ patchᵀ · dy0, db += Σ dy0 (db may be NULL)
#define CNNS_SP_DECLARE(isa)                                                                                      \
    void cnns_sp_forward_with_##isa(const cnns_conv_shape *s, const float *input, const float *weights,           \
                                    const float *bias, int clamp, float lo, float hi, float *out, long m0,        \
                                    long m1, const float *zeros);                                                 \
    void cnns_sp_dweights_with_##isa(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw,   \
                                     float *db, long m0, long m1, const cnns_sp_buffers *buf);
CNNS_SP_DECLARE(avx2)
CNNS_SP_DECLARE(w16)
CNNS_SP_DECLARE(avx512)
#undef CNNS_SP_DECLARE

#endif
