/* Scalar helpers shared by every ISA variant, and the run-time ISA choice. */
#include <math.h>
#include <string.h>
#include "convkit.h"

#define CK_RESTRICT __restrict__

int ck_best_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
#else
  return 0;
#endif
}

/* One unfolded row segment: dst[ox] = src[ox*sw + offx] where that column lies in [0, W), else 0.
 * src == NULL means the whole input row lies in the padding. Stride 1 becomes one memcpy. */
static void ck_unfold_segment(const float* CK_RESTRICT src, int W, int OW, int sw, int offx,
                              float* CK_RESTRICT dst) {
  if (src == NULL) { memset(dst, 0, sizeof(float) * (size_t)OW); return; }
  /* valid ox: 0 <= ox*sw + offx < W */
  int lo = offx >= 0 ? 0 : (-offx + sw - 1) / sw;
  int hi = (W - 1 - offx) >= 0 ? (W - 1 - offx) / sw + 1 : 0;
  if (lo > OW) lo = OW;
  if (hi > OW) hi = OW;
  if (hi < lo) hi = lo;
  if (lo > 0) memset(dst, 0, sizeof(float) * (size_t)lo);
  if (sw == 1) {
    if (hi > lo) memcpy(dst + lo, src + lo + offx, sizeof(float) * (size_t)(hi - lo));
  } else {
    const float* s = src + (long)lo * sw + offx;
    for (int ox = lo; ox < hi; ox++, s += sw) dst[ox] = *s;
  }
  if (hi < OW) memset(dst + hi, 0, sizeof(float) * (size_t)(OW - hi));
}

/* The unfolded row k = (c*R + r)*S + s restricted to output rows [oy0, oy1), written contiguously. */
static void ck_unfold_rows(const float* CK_RESTRICT in, int H, int W, int R, int S, int sh, int sw,
                           int pt, int pl, int dh, int dw, int OW, int k, int oy0, int oy1,
                           float* CK_RESTRICT dst) {
  int s = k % S, r = (k / S) % R, c = k / (R * S);
  const float* plane = in + (long)c * H * W;
  int offx = s * dw - pl;
  for (int oy = oy0; oy < oy1; oy++, dst += OW) {
    int iy = oy * sh - pt + r * dh;
    ck_unfold_segment(iy >= 0 && iy < H ? plane + (long)iy * W : NULL, W, OW, sw, offx, dst);
  }
}

void ck_im2col_block(const float* in, int C, int H, int W, int R, int S, int sh, int sw, int pt,
                     int pl, int dh, int dw, int OW, int k0, int k1, int oy0, int oy1, float* col) {
  (void)C;
  long ld = (long)(oy1 - oy0) * OW;
  for (int k = k0; k < k1; k++)
    ck_unfold_rows(in, H, W, R, S, sh, sw, pt, pl, dh, dw, OW, k, oy0, oy1, col + (k - k0) * ld);
}

void ck_im2col(const float* in, int C, int H, int W, int R, int S,
               int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW,
               float* col, int k0, int k1) {
  ck_im2col_block(in, C, H, W, R, S, sh, sw, pt, pl, dh, dw, OW, k0, k1, 0, OH,
                  col + (long)k0 * OH * OW);
}

void ck_connection_table(int isa, const float* col, int N, const int* start, const int* row,
                         const float* w, const float* bias, float* out, int act, int o0, int o1) {
  for (int o = o0; o < o1; o++) {
    float* CK_RESTRICT y = out + (long)o * N;
    const float b = bias ? bias[o] : 0.0f;
    for (int i = 0; i < N; i++) y[i] = b;
    for (int j = start[o]; j < start[o + 1]; j++) {
      const float* CK_RESTRICT x = col + (long)row[j] * N;
      const float wj = w[j];
      for (int i = 0; i < N; i++) y[i] += wj * x[i];
    }
  }
  if (act != 0) ck_bias_act_block(isa, out, N, N, NULL, o0, o1, act);
}

/* Depthwise scratch: the phase-split copy of one input channel, a zero row, an output-row tail. */
static int ck_round8(int x) { return (x + 7) & ~7; }

static int ck_dw_phase_len(int S, int sw, int dw, int OW) {
  int need = (ck_round8(OW) - 1) * sw + (S - 1) * dw + 1;   /* padded columns the vectors touch */
  return ck_round8((need + sw - 1) / sw);
}

