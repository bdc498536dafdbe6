/* The one place that picks an ISA variant for each vectorised kernel: 2 AVX-512, 1 AVX2, else
 * portable. */
#define CK_PICK(isa, fn) ((isa) == 2 ? fn##_avx512 : (isa) == 1 ? fn##_avx2 : fn##_portable)
#include "convkit.h"

void ck_bias_act_block(int isa, float* y, long long ldy, int cols, const float* bias, int m0,
                       int m1, int act) {
  CK_PICK(isa, ck_bias_act_block)(y, ldy, cols, bias, m0, m1, act);
}

void ck_depthwise(int isa, const float* in, int C, int H, int W, const float* wt, const float* bias,
                  float* out, int mult, int R, int S, int sh, int sw, int pt, int pl, int dh, int dw,
                  int OH, int OW, int act, int oc0, int oc1, float* scratch) {
  CK_PICK(isa, ck_depthwise)(
      in, C, H, W, wt, bias, out, mult, R, S, sh, sw, pt, pl, dh, dw, OH, OW, act, oc0, oc1, scratch);
}

void ck_conv_smallm(int isa, const float* in, int C, int H, int W, const float* wt, const float* bias,
                    float* out, int M, int groups, int R, int S, int sh, int sw, int pt, int pl,
                    int dh, int dw, int OH, int OW, int act, int t0, int t1, float* scratch) {
  CK_PICK(isa, ck_conv_smallm)(
      in, C, H, W, wt, bias, out, M, groups, R, S, sh, sw, pt, pl, dh, dw, OH, OW, act, t0, t1,
      scratch);
}

void ck_pool(int isa, const float* in, int H, int W, float* out, int OH, int OW, int kh, int kw,
             int sh, int sw, int pt, int pl, int pb, int pr, int avg, int count_pad, int p0, int p1,
             float* scratch) {
  CK_PICK(isa, ck_pool)(in, H, W, out, OH, OW, kh, kw, sh, sw, pt, pl, pb,
                                               pr, avg, count_pad, p0, p1, scratch);
}

void ck_connection_table(int isa, const float* col, int N, const int* start, const int* row,
                         const float* w, const float* bias, float* out, int act, int o0, int o1) {
  CK_PICK(isa, ck_connection_table)(col, N, start, row, w, bias,
                                                                        out, act, o0, o1);
}

void ck_add(int isa, const float* a, const float* b, float* y, int i0, int i1, int act) {
  CK_PICK(isa, ck_add)(a, b, y, i0, i1, act);
}

void ck_lrn(int isa, const float* x, int C, int HW, int size, float coef, float beta,
            int beta_is_075, float k, float* y, int t0, int t1, float* scratch) {
  CK_PICK(isa, ck_lrn)(x, C, HW, size, coef, beta, beta_is_075, k, y, t0,
                                             t1, scratch);
}

void ck_layer_norm(int isa, const float* x, int C, int HW, const float* gamma, const float* beta,
                   float eps, float* y, int t0, int t1) {
  CK_PICK(isa, ck_layer_norm)(x, C, HW, gamma, beta, eps, y, t0, t1);
}

void ck_scale_channels(int isa, const float* x, const float* s, float* y, int HW, int p0, int p1) {
  CK_PICK(isa, ck_scale_channels)(x, s, y, HW, p0, p1);
}

/* CPU engine v2 (NHWC). */
const char* ck_conv_nhwc_variant(int isa, const long long* g, long long groups) {
  return CK_PICK(isa, ck_conv_nhwc_variant)(g, groups);
}

void ck_conv_nhwc(int isa, const long long* g, long long groups, const float* in,
                  const float* packed, const float* bias, const float* res, float* out, int act,
                  long long t0, long long t1, float* scratch) {
  CK_PICK(isa, ck_conv_nhwc)(g, groups, in, packed, bias, res, out,
                                                         act, t0, t1, scratch);
}

const char* ck_wino_nhwc_variant(int isa, const long long* g, int m) {
  return CK_PICK(isa, ck_wino_nhwc_variant)(g, m);
}

void ck_wino_nhwc(int isa, const long long* g, int m, int phase, long long chunk,
                  const float* in, const float* packed, const float* bias, const float* res,
                  float* out, int act, long long t0, long long t1, float* scratch) {
  CK_PICK(isa, ck_wino_nhwc)(g, m, phase, chunk, in, packed, bias,
                                                         res, out, act, t0, t1, scratch);
}

const char* ck_dw_nhwc_variant(int isa, const long long* g) {
  return CK_PICK(isa, ck_dw_nhwc_variant)(g);
}

void ck_dw_nhwc(int isa, const long long* g, const float* in, const float* packed,
                const float* bias, float* out, int act, long long t0, long long t1, float* scratch) {
  CK_PICK(isa, ck_dw_nhwc)(g, in, packed, bias, out, act, t0, t1,
                                                     scratch);
}

const char* ck_gconv_narrow_nhwc_variant(int isa, const long long* g, long long groups) {
  return CK_PICK(isa, ck_gconv_narrow_nhwc_variant)(g, groups);
}

void ck_gconv_narrow_nhwc(int isa, const long long* g, long long groups, const float* in,
                          const float* packed, const float* bias, const float* res, float* out,
                          int act, long long t0, long long t1) {
  CK_PICK(isa, ck_gconv_narrow_nhwc)(g, groups, in, packed, bias, res, out, act, t0, t1);
}

void ck_ir_nhwc(int isa, const long long* ge, const long long* gd, const long long* gp,
                int expand, int project, const float* in, const float* we, const float* be,
                int acte, const float* wd, const float* bd, int actd, const float* wp,
                const float* bp, const float* res, float* out, int actp, long long t0,
                long long t1, float* scratch) {
  CK_PICK(isa, ck_ir_nhwc)(ge, gd, gp, expand, project, in, we, be,
                                                     acte, wd, bd, actd, wp, bp, res, out, actp,
                                                     t0, t1, scratch);
}

void ck_pool_nhwc(int isa, const long long* g, int avg, int count_pad, const float* in,
                  float* out, long long t0, long long t1) {
  CK_PICK(isa, ck_pool_nhwc)(g, avg, count_pad, in, out, t0, t1);
}

void ck_reorder(int isa, const float* in, long long N, long long C, long long P, float* out,
                int to_nhwc, long long t0, long long t1) {
  CK_PICK(isa, ck_reorder)(in, N, C, P, out, to_nhwc, t0, t1);
}

void ck_scale_channels_nhwc(int isa, const float* x, const float* s, float* y, long long C,
                            long long P, long long q0, long long q1) {
  CK_PICK(isa, ck_scale_channels_nhwc)(x, s, y, C, P, q0,
                                                                             q1);
}

void ck_layer_norm_nhwc(int isa, const float* x, long long C, const float* gamma,
                        const float* beta, float eps, float* y, long long q0, long long q1) {
  CK_PICK(isa, ck_layer_norm_nhwc)(x, C, gamma, beta, eps, y,
                                                                     q0, q1);
}

float ck_fma_burn(int isa, long long iters) {
  return CK_PICK(isa, ck_fma_burn)(iters);
}
