// Output pixel m of a convolution, flattened over (n, p, q) as the kernels number their rows:
// its coordinates by division once, then stepped to the next pixel without dividing.
#ifndef CNNS_OUTPUT_PIXEL_H
#define CNNS_OUTPUT_PIXEL_H
#include "cnns_kernels.h"

static inline void cnns_pixel_of(const cnns_conv_shape *s, long m, long *n, int *p, int *q) {
    const long pq = (long)s->p * s->q;
    *n = m / pq;
    const long rem = m - *n * pq;
    *p = (int)(rem / s->q);
    *q = (int)(rem - (long)*p * s->q);
}

// (n, p, q) -> the next output pixel's.
static inline void cnns_pixel_next(const cnns_conv_shape *s, long *n, int *p, int *q) {
    if (++*q == s->q) {
        *q = 0;
        if (++*p == s->p) {
            *p = 0;
            ++*n;
        }
    }
}
#endif
