// A one-channel layer's patches read as column quads (qconv_column_quads.c builds the copy and packs
// the weights; qconv_pooled_small.c's `_quads` kernels read them). The direct kernel reads each
// kernel row of S bytes as ⌈S/4⌉ groups of 4, so a 5-tap row wastes 3 of its 8 bytes. Here kernel
// rows 0..4⌊R/4⌋−1 are read down their columns instead, four rows a group, from the column-quad
// copy of the padded input: its pixel (n, y, x) holds the bytes of pixels (n, y..y+3, x), 4 bytes a
// pixel in the input's own order (so a receptive field's base there is 4 times its offset in the
// input). The rows left (R mod 4) are read as before. A 5x5 kernel: 5 + 2 groups instead of 10.
#ifndef CNNS_COLUMN_QUADS_H
#define CNNS_COLUMN_QUADS_H
#include "direct_patch.h"

// Groups read from the quad copy (first), and all groups (a remaining row takes the direct
// kernel's cnns_direct_groups_per_row).
static inline int cnns_quads_vertical(const cnns_conv_shape *s) { return s->r / 4 * s->s; }
static inline int cnns_quads_groups(const cnns_conv_shape *s) {
    return cnns_quads_vertical(s) + s->r % 4 * cnns_direct_groups_per_row(s);
}

// off[g]: group g's byte offset from a receptive field's base: vertical group g = b·S + column (rows
// 4b..4b+3) in the quad copy, then row 4⌊R/4⌋ + i's group h at 4h in the input.
static inline void cnns_quads_offsets(const cnns_conv_shape *s, int wp, long *off) {
    const int kv = cnns_quads_vertical(s), G = cnns_direct_groups_per_row(s), first = s->r / 4 * 4;
    for (int g = 0; g < kv; g++) off[g] = 4 * ((long)(4 * (g / s->s)) * wp + g % s->s);
    for (int g = kv; g < cnns_quads_groups(s); g++) off[g] = (long)(first + (g - kv) / G) * wp + 4 * ((g - kv) % G);
}
#endif
