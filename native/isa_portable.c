/* The portable variants of the vectorised kernels: base x86-64 (SSE2) or any GCC target. */
#include "kernels/vec8_portable.h"
#include "kernels/all_kernels.inc"
#include "kernels/vec8_undef.h"
