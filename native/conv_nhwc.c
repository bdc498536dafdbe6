/* Scalar parts of the dense NHWC convolution: the work plan (tasks, modes), weight packing,
 * scratch size. The per-ISA part is native/kernels/conv_nhwc.inc (same translation unit). */
#include <string.h>
#include "convkit.h"

/* Output channels per packed weight block: the register tile's width (2 vectors). */
#define CK_NHWC_KB 16
/* Output pixels per task, before splitting for parallelism: enough register tiles per weight
 * block that the block, streamed into L2 once per task, is reused ~16 times. */
#ifndef CK_NHWC_PIX_TARGET
#define CK_NHWC_PIX_TARGET 96
#endif
/* Bytes of weight blocks one task sweeps per register tile: the group stays in L2 while the
 * tile's inputs stay in L1. */
#define CK_NHWC_GROUP_BYTES (192 * 1024)
/* Tasks per call below which the output channels are split too (batch 1 on 7x7 layers). */
#define CK_NHWC_MIN_TASKS 16

/* How one call splits its work. A task is (image, block of flattened output pixels, group of
 * 16-channel weight blocks); each register tile of the block runs every weight block of the
 * group (so the group is sized to stay in L2), and the group is the fastest-varying index, so a
 * thread's consecutive tasks share the pixel block's input rows (copied once into scratch). */
typedef struct ck_nhwc_plan {
  long long nkb;     /* 16-channel blocks: ceil(K / 16) */
  long long npb, pb; /* pixel blocks per image, pixels per block (the last may be shorter) */
  long long ngk, kg; /* channel groups, blocks per group (the last may be smaller) */
  long long wp;      /* padded input row width: (OW-1)*sw + (S-1)*dw + 1 */
  int hpad;          /* 1: some window crosses the left or right edge of the input */
} ck_nhwc_plan;

/* One group's geometry: C and K per group (groups 1: the layer's). The tensors' pixel strides
 * stay the layer's C and K (the kernel takes them apart). */
static inline ck_conv_geom ck_nhwc_group_geom(const long long* g, long long groups) {
  ck_conv_geom x = ck_geom(g);
  x.c /= groups;
  x.k /= groups;
  return x;
}

/* The one-channel kernel (f32_conv_nhwc_c1_16x6.inc) fits: C == 1, at most 12 outputs, windows
 * of consecutive input columns inside the row (stride and dilation 1 along W, no horizontal
 * padding), groups 1. */
static inline int ck_nhwc_c1_fits(const ck_conv_geom* x, const ck_nhwc_plan* p,
                                  long long groups) {
  return groups == 1 && x->c == 1 && x->k <= 12 && x->sw == 1 && x->dw == 1 && !p->hpad;
}

/* x: one group's geometry; groups: how many run as separate task ranges (they count towards
 * min_tasks). */
static inline ck_nhwc_plan ck_nhwc_make_plan_min(const ck_conv_geom* x, long long groups,
                                                 long long min_tasks) {
  ck_nhwc_plan p;
  const long long pix = x->oh * x->ow;
  p.nkb = (x->k + CK_NHWC_KB - 1) / CK_NHWC_KB;
  p.npb = pix > 0 ? (pix + CK_NHWC_PIX_TARGET - 1) / CK_NHWC_PIX_TARGET : 1;
  p.pb = pix > 0 ? (pix + p.npb - 1) / p.npb : 1;
  p.npb = pix > 0 ? (pix + p.pb - 1) / p.pb : 1;
  p.wp = (x->ow - 1) * x->sw + (x->s - 1) * x->dw + 1;
  p.hpad = x->pl > 0 || p.wp > x->w;
  if (x->ow >= CK_NHWC_PIX_TARGET / 2 || (pix > 0 && ck_nhwc_c1_fits(x, &p, groups))) {
    /* Whole output rows per block: wide rows' padded input rows are then copied once, not once
     * per piece of a row (VGG's 224-wide layers copied each row 7 times), and the one-channel
     * kernel's 16-pixel tiles are not cut where a block starts mid-row. */
    const long long rows = (CK_NHWC_PIX_TARGET + x->ow / 2) / x->ow;
    p.pb = (rows > 1 ? rows : 1) * x->ow;
    p.npb = (pix + p.pb - 1) / p.pb;
  }
  long long kg = CK_NHWC_GROUP_BYTES / (x->r * x->s * x->c * CK_NHWC_KB * 4);
  if (kg < 1) kg = 1;
  if (kg > p.nkb) kg = p.nkb;
  p.ngk = (p.nkb + kg - 1) / kg;
  if (groups * x->n * p.npb * p.ngk < min_tasks) {
    p.ngk = (min_tasks + groups * x->n * p.npb - 1) / (groups * x->n * p.npb);
    if (p.ngk > p.nkb) p.ngk = p.nkb;
  }
  p.kg = (p.nkb + p.ngk - 1) / p.ngk;
  /* Where the blocks split into groups, an even number per group: the AVX-512 build's tiles
   * take the blocks in pairs (a lone block has 8 accumulators, half a pair's rate). This halves
   * the channel groups min_tasks asked for (8 tasks, not 16, on a 14x14 layer of 256 outputs).
   * One group keeps all its blocks, so a K tail still joins the last full block (4x24). */
  if (p.kg % 2 == 1 && p.kg < p.nkb) p.kg++;
  p.ngk = (p.nkb + p.kg - 1) / p.kg;
  return p;
}

