// The C kernels on aarch64 against their references: built by Scripts/check-aarch64 for
// aarch64 Linux and run under QEMU user mode where no ARM machine is at hand. On aarch64 the
// x86 entry points run their plain C fallbacks and the `_w16` kernels are the portable 16-lane
// code (NEON, four 128-bit registers per vector). Float results within γ(k+2)·Σ|a·b| of a
// Double reference; int8 results equal to the scalar reference exactly. One check per call.
// Seed: CNNSCOPE_TEST_SEED, else the time; printed so a failure can be replayed.
#include "cnns_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long state;
static unsigned next(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(state >> 33);
}
static int below(int n) { return (int)(next() % (unsigned)n); }
static float uniform(void) { return (float)(next() % 20001) / 10000.0f - 1.0f; }
static double gamma_n(int n) {
    const double u = 1.0 / 16777216.0;
    return n * u / (1 - n * u);
}

typedef void (*sgemm_fn)(int, int, int, const float *, int, const float *, int, float *, int, int);
typedef void (*pointwise_fn)(int, int, const float *, const float *, const float *, int, float, float, float *, long,
                             long, int, int);
typedef void (*qgemm_fn)(int, int, int, const uint8_t *, int, const int8_t *, int32_t *, int);
typedef void (*qconv_direct_fn)(const cnns_conv_shape *, const uint8_t *, int, int, long, int, const int8_t *,
                                int32_t *, int);

static int failures = 0, checks = 0;

static void check_sgemm(const char *name, sgemm_fn f, int m, int n, int k, int acc) {
    const int lda = k + below(3), ldb = n + below(3), ldc = n + below(3);
    float *a = malloc(sizeof(float) * m * lda), *b = malloc(sizeof(float) * k * ldb);
    float *c = malloc(sizeof(float) * m * ldc), *c0 = malloc(sizeof(float) * m * ldc);
    for (int i = 0; i < m * lda; i++) a[i] = uniform();
    for (int i = 0; i < k * ldb; i++) b[i] = uniform();
    for (int i = 0; i < m * ldc; i++) c0[i] = c[i] = acc ? uniform() : NAN;
    f(m, n, k, a, lda, b, ldb, c, ldc, acc);
    checks++;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = acc ? c0[i * ldc + j] : 0, abs_sum = fabs(s);
            for (int p = 0; p < k; p++) {
                const double prod = (double)a[i * lda + p] * b[p * ldb + j];
                s += prod, abs_sum += fabs(prod);
            }
            if (!(fabs(c[i * ldc + j] - s) <= gamma_n(k + 2) * abs_sum + 1e-30)) {
                if (failures++ < 5)
                    printf("FAIL %s m=%d n=%d k=%d acc=%d at (%d,%d): %g, reference %g\n", name, m, n, k, acc, i, j,
                           c[i * ldc + j], s);
                i = m;
                break;
            }
        }
    free(a), free(b), free(c), free(c0);
}

static void check_pointwise(const char *name, pointwise_fn f, int rows, int c, int k, int clamp) {
    float *x = malloc(sizeof(float) * rows * c), *w = malloc(sizeof(float) * c * k), *bias = malloc(sizeof(float) * k);
    // Aligned as the pointwise kernels require (the x86 build loads its panels aligned).
    float *packed = aligned_alloc(64, (sizeof(float) * cnns_pointwise_packed_floats(c, k) + 63) / 64 * 64);
    float *out = malloc(sizeof(float) * rows * k);
    for (int i = 0; i < rows * c; i++) x[i] = uniform();
    for (int i = 0; i < c * k; i++) w[i] = uniform();
    for (int i = 0; i < k; i++) bias[i] = uniform();
    for (int i = 0; i < rows * k; i++) out[i] = NAN;
    cnns_pointwise_pack(c, k, w, packed);
    const int panels = (k + 15) / 16;
    f(c, k, x, packed, bias, clamp, 0.0f, 0.5f, out, 0, rows / 2, 0, panels);
    f(c, k, x, packed, bias, clamp, 0.0f, 0.5f, out, rows / 2, rows, 0, panels / 2);
    f(c, k, x, packed, bias, clamp, 0.0f, 0.5f, out, rows / 2, rows, panels / 2, panels);
    checks++;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < k; j++) {
            double s = bias[j], abs_sum = fabs(s);
            for (int p = 0; p < c; p++) {
                const double prod = (double)x[i * c + p] * w[p * k + j];
                s += prod, abs_sum += fabs(prod);
            }
            if (clamp) s = s < 0 ? 0 : (s > 0.5 ? 0.5 : s);
            if (!(fabs(out[i * k + j] - s) <= gamma_n(c + 2) * abs_sum + 1e-30)) {
                if (failures++ < 5)
                    printf("FAIL %s rows=%d c=%d k=%d clamp=%d at (%d,%d): %g, reference %g\n", name, rows, c, k,
                           clamp, i, j, out[i * k + j], s);
                i = rows;
                break;
            }
        }
    free(x), free(w), free(bias), free(packed), free(out);
}