/* Planes narrower than this run the flat stride-1 path: per-row overhead dominates them. */
#define CK_DW_FLAT_MAX_OW 32

int ck_depthwise_variant(int R, int S, int sh, int sw, int dh, int dw, int OW) {
  if (sh == 1 && sw == 1 && OW < CK_DW_FLAT_MAX_OW) return 3;
  if (R == 3 && S == 3 && dw == 1 && sw == 1) return 1;
  if (R == 3 && S == 3 && dw == 1 && sw == 2) return 2;
  (void)dh;
  return 0;
}

/* The flat path's padded plane: rows [0, OH + (R-1)*dh) of width Wp = OW + (S-1)*dw, plus the
 * slack the last vector's taps read; then the flat output, a whole number of vectors. */
static long long ck_dw_flat_plane_floats(int R, int S, int dh, int dw, int OH, int OW) {
  long long wp = OW + (long long)(S - 1) * dw;
  return (OH + (long long)(R - 1) * dh) * wp + (long long)(S - 1) * dw + 16;
}

static long long ck_dw_flat_out_floats(int S, int dw, int OH, int OW) {
  long long wp = OW + (long long)(S - 1) * dw;
  return (OH * wp + 7) / 8 * 8;
}

long long ck_depthwise_scratch_floats(int H, int R, int S, int sh, int sw, int dh, int dw, int OH,
                                      int OW) {
  if (ck_depthwise_variant(R, S, sh, sw, dh, dw, OW) == 3)
    return ck_dw_flat_plane_floats(R, S, dh, dw, OH, OW) + ck_dw_flat_out_floats(S, dw, OH, OW) + 8;
  long long L = ck_dw_phase_len(S, sw, dw, OW);
  return (long long)(H + 1) * sw * L + 8;   /* + one zero row of every phase */
}

/* Phase-split copy of one channel: padded column xc = p + sw*i of row iy goes to
 * dst[(iy*sw + p)*L + i]. Every tap of a strided, dilated kernel then reads a contiguous run. */
static void ck_dw_split_channel(const float* CK_RESTRICT plane, int H, int W, int pl, int sw, int L,
                                float* CK_RESTRICT dst) {
  for (int iy = 0; iy < H; iy++) {
    const float* src = plane + (long)iy * W;
    for (int p = 0; p < sw; p++)
      ck_unfold_segment(src, W, L, sw, p - pl, dst + ((long)iy * sw + p) * L);
  }
}

static int ck_smallm_block_cols(int OW) { return ck_round8(ck_smallm_rows_per_block(OW) * OW); }

int ck_smallm_rows_per_block(int OW) {
  /* about 256 output columns per block: K_g x 256 floats stay in L1/L2 while the tile runs. */
  int r = 256 / OW;
  return r > 0 ? r : 1;
}

long long ck_smallm_scratch_floats(int Cg, int R, int S, int OW) {
  return (long long)Cg * R * S * ck_smallm_block_cols(OW) + 8;
}

/* Pooling: elements of one axis of a window that an average divides by (PoolSpec.divisor): the
 * window [o*s - p0, o*s - p0 + k) clipped to the padded input (it can reach past the end padding
 * in ceil mode), then, unless count_pad, to the input [0, n). */
static int ck_pool_extent(int o, int s, int p0, int k, int n, int p1, int count_pad) {
  int a = o * s - p0, b = a + k;
  if (b > n + p1) b = n + p1;
  if (!count_pad) {
    if (a < 0) a = 0;
    if (b > n) b = n;
  }
  return b - a;
}

/* Pooling's row buffer (kernels/pool.inc): input column x at pl + x, and room for every tap the
 * horizontal pass reads, whole vectors included: stride 1 reads below round8(OW) + kw, stride 2
 * below 2*round8(OW) + kw, larger strides below (OW-1)*sw + kw. */
static int ck_pool_row_floats(int W, int OW, int kw, int sw, int pl) {
  long long taps = (long long)sw * ck_round8(OW) + kw + 16;
  long long row = (long long)pl + W;
  return ck_round8((int)(taps > row ? taps : row));
}

long long ck_pool_scratch_floats(int W, int OW, int kw, int sw, int pl) {
  return (long long)ck_pool_row_floats(W, OW, kw, sw, pl) + ck_round8(OW) + 8;
}
