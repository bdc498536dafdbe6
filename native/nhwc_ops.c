/* Scalar parts of the NHWC depthwise, pooling and reorder kernels (packing, task grids), and the
 * channel copy. The per-ISA parts are kernels/dw_nhwc.inc, pool_nhwc.inc and nhwc_ops.inc. */
#include <string.h>
#include "convkit.h"

/* Depthwise and pooling tasks are (image, output row, channel block), numbered
 * (n * OH + oy) * blocks + b. A whole row of channels is one block while there are enough rows to
 * balance the threads; with few rows (7x7 layers at batch 1) the channels split into blocks of
 * whole vectors (an even number where the channels have more than one) so that about
 * min_tasks (CK_NHWC_OPS_MIN_TASKS across threads) tasks exist. Returns the block width in floats (a multiple of 8) and sets
 * *blocks. */
#define CK_NHWC_OPS_MIN_TASKS 32
static long long ck_nhwc_ops_channel_block_min(long long C, long long rows, long long* blocks,
                                               long long min_tasks) {
  const long long vecs = (C + 7) / 8;
  long long want = rows >= min_tasks ? 1 : (min_tasks + rows - 1) / rows;
  if (want > vecs) want = vecs;
  long long per = (vecs + want - 1) / want; /* vectors per block */
  if (per % 2 && per < vecs) per++;         /* whole 16-channel pairs for the 4px x 16c tiles */
  *blocks = (vecs + per - 1) / per;
  return per * 8;
}

/* Spread over threads; a fused block's band runs on one thread (min_tasks 1: whole rows). */
static inline long long ck_nhwc_ops_channel_block(long long C, long long rows,
                                                  long long* blocks) {
  return ck_nhwc_ops_channel_block_min(C, rows, blocks, CK_NHWC_OPS_MIN_TASKS);
}

/* Packed depthwise weights: [Cp/8][R*S][8], Cp = C rounded up to whole vectors, zero-padded:
 * the 8 weights of a channel vector's tap are one load, its R*S taps one contiguous run, and the
 * tail lanes multiply by zero. */
static long long ck_dwn_padded_channels(const long long* g) { return (g[CK_G_C] + 7) / 8 * 8; }

long long ck_dw_nhwc_packed_floats(const long long* g) {
  return ck_dwn_padded_channels(g) * g[CK_G_R] * g[CK_G_S];
}

void ck_dw_nhwc_pack(const long long* g, const float* w, float* packed) {
  const long long C = g[CK_G_C], RS = g[CK_G_R] * g[CK_G_S], Cp = ck_dwn_padded_channels(g);
  for (long long c = 0; c < Cp; c++) {
    float* dst = packed + (c / 8) * RS * 8 + c % 8;
    for (long long t = 0; t < RS; t++) dst[t * 8] = c < C ? w[c * RS + t] : 0.0f;
  }
}

static long long ck_dw_nhwc_tasks_min(const long long* g, long long min_tasks) {
  long long blocks;
  ck_nhwc_ops_channel_block_min(g[CK_G_C], g[CK_G_N] * g[CK_G_OH], &blocks, min_tasks);
  return g[CK_G_N] * g[CK_G_OH] * blocks;
}

long long ck_dw_nhwc_tasks(const long long* g) {
  return ck_dw_nhwc_tasks_min(g, CK_NHWC_OPS_MIN_TASKS);
}

long long ck_dw_nhwc_scratch_floats(const long long* g) { (void)g; return 0; }

/* Packed narrow-group weights (gconv_narrow_nhwc.inc), G = C / groups = 4 or 8:
 * [Cp/8][R*S][G][8], zero-padded past C. Lane l of vector j of a tap holds, for channel
 * c = 8b + l (group c/G, input i = c%G), the weight from input i to output (i + j) mod G of the
 * same group. */
long long ck_gconv_narrow_nhwc_packed_floats(const long long* g, long long groups) {
  return ck_dwn_padded_channels(g) * g[CK_G_R] * g[CK_G_S] * (g[CK_G_C] / groups);
}

void ck_gconv_narrow_nhwc_pack(const long long* g, long long groups, const float* w,
                               float* packed) {
  const long long C = g[CK_G_C], RS = g[CK_G_R] * g[CK_G_S], Cp = ck_dwn_padded_channels(g);
  const long long G = C / groups;
  for (long long c = 0; c < Cp; c++) {
    const long long grp = c / G, i = c % G;
    float* dst = packed + (c / 8) * RS * 8 * G + c % 8;
    for (long long t = 0; t < RS; t++)
      for (long long j = 0; j < G; j++) {
        const long long k = G * grp + (i + j) % G; /* PyTorch's w[k][i][t] */
        dst[(t * G + j) * 8] = c < C ? w[(k * G + i) * RS + t] : 0.0f;
      }
  }
}

long long ck_gconv_narrow_nhwc_tasks(const long long* g) { return ck_dw_nhwc_tasks(g); }

long long ck_pool_nhwc_tasks(const long long* g) {
  long long blocks;
  ck_nhwc_ops_channel_block(g[CK_G_C], g[CK_G_N] * g[CK_G_OH], &blocks);
  return g[CK_G_N] * g[CK_G_OH] * blocks;
}

/* Reorder tiles: CK_REORDER_TP pixels x CK_REORDER_TC channels (16 KB, cache resident), tasks
 * (n * pixel tiles + pixel tile) * channel tiles + channel tile. */
#define CK_REORDER_TP 64
#define CK_REORDER_TC 64
long long ck_reorder_tasks(long long N, long long C, long long P) {
  return N * ((P + CK_REORDER_TP - 1) / CK_REORDER_TP) * ((C + CK_REORDER_TC - 1) / CK_REORDER_TC);
}

void ck_copy_channels_nhwc(const float* x, long long Ci, float* y, long long Co, long long off,
                           long long q0, long long q1) {
  for (long long q = q0; q < q1; q++)
    memcpy(y + q * Co + off, x + q * Ci, sizeof(float) * (size_t)Ci);
}
