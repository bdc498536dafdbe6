/* Scalar parts of the fused inverted-residual block (MobileNet v2's expand -> depthwise ->
 * project, or EfficientNet's expand -> depthwise): its bands, tasks and scratch. The per-ISA part is native/kernels/ir_nhwc.inc. */
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

/* Tasks of a band's dense 1x1 call on the plan for one thread (see ir_nhwc.inc). */
static long long ck_ir_dense_tasks(const long long* g) {
  const ck_conv_geom x = ck_geom(g);
  const ck_nhwc_plan p = ck_nhwc_make_plan_min(&x, 1, 1);
  return x.n * p.npb * p.ngk;
}
