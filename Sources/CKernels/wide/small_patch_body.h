// The small-patch convolution kernels (first layers: R·S·C ≤ 80, K a multiple of 8), forward
// and weight gradient side by side, written once on SP_W-lane vector types and compiled per ISA
// by the file that includes it: conv_small_patch.c (AVX2+FMA, 8 lanes, blocks of 6 pixels or
// taps: 12 of the 16 registers accumulate), conv_small_patch_avx512.c (AVX-512, 16 lanes, blocks
// of 12: 24 of the 32 registers) and conv_small_patch_w16.c (the 16-lane code for AVX2, which
// the tests run on every machine). The plain references are the *_scalar functions of
// conv_small_patch.c.
//
//   forward: input (N,H,W,C), weights [L = R·S·C, K], bias (K) -> out (pixels, K)
//            out[m, k] = clamp(bias[k] + Σ_l patch(m)[l] · w[l, k])
//   dW:      dy (pixels, K) -> dw [L, K] += Σ_m patch(m)[l] · dy[m, k],  db [K] += Σ_m dy[m, k]
//
// Forward: a block of SP_PIX neighbouring pixels of one output row times 2·SP_W output channels
// in registers (two weight loads and SP_PIX broadcasts per 2·SP_PIX FMAs); the rows of a pixel's
// patch are read in place from the input, or from a zero-padded copy of the R input rows under
// an output row when it has border pixels. Weight gradient: SP_TAPS taps (rows of dw) times
// 2·SP_W channels in registers over a run of pixels. Same products as im2col + GEMM, summed in
// the same order over taps (forward) and pixels (dW), so results agree with it to rounding.
//
// The includer defines SP_W (8 or 16), SP_PIX, SP_TAPS, SP_TARGET (function attribute) and
// SP_NAME(x), and includes small_patch_walk.h.
typedef float sp_v __attribute__((vector_size(4 * SP_W)));
typedef float sp_h __attribute__((vector_size(32)));  // 8 lanes: a channel tail (K is a multiple of 8)

// Unaligned load, store and broadcast for vector type T (lanes floats): sp_ld/sp_st/sp_splat
// on sp_v, sp_ld_h/sp_st_h/sp_splat_h on the 8-lane tail type.
#define SP_VECTOR_HELPERS(T, lanes, suffix)                                                                       \
    SP_TARGET __attribute__((always_inline)) static inline T sp_ld##suffix(const float *p) {                      \
        T v;                                                                                                      \
        memcpy(&v, p, sizeof v);                                                                                  \
        return v;                                                                                                 \
    }                                                                                                             \
    SP_TARGET __attribute__((always_inline)) static inline void sp_st##suffix(float *p, T v) {                    \
        memcpy(p, &v, sizeof v);                                                                                  \
    }                                                                                                             \
    SP_TARGET __attribute__((always_inline)) static inline T sp_splat##suffix(float x) {                          \
        T v;                                                                                                      \
        for (int i = 0; i < lanes; i++) v[i] = x;                                                                 \
        return v;                                                                                                 \
    }
SP_VECTOR_HELPERS(sp_v, SP_W, )
SP_VECTOR_HELPERS(sp_h, 8, _h)
#undef SP_VECTOR_HELPERS

#define SP_CLAMP(v, lo, hi) __builtin_elementwise_min(__builtin_elementwise_max((v), (lo)), (hi))

// Channels [k0, k0 + V·lanes) of `npix` pixels (a constant at each call: the loops unroll into
// registers), pixel i reading rows[r] + i·step, kernel row r's S·C values at rows[r]. T: the
// vector type, V: vectors per pixel.
#define SP_BLOCK_PASS(T, lanes, V, LD, ST, SPLAT)                                                                 \
    {                                                                                                             \
        T a[SP_PIX][2];                                                                                           \
        const T lo_v = SPLAT(lo), hi_v = SPLAT(hi);                                                               \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < npix; i++) for (int v = 0; v < V; v++) a[i][v] =   \
            bias ? LD(bias + k0 + v * lanes) : SPLAT(0.0f);                                                       \
        const float *w = weights + k0;                                                                            \
        for (int r = 0; r < R; r++) {                                                                             \
            const float *x = rows[r];                                                                             \
            for (int j = 0; j < SC; j++, w += K, x++) {                                                           \
                T wv[2];                                                                                          \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) wv[v] = LD(w + v * lanes);         \
                _Pragma("clang loop unroll(full)") for (int i = 0; i < npix; i++) {                               \
                    const T b = SPLAT(x[i * step]);                                                               \
                    _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) a[i][v] += b * wv[v];          \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < npix; i++) for (int v = 0; v < V; v++)             \
            ST(o + (long)i * K + k0 + v * lanes, clamp ? SP_CLAMP(a[i][v], lo_v, hi_v) : a[i][v]);                \
    }