static void check_qgemm(const char *name, qgemm_fn f, int m, int n, int k) {
    const int k4 = (k + 3) / 4 * 4;
    uint8_t *a = calloc((size_t)m * k4, 1);
    int8_t *b = malloc((size_t)k * n), *packed = malloc((size_t)cnns_qgemm_packed_size(n, k));
    int32_t *c = malloc(sizeof(int32_t) * m * n), *ref = malloc(sizeof(int32_t) * m * n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < k; j++) a[i * k4 + j] = (uint8_t)below(128);
    for (int i = 0; i < k * n; i++) b[i] = (int8_t)(below(255) - 127);
    cnns_qgemm_pack_b(n, k, b, n, packed);
    cnns_qgemm_u7s8_scalar(m, n, k, a, k4, packed, ref, n);
    memset(c, 0xff, sizeof(int32_t) * m * n);
    f(m, n, k, a, k4, packed, c, n);
    checks++;
    if (memcmp(c, ref, sizeof(int32_t) * m * n) != 0 && failures++ < 5)
        printf("FAIL %s m=%d n=%d k=%d: differs from the scalar reference\n", name, m, n, k);
    free(a), free(b), free(packed), free(c), free(ref);
}

typedef void (*depthwise_fn)(const cnns_conv_shape *, const float *, const float *, const float *, int, float, float,
                             float *, long, long);

// A depthwise forward (3x3 or 5x5, stride 1 or 2, same padding), clamped, against Double sums.
static void check_depthwise(const char *name, depthwise_fn f, int h, int w, int c, int r, int stride) {
    const int p = (h + stride - 1) / stride, q = (w + stride - 1) / stride;
    const int pad_h = ((p - 1) * stride + r - h) / 2, pad_w = ((q - 1) * stride + r - w) / 2;
    const cnns_conv_shape g = {h, w, c, r, r, c, stride, stride, pad_h > 0 ? pad_h : 0, pad_w > 0 ? pad_w : 0, p, q};
    float *x = malloc(sizeof(float) * h * w * c), *k = malloc(sizeof(float) * r * r * c);
    float *b = malloc(sizeof(float) * c);
    float *out = malloc(sizeof(float) * p * q * c);
    for (int i = 0; i < h * w * c; i++) x[i] = uniform();
    for (int i = 0; i < r * r * c; i++) k[i] = uniform();
    for (int i = 0; i < c; i++) b[i] = uniform();
    for (int i = 0; i < p * q * c; i++) out[i] = NAN;
    f(&g, x, k, b, 1, -0.5f, 0.75f, out, 0, p / 2);
    f(&g, x, k, b, 1, -0.5f, 0.75f, out, p / 2, p);
    checks++;
    for (int i = 0; i < p * q * c; i++) {
        const int ch = i % c, col = i / c % q, row = i / c / q;
        double s = b[ch], abs_sum = fabs(s);
        for (int u = 0; u < r; u++)
            for (int v = 0; v < r; v++) {
                const int ih = row * stride + u - g.pad_top, iw = col * stride + v - g.pad_left;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                const double prod = (double)x[(ih * w + iw) * c + ch] * k[(u * r + v) * c + ch];
                s += prod, abs_sum += fabs(prod);
            }
        s = s < -0.5 ? -0.5 : (s > 0.75 ? 0.75 : s);
        if (!(fabs(out[i] - s) <= gamma_n(r * r + 2) * abs_sum + 1e-30)) {
            if (failures++ < 5)
                printf("FAIL %s %dx%dx%d r=%d stride=%d at %d: %g, reference %g\n", name, h, w, c, r, stride, i,
                       out[i], s);
            break;
        }
    }
    free(x), free(k), free(b), free(out);
}