/* The plan of a call spread over threads: at least CK_NHWC_MIN_TASKS tasks where the channels
 * allow. (A fused block's band runs its calls on one thread: ck_nhwc_make_plan_min(x, 1, 1).) */
static inline ck_nhwc_plan ck_nhwc_make_plan(const ck_conv_geom* x, long long groups) {
  return ck_nhwc_make_plan_min(x, groups, CK_NHWC_MIN_TASKS);
}

/* Input rows a pixel block can touch: it spans at most ceil(pb / OW) + 1 output rows. */
static inline long long ck_nhwc_block_in_rows(const ck_conv_geom* x, const ck_nhwc_plan* p) {
  const long long orows = (p->pb + x->ow - 1) / x->ow + 1;
  return (orows - 1) * x->sh + (x->r - 1) * x->dh + 1;
}

static inline long long ck_nhwc_wblock_floats(const ck_conv_geom* x) {
  return x->r * x->s * x->c * CK_NHWC_KB;
}

/* Floats of one group's packed weights: its blocks, then one float that is 1 when every weight
 * of the group is finite (see conv_nhwc.inc). */
static long long ck_nhwc_group_packed_floats(const ck_conv_geom* x) {
  const long long nkb = (x->k + CK_NHWC_KB - 1) / CK_NHWC_KB;
  return nkb * ck_nhwc_wblock_floats(x) + 1;
}

long long ck_conv_nhwc_packed_floats(const long long* g, long long groups) {
  const ck_conv_geom x = ck_nhwc_group_geom(g, groups);
  return groups * ck_nhwc_group_packed_floats(&x);
}

/* One group: packed[kb][r][s][c][16] = w[kb*16 + lane][c][r][s], lanes past K zero. */
static void ck_nhwc_pack_group(const ck_conv_geom* xp, const float* w, float* packed) {
  const ck_conv_geom x = *xp;
  const long long nkb = (x.k + CK_NHWC_KB - 1) / CK_NHWC_KB;
  const long long rs = x.r * x.s;
  int finite = 1;
  for (long long kb = 0; kb < nkb; kb++) {
    float* blk = packed + kb * ck_nhwc_wblock_floats(&x);
    for (long long t = 0; t < rs; t++)
      for (long long c = 0; c < x.c; c++) {
        float* dst = blk + (t * x.c + c) * CK_NHWC_KB;
        for (int lane = 0; lane < CK_NHWC_KB; lane++) {
          const long long k = kb * CK_NHWC_KB + lane;
          const float v = k < x.k ? w[(k * x.c + c) * rs + t] : 0.0f;
          unsigned int bits;
          memcpy(&bits, &v, sizeof bits);
          if ((bits & 0x7f800000u) == 0x7f800000u) finite = 0; /* NaN or an infinity */
          dst[lane] = v;
        }
      }
  }
  packed[nkb * ck_nhwc_wblock_floats(&x)] = finite ? 1.0f : 0.0f;
}

/* Group by group: PyTorch's [K][C/groups][R][S] holds group j's filters in rows [j*Kg, j*Kg + Kg). */
void ck_conv_nhwc_pack(const long long* g, long long groups, const float* w, float* packed) {
  const ck_conv_geom x = ck_nhwc_group_geom(g, groups);
  const long long per = ck_nhwc_group_packed_floats(&x);
  for (long long j = 0; j < groups; j++)
    ck_nhwc_pack_group(&x, w + j * x.k * x.c * x.r * x.s, packed + j * per);
}

/* Tasks of a call on the plan for min_tasks (a fused block's band calls: 1). */
static long long ck_conv_nhwc_tasks_min(const long long* g, long long groups,
                                        long long min_tasks) {
  const ck_conv_geom x = ck_nhwc_group_geom(g, groups);
  const ck_nhwc_plan p = ck_nhwc_make_plan_min(&x, groups, min_tasks);
  return groups * x.n * p.npb * p.ngk;
}

long long ck_conv_nhwc_tasks(const long long* g, long long groups) {
  return ck_conv_nhwc_tasks_min(g, groups, CK_NHWC_MIN_TASKS);
}

/* Zero-padded copies of the input rows one pixel block touches (only where a window crosses
 * the left or right edge; otherwise the kernel reads the input in place). */
long long ck_conv_nhwc_scratch_floats(const long long* g, long long groups) {
  const ck_conv_geom x = ck_nhwc_group_geom(g, groups);
  const ck_nhwc_plan p = ck_nhwc_make_plan(&x, groups);
  if (!p.hpad) return 0;
  return ck_nhwc_block_in_rows(&x, &p) * p.wp * x.c;
}

