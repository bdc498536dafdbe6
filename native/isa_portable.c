/* The portable variants of the vectorised kernels: base x86-64 (SSE2) or any GCC target. */
#include "kernels/vec8_portable.h"
#include "kernels/epilogue8.inc"
#include "kernels/bias_act.inc"
#include "kernels/depthwise.inc"
#include "kernels/conv_smallm_4x24.inc"
#include "kernels/pool.inc"
#include "kernels/add.inc"
#include "kernels/vec8_undef.h"
