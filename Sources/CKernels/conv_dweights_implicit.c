// Convolution weight gradient without a column buffer (implicit GEMM), NHWC:
//   input (n, h, w, c), dy (n, p, q, k) -> dW [R·S·C, K] += Σ_m patch(m)ᵀ · dy[m],
//   db [K] += Σ_m dy[m], over output pixels m = m0..<m1 (flattened n, p, q)
// where patch(m) is output pixel m's receptive field (zero where it leaves the map). Kernel row r of
// a patch is S·C floats, contiguous in the input (S pixels of C channels), so for each r the sum is
// a GEMM whose rows come straight from the input: a pixel's row pointer, or a zero-filled copy at
// the left and right borders; pixels whose row r lies above or below the map add nothing.
// AVX2+FMA: pixels in chunks of DWI_PIXELS, a 6 x 16 tile of dW in registers across the chunk
// (6 broadcasts and 2 loads per 12 FMAs), loaded and stored once per chunk. The scalar function
// is the plain reference (and the fallback without AVX2, or with K not a multiple of 8); the tests
// compare the two against Double sums.
#include "cnns_kernels.h"
#include "output_pixel.h"
#include <stdlib.h>
#include <string.h>

void cnns_conv_dweights_implicit_scalar(const cnns_conv_shape *s, const float *input, const float *dy, float *dw,
                                        float *db, long m0, long m1) {
    const int C = s->c, K = s->k;
    const long pq = (long)s->p * s->q;
    for (long m = m0; m < m1; m++) {
        const long n = m / pq, p = (m % pq) / s->q, q = m % s->q;
        const float *d = dy + m * K;
        if (db)
            for (int k = 0; k < K; k++) db[k] += d[k];
        for (int r = 0; r < s->r; r++) {
            const long ih = p * s->stride_h - s->pad_top + r;
            if (ih < 0 || ih >= s->h) continue;
            for (int t = 0; t < s->s; t++) {
                const long iw = q * s->stride_w - s->pad_left + t;
                if (iw < 0 || iw >= s->w) continue;
                const float *x = input + ((n * s->h + ih) * s->w + iw) * C;
                for (int c = 0; c < C; c++) {
                    float *row = dw + ((long)(r * s->s + t) * C + c) * K;
                    for (int k = 0; k < K; k++) row[k] += x[c] * d[k];
                }
            }
        }
    }
}

#if CNNS_X86
#include <immintrin.h>

// Output pixels per chunk: their dy rows (DWI_PIXELS·K floats) and one line of each pixel's kernel
// row stay in L1 while a row of dW tiles passes over them. 32 by measurement (one thread, batch 64,
// builds with 96, 32 and 48 pixels timed in turn, medians of 15, AMD EPYC Zen 3): on 14x14x32->64,
// 7x7x64->128, 16x16x32->64 and 14x14x64->128, 32 ran 1.15, 1.14, 1.36, 1.11x as fast as 96 (whose
// 24 KiB of dy at K = 64 pushed the kernel rows out of L1), 48 1.18, 1.12, 1.08, 1.06x.
#define DWI_PIXELS 32

// dW rows j0..j0+JR (JR ≤ 6, a constant after inlining) x 16 columns at k0 (8 when K8, the last
// block of a K that is 8 mod 16) += Σ_i a[i][j0..]ᵀ · d[i][k0..].
__attribute__((target("avx2,fma"), always_inline)) static inline void dwi_tile(int JR, int wide, int count,
                                                                                 const float *const *a, int j0,
                                                                                 const float *const *d, int k0,
                                                                                 float *dw, int K) {
    __m256 c0[6], c1[6];
    for (int j = 0; j < JR; j++) {
        c0[j] = _mm256_loadu_ps(dw + (long)(j0 + j) * K + k0);
        c1[j] = wide ? _mm256_loadu_ps(dw + (long)(j0 + j) * K + k0 + 8) : _mm256_setzero_ps();
    }
    for (int i = 0; i < count; i++) {
        const float *x = a[i] + j0;
        const __m256 y0 = _mm256_loadu_ps(d[i] + k0);
        const __m256 y1 = wide ? _mm256_loadu_ps(d[i] + k0 + 8) : y0;
        for (int j = 0; j < JR; j++) {
            const __m256 v = _mm256_broadcast_ss(x + j);
            c0[j] = _mm256_fmadd_ps(v, y0, c0[j]);
            if (wide) c1[j] = _mm256_fmadd_ps(v, y1, c1[j]);
        }
    }
    for (int j = 0; j < JR; j++) {
        _mm256_storeu_ps(dw + (long)(j0 + j) * K + k0, c0[j]);
        if (wide) _mm256_storeu_ps(dw + (long)(j0 + j) * K + k0 + 8, c1[j]);
    }
}