/* One tile's reduction (see f32_conv_nhwc_mx16.inc): nr kernel rows of ns segments of L floats. */
typedef struct ck_nhwc_red {
  long long nr, arow, wrow;
  long long ns, acol, wcol;
  long long L;
  int pf; /* prefetch the weights CK_NHWC_PF_FLOATS ahead */
  /* The next task's weights, prefetched into L2 one line a step over the tile's first pfn steps
   * (ck_nhwc_pf_take). A network at batch 1 meets every layer's weights cold, and a task's
   * first tile would otherwise wait on memory for each line of its group. */
  const float* pfw;
  long long pfn;
} ck_nhwc_red;
/* Hands the tile run with rd the next pfn of the *pfl lines left at *pfw: at most one line per
 * step of one pass over its reduction. */
static inline void ck_nhwc_pf_take(ck_nhwc_red* rd, const float** pfw, long long* pfl) {
  const long long steps = rd->nr * rd->ns * rd->L;
  rd->pfn = *pfl < steps ? *pfl : steps;
  rd->pfw = *pfw;
  *pfw += rd->pfn * 16;
  *pfl -= rd->pfn;
}
/* In a tile's plain reduction loop: its first steps, while pn lines of the next task's weights
 * are left, each prefetch one of them into L2 (pw, from rd->pfw). STEP is the tile's step. */
#define CK_NHWC_PF_NEXT_STEPS(STEP)                       \
  if (pn > 0) {                                           \
    const long long lp = L - l < pn ? L : l + pn;         \
    pn -= lp - l;                                         \
    for (; l < lp; l++, wp += 16, pw += 16) {             \
      __builtin_prefetch(pw, 0, 2);                       \
      STEP                                                \
    }                                                     \
  }
/* Weight blocks above this many bytes are prefetched in software, 8 KB (128 steps) ahead. */
#define CK_NHWC_PF_BYTES (160 * 1024)
#define CK_NHWC_PF_FLOATS 2048
typedef void (*ck_nhwc_tile_fn)(const ck_nhwc_red* rd, const float* const* a, const float* w,
                                long long nblk, long long wblk, const float* bias,
                                const float* const* res, float* const* o, long long coff,
                                int kvalid, int act);
/* The valid kernel taps [t0, t1) along one axis for an output position whose first tap reads
 * input index i0 (taps i0 + t*d must lie in [0, n)). */
static inline void ck_nhwc_taps(long long i0, long long d, long long n, long long taps,
                                long long* t0, long long* t1) {
  long long a = i0 < 0 ? (-i0 + d - 1) / d : 0;
  long long b = n - 1 - i0 < 0 ? 0 : (n - 1 - i0) / d + 1;
  if (b > taps) b = taps;
  if (a > b) a = b;
  *t0 = a;
  *t1 = b;
}
/* Pixels for the next tile with rem pixels left in the block: as many as the fewest tiles of
 * at most mmax need, spread evenly (49 = 4x6 + 5x5, not 8x6 + 1: a 1- or 2-pixel tile holds too
 * few accumulators to hide the FMA latency, yet streams the same weights). */
static inline int ck_nhwc_tile_pixels(long long rem, int mmax) {
  if (rem <= mmax) return (int)rem;
  const long long tiles = (rem + mmax - 1) / mmax;
  return (int)((rem + tiles - 1) / tiles);
}
/* The 16-channel weight blocks [*kb0, *kb1) of channel group gk. */
static inline void ck_nhwc_group_blocks(const ck_nhwc_plan* p, long long gk, long long* kb0,
                                        long long* kb1) {
  *kb0 = gk * p->kg;
  *kb1 = *kb0 + p->kg < p->nkb ? *kb0 + p->kg : p->nkb;
}
/* Whether the AVX-512 build runs a task's nb 16-channel blocks as 8x48 tiles (three blocks at a
 * time): an odd count divisible by 3, which pairs would leave a lone 8x16z block (8 FMAs per 9
 * loads). The driver and the variant name both ask here. */
static inline int ck_nhwc_triples(long long nb) { return nb % 2 == 1 && nb % 3 == 0; }
/* The lanes of a 16-lane block holding n valid channels (n <= 0: none, n >= 16: all). */
static inline unsigned ck_nhwc_lanes16(long long n) {
  return n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1;
}
/* Tile slot i of a driver: input window a, and the output (and residual, where there is one)
 * at output offset oq. */
static inline void ck_nhwc_slot(int i, const float* a, long long oq, float* out,
                                const float* res, const float** ta, float** to,
                                const float** tr) {
  ta[i] = a;
  to[i] = out + oq;
  tr[i] = res ? res + oq : NULL;
}
#define CK_NHWC_STR(x) #x
#define CK_NHWC_XSTR(x) CK_NHWC_STR(x)
