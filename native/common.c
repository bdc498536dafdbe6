/* Scalar helpers shared by every ISA variant, and the run-time ISA choice. */
#include <math.h>
#include <string.h>
#include "convkit.h"

#define CK_RESTRICT __restrict__

int ck_best_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  /* libgcc's checks include the OS's support (XCR0) for the ymm and zmm state. */
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512dq")
             ? 2
             : 1;
#else
  return 0;
#endif
}

/* Mappings for large packed weights, starting on a 2 MB boundary and advised onto transparent
 * huge pages (Linux; where THP is off or "never" the advice is ignored and the pages stay 4 KB).
 * Every whole 2 MB of the buffer can then be one TLB entry: under this project's VMs' nested
 * paging a 4 KB TLB miss is a two-level walk, and a network at batch 1 meets every layer's
 * weights cold (ResNet-50's layer3/4 convolutions back to back ran 1.07 to 1.11x faster with
 * their weights on huge pages: bench/native/conv_nhwc_ab.cc, CK_BENCH_HUGE). The mapping is
 * whole 4 KB pages, its head and tail beyond the 2 MB alignment returned at once; mmap's memory
 * is zero. Returns 0 where it cannot map (the caller allocates as usual). */
#ifdef __linux__
#include <sys/mman.h>
#endif
#define CK_PAGES_HUGE ((size_t)2 << 20)
static size_t ck_pages_len(long long bytes) { return ((size_t)bytes + 4095) / 4096 * 4096; }

long long ck_pages_alloc(long long bytes) {
#ifdef __linux__
  if (bytes <= 0 || (unsigned long long)bytes > ((size_t)1 << 46)) return 0;
  const size_t len = ck_pages_len(bytes);
  char* raw = (char*)mmap(NULL, len + CK_PAGES_HUGE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == (char*)MAP_FAILED) return 0;
  char* a = (char*)(((size_t)raw + CK_PAGES_HUGE - 1) / CK_PAGES_HUGE * CK_PAGES_HUGE);
  if (a > raw) munmap(raw, (size_t)(a - raw));
  char* end = raw + len + CK_PAGES_HUGE;
  if (end > a + len) munmap(a + len, (size_t)(end - (a + len)));
  madvise(a, len, MADV_HUGEPAGE); /* advice: a failure leaves 4 KB pages */
  return (long long)(size_t)a;
#else
  (void)bytes;
  return 0;
#endif
}

void ck_pages_free(long long address, long long bytes) {
#ifdef __linux__
  if (address != 0) munmap((void*)(size_t)address, ck_pages_len(bytes));
#else
  (void)address, (void)bytes;
#endif
}

/* Index arithmetic: every coordinate a kernel forms (oy*sh - pt + ky*dh and the like) is computed
 * in 64 bits. Java (ConvSpec, PoolSpec, Planner) keeps padded extents, dilated kernels, tensors
 * and workspaces within int, but the intermediate products (a vector's 8 outputs times a stride of
 * 2^30, pad + stride - 1) do not fit one. */

/* One unfolded row segment: dst[ox] = src[ox*sw + offx] where that column lies in [0, W), else 0.
 * src == NULL means the whole input row lies in the padding. Stride 1 becomes one memcpy. */
static void ck_unfold_segment(const float* CK_RESTRICT src, int W, int OW, int sw, long long offx,
                              float* CK_RESTRICT dst) {
  if (src == NULL) { memset(dst, 0, sizeof(float) * (size_t)OW); return; }
  /* valid ox: 0 <= ox*sw + offx < W */
  long long lo = offx >= 0 ? 0 : (-offx + sw - 1) / sw;
  long long hi = (W - 1 - offx) >= 0 ? (W - 1 - offx) / sw + 1 : 0;
  if (lo > OW) lo = OW;
  if (hi > OW) hi = OW;
  if (hi < lo) hi = lo;
  if (lo > 0) memset(dst, 0, sizeof(float) * (size_t)lo);
  if (sw == 1) {
    if (hi > lo) memcpy(dst + lo, src + lo + offx, sizeof(float) * (size_t)(hi - lo));
  } else {
    const float* s = src + lo * sw + offx;
    for (long long ox = lo; ox < hi; ox++, s += sw) dst[ox] = *s;
  }
  if (hi < OW) memset(dst + hi, 0, sizeof(float) * (size_t)(OW - hi));
}