SP_TARGET __attribute__((always_inline)) static inline void sp_block(int npix, const float *const *rows, int R,
                                                                   int SC, long step, const float *weights, int K,
                                                                   const float *bias, int clamp, float lo, float hi,
                                                                   float *o) {
    int k0 = 0;
    for (; k0 + 2 * SP_W <= K; k0 += 2 * SP_W) SP_BLOCK_PASS(sp_v, SP_W, 2, sp_ld, sp_st, sp_splat)
    if (k0 + SP_W <= K) {
        SP_BLOCK_PASS(sp_v, SP_W, 1, sp_ld, sp_st, sp_splat)
        k0 += SP_W;
    }
    if (SP_W > 8 && k0 < K) SP_BLOCK_PASS(sp_h, 8, 1, sp_ld_h, sp_st_h, sp_splat_h)
}
#undef SP_BLOCK_PASS

// sp_block with `n` (1 ..< SP_PIX, not a constant) pixels: a constant count per case.
SP_TARGET static void sp_block_tail(int n, const float *const *rows, int R, int SC, long step, const float *weights,
                                    int K, const float *bias, int clamp, float lo, float hi, float *o) {
#define SP_CASE(c)                                                                                                \
    case c: sp_block(c, rows, R, SC, step, weights, K, bias, clamp, lo, hi, o); break;
    switch (n) {
        SP_CASE(1) SP_CASE(2) SP_CASE(3) SP_CASE(4) SP_CASE(5)
#if SP_PIX > 6
        SP_CASE(6) SP_CASE(7) SP_CASE(8) SP_CASE(9) SP_CASE(10) SP_CASE(11)
#endif
    default: break;
    }
#undef SP_CASE
}

// A run of `run` neighbouring pixels, pixel i reading rows[r] + i·step (rows is advanced):
// blocks of SP_PIX, then the run's last pixels as one more full block ending at the run's end
// (the pixels it repeats get the same values again, same arithmetic), or, when at most a third
// of a block is left, as a block of their own length; a run shorter than a block is one block of
// its own length.
SP_TARGET static void sp_run(const float **rows, int R, int SC, long step, int run, const float *weights, int K,
                             const float *bias, int clamp, float lo, float hi, float *o) {
    int left = run;
    for (; left >= SP_PIX; left -= SP_PIX, o += (long)SP_PIX * K) {
        sp_block(SP_PIX, rows, R, SC, step, weights, K, bias, clamp, lo, hi, o);
        for (int r = 0; r < R; r++) rows[r] += SP_PIX * step;
    }
    if (left == 0) return;
    // A few pixels left (at most a third of a block) run as a short block; more run as one full
    // block ending at the run's end.
    if (run >= SP_PIX && 3 * left > SP_PIX) {
        const int back = SP_PIX - left;
        for (int r = 0; r < R; r++) rows[r] -= back * step;
        sp_block(SP_PIX, rows, R, SC, step, weights, K, bias, clamp, lo, hi, o - (long)back * K);
        return;
    }
    sp_block_tail(left, rows, R, SC, step, weights, K, bias, clamp, lo, hi, o);
}

