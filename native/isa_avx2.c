/* The AVX2+FMA variants of the vectorised kernels. Only this region is compiled for AVX2; the
 * dispatcher calls into it only where ck_best_isa() says the CPU has it. */
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "kernels/vec8_avx2.h"
#include "kernels/all_kernels.inc"
#include "kernels/vec8_undef.h"
#pragma GCC pop_options