// The small-patch forward (same padding, clamped) and weight gradient of `f`/`fw` against Double
// sums: forward within γ(L+2)·Σ|products|, dW within γ(pixels+2)·Σ|products|.
static void check_small_patch(const char *name, depthwise_fn f,
                              void (*fw)(const cnns_conv_shape *, const float *, const float *, float *, float *, long,
                                         long),
                              int h, int w, int c, int k, int r, int stride) {
    const int p = (h + stride - 1) / stride, q = (w + stride - 1) / stride, L = r * r * c;
    const int pad_h = ((p - 1) * stride + r - h) / 2, pad_w = ((q - 1) * stride + r - w) / 2;
    const cnns_conv_shape g = {h, w, c, r, r, k, stride, stride, pad_h > 0 ? pad_h : 0, pad_w > 0 ? pad_w : 0, p, q};
    if (!cnns_conv_small_patch_fits(&g)) return;
    float *x = malloc(sizeof(float) * h * w * c), *wt = malloc(sizeof(float) * L * k), *b = malloc(sizeof(float) * k);
    float *out = malloc(sizeof(float) * p * q * k), *dw = calloc((size_t)L * k + k, sizeof(float));
    double *rdw = calloc((size_t)L * k, sizeof(double)), *adw = calloc((size_t)L * k, sizeof(double));
    for (int i = 0; i < h * w * c; i++) x[i] = uniform();
    for (int i = 0; i < L * k; i++) wt[i] = uniform();
    for (int i = 0; i < k; i++) b[i] = uniform();
    for (int i = 0; i < p * q * k; i++) out[i] = NAN;
    f(&g, x, wt, b, 1, -0.5f, 0.75f, out, 0, p * q / 2);
    f(&g, x, wt, b, 1, -0.5f, 0.75f, out, p * q / 2, p * q);
    checks++;
    int bad = 0;
    for (int i = 0; i < p * q * k && !bad; i++) {
        const int ch = i % k, col = i / k % q, row = i / k / q;
        double s = b[ch], abs_sum = fabs(s);
        for (int u = 0; u < r; u++)
            for (int v = 0; v < r; v++)
                for (int cc = 0; cc < c; cc++) {
                    const int ih = row * stride + u - g.pad_top, iw = col * stride + v - g.pad_left;
                    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                    const double xv = x[(ih * w + iw) * c + cc], prod = xv * wt[((u * r + v) * c + cc) * k + ch];
                    s += prod, abs_sum += fabs(prod);
                    rdw[((u * r + v) * c + cc) * k + ch] += xv * out[i];
                    adw[((u * r + v) * c + cc) * k + ch] += fabs(xv * out[i]);
                }
        s = s < -0.5 ? -0.5 : (s > 0.75 ? 0.75 : s);
        if (!(fabs(out[i] - s) <= gamma_n(L + 2) * abs_sum + 1e-30)) {
            bad = 1;
            if (failures++ < 5)
                printf("FAIL %s forward %dx%dx%d->%d r=%d stride=%d at %d: %g, reference %g\n", name, h, w, c, k, r,
                       stride, i, out[i], s);
        }
    }
    // dW with the forward's outputs as dy (the Double sums above used them too).
    fw(&g, x, out, dw, dw + (long)L * k, 0, p * q);
    checks++;
    for (int i = 0; i < L * k && !bad; i++)
        if (!(fabs(dw[i] - rdw[i]) <= gamma_n(p * q + 2) * adw[i] + 1e-30)) {
            bad = 1;
            if (failures++ < 5)
                printf("FAIL %s dW %dx%dx%d->%d r=%d stride=%d at %d: %g, reference %g\n", name, h, w, c, k, r, stride,
                       i, dw[i], rdw[i]);
        }
    free(x), free(wt), free(b), free(out), free(dw), free(rdw), free(adw);
}

// The 16-lane max pooling (a row of windows) against the scalar reference, bit for bit.
static void check_maxpool(int k, int C, int windows, int relu) {
    const long rowStride = (long)windows * k * C;
    float *x = malloc(sizeof(float) * k * rowStride), *y = malloc(sizeof(float) * windows * C);
    float *yr = malloc(sizeof(float) * windows * C), *g = malloc(sizeof(float) * windows * C);
    float *dx = malloc(sizeof(float) * k * rowStride), *dxr = malloc(sizeof(float) * k * rowStride);
    uint8_t *a = malloc((size_t)windows * C), *ar = malloc((size_t)windows * C);
    for (long i = 0; i < k * rowStride; i++) x[i] = (float)below(5) - 2;  // ties, zeros, negatives
    for (int i = 0; i < windows * C; i++) g[i] = uniform();
    cnns_maxpool_argmax_forward_row_w16(x, rowStride, k, C, windows, y, a, relu);
    cnns_maxpool_route_row_w16(a, g, dx, rowStride, k, C, windows);
    for (int t = 0; t < windows; t++) {
        cnns_maxpool_argmax_forward_scalar(x + (long)t * k * C, rowStride, k, C, yr + t * C, ar + t * C, relu);
        cnns_maxpool_route_scalar(ar + t * C, g + t * C, dxr + (long)t * k * C, rowStride, k, C);
    }
    checks++;
    if ((memcmp(y, yr, sizeof(float) * windows * C) || memcmp(a, ar, (size_t)windows * C) ||
         memcmp(dx, dxr, sizeof(float) * k * rowStride)) && failures++ < 5)
        printf("FAIL maxpool_w16 k=%d C=%d windows=%d relu=%d: differs from the scalar reference\n", k, C, windows,
               relu);
    free(x), free(y), free(yr), free(g), free(dx), free(dxr), free(a), free(ar);
}

