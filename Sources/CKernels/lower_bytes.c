// input NHWC (N,H,W,C) bytes -> lowered rows [m0, m0 + rows) of `ld` bytes each: row m is output
// pixel m's R·S·C receptive field, kernel row by kernel row (the int8 convolution's im2col),
// `pad` for taps outside the image, zeros from R·S·C to ld.
//
// The fast version copies each kernel row that lies inside the image with a few fixed-size moves
// (8 or 16 bytes at a time, the last one overlapping) instead of a memcpy call per kernel row: the
// int8 convolution's rows are 12 to a few hundred bytes, where the call cost more than the copy.
// Portable C (fixed-size memcpy compiles to single moves), so it runs on every target; the
// byte-by-byte reference beside it gives the same bytes, which the tests check.
#include "cnns_kernels.h"
#include "output_pixel.h"
#include <string.h>

void cnns_lower_u8_scalar(const cnns_conv_shape *s, const uint8_t *x, long m0, int rows, uint8_t *out, int ld,
                          uint8_t pad) {
    const int C = s->c, L = s->r * s->s * C;
    for (int i = 0; i < rows; i++) {
        long n;
        int p, q;
        cnns_pixel_of(s, m0 + i, &n, &p, &q);
        uint8_t *d = out + (long)i * ld;
        const uint8_t *img = x + n * s->h * s->w * C;
        for (int r = 0; r < s->r; r++)
            for (int t = 0; t < s->s; t++)
                for (int c = 0; c < C; c++) {
                    const int ih = p * s->stride_h - s->pad_top + r, iw = q * s->stride_w - s->pad_left + t;
                    const int inside = ih >= 0 && ih < s->h && iw >= 0 && iw < s->w;
                    d[(r * s->s + t) * C + c] = inside ? img[((long)ih * s->w + iw) * C + c] : pad;
                }
        for (int j = L; j < ld; j++) d[j] = 0;
    }
}

// dst[0..<n] = src[0..<n] for n ≥ 1, in moves of 16, 8 or 4 bytes (the last overlapping).
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, int n) {
    if (n >= 16) {
        int i = 0;
        for (; i + 16 <= n; i += 16) memcpy(dst + i, src + i, 16);
        if (i < n) memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (int i = 0; i < n; i++) dst[i] = src[i];
    }
}

void cnns_lower_u8(const cnns_conv_shape *s, const uint8_t *x, long m0, int rows, uint8_t *out, int ld,
                   uint8_t pad) {
    const int C = s->c, SC = s->s * C, L = s->r * SC;
    long n;
    int p, q;
    cnns_pixel_of(s, m0, &n, &p, &q);
    for (int i = 0; i < rows; i++) {
        uint8_t *d = out + (long)i * ld;
        const uint8_t *img = x + n * s->h * s->w * C;
        const int ih0 = p * s->stride_h - s->pad_top, iw0 = q * s->stride_w - s->pad_left;
        const int inside = iw0 >= 0 && iw0 + s->s <= s->w;
        for (int r = 0; r < s->r; r++, d += SC) {
            const int ih = ih0 + r;
            if (ih < 0 || ih >= s->h) {
                memset(d, pad, (size_t)SC);
                continue;
            }
            const uint8_t *row = img + (long)ih * s->w * C;
            if (inside) {
                copy_bytes(d, row + (long)iw0 * C, SC);
                continue;
            }
            for (int t = 0; t < s->s; t++) {
                const int iw = iw0 + t;
                if (iw < 0 || iw >= s->w) {
                    memset(d + t * C, pad, (size_t)C);
                } else {
                    copy_bytes(d + t * C, row + (long)iw * C, C);
                }
            }
        }
        for (int j = L; j < ld; j++) out[(long)i * ld + j] = 0;
        cnns_pixel_next(s, &n, &p, &q);
    }
}
