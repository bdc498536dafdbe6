/* Scalar parts of the fused inverted-residual block (MobileNet v2's expand -> depthwise ->
 * project, or EfficientNet's expand -> depthwise): its bands, tasks and scratch. The per-ISA
 * part is native/kernels/ir_nhwc.inc. */
#include "convkit.h"

/* Floats of one worker's band buffers (the expanded rows and the depthwise rows of one band)
 * that keep a band in L2 with the weights: 256 KB. */
#define CK_IR_BAND_FLOATS (64 * 1024)

/* Expanded (depthwise input) rows one band of b depthwise output rows reads at most. */
static inline long long ck_ir_band_in_rows(const ck_conv_geom* d, long long b) {
  const long long rows = (b - 1) * d->sh + (d->r - 1) * d->dh + 1;
  return rows < d->h ? rows : d->h;
}

/* Floats of a band of b depthwise output rows: its expanded rows (with expand) and its
 * depthwise rows (with project; without, they go straight to the output). */
static inline long long ck_ir_band_floats(const ck_conv_geom* d, long long b, int expand,
                                          int project) {
  return (expand ? ck_ir_band_in_rows(d, b) * d->w * d->c : 0) + (project ? b * d->ow * d->c : 0);
}

/* Depthwise output rows per band: the most whose buffers fit CK_IR_BAND_FLOATS, at least 1. */
static long long ck_ir_band_rows(const ck_conv_geom* d, int expand, int project) {
  long long b = 1;
  while (b < d->oh && ck_ir_band_floats(d, b + 1, expand, project) <= CK_IR_BAND_FLOATS) b++;
  return b;
}

long long ck_ir_nhwc_tasks(const long long* gd, int expand, int project) {
  const ck_conv_geom d = ck_geom(gd);
  const long long b = ck_ir_band_rows(&d, expand, project);
  return d.n * ((d.oh + b - 1) / b);
}

long long ck_ir_nhwc_scratch_floats(const long long* gd, int expand, int project) {
  const ck_conv_geom d = ck_geom(gd);
  return ck_ir_band_floats(&d, ck_ir_band_rows(&d, expand, project), expand, project);
}

/* A 1x1, stride 1, unpadded conv of one image: c -> k channels, h x w pixels (a band's expand
 * or project call). */
static void ck_ir_pointwise_geom(long long* g, long long c, long long h, long long w,
                                 long long k) {
  g[CK_G_N] = 1; g[CK_G_C] = c; g[CK_G_H] = h; g[CK_G_W] = w; g[CK_G_K] = k;
  g[CK_G_OH] = h; g[CK_G_OW] = w; g[CK_G_R] = 1; g[CK_G_S] = 1; g[CK_G_SH] = 1; g[CK_G_SW] = 1;
  g[CK_G_PT] = 0; g[CK_G_PL] = 0; g[CK_G_PB] = 0; g[CK_G_PR] = 0; g[CK_G_DH] = 1; g[CK_G_DW] = 1;
}