// The int8 convolution without lowering: the byte lowering against its reference, and the direct
// sums (and, for 3x3, the integer Winograd sums) against lowering + the scalar int8 GEMM, exactly.
// Stride 1, 'same' padding.
// The output pixel (image·h + row)·w + column that corner 0...3 of Winograd tile t makes, when it
// lies inside the h x w output.
static int tile_pixel(const cnns_qwino_shape *ws, int h, int w, long t, int corner, long *pixel) {
    const long b = t / (ws->tiles_y * ws->tiles_x);
    const int ti = (int)(t % (ws->tiles_y * ws->tiles_x)) / ws->tiles_x, tj = (int)(t % ws->tiles_x);
    const int p = 2 * ti + corner / 2, q = 2 * tj + corner % 2;
    *pixel = (b * h + p) * w + q;
    return p < h && q < w;
}

static void check_int8_direct(int n, int h, int w, int c, int k, int r) {
    const int pad = (r - 1) / 2, L = r * r * c, L4 = (L + 3) / 4 * 4, rows = n * h * w;
    const cnns_conv_shape s = {h, w, c, r, r, k, 1, 1, pad, pad, h, w};
    const int hp = h + r - 1, wp = w + r - 1;
    uint8_t *x = malloc((size_t)n * h * w * c), *xp = malloc((size_t)n * hp * wp * c + 3);
    uint8_t *low = malloc((size_t)rows * L4), *lowr = malloc((size_t)rows * L4);
    int8_t *wt = malloc((size_t)L * k), *packed = malloc((size_t)cnns_qgemm_packed_size(k, L));
    const size_t direct_bytes = (size_t)cnns_qconv_direct_packed_size(&s);
    int8_t *dp = malloc(direct_bytes), *scratch = malloc(direct_bytes);
    int32_t *ref = malloc(sizeof(int32_t) * rows * k), *got = malloc(sizeof(int32_t) * rows * k);
    const uint8_t zp = (uint8_t)below(128);
    for (long i = 0; i < (long)n * h * w * c; i++) x[i] = (uint8_t)below(128);
    for (int i = 0; i < L * k; i++) wt[i] = (int8_t)(below(255) - 127);
    memset(xp, zp, (size_t)n * hp * wp * c + 3);
    for (int b = 0; b < n; b++)
        for (int i = 0; i < h; i++)
            memcpy(xp + (((long)b * hp + i + pad) * wp + pad) * c, x + ((long)b * h + i) * w * c, (size_t)w * c);
    cnns_lower_u8(&s, x, 0, rows, low, L4, zp);
    cnns_lower_u8_scalar(&s, x, 0, rows, lowr, L4, zp);
    cnns_qgemm_pack_b(k, L, wt, k, packed);
    cnns_qgemm_u7s8_scalar(rows, k, L, lowr, L4, packed, ref, k);
    cnns_qconv_direct_pack(&s, wt, dp, scratch);
    checks += 1;
    if (memcmp(low, lowr, (size_t)rows * L4) && failures++ < 5)
        printf("FAIL lower_u8 n=%d h=%d w=%d c=%d r=%d: differs from the reference\n", n, h, w, c, r);
    const struct { const char *name; qconv_direct_fn f; } builds[] = {
        {"qconv_direct_u7s8", cnns_qconv_direct_u7s8}, {"qconv_direct_u7s8_w16", cnns_qconv_direct_u7s8_w16}};
    for (int v = 0; v < 2; v++) {
        memset(got, 0x5a, sizeof(int32_t) * rows * k);
        builds[v].f(&s, xp, hp, wp, 0, rows, dp, got, k);
        checks += 1;
        if (memcmp(got, ref, sizeof(int32_t) * rows * k) && failures++ < 5)
            printf("FAIL %s n=%d h=%d w=%d c=%d k=%d r=%d: differs from lowering + GEMM\n", builds[v].name, n, h, w,
                   c, k, r);
    }
    if (cnns_qconv_pooled_small_fits(&s)) {  // Convolution, 2x2 max pooling, dequantising in one pass.
        const int P2 = h / 2, Q2 = w / 2;
        float *mul = malloc(sizeof(float) * k), *off = malloc(sizeof(float) * k);
        float *pooled = malloc(sizeof(float) * n * P2 * Q2 * k);
        for (int o = 0; o < k; o++) mul[o] = 1e-4f * (1 + below(10)), off[o] = uniform();
        cnns_qconv_pooled_small(&s, xp, hp, wp, 0, n * P2, dp, mul, off, 0.0f, 30.0f, pooled);
        long bad = 0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < P2; i++)
                for (int j = 0; j < Q2; j++)
                    for (int o = 0; o < k; o++) {
                        int32_t m = ref[(((long)b * h + 2 * i) * w + 2 * j) * k + o];
                        for (int t = 1; t < 4; t++) {
                            const int32_t v = ref[(((long)b * h + 2 * i + t / 2) * w + 2 * j + t % 2) * k + o];
                            m = v > m ? v : m;
                        }
                        float y = (float)m * mul[o] + off[o];
                        y = y < 0.0f ? 0.0f : y;
                        y = y > 30.0f ? 30.0f : y;
                        bad += pooled[(((long)b * P2 + i) * Q2 + j) * k + o] != y;
                    }
        checks += 1;
        if (bad && failures++ < 5)
            printf("FAIL qconv_pooled_small n=%d h=%d w=%d c=%d k=%d r=%d: %ld outputs differ\n", n, h, w, c, k, r,
                   bad);
        if (cnns_qconv_quads_fits(&s)) {  // One channel: rows read as column quads, the same floats.
            int8_t *qp = malloc((size_t)cnns_qconv_quads_packed_size(&s));
            int8_t *qs = malloc((size_t)cnns_qconv_quads_packed_size(&s));
            uint8_t *xq4 = malloc((size_t)n * hp * wp * 4);
            float *quads = malloc(sizeof(float) * n * P2 * Q2 * k);
            cnns_qconv_quads_pack(&s, wt, qp, qs);
            cnns_qconv_column_quads(xp, hp, wp, 0, (long)n * hp, xq4);
            cnns_qconv_pooled_quads(&s, xp, xq4, hp, wp, 0, n * P2, qp, mul, off, 0.0f, 30.0f, quads);
            checks += 1;
            if (memcmp(quads, pooled, sizeof(float) * n * P2 * Q2 * k) && failures++ < 5)
                printf("FAIL qconv_pooled_quads n=%d h=%d w=%d k=%d r=%d: differs from the pooled kernel\n", n, h, w,
                       k, r);
            free(qp), free(qs), free(xq4), free(quads);
        }
        free(mul), free(off), free(pooled);
    }
    if (r == 3) {  // Integer Winograd F(2x4,3x3) (the plain C build here): the same sums, exactly.
        const cnns_qwino_shape ws = {c, k, hp, wp, (h + 1) / 2, (w + 1) / 2, zp};
        const long tiles = (long)n * ws.tiles_y * ws.tiles_x;
        int16_t *wk = malloc((size_t)cnns_qwino_packed_size(c, k));
        void *work = malloc((size_t)cnns_qwino_workspace_size(c, k, 8));
        int32_t *y = malloc(sizeof(int32_t) * tiles * 4 * k);
        cnns_qwino_pack(c, k, wt, wk);
        for (long t = 0; t < tiles; t += 8)
            cnns_qwino_u7s8(&ws, xp, t, tiles - t < 8 ? (int)(tiles - t) : 8, 0, wk, work, y + t * 4 * k);
        long bad = 0, pixel;
        for (long t = 0; t < tiles; t++)
            for (int corner = 0; corner < 4; corner++)
                if (tile_pixel(&ws, h, w, t, corner, &pixel))
                    bad += memcmp(y + (t * 4 + corner) * k, ref + pixel * k, sizeof(int32_t) * k) != 0;
        checks += 1;
        if (bad && failures++ < 5)
            printf("FAIL qwino_u7s8 n=%d h=%d w=%d c=%d k=%d: %ld pixels differ from lowering + GEMM\n", n, h, w, c, k,
                   bad);
        free(wk), free(work), free(y);
    }
    if (r == 5) {  // Integer Winograd F(2x4,5x5) (the plain C build here): within its bound of the sums.
        const cnns_qwino_shape ws = {c, k, hp, wp, (h + 1) / 2, (w + 1) / 2, zp};
        const long tiles = (long)n * ws.tiles_y * ws.tiles_x;
        int16_t *wk = malloc((size_t)cnns_qwino5_packed_size(c, k));
        float *scale = malloc(sizeof(float) * CNNS_QWINO5_POINTS * k);
        void *work = malloc((size_t)cnns_qwino5_workspace_size(c, k, 8));
        int32_t *y = malloc(sizeof(int32_t) * tiles * 4 * k);
        cnns_qwino5_pack(c, k, wt, wk, scale);
        for (long t = 0; t < tiles; t += 8)
            cnns_qwino5_u7s8(&ws, xp, t, tiles - t < 8 ? (int)(tiles - t) : 8, 0, wk, scale, work, y + t * 4 * k);
        long bad = 0, pixel;
        for (long t = 0; t < tiles; t++)
            for (int corner = 0; corner < 4; corner++)
                for (int o = 0; o < k && tile_pixel(&ws, h, w, t, corner, &pixel); o++) {
                    const double e = fabs((double)y[(t * 4 + corner) * k + o] - ref[pixel * k + o]);
                    bad += !(e <= cnns_qwino5_error_bound(c, k, scale, o));
                }
        checks += 1;
        if (bad && failures++ < 5)
            printf("FAIL qwino5_u7s8 n=%d h=%d w=%d c=%d k=%d: %ld sums outside the bound of lowering + GEMM\n", n,
                   h, w, c, k, bad);
        free(wk), free(scale), free(work), free(y);
    }
    if (r == 3 || r == 5) {  // Winograd with an 8-bit transform domain (its scalar reference): within its bound.
        const cnns_qwino_shape ws = {c, k, hp, wp, (h + 1) / 2, (w + 1) / 2, zp};
        const long tiles = (long)n * ws.tiles_y * ws.tiles_x;
        int8_t *w8 = malloc((size_t)cnns_qwino8_packed_size(c, k, r));
        int32_t *comp = malloc(sizeof(int32_t) * 4 * ((k + 15) / 16 * 16));
        float *scale8 = malloc(sizeof(float) * k);
        void *work8 = malloc((size_t)cnns_qwino8_workspace_size(&ws, r, 8));
        int32_t *y8 = malloc(sizeof(int32_t) * tiles * 4 * k);
        cnns_qwino8_pack(c, k, r, wt, w8, comp, scale8);
        for (long t = 0; t < tiles; t += 8)
            cnns_qwino8_u7s8_scalar(&ws, r, xp, t, tiles - t < 8 ? (int)(tiles - t) : 8, 0, w8, comp, scale8, work8,
                                    y8 + t * 4 * k);
        long bad8 = 0, pixel;
        for (long t = 0; t < tiles; t++)
            for (int corner = 0; corner < 4; corner++)
                for (int o = 0; o < k && tile_pixel(&ws, h, w, t, corner, &pixel); o++) {
                    const double e = fabs((double)y8[(t * 4 + corner) * k + o] - ref[pixel * k + o]);
                    bad8 += !(e <= cnns_qwino8_error_bound(c, k, r, wt, o));
                }
        checks += 1;
        if (bad8 && failures++ < 5)
            printf("FAIL qwino8_u7s8 n=%d h=%d w=%d c=%d k=%d r=%d: %ld sums outside the bound of lowering + GEMM\n",
                   n, h, w, c, k, r, bad8);
        free(w8), free(comp), free(scale8), free(work8), free(y8);
    }
    free(x), free(xp), free(low), free(lowr), free(wt), free(packed), free(dp), free(scratch), free(ref), free(got);
}

