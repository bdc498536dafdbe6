/* Scalar parts of the NHWC depthwise, pooling and reorder kernels, and the channel copy (stub). */
#include "convkit.h"

long long ck_dw_nhwc_packed_floats(const long long* g) {
  return g[CK_G_C] * g[CK_G_R] * g[CK_G_S];
}
void ck_dw_nhwc_pack(const long long* g, const float* w, float* packed) {
  (void)g; (void)w; (void)packed;
}
long long ck_dw_nhwc_tasks(const long long* g) { return g[CK_G_N]; }
long long ck_dw_nhwc_scratch_floats(const long long* g) { (void)g; return 0; }
long long ck_pool_nhwc_tasks(const long long* g) { return g[CK_G_N]; }
long long ck_reorder_tasks(long long N, long long C, long long P) {
  (void)C; (void)P; return N;
}
void ck_copy_channels_nhwc(const float* x, long long Ci, float* y, long long Co, long long off,
                           long long q0, long long q1) {
  (void)x; (void)Ci; (void)y; (void)Co; (void)off; (void)q0; (void)q1;
}