// Whole output rows from a zero-padded copy of the R input rows under them (R·PW·C floats, PW
// the padded width), so that every pixel of the row, border pixels included, runs in blocks.
SP_TARGET static void sp_forward_rows(const cnns_conv_shape *s, const float *input, const float *weights,
                                      const float *bias, int clamp, float lo, float hi, float *out, long m0, long m1) {
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c, PW = cnns_sp_padded_width(s);
    const long step = (long)s->stride_w * C, pitch = (long)PW * C;
    float prow[CNNS_PADDED_MAX];
    const float *rows[CNNS_SMALL_PATCH_MAX];
    for (long m = m0; m < m1;) {
        long n;
        int p, q;
        cnns_pixel_of(s, m, &n, &p, &q);
        const int qb = (m1 - m < s->q - q) ? q + (int)(m1 - m) : s->q;
        const float *img = input + n * (long)s->h * s->w * C;
        for (int r = 0; r < R; r++) {
            float *dst = prow + r * pitch;
            const int ih = p * s->stride_h - s->pad_top + r;
            if (ih < 0 || ih >= s->h) {
                memset(dst, 0, sizeof(float) * pitch);
                continue;
            }
            memset(dst, 0, sizeof(float) * (size_t)s->pad_left * C);
            memcpy(dst + (long)s->pad_left * C, img + (long)ih * s->w * C, sizeof(float) * (size_t)s->w * C);
            memset(dst + (long)(s->pad_left + s->w) * C, 0, sizeof(float) * (size_t)(PW - s->pad_left - s->w) * C);
        }
        for (int r = 0; r < R; r++) rows[r] = prow + r * pitch + (long)q * step;
        sp_run(rows, R, SC, step, qb - q, weights, K, bias, clamp, lo, hi, out + (m - m0) * K);
        m += qb - q;
    }
}

SP_TARGET void SP_NAME(cnns_sp_forward_with)(const cnns_conv_shape *s, const float *input, const float *weights,
                                             const float *bias, int clamp, float lo, float hi, float *out, long m0,
                                             long m1, const float *zeros) {
    // Rows with border pixels (padding in width) run from a padded copy; without them the input
    // is read in place, and the rare pixel whose window leaves the image is gathered.
    const int borders = s->pad_left > 0 || cnns_sp_padded_width(s) > s->w;
    if (borders && (long)s->r * cnns_sp_padded_width(s) * s->c <= CNNS_PADDED_MAX) {
        sp_forward_rows(s, input, weights, bias, clamp, lo, hi, out, m0, m1);
        return;
    }
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c;
    const long step = (long)s->stride_w * C;
    float patch[CNNS_SMALL_PATCH_MAX];
    const float *rows[CNNS_SMALL_PATCH_MAX];
    cnns_sp_walk w;
    cnns_sp_segment g;
    cnns_sp_walk_init(&w, s, input, zeros, m0, m1);
    while (cnns_sp_walk_next(&w, &g)) {
        float *o = out + (g.m - m0) * K;
        if (g.run == 0) {
            cnns_sp_gather_patch(s, input, g.n, g.p, g.q, patch);
            for (int r = 0; r < R; r++) rows[r] = patch + r * SC;
            sp_block(1, rows, R, SC, 0, weights, K, bias, clamp, lo, hi, o);
            continue;
        }
        cnns_sp_walk_rows(&w, g.q, rows);
        sp_run(rows, R, SC, step, g.run, weights, K, bias, clamp, lo, hi, o);
    }
}

// dW rows of `taps` taps (a constant at each call; tap i's value for pixel t at x[i] + t·step)
// over T pixels whose dy rows are dy + t·ldy, 2·SP_W (then fewer) columns per pass, added to
// dwRow[i] at the end.
#define SP_DW_PASS(T, lanes, V, LD, ST, SPLAT)                                                                    \
    {                                                                                                             \
        T c[SP_TAPS][2];                                                                                          \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < taps; i++) for (int v = 0; v < V; v++) c[i][v] =   \
            SPLAT(0.0f);                                                                                          \
        const float *d = dy + k0;                                                                                 \
        for (long t = 0, o = 0; t < T_pixels; t++, o += step, d += ldy) {                                         \
            T dv[2];                                                                                              \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) dv[v] = LD(d + v * lanes);             \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < taps; i++) {                                   \
                const T b = SPLAT(x[i][o]);                                                                       \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) c[i][v] += b * dv[v];              \
            }                                                                                                     \
        }                                                                                                         \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < taps; i++) for (int v = 0; v < V; v++) {           \
            float *row = dwRow[i] + k0 + v * lanes;                                                               \
            ST(row, LD(row) + c[i][v]);                                                                           \
        }                                                                                                         \
    }

SP_TARGET __attribute__((always_inline)) static inline void sp_dw_taps(int taps, const float *const *x, long step,
                                                                     const float *dy, long ldy, int K,
                                                                     int T_pixels, float *const *dwRow) {
    int k0 = 0;
    for (; k0 + 2 * SP_W <= K; k0 += 2 * SP_W) SP_DW_PASS(sp_v, SP_W, 2, sp_ld, sp_st, sp_splat)
    if (k0 + SP_W <= K) {
        SP_DW_PASS(sp_v, SP_W, 1, sp_ld, sp_st, sp_splat)
        k0 += SP_W;
    }
    if (SP_W > 8 && k0 < K) SP_DW_PASS(sp_h, 8, 1, sp_ld_h, sp_st_h, sp_splat_h)
}
#undef SP_DW_PASS

