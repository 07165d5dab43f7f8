// The direct int8 convolution's view of a patch, shared by qconv_direct.c and
// qconv_pooled_small.c: each kernel row's S·C bytes read as ceil(S·C / 4) groups of 4 from the
// padded input (hp x wp pixels of C bytes per image), the groups at fixed offsets from a pixel's
// receptive field.
#ifndef CNNS_DIRECT_PATCH_H
#define CNNS_DIRECT_PATCH_H
#include "cnns_kernels.h"

// 4-byte groups per kernel row.
static inline int cnns_direct_groups_per_row(const cnns_conv_shape *s) { return (s->s * s->c + 3) / 4; }

// off[r·G + g]: the byte offset of kernel row r's group g from a receptive field's first byte.
static inline void cnns_direct_group_offsets(const cnns_conv_shape *s, int wp, long *off) {
    const int G = cnns_direct_groups_per_row(s);
    for (int r = 0; r < s->r; r++)
        for (int g = 0; g < G; g++) off[r * G + g] = (long)r * wp * s->c + 4 * g;
}

// Byte offset of the receptive field of output pixel (n, p, q) in the padded input.
static inline long cnns_direct_pixel_base(const cnns_conv_shape *s, int hp, int wp, long n, int p, int q) {
    return ((n * hp + (long)p * s->stride_h) * wp + (long)q * s->stride_w) * s->c;
}
#endif