// One kernel row's GEMM over a chunk: dW rows [base, base + SC) += Σ_i a[i]ᵀ · d[i].
__attribute__((target("avx2,fma"))) static void dwi_rows(int SC, int K, int count, const float *const *a,
                                                          const float *const *d, float *dw) {
    for (int j0 = 0; j0 < SC; j0 += 6) {
        const int jr = SC - j0 < 6 ? SC - j0 : 6;
        for (int k0 = 0; k0 < K; k0 += 16) {
            const int wide = K - k0 >= 16;
            // JR and the width as constants, so each tile's loops unroll.
#define DWI_TILE(JR)                                                                                              \
    case JR:                                                                                                      \
        if (wide)                                                                                                 \
            dwi_tile(JR, 1, count, a, j0, d, k0, dw, K);                                                          \
        else                                                                                                      \
            dwi_tile(JR, 0, count, a, j0, d, k0, dw, K);                                                          \
        break;
            switch (jr) {
                DWI_TILE(6)
                DWI_TILE(5)
                DWI_TILE(4)
                DWI_TILE(3)
                DWI_TILE(2)
                DWI_TILE(1)
            }
#undef DWI_TILE
        }
    }
}

__attribute__((target("avx2,fma"))) static void dwi_avx2(const cnns_conv_shape *s, const float *input, const float *dy,
                                                          float *dw, float *db, long m0, long m1) {
    const int C = s->c, K = s->k, SC = s->s * C;
    // Zero-filled copies of the border pixels' kernel rows (one slot per pixel of a chunk).
    float *border = malloc(sizeof(float) * DWI_PIXELS * (size_t)SC);
    const float *a[DWI_PIXELS], *d[DWI_PIXELS];
    // Per pixel of a chunk: its image, and its window's first input row and column.
    const float *img[DWI_PIXELS];
    int ih0[DWI_PIXELS], iw0[DWI_PIXELS];
    long n;
    int p, q;
    cnns_pixel_of(s, m0, &n, &p, &q);
    for (long c0 = m0; c0 < m1; c0 += DWI_PIXELS) {
        const int chunk = m1 - c0 < DWI_PIXELS ? (int)(m1 - c0) : DWI_PIXELS;
        for (int i = 0; i < chunk; i++, cnns_pixel_next(s, &n, &p, &q)) {
            img[i] = input + n * s->h * s->w * C;
            ih0[i] = p * s->stride_h - s->pad_top;
            iw0[i] = q * s->stride_w - s->pad_left;
            if (!db) continue;
            const float *y = dy + (c0 + i) * K;
            for (int k = 0; k < K; k += 8)
                _mm256_storeu_ps(db + k, _mm256_add_ps(_mm256_loadu_ps(db + k), _mm256_loadu_ps(y + k)));
        }
        for (int r = 0; r < s->r; r++) {
            int count = 0;
            for (int i = 0; i < chunk; i++) {
                const int ih = ih0[i] + r;
                if (ih < 0 || ih >= s->h) continue;
                const float *row = img[i] + (long)ih * s->w * C;
                if (iw0[i] >= 0 && iw0[i] + s->s <= s->w) {
                    a[count] = row + (long)iw0[i] * C;
                } else {
                    float *b = border + (long)count * SC;
                    for (int t = 0; t < s->s; t++) {
                        const int iw = iw0[i] + t;
                        if (iw < 0 || iw >= s->w)
                            memset(b + t * C, 0, sizeof(float) * C);
                        else
                            memcpy(b + t * C, row + (long)iw * C, sizeof(float) * C);
                    }
                    a[count] = b;
                }
                d[count++] = dy + (c0 + i) * K;
            }
            if (count) dwi_rows(SC, K, count, a, d, dw + (long)r * SC * K);
        }
    }
    free(border);
}
#endif

int cnns_conv_dweights_implicit_fits(const cnns_conv_shape *s) {
#if CNNS_X86
    return cnns_have_avx2_fma() && s->k % 8 == 0;
#else
    (void)s;
    return 0;
#endif
}

void cnns_conv_dweights_implicit(const cnns_conv_shape *s, const float *input, const float *dy, float *dw, float *db,
                                 long m0, long m1) {
#if CNNS_X86
    if (cnns_conv_dweights_implicit_fits(s)) {
        dwi_avx2(s, input, dy, dw, db, m0, m1);
        return;
    }
#endif
    cnns_conv_dweights_implicit_scalar(s, input, dy, dw, db, m0, m1);
}
