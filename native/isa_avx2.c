/* The AVX2+FMA variants of the vectorised kernels. Only this region is compiled for AVX2; the
 * dispatcher calls into it only where ck_best_isa() says the CPU has it. */
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "kernels/vec8_avx2.h"
#include "kernels/epilogue8.inc"
#include "kernels/bias_act.inc"
#include "kernels/depthwise.inc"
#include "kernels/conv_smallm_4x24.inc"
#include "kernels/pool.inc"
#include "kernels/add.inc"
#include "kernels/connection_table.inc"
#include "kernels/norm.inc"
#include "kernels/conv_nhwc.inc"
#include "kernels/winograd_nhwc.inc"
#include "kernels/dw_nhwc.inc"
#include "kernels/ir_nhwc.inc"
#include "kernels/pool_nhwc.inc"
#include "kernels/nhwc_ops.inc"
#include "kernels/fma_peak.inc"
#include "kernels/vec8_undef.h"
#pragma GCC pop_options