// The weight gradient without a column buffer (the scalar reference here) against Double sums of
// patchᵀ·dy, within γ(pixels + 2)·Σ|products|. Stride 1 or 2, 'valid' padding.
static void check_dweights_implicit(int n, int h, int w, int c, int k, int r, int stride) {
    const int p = (h - r) / stride + 1, q = (w - r) / stride + 1, L = r * r * c;
    const cnns_conv_shape s = {h, w, c, r, r, k, stride, stride, 0, 0, p, q};
    const long rows = (long)n * p * q;
    float *x = malloc(sizeof(float) * n * h * w * c), *dy = malloc(sizeof(float) * rows * k);
    float *dw = calloc((size_t)L * k, sizeof(float)), *db = calloc((size_t)k, sizeof(float));
    double *ref = calloc((size_t)L * k, sizeof(double)), *mag = calloc((size_t)L * k, sizeof(double));
    for (long i = 0; i < (long)n * h * w * c; i++) x[i] = uniform();
    for (long i = 0; i < rows * k; i++) dy[i] = uniform();
    cnns_conv_dweights_implicit(&s, x, dy, dw, db, 0, rows / 2);
    cnns_conv_dweights_implicit(&s, x, dy, dw, db, rows / 2, rows);
    for (long m = 0; m < rows; m++) {
        const long b = m / (p * q), pp = (m % (p * q)) / q, qq = m % q;
        for (int l = 0; l < L; l++) {
            const int rr = l / (r * c), t = (l / c) % r, ch = l % c;
            const double xv = x[((b * h + pp * stride + rr) * w + qq * stride + t) * c + ch];
            for (int j = 0; j < k; j++) {
                const double prod = xv * dy[m * k + j];
                ref[(long)l * k + j] += prod, mag[(long)l * k + j] += fabs(prod);
            }
        }
    }
    checks++;
    for (long i = 0; i < (long)L * k; i++)
        if (!(fabs(dw[i] - ref[i]) <= gamma_n((int)rows + 2) * mag[i] + 1e-30)) {
            if (failures++ < 5) printf("FAIL conv_dweights_implicit at %ld: %g, reference %g\n", i, dw[i], ref[i]);
            break;
        }
    free(x), free(dy), free(dw), free(db), free(ref), free(mag);
}