/* The unfolded row k = (c*R + r)*S + s restricted to output rows [oy0, oy1), written contiguously. */
static void ck_unfold_rows(const float* CK_RESTRICT in, int H, int W, int R, int S, int sh, int sw,
                           int pt, int pl, int dh, int dw, int OW, int k, int oy0, int oy1,
                           float* CK_RESTRICT dst) {
  int s = k % S, r = (k / S) % R, c = k / (R * S);
  const float* plane = in + (long long)c * H * W;
  const long long offx = (long long)s * dw - pl;
  for (int oy = oy0; oy < oy1; oy++, dst += OW) {
    const long long iy = (long long)oy * sh - pt + (long long)r * dh;
    ck_unfold_segment(iy >= 0 && iy < H ? plane + iy * W : NULL, W, OW, sw, offx, dst);
  }
}

void ck_im2col_block(const float* in, int C, int H, int W, int R, int S, int sh, int sw, int pt,
                     int pl, int dh, int dw, int OW, int k0, int k1, int oy0, int oy1, float* col) {
  (void)C;
  long ld = (long)(oy1 - oy0) * OW;
  for (int k = k0; k < k1; k++)
    ck_unfold_rows(in, H, W, R, S, sh, sw, pt, pl, dh, dw, OW, k, oy0, oy1,
                   col + (long long)(k - k0) * ld);
}

void ck_im2col(const float* in, int C, int H, int W, int R, int S,
               int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW,
               float* col, int k0, int k1) {
  ck_im2col_block(in, C, H, W, R, S, sh, sw, pt, pl, dh, dw, OW, k0, k1, 0, OH,
                  col + (long)k0 * OH * OW);
}

/* Depthwise scratch: the phase-split copy of one input channel, a zero row, an output-row tail. */
static long long ck_round8(long long x) { return (x + 7) & ~7LL; }

static long long ck_dw_phase_len(int S, int sw, int dw, int OW) {
  /* padded columns the vectors touch */
  long long need = (ck_round8(OW) - 1) * sw + (long long)(S - 1) * dw + 1;
  return ck_round8((need + sw - 1) / sw);
}

/* Planes narrower than this run the flat stride-1 path: per-row overhead dominates them. */
#define CK_DW_FLAT_MAX_OW 32

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

/* The scratch of the vectorised paths (variants 0 to 3). */
static long long ck_dw_vector_scratch(int H, int R, int S, int sh, int sw, int dh, int dw, int OH,
                                      int OW) {
  if (sh == 1 && sw == 1 && OW < CK_DW_FLAT_MAX_OW)
    return ck_dw_flat_plane_floats(R, S, dh, dw, OH, OW) + ck_dw_flat_out_floats(S, dw, OH, OW) + 8;
  return (long long)(H + 1) * sw * ck_dw_phase_len(S, sw, dw, OW) + 8; /* + one zero row of every phase */
}

/* The vectorised paths copy the padded plane (flat) or every stride phase of each input row, so a
 * huge stride or a dilated kernel far wider than the output makes their scratch grow with the
 * geometry, not the work (a 1x1 output from stride 2^30 would need gigabytes). Past this bound,
 * relative to the rows in and out, the direct path (variant 4) runs instead, with no scratch. */
static int ck_dw_scratch_bounded(int H, int R, int S, int sh, int sw, int dh, int dw, int OH,
                                 int OW) {
  long long bound = 64 * ((long long)(H + 1) * ck_round8(OW) + (long long)OH * ck_round8(OW)) + 65536;
  return ck_dw_vector_scratch(H, R, S, sh, sw, dh, dw, OH, OW) <= bound;
}

int ck_depthwise_variant(int H, int R, int S, int sh, int sw, int dh, int dw, int OH, int OW) {
  if (!ck_dw_scratch_bounded(H, R, S, sh, sw, dh, dw, OH, OW)) return 4;
  if (sh == 1 && sw == 1 && OW < CK_DW_FLAT_MAX_OW) return 3;
  if (R == 3 && S == 3 && dw == 1 && sw == 1) return 1;
  if (R == 3 && S == 3 && dw == 1 && sw == 2) return 2;
  return 0;
}

