/*
 * convkit native kernels: the C side of io.convkit.nativ.ConvkitNative.
 *
 * Every function trusts its arguments: the Java side validates shapes, sizes and ranges before it
 * calls in, so no kernel re-checks bounds. Each parallel kernel takes a [begin, end) range of its
 * natural work unit; the Java pool splits the range across threads.
 *
 * isa: 0 = portable C (GCC vector extensions, any x86-64), 1 = AVX2+FMA. Callers pass the value
 * they resolved once with ck_best_isa(); tests force 0 to cover the fallback.
 * act: 0 = none, 1 = ReLU, 2 = ReLU6, 3 = sigmoid, 4 = swish (x * sigmoid(x)), 5 = GELU (erf form);
 * every kernel applies it through kernels/epilogue8.inc's act8.
 */
#ifndef CONVKIT_H
#define CONVKIT_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU runs AVX2 and FMA, else 0. */
int ck_best_isa(void);

/* im2col of one image [C][H][W] into col[K][OH*OW], K = C*R*S, rows [k0, k1) only. */
void ck_im2col(const float* in, int C, int H, int W, int R, int S,
               int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW,
               float* col, int k0, int k1);

/* The unfolded rows [k0, k1) restricted to output rows [oy0, oy1): col[k - k0][(oy - oy0)*OW + ox],
 * leading dimension (oy1 - oy0) * OW. One thread's block of a blocked im2col+GEMM. */
void ck_im2col_block(const float* in, int C, int H, int W, int R, int S, int sh, int sw, int pt,
                     int pl, int dh, int dw, int OW, int k0, int k1, int oy0, int oy1, float* col);

/* y[m][n] = act(y[m][n] + bias[m]) on a block: rows [m0, m1) of y (leading dimension ldy),
 * columns [0, cols); bias may be NULL. */
void ck_bias_act_block(int isa, float* y, long long ldy, int cols, const float* bias, int m0,
                       int m1, int act);

/* Depthwise convolution of one image: in [C][H][W], wt [C*mult][R][S], out [C*mult][OH][OW],
 * output channels [oc0, oc1). scratch holds ck_depthwise_scratch_floats(...) floats.
 * ck_depthwise_variant says which path runs: 0 generic, 1 3x3 stride 1, 2 3x3 stride 2,
 * 3 stride 1 on the flattened padded plane (small planes, any kernel), 4 direct (no scratch: a
 * huge stride or a dilated kernel far wider than the output, where the others' copies would
 * outgrow the work). */
int ck_depthwise_variant(int H, int R, int S, int sh, int sw, int dh, int dw, int OH, int OW);
long long ck_depthwise_scratch_floats(int H, int R, int S, int sh, int sw, int dh, int dw, int OH,
                                      int OW);
void ck_depthwise(int isa, const float* in, int C, int H, int W, const float* wt, const float* bias,
                  float* out, int mult, int R, int S, int sh, int sw, int pt, int pl, int dh, int dw,
                  int OH, int OW, int act, int oc0, int oc1, float* scratch);

/* Grouped convolution of one image whose groups have few output channels: for each group, a block
 * of output rows is unfolded into scratch (K_g x block columns, cache resident) and multiplied by
 * the group's [M_g][K_g] weights with a register-blocked micro-kernel; bias and act are fused.
 * Tasks are (group, row block) pairs numbered g * blocks + b; this call runs tasks [t0, t1). */
int ck_smallm_rows_per_block(int OW);
long long ck_smallm_scratch_floats(int Cg, int R, int S, int OH, int OW);
void ck_conv_smallm(int isa, const float* in, int C, int H, int W, const float* wt, const float* bias,
                    float* out, int M, int groups, int R, int S, int sh, int sw, int pt, int pl,
                    int dh, int dw, int OH, int OW, int act, int t0, int t1, float* scratch);

/* Sparse channel connections (LeNet-5 C3) on an unfolded image col[Cin*R*S][N]: output o is
 * bias[o] + sum over j in [start[o], start[o+1]) of w[j] * col[row[j]], then act; outputs [o0, o1). */
void ck_connection_table(int isa, const float* col, int N, const int* start, const int* row,
                         const float* w, const float* bias, float* out, int act, int o0, int o1);

/* Max (avg = 0) or average (avg = 1) pooling of planes [p0, p1) of an NCHW tensor, plane p being
 * in + p*H*W -> out + p*OH*OW (a plane per image and channel). Window kh x kw (a global pool
 * passes H x W), stride sh x sw, padding pt, pl, pb, pr, each smaller than its window; OH x OW as
 * PoolSpec.outputShape gives it (floor or ceil mode), so every window covers an input element.
 * MAX ignores padded positions. AVG sums the covered input elements in float and divides once by
 * PoolSpec.divisor: the window clipped to the padded input [-pt, H+pb) x [-pl, W+pr) and, unless
 * count_pad, to the input. scratch holds ck_pool_scratch_floats(W, OW, kw, sw, pl) floats. */
long long ck_pool_scratch_floats(int W, int OW, int kw, int sw, int pl);
void ck_pool(int isa, const float* in, int H, int W, float* out, int OH, int OW, int kh, int kw,
             int sh, int sw, int pt, int pl, int pb, int pr, int avg, int count_pad, int p0, int p1,
             float* scratch);

/* y[i] = act(a[i] + b[i]) for i in [i0, i1). y may be a or b (in place). */
void ck_add(int isa, const float* a, const float* b, float* y, int i0, int i1, int act);

/* Cross-channel LRN of an NCHW tensor with C channels of HW pixels: y = x / (k + coef * sum x^2)^beta,
 * the sum over channels [c - (size-1)/2, c + size/2] clipped to [0, C), coef = alpha / size.
 * beta_is_075 != 0 when beta is 0.75 (square roots instead of powf). Tasks are blocks of 8
 * pixels, img * ceil(HW/8) + b; this call runs [t0, t1). scratch holds 8*C floats. y != x. */
void ck_lrn(int isa, const float* x, int C, int HW, int size, float coef, float beta,
            int beta_is_075, float k, float* y, int t0, int t1, float* scratch);

/* Layer norm over the C channels of each pixel: y = (x - mean) / sqrt(var + eps) * gamma[c] +
 * beta[c], biased variance; tasks as ck_lrn's. y may be x. */
void ck_layer_norm(int isa, const float* x, int C, int HW, const float* gamma, const float* beta,
                   float eps, float* y, int t0, int t1);

/* y[p*HW + i] = x[p*HW + i] * s[p] for planes p in [p0, p1); y may be x. */
void ck_scale_channels(int isa, const float* x, const float* s, float* y, int HW, int p0, int p1);

#ifdef __cplusplus
}
#endif
#endif