// The two-sided transform (16-lane build against Double sums) for L dense rows × n.
static void check_two_sided(int rows, int n, int C, int K) {
    float L[64], *in = malloc(sizeof(float) * n * n * C * K), *out = malloc(sizeof(float) * rows * rows * C * K);
    for (int i = 0; i < rows * n; i++) L[i] = uniform();
    for (int i = 0; i < n * n * C * K; i++) in[i] = uniform();
    for (int i = 0; i < rows * rows * C * K; i++) out[i] = NAN;
    cnns_winograd_two_sided_w16(rows, n, L, in, C, K, 0, C, out);
    checks++;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < rows; j++)
            for (int c = 0; c < C; c++)
                for (int k = 0; k < K; k++) {
                    double sum = 0, abs_sum = 0;
                    for (int r = 0; r < n; r++)
                        for (int q = 0; q < n; q++) {
                            const double t = (double)L[i * n + r] * in[((r * n + q) * C + c) * K + k] * L[j * n + q];
                            sum += t, abs_sum += fabs(t);
                        }
                    const float got = out[((i * rows + j) * C + c) * K + k];
                    if (!(fabs(got - sum) <= gamma_n(2 * n + 2) * abs_sum + 1e-30)) {
                        if (failures++ < 5)
                            printf("FAIL winograd_two_sided_w16 rows=%d n=%d C=%d K=%d: %g, reference %g\n", rows, n,
                                   C, K, got, sum);
                        free(in), free(out);
                        return;
                    }
                }
    free(in), free(out);
}

