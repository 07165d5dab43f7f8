// Hand-written compute kernels the Kernels module calls where OpenBLAS is a poor fit:
// the many small transform-domain GEMMs of Winograd convolution (tiles x C times C x K with
// C and K of 8..256). Chosen at run time: AVX2+FMA when the CPU has it.
#ifndef CNNS_KERNELS_H
#define CNNS_KERNELS_H
#include <stdint.h>

/// 1 when the AVX2+FMA kernel can run on this CPU.
int cnns_have_avx2_fma(void);

/// C[m x n] = A[m x k] · B[k x n] (+ C when accumulate != 0), row-major. Requires cnns_have_avx2_fma().
/// Register blocking 6 rows x 16 columns; tails handled with narrower and scalar code.
void cnns_sgemm_nn_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc, int accumulate);
#endif