long long ck_depthwise_scratch_floats(int H, int R, int S, int sh, int sw, int dh, int dw, int OH,
                                      int OW) {
  if (ck_depthwise_variant(H, R, S, sh, sw, dh, dw, OH, OW) == 4) return 8;
  return ck_dw_vector_scratch(H, R, S, sh, sw, dh, dw, OH, OW);
}

/* Phase-split copy of one channel: padded column xc = p + sw*i of row iy goes to
 * dst[(iy*sw + p)*L + i]. Every tap of a strided, dilated kernel then reads a contiguous run. */
static void ck_dw_split_channel(const float* CK_RESTRICT plane, int H, int W, int pl, int sw, int L,
                                float* CK_RESTRICT dst) {
  for (int iy = 0; iy < H; iy++) {
    const float* src = plane + (long long)iy * W;
    for (int p = 0; p < sw; p++)
      ck_unfold_segment(src, W, L, sw, (long long)p - pl, dst + ((long long)iy * sw + p) * L);
  }
}

/* A block's columns: rows_per_block output rows, but no more rows than the output has (a 1-row
 * output with K = 2^22 would otherwise ask for 256 rows of scratch). */
static long long ck_smallm_block_cols(int OH, int OW) {
  long long rows = ck_smallm_rows_per_block(OW);
  return ck_round8((rows < OH ? rows : OH) * OW);
}

int ck_smallm_rows_per_block(int OW) {
  /* about 256 output columns per block: K_g x 256 floats stay in L1/L2 while the tile runs. */
  int r = 256 / OW;
  return r > 0 ? r : 1;
}

long long ck_smallm_scratch_floats(int Cg, int R, int S, int OH, int OW) {
  return (long long)Cg * R * S * ck_smallm_block_cols(OH, OW) + 8;
}

/* Pooling: elements of one axis of a window that an average divides by (PoolSpec.divisor): the
 * window [o*s - p0, o*s - p0 + k) clipped to the padded input (it can reach past the end padding
 * in ceil mode), then, unless count_pad, to the input [0, n). 64 bits: o*s + k passes 2^31 in
 * ceil mode, and the count itself can be 2^31 - 1. */
static long long ck_pool_extent(int o, int s, int p0, int k, int n, int p1, int count_pad) {
  long long a = (long long)o * s - p0, b = a + k;
  if (b > (long long)n + p1) b = (long long)n + p1;
  if (!count_pad) {
    if (a < 0) a = 0;
    if (b > n) b = n;
  }
  return b - a;
}

/* Pooling's row buffer (kernels/pool.inc), padded form: input column x at pl + x, and room for
 * every tap the horizontal pass reads, whole vectors included: stride 1 reads below
 * round8(OW) + kw, stride 2 below 2*round8(OW) + kw, larger strides below (OW-1)*sw + kw. */
static long long ck_pool_row_floats(int W, int OW, int kw, int sw, int pl) {
  long long taps = (long long)sw * ck_round8(OW) + kw + 16;
  long long row = (long long)pl + W;
  return ck_round8(taps > row ? taps : row);
}

/* Whether pooling runs the padded-row horizontal pass (pool.inc: pool_row): when its row buffer is
 * bounded by the input row. Otherwise (a huge stride, or a window mostly of padding, e.g. 2^28
 * wide on an 8-wide input, whose buffer and taps would grow with the window, not the work) the
 * clipped pass reads only the input columns of each window. */
static int ck_pool_vector_rows(int W, int OW, int kw, int sw, int pl) {
  return ck_pool_row_floats(W, OW, kw, sw, pl) <= 2 * (long long)W + 64;
}

long long ck_pool_scratch_floats(int W, int OW, int kw, int sw, int pl) {
  long long row = ck_pool_vector_rows(W, OW, kw, sw, pl) ? ck_pool_row_floats(W, OW, kw, sw, pl)
                                                         : ck_round8(W);
  return row + ck_round8(OW) + 8;
}