// The weight gradient's dy tile (16-lane build) with F(4x4,3x3)'s and F(2x2,3x3)'s A, against Double.
static void check_dy_tile(int alpha, int m, const float *A, int rows, int cols, int K) {
    const int q = m + 1;
    float *dy = malloc(sizeof(float) * m * q * K), *d = malloc(sizeof(float) * alpha * alpha * K);
    float *db = calloc(K, sizeof(float)), *tmp = malloc(sizeof(float) * alpha * m * K);
    for (int i = 0; i < m * q * K; i++) dy[i] = uniform();
    cnns_wino_dy_tile_w16(alpha, m, A, dy, (long)q * K, rows, cols, K, d, K, tmp, db);
    checks++;
    for (int a = 0; a < alpha; a++)
        for (int b = 0; b < alpha; b++)
            for (int k = 0; k < K; k++) {
                double sum = 0, abs_sum = 0, bias = 0;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) {
                        const double t = (double)A[a * m + i] * dy[(i * q + j) * K + k] * A[b * m + j];
                        sum += t, abs_sum += fabs(t), bias += dy[(i * q + j) * K + k];
                    }
                const float got = d[(a * alpha + b) * K + k];
                if (!(fabs(got - sum) <= gamma_n(2 * m + 2) * abs_sum + 1e-30) ||
                    (a == 0 && b == 0 && !(fabs(db[k] - bias) <= 1e-5 * (1 + fabs(bias))))) {
                    if (failures++ < 5)
                        printf("FAIL wino_dy_tile_w16 alpha=%d rows=%d cols=%d K=%d: %g, reference %g\n", alpha, rows,
                               cols, K, got, sum);
                    a = alpha, b = alpha;
                    break;
                }
            }
    free(dy), free(d), free(db), free(tmp);
}

// Adam's update: the AVX-512 entry point (the plain build here) equals the reference bit for bit.
static void check_adam(long n) {
    float *w = malloc(sizeof(float) * 4 * n), *g = w + n, *m = g + n, *v = m + n;
    float *w2 = malloc(sizeof(float) * 3 * n), *m2 = w2 + n, *v2 = m2 + n;
    for (long i = 0; i < n; i++)
        w[i] = uniform(), g[i] = uniform(), m[i] = uniform() * 0.1f, v[i] = fabsf(uniform()) * 0.01f;
    memcpy(w2, w, sizeof(float) * n), memcpy(m2, m, sizeof(float) * n), memcpy(v2, v, sizeof(float) * n);
    cnns_adam_update_scalar(w, g, m, v, n, 0.9f, 0.999f, 1e-7f, 1e-3f);
    cnns_adam_update_avx512(w2, g, m2, v2, n, 0.9f, 0.999f, 1e-7f, 1e-3f);
    checks++;
    if (memcmp(w, w2, sizeof(float) * n) || memcmp(m, m2, sizeof(float) * n) || memcmp(v, v2, sizeof(float) * n))
        if (failures++ < 5) printf("FAIL adam_update n=%ld: the builds differ\n", n);
    free(w), free(w2);
}

