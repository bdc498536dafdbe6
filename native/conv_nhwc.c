/* Scalar parts of the dense NHWC convolution: weight packing, task count, scratch size (stub). */
#include "convkit.h"

long long ck_conv_nhwc_packed_floats(const long long* g) {
  return g[CK_G_K] * g[CK_G_C] * g[CK_G_R] * g[CK_G_S];
}
void ck_conv_nhwc_pack(const long long* g, const float* w, float* packed) {
  (void)g; (void)w; (void)packed;
}
long long ck_conv_nhwc_tasks(const long long* g) { return g[CK_G_N]; }
long long ck_conv_nhwc_scratch_floats(const long long* g) { (void)g; return 0; }
