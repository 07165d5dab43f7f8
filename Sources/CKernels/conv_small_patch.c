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
// fallback without AVX2); tests compare them with every vector build (AVX2 here, AVX-512 and its
// 16-lane code on AVX2 in conv_small_patch_avx512.c and _w16.c, one source: wide/small_patch_body.h)
// and with a Double reference.
#include "small_patch_walk.h"

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
        cnns_pixel_of(s, m, &n, &p, &q);
        cnns_sp_gather_patch(s, input, n, p, q, patch);
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

static void dweights_scalar_rel(const cnns_conv_shape *s, const float *input, const float *dy0, float *dw, float *db,
                                long m0, long m1) {
    const int L = s->r * s->s * s->c, K = s->k;
    float patch[CNNS_SMALL_PATCH_MAX];
    for (long m = m0; m < m1; m++) {
        long n; int p, q;
        cnns_pixel_of(s, m, &n, &p, &q);
        cnns_sp_gather_patch(s, input, n, p, q, patch);
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


// ---- The AVX2 build of the vector kernels (8 lanes; blocks of 6 pixels or taps).
#if CNNS_X86
#define SP_W 8
#define SP_PIX 6
#define SP_TAPS 6
#define SP_TARGET __attribute__((target("avx2,fma")))
#define SP_NAME(x) x##_avx2
#include "wide/small_patch_body.h"
#endif

// The build a variant names, with its pooling-row kernels (NULL: the scalar references).
typedef struct {
    void (*forward_with)(const cnns_conv_shape *, const float *, const float *, const float *, int, float, float,
                         float *, long, long, const float *);
    void (*dweights_with)(const cnns_conv_shape *, const float *, const float *, float *, float *, long, long,
                          const cnns_sp_buffers *);
    void (*pool_row)(const float *, long, int, int, int, float *, uint8_t *, int);
    void (*route_row)(const uint8_t *, const float *, float *, long, int, int, int);
} sp_build;

static sp_build sp_build_of(int variant) {
    sp_build b = {0, 0, 0, 0};
    if (variant == CNNS_SP_W16) {
        b = (sp_build){cnns_sp_forward_with_w16, cnns_sp_dweights_with_w16, cnns_maxpool_argmax_forward_row_w16,
                       cnns_maxpool_route_row_w16};
    } else if (variant == CNNS_SP_AVX512) {
        b = (sp_build){cnns_sp_forward_with_avx512, cnns_sp_dweights_with_avx512,
                       cnns_maxpool_argmax_forward_row_avx512, cnns_maxpool_route_row_avx512};
    } else if (variant == CNNS_SP_AVX2 && cnns_have_avx2_fma()) {
        b = (sp_build){cnns_sp_forward_with_avx2, cnns_sp_dweights_with_avx2, cnns_maxpool_argmax_forward_row,
                       cnns_maxpool_route_row};
    }
    return b;
}

static void forward_variant(int variant, const cnns_conv_shape *s, const float *input, const float *weights,
                            const float *bias, int clamp, float lo, float hi, float *output, long m0, long m1) {
    const sp_build b = sp_build_of(variant);
    float *zeros = b.forward_with ? calloc((size_t)s->w * s->c + 8, sizeof(float)) : 0;
    if (zeros) b.forward_with(s, input, weights, bias, clamp, lo, hi, output + m0 * s->k, m0, m1, zeros);
    else forward_scalar_rel(s, input, weights, bias, clamp, lo, hi, output + m0 * s->k, m0, m1);
    free(zeros);
}

void cnns_conv_small_patch_forward(const cnns_conv_shape *s, const float *input, const float *weights,
                                   const float *bias, int clamp, float lo, float hi, float *output, long m0, long m1) {
    forward_variant(CNNS_SP_AVX2, s, input, weights, bias, clamp, lo, hi, output, m0, m1);
}

void cnns_conv_small_patch_forward_avx512(const cnns_conv_shape *s, const float *input, const float *weights,
                                          const float *bias, int clamp, float lo, float hi, float *output, long m0,
                                          long m1) {
    forward_variant(CNNS_SP_AVX512, s, input, weights, bias, clamp, lo, hi, output, m0, m1);
}

void cnns_conv_small_patch_forward_w16(const cnns_conv_shape *s, const float *input, const float *weights,
                                       const float *bias, int clamp, float lo, float hi, float *output, long m0,
                                       long m1) {
    forward_variant(CNNS_SP_W16, s, input, weights, bias, clamp, lo, hi, output, m0, m1);
}

static void dweights_variant(int variant, const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                             float *db, long m0, long m1) {
    const sp_build b = sp_build_of(variant);
    cnns_sp_buffers buf = {0, 0, 0};
    if (b.dweights_with && cnns_sp_buffers_make(s, &buf))
        b.dweights_with(s, input, dy + m0 * s->k, dw, db, m0, m1, &buf);
    else
        dweights_scalar_rel(s, input, dy + m0 * s->k, dw, db, m0, m1);
    cnns_sp_buffers_free(&buf);
}

void cnns_conv_small_patch_dweights(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                    float *db, long m0, long m1) {
    dweights_variant(CNNS_SP_AVX2, s, input, dy, dw, db, m0, m1);
}

void cnns_conv_small_patch_dweights_avx512(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                           float *db, long m0, long m1) {
    dweights_variant(CNNS_SP_AVX512, s, input, dy, dw, db, m0, m1);
}

void cnns_conv_small_patch_dweights_w16(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                        float *db, long m0, long m1) {
    dweights_variant(CNNS_SP_W16, s, input, dy, dw, db, m0, m1);
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
                                            long r0, long r1, float *scratch, int variant) {
    const int K = s->k, Q = s->q, Q2 = s->q / 2, P2 = s->p / 2;
    const sp_build b = sp_build_of(variant);
    float *zeros = b.forward_with ? calloc((size_t)s->w * s->c + 8, sizeof(float)) : 0;
    for (long r = r0; r < r1; r++) {
        const long n = r / P2, pp = r % P2;
        const long m = (n * s->p + 2 * pp) * Q;
        float *o = pooled + r * Q2 * K;
        uint8_t *am = argmax + r * Q2 * K;
        // The two convolution rows, then the pooling layer's own window kernel on them.
        if (zeros) {
            b.forward_with(s, input, weights, bias, 1, 0.0f, hi, scratch, m, m + 2 * Q, zeros);
            b.pool_row(scratch, (long)Q * K, 2, K, Q2, o, am, 1);
        } else {
            forward_scalar_rel(s, input, weights, bias, 1, 0.0f, hi, scratch, m, m + 2 * Q);
            for (int pq = 0; pq < Q2; pq++)
                cnns_maxpool_argmax_forward_scalar(scratch + (long)(2 * pq) * K, (long)Q * K, 2, K, o + (long)pq * K,
                                                   am + (long)pq * K, 1);
        }
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
                                             float *scratch, int variant) {
    const int K = s->k, Q = s->q, Q2 = s->q / 2, P2 = s->p / 2, G = pool_group(s);
    const sp_build b = sp_build_of(variant);
    cnns_sp_buffers buf = {0, 0, 0};
    const int vector = b.dweights_with && cnns_sp_buffers_make(s, &buf);
    for (long r = r0; r < r1;) {
        const long n = r / P2, pp = r % P2;
        long rows = G;
        if (rows > P2 - pp) rows = P2 - pp;  // stay within the image
        if (rows > r1 - r) rows = r1 - r;
        const long m = (n * s->p + 2 * pp) * Q;
        // The pooled gradient routed back to the convolution rows by the pooling layer's own
        // window kernel (zeros elsewhere; the windows tile the rows, Q being even).
        for (long j = 0; j < rows; j++) {
            const long o = (r + j) * Q2 * K;
            float *rowScratch = scratch + j * 2 * (long)Q * K;
            if (vector) b.route_row(argmax + o, dPooled + o, rowScratch, (long)Q * K, 2, K, Q2);
            else
                for (int pq = 0; pq < Q2; pq++)
                    cnns_maxpool_route_scalar(argmax + o + (long)pq * K, dPooled + o + (long)pq * K,
                                              rowScratch + (long)(2 * pq) * K, (long)Q * K, 2, K);
        }
        if (vector) b.dweights_with(s, input, scratch, dw, db, m, m + 2 * rows * Q, &buf);
        else dweights_scalar_rel(s, input, scratch, dw, db, m, m + 2 * rows * Q);
        r += rows;
    }
    cnns_sp_buffers_free(&buf);
}
