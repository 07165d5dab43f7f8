// Max pooling with the argmax kept as a byte, on MP_W-lane vector types; compiled per ISA by the
// file that includes it (maxpool_avx512.c at 16 lanes, maxpool_w16.c as 16-lane code for AVX2 or
// portable C, which the tests run on every machine). Same contracts and results as
// cnns_maxpool_argmax_forward_row and cnns_maxpool_route_row (maxpool_argmax.c, whose scalar
// functions are the references): comparisons only, so every variant gives identical bits.
//
//   window x (k x k pixels, C channels, rows rowStride floats apart) -> y (C), argmax (C bytes)
//   argmax (C), g (C) -> dx window (k x k pixels, C channels)
//
// The includer defines MP_W (lanes), MP_TARGET (function attribute) and MP_NAME(x).
#include <stdint.h>
#include <string.h>

typedef float mp_v __attribute__((vector_size(4 * MP_W)));
typedef int32_t mp_vi __attribute__((vector_size(4 * MP_W)));
typedef uint8_t mp_vb __attribute__((vector_size(MP_W)));

MP_TARGET __attribute__((always_inline)) static inline mp_v mp_ld(const float *p) {
    mp_v v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The maximum first (independent max operations), then the position: equality tests from the
// last position to the first, so the first occurrence wins, as in the scalar scan.
MP_TARGET void MP_NAME(maxpool_argmax_forward_row)(const float *x, long rowStride, int k, int C, int windows, float *y,
                                                   uint8_t *argmax, int relu) {
    for (int t = 0; t < windows; t++, x += (long)k * C, y += C, argmax += C) {
        int c = 0;
        for (; c + MP_W <= C; c += MP_W) {
            mp_v m = mp_ld(x + c);
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    const mp_v v = mp_ld(x + i * rowStride + (long)j * C + c);
                    m = __builtin_elementwise_max(m, v);
                }
            mp_vi idx = (mp_vi){0} + (k * k - 1);
            for (int i = k - 1; i >= 0; i--)
                for (int j = k - 1; j >= 0; j--) {
                    const mp_vi hit = mp_ld(x + i * rowStride + (long)j * C + c) == m;
                    idx = (hit & (i * k + j)) | (~hit & idx);
                }
            if (relu) {
                const mp_vi off = m <= (mp_v){0};
                idx = (off & 255) | (~off & idx);
            }
            memcpy(y + c, &m, sizeof m);
            const mp_vb bytes = __builtin_convertvector(idx, mp_vb);
            memcpy(argmax + c, &bytes, sizeof bytes);
        }
        if (c < C) cnns_maxpool_argmax_forward_channels(x, rowStride, k, c, C, y, argmax, relu);
    }
}

MP_TARGET void MP_NAME(maxpool_route_row)(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k,
                                          int C, int windows) {
    for (int t = 0; t < windows; t++, argmax += C, g += C, dx += (long)k * C) {
        int c = 0;
        for (; c + MP_W <= C; c += MP_W) {
            mp_vb bytes;
            memcpy(&bytes, argmax + c, sizeof bytes);
            const mp_vi idx = __builtin_convertvector(bytes, mp_vi);
            const mp_vi gv = (mp_vi)mp_ld(g + c);
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    const mp_vi routed = (idx == (i * k + j)) & gv;
                    memcpy(dx + i * rowStride + (long)j * C + c, &routed, sizeof routed);
                }
        }
        if (c < C) cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, c, C);
    }
}
