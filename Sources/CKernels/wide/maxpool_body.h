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
// 8 lanes: the channel tail past whole vectors (K = 8 or 24 on 16 lanes).
typedef float mp_h __attribute__((vector_size(32)));
typedef int32_t mp_hi __attribute__((vector_size(32)));
typedef uint8_t mp_hb __attribute__((vector_size(8)));

// One window's channels [c, c + lanes) on vector types T (floats), TI (int32), TB (bytes): the
// maximum first (independent max operations), then the position: equality tests from the last
// position to the first, so the first occurrence wins, as in the scalar scan. Inlined with k
// a constant 2 (the lab's pooling) or as given.
#define MP_WINDOW(name, T, TI, TB)                                                                                \
    MP_TARGET __attribute__((always_inline)) static inline void name(const float *x, long rowStride, int k, int C, \
                                                                     int c, float *y, uint8_t *argmax, int relu) { \
        T m;                                                                                                      \
        memcpy(&m, x + c, sizeof m);                                                                              \
        for (int i = 0; i < k; i++)                                                                               \
            for (int j = 0; j < k; j++) {                                                                         \
                T v;                                                                                              \
                memcpy(&v, x + i * rowStride + (long)j * C + c, sizeof v);                                        \
                m = __builtin_elementwise_max(m, v);                                                              \
            }                                                                                                     \
        TI idx = (TI){0} + (k * k - 1);                                                                           \
        for (int i = k - 1; i >= 0; i--)                                                                          \
            for (int j = k - 1; j >= 0; j--) {                                                                    \
                T v;                                                                                              \
                memcpy(&v, x + i * rowStride + (long)j * C + c, sizeof v);                                        \
                const TI hit = v == m;                                                                            \
                idx = (hit & (i * k + j)) | (~hit & idx);                                                         \
            }                                                                                                     \
        if (relu) {                                                                                               \
            const TI off = m <= (T){0};                                                                           \
            idx = (off & 255) | (~off & idx);                                                                     \
        }                                                                                                         \
        memcpy(y + c, &m, sizeof m);                                                                              \
        const TB bytes = __builtin_convertvector(idx, TB);                                                        \
        memcpy(argmax + c, &bytes, sizeof bytes);                                                                 \
    }
MP_WINDOW(mp_window, mp_v, mp_vi, mp_vb)
MP_WINDOW(mp_window_h, mp_h, mp_hi, mp_hb)
#undef MP_WINDOW

// The windows of one row for window size k (a constant 2 where inlined so): whole vectors, then
// an 8-lane tail, then the scalar channels past it.
MP_TARGET __attribute__((always_inline)) static inline void mp_forward_windows(const float *x, long rowStride, int k,
                                                                               int C, int windows, float *y,
                                                                               uint8_t *argmax, int relu) {
    for (int t = 0; t < windows; t++, x += (long)k * C, y += C, argmax += C) {
        int c = 0;
        for (; c + MP_W <= C; c += MP_W) mp_window(x, rowStride, k, C, c, y, argmax, relu);
        if (MP_W > 8 && c + 8 <= C) {
            mp_window_h(x, rowStride, k, C, c, y, argmax, relu);
            c += 8;
        }
        if (c < C) cnns_maxpool_argmax_forward_channels(x, rowStride, k, c, C, y, argmax, relu);
    }
}

MP_TARGET void MP_NAME(maxpool_argmax_forward_row)(const float *x, long rowStride, int k, int C, int windows, float *y,
                                                   uint8_t *argmax, int relu) {
    if (k == 2)
        mp_forward_windows(x, rowStride, 2, C, windows, y, argmax, relu);
    else
        mp_forward_windows(x, rowStride, k, C, windows, y, argmax, relu);
}

MP_TARGET void MP_NAME(maxpool_route_row)(const uint8_t *argmax, const float *g, float *dx, long rowStride, int k,
                                          int C, int windows) {
    for (int t = 0; t < windows; t++, argmax += C, g += C, dx += (long)k * C) {
        int c = 0;
        for (; c + MP_W <= C; c += MP_W) {
            mp_vb bytes;
            memcpy(&bytes, argmax + c, sizeof bytes);
            const mp_vi idx = __builtin_convertvector(bytes, mp_vi);
            mp_vi gv;
            memcpy(&gv, g + c, sizeof gv);
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    const mp_vi routed = (idx == (i * k + j)) & gv;
                    memcpy(dx + i * rowStride + (long)j * C + c, &routed, sizeof routed);
                }
        }
        if (c < C) cnns_maxpool_route_channels(argmax, g, dx, rowStride, k, c, C);
    }
}