// All L taps over T pixels: tap l = (r, j) of pixel t at base[r] + j + t·step.
SP_TARGET static void sp_dw_pixels(const cnns_conv_shape *s, const float *const *base, long step, const float *dy,
                                   long ldy, int T, float *dw) {
    const int SC = s->s * s->c, L = s->r * SC, K = s->k;
    const float *x[SP_TAPS];
    float *rows[SP_TAPS];
    for (int l0 = 0; l0 < L; l0 += SP_TAPS) {
        const int taps = L - l0 < SP_TAPS ? L - l0 : SP_TAPS;
        for (int i = 0; i < taps; i++) {
            const int l = l0 + i;
            x[i] = base[l / SC] + l % SC;
            rows[i] = dw + (long)l * K;
        }
        switch (taps) {
        case SP_TAPS: sp_dw_taps(SP_TAPS, x, step, dy, ldy, K, T, rows); break;
        case 1: sp_dw_taps(1, x, step, dy, ldy, K, T, rows); break;
        case 2: sp_dw_taps(2, x, step, dy, ldy, K, T, rows); break;
        case 3: sp_dw_taps(3, x, step, dy, ldy, K, T, rows); break;
        case 4: sp_dw_taps(4, x, step, dy, ldy, K, T, rows); break;
        case 5: sp_dw_taps(5, x, step, dy, ldy, K, T, rows); break;
#if SP_TAPS > 6
        case 6: sp_dw_taps(6, x, step, dy, ldy, K, T, rows); break;
        case 7: sp_dw_taps(7, x, step, dy, ldy, K, T, rows); break;
        case 8: sp_dw_taps(8, x, step, dy, ldy, K, T, rows); break;
        case 9: sp_dw_taps(9, x, step, dy, ldy, K, T, rows); break;
        case 10: sp_dw_taps(10, x, step, dy, ldy, K, T, rows); break;
        case 11: sp_dw_taps(11, x, step, dy, ldy, K, T, rows); break;
#endif
        default: break;
        }
    }
}

SP_TARGET void SP_NAME(cnns_sp_dweights_with)(const cnns_conv_shape *s, const float *input, const float *dy0,
                                              float *dw, float *db, long m0, long m1, const cnns_sp_buffers *buf) {
    const int K = s->k, SC = s->s * s->c, R = s->r, C = s->c, L = R * SC;
    const long step = (long)s->stride_w * C;
    // Border pixels (window partly outside the image horizontally) are gathered, with their dy
    // rows, into tiles of CNNS_TILE and handled like a run.
    float *ptile = buf->ptile, *dtile = buf->dtile;
    const float *pbase[CNNS_SMALL_PATCH_MAX], *rows[CNNS_SMALL_PATCH_MAX];
    for (int r = 0; r < R; r++) pbase[r] = ptile + r * SC;
    int pending = 0;
    cnns_sp_walk w;
    cnns_sp_segment g;
    cnns_sp_walk_init(&w, s, input, buf->zeros, m0, m1);
    while (cnns_sp_walk_next(&w, &g)) {
        if (g.run == 0) {
            cnns_sp_gather_patch(s, input, g.n, g.p, g.q, ptile + (long)pending * L);
            memcpy(dtile + (long)pending * K, dy0 + (g.m - m0) * K, sizeof(float) * K);
            if (++pending == CNNS_TILE) {
                sp_dw_pixels(s, pbase, L, dtile, K, pending, dw);
                pending = 0;
            }
            continue;
        }
        cnns_sp_walk_rows(&w, g.q, rows);
        sp_dw_pixels(s, rows, step, dy0 + (g.m - m0) * K, K, g.run, dw);
    }
    if (pending) sp_dw_pixels(s, pbase, L, dtile, K, pending, dw);
    if (db) {
        for (int k0 = 0; k0 < K; k0 += 8) {
            sp_h a = sp_ld_h(db + k0);
            for (long i = 0; i < m1 - m0; i++) a += sp_ld_h(dy0 + i * K + k0);
            sp_st_h(db + k0, a);
        }
    }
}
#undef SP_CLAMP