int main(void) {
    const char *env = getenv("CNNSCOPE_TEST_SEED");
    const unsigned long long seed = env ? strtoull(env, 0, 10) : (unsigned long long)time(0) % 1000000;
    state = seed;
    printf("kernel_check seed %llu (replay with CNNSCOPE_TEST_SEED=%llu); x86 kernels available: avx2 %d, avx512 %d\n",
           seed, seed, cnns_have_avx2_fma(), cnns_have_avx512());
    const struct { const char *name; sgemm_fn f; } sg[] = {
        {"sgemm_nn_avx2 (plain C here)", cnns_sgemm_nn_avx2}, {"sgemm_nn_w16", cnns_sgemm_nn_w16}};
    const struct { const char *name; pointwise_fn f; } pw[] = {
        {"pointwise_forward", cnns_pointwise_forward}, {"pointwise_forward_w16", cnns_pointwise_forward_w16}};
    const struct { const char *name; qgemm_fn f; } qg[] = {
        {"qgemm_u7s8", cnns_qgemm_u7s8}, {"qgemm_u7s8_w16", cnns_qgemm_u7s8_w16}};
    const int fixed[][3] = {{6, 16, 1}, {7, 17, 3}, {1, 1, 1}, {64, 64, 32}, {13, 40, 9}, {12, 32, 5}, {25, 48, 130}};
    for (int t = 0; t < 7 + 10; t++) {
        const int m = t < 7 ? fixed[t][0] : 1 + below(50), n = t < 7 ? fixed[t][1] : 1 + below(70),
                  k = t < 7 ? fixed[t][2] : 1 + below(90);
        for (int v = 0; v < 2; v++) {
            check_sgemm(sg[v].name, sg[v].f, m, n, k, t % 2);
            check_pointwise(pw[v].name, pw[v].f, m, k, n, t % 2);
            check_qgemm(qg[v].name, qg[v].f, m, n, k);
        }
    }
    const struct { const char *name; depthwise_fn f; } dw[] = {
        {"depthwise_forward (plain C here)", cnns_depthwise_forward},
        {"depthwise_forward_w16", cnns_depthwise_forward_w16}};
    for (int t = 0; t < 12; t++) {
        const int h = 3 + below(20), w = 3 + below(30), c = 1 + below(70), r = t % 3 == 2 ? 5 : 3;
        for (int v = 0; v < 2; v++) check_depthwise(dw[v].name, dw[v].f, h, w, c, r, 1 + t % 2);
    }
    for (int t = 0; t < 8; t++) check_maxpool(2 + t % 2, 1 + below(70), 1 + below(5), t / 4);
    for (int t = 0; t < 10; t++) {
        const int c = 1 + below(3), r = 2 + below(4), k = 8 * (1 + below(9)), h = r + below(16), w = r + below(30);
        check_small_patch("conv_small_patch (plain C here)", cnns_conv_small_patch_forward,
                          cnns_conv_small_patch_dweights, h, w, c, k, r, 1 + t % 2);
        check_small_patch("conv_small_patch_w16", cnns_conv_small_patch_forward_w16, cnns_conv_small_patch_dweights_w16,
                          h, w, c, k, r, 1 + t % 2);
    }
    for (int t = 0; t < 8; t++) {
        const int c = t % 2 ? 1 + below(3) : 4 * (1 + below(6)), r = t % 4 < 2 ? 3 : 5;
        check_int8_direct(1 + below(2), r + below(12), r + below(12), c, t % 2 ? 8 * (1 + below(4)) : 1 + below(40), r);
    }
    check_int8_direct(2, 28, 28, 1, 32, 5);  // large-filters' first layer (column quads under pooling)
    for (int t = 0; t < 4; t++) {
        const int c = 1 + below(20), k = 8 * (1 + below(4));
        check_dweights_implicit(1 + below(2), 5 + below(8), 5 + below(8), c, k, 3, 1 + t % 2);
    }
    const int ts[][2] = {{4, 3}, {6, 3}, {6, 5}, {4, 2}, {8, 5}, {3, 4}, {2, 4}, {3, 6}, {5, 6}, {5, 8}};
    for (int t = 0; t < 10; t++) check_two_sided(ts[t][0], ts[t][1], 1 + below(5), 1 + below(40));
    for (int t = 0; t < 4; t++) check_adam(1 + below(100));
    static const float a6x4[24] = {1, 0, 0, 0, 1, 1, 1, 1, 1, -1, 1, -1, 1, 2, 4, 8, 1, -2, 4, -8, 0, 0, 0, 1};
    static const float a4x2[8] = {1, 0, 1, 1, 1, -1, 0, -1};
    for (int t = 0; t < 6; t++) {
        check_dy_tile(6, 4, a6x4, 1 + below(4), 1 + below(4), 1 + below(40));
        check_dy_tile(4, 2, a4x2, 1 + below(2), 1 + below(2), 1 + below(40));
    }
    if (failures)
        printf("kernel_check: %d of %d checks failed\n", failures, checks);
    else
        printf("kernel_check: all %d checks match their references\n", checks);
    return failures ? 1 : 0;
}
