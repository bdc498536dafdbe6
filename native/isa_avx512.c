/* The AVX-512 variants: the AVX2 kernels compiled with AVX-512 (F, VL, DQ) enabled, plus the
 * 16-lane register tiles of the dense NHWC convolution (f32_conv_nhwc_mx32_avx512.inc), which
 * every 1x1, direct and Winograd multiply runs. Names end in _avx512. The dispatcher calls into
 * it only where ck_best_isa() says the CPU (and the OS, for the zmm state) has it. */
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#define CK_ISA_AVX512 1
#include "kernels/vec8_avx2.h"
#include "kernels/all_kernels.inc"
#include "kernels/vec8_undef.h"
#undef CK_ISA_AVX512
#pragma GCC pop_options
