/*
 * convkit native kernels: the C side of io.convkit.nativ.ConvkitNative.
 *
 * Every function trusts its arguments: the Java side validates shapes, sizes and ranges before it
 * calls in, so no kernel re-checks bounds. Each parallel kernel takes a [begin, end) range of its
 * natural work unit; the Java pool splits the range across threads.
 *
 * isa: 0 = portable C (GCC vector extensions, any x86-64), 1 = AVX2+FMA, 2 = AVX-512 (F, VL, DQ:
 * the AVX2 kernels plus 16-lane convolution tiles). Callers pass the value
 * they resolved once with ck_best_isa(); tests force 0 to cover the fallback.
 * act: 0 = none, 1 = ReLU, 2 = ReLU6, 3 = sigmoid, 4 = swish (x * sigmoid(x)), 5 = GELU (erf form),
 * 6 = tanh;
 * every kernel applies it through kernels/epilogue8.inc's act8.
 */
#ifndef CONVKIT_H
#define CONVKIT_H

#ifdef __cplusplus
extern "C" {
#endif

/* 2 when this CPU and OS run AVX-512 F, VL and DQ (and AVX2 and FMA), 1 when AVX2 and FMA, else
 * 0. */
int ck_best_isa(void);
/* bytes (> 0) of zeroed memory from a mapping that starts on a 2 MB boundary, advised onto
 * transparent huge pages; 0 where none can be made (not Linux, no memory). Free with
 * ck_pages_free(address, the same bytes). */
long long ck_pages_alloc(long long bytes);
void ck_pages_free(long long address, long long bytes);

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

/* ==== CPU engine v2: NHWC kernels ==========================================================
 * Activations in NHWC (channels innermost, contiguous), weights packed once per layer. The
 * geometry of one call is one array g[CK_G_COUNT] of 64-bit values, validated in Java
 * (ck_conv_geom unpacks it); every index a kernel forms is computed in 64 bits. Parallel
 * kernels run tasks [t0, t1) of the count their _tasks function gives; the Java pool splits
 * that range across threads, and each thread passes its own scratch of the _scratch_floats
 * size. _variant names the micro-kernel the call runs (op, layout, tile, ISA) for the engine's
 * verbose mode. */
enum {
  CK_G_N, CK_G_C, CK_G_H, CK_G_W, /* input: batch, channels, height, width */
  CK_G_K, CK_G_OH, CK_G_OW,       /* output channels, height, width */
  CK_G_R, CK_G_S,                 /* kernel (or pooling window) height, width */
  CK_G_SH, CK_G_SW,               /* stride */
  CK_G_PT, CK_G_PL, CK_G_PB, CK_G_PR, /* padding top, left, bottom, right */
  CK_G_DH, CK_G_DW,               /* dilation */
  CK_G_COUNT
};
typedef struct ck_conv_geom {
  long long n, c, h, w, k, oh, ow, r, s, sh, sw, pt, pl, pb, pr, dh, dw;
} ck_conv_geom;
static inline ck_conv_geom ck_geom(const long long* g) {
  ck_conv_geom x;
  x.n = g[CK_G_N]; x.c = g[CK_G_C]; x.h = g[CK_G_H]; x.w = g[CK_G_W];
  x.k = g[CK_G_K]; x.oh = g[CK_G_OH]; x.ow = g[CK_G_OW];
  x.r = g[CK_G_R]; x.s = g[CK_G_S]; x.sh = g[CK_G_SH]; x.sw = g[CK_G_SW];
  x.pt = g[CK_G_PT]; x.pl = g[CK_G_PL]; x.pb = g[CK_G_PB]; x.pr = g[CK_G_PR];
  x.dh = g[CK_G_DH]; x.dw = g[CK_G_DW];
  return x;
}

/* Dense or grouped convolution, NHWC in [N][H][W][C] and out [N][OH][OW][K], G groups of
 * Cg = C/G inputs and Kg = K/G outputs (G divides C and K: Java checks):
 * out[n][oy][ox][k] = act(bias[k] + res[n][oy][ox][k]
 *                         + sum_{c<Cg,r,s} in[n][iy][ix][(k/Kg)*Cg + c] * w[k][c][r][s])
 * with iy = oy*sh - pt + r*dh, ix = ox*sw - pl + s*dw; taps in the padding contribute nothing.
 * bias and res may be NULL (res has out's shape; it may not be out). w is PyTorch's
 * [K][Cg][R][S], packed by ck_conv_nhwc_pack into ck_conv_nhwc_packed_floats(g, G) floats. */
long long ck_conv_nhwc_packed_floats(const long long* g, long long groups);
void ck_conv_nhwc_pack(const long long* g, long long groups, const float* w, float* packed);
long long ck_conv_nhwc_tasks(const long long* g, long long groups);
long long ck_conv_nhwc_scratch_floats(const long long* g, long long groups);
const char* ck_conv_nhwc_variant(int isa, const long long* g, long long groups);
void ck_conv_nhwc(int isa, const long long* g, long long groups, const float* in,
                  const float* packed, const float* bias, const float* res, float* out, int act,
                  long long t0, long long t1, float* scratch);

/* Depthwise convolution, multiplier 1 (groups = C = K), NHWC in and out:
 * out[n][oy][ox][c] = act(bias[c] + sum_{r,s} in[n][iy][ix][c] * w[c][0][r][s]), iy, ix as above.
 * w is PyTorch's [C][1][R][S], packed by ck_dw_nhwc_pack. out != in (a row's last tile moves
 * back and re-reads input it may already have written). */
long long ck_dw_nhwc_packed_floats(const long long* g);
void ck_dw_nhwc_pack(const long long* g, const float* w, float* packed);
long long ck_dw_nhwc_tasks(const long long* g);
long long ck_dw_nhwc_scratch_floats(const long long* g);
const char* ck_dw_nhwc_variant(int isa, const long long* g);
void ck_dw_nhwc(int isa, const long long* g, const float* in, const float* packed,
                const float* bias, float* out, int act, long long t0, long long t1, float* scratch);

/* Grouped convolution with narrow groups: G = C / groups = 4 or 8 inputs and as many outputs per
 * group (C = K; Java checks), NHWC in and out, any kernel, stride, dilation and padding:
 * ck_conv_nhwc's result for that geometry. w is PyTorch's [K][G][R][S], packed by
 * ck_gconv_narrow_nhwc_pack; bias and res may be NULL; res has out's shape and may be out (each
 * output is written once, after its residual is read); out is not in. */
long long ck_gconv_narrow_nhwc_packed_floats(const long long* g, long long groups);
void ck_gconv_narrow_nhwc_pack(const long long* g, long long groups, const float* w,
                               float* packed);
long long ck_gconv_narrow_nhwc_tasks(const long long* g);
const char* ck_gconv_narrow_nhwc_variant(int isa, const long long* g, long long groups);
void ck_gconv_narrow_nhwc(int isa, const long long* g, long long groups, const float* in,
                          const float* packed, const float* bias, const float* res, float* out,
                          int act, long long t0, long long t1);

/* Winograd F(m x m, 3 x 3), m = 2 or 4, for a 3x3 stride-1 undilated dense conv (groups 1),
 * NHWC in and out, any padding: the same result as ck_conv_nhwc within the error bound of
 * docs/DESIGN.md (non-finite values exactly where it puts them). w is PyTorch's [K][C][3][3];
 * ck_wino_nhwc_pack transforms it (in double) into ck_wino_nhwc_packed_floats(g, m) floats and
 * returns 0, or -1 when its temporary memory cannot be had; packed[0] is 1 when every weight is
 * finite (else the caller runs the direct kernel). The tiles are cut into
 * ck_wino_nhwc_chunks(g, m) chunks; each chunk runs phase 0 (input transform), 1 (the
 * multiply) and 2 (output transform, bias, residual, activation) in that order, each phase's
 * tasks [t0, t1) of ck_wino_nhwc_tasks(g, m, phase, chunk) split across threads, all of a
 * phase's tasks finished before the next phase starts. scratch: one buffer of
 * ck_wino_nhwc_scratch_floats(g, m) floats shared by the threads of a call. res and out as
 * ck_conv_nhwc's; out != in. */
long long ck_wino_nhwc_packed_floats(const long long* g, int m);
int ck_wino_nhwc_pack(const long long* g, int m, const float* w, float* packed);
long long ck_wino_nhwc_chunks(const long long* g, int m);
long long ck_wino_nhwc_tasks(const long long* g, int m, int phase, long long chunk);
long long ck_wino_nhwc_scratch_floats(const long long* g, int m);
const char* ck_wino_nhwc_variant(int isa, const long long* g, int m);
void ck_wino_nhwc(int isa, const long long* g, int m, int phase, long long chunk,
                  const float* in, const float* packed, const float* bias, const float* res,
                  float* out, int act, long long t0, long long t1, float* scratch);

/* Fused inverted-residual block, NHWC, one image row band at a time (MobileNet v2's block;
 * EfficientNet's expand + depthwise, whose squeeze-excitation needs the whole depthwise output):
 *   e = act_e(conv_1x1(in; we, be))   (expand = 1; else e = in),
 *   d = act_d(depthwise(e; wd, bd))   (gd: multiplier 1, padding smaller than the window),
 *   out = act_p(conv_1x1(d; wp, bp) + res)   (project = 1, res may be NULL; else out = d).
 * ge and gp are 1x1, stride 1, unpadded, groups 1; ge's output is gd's input, gd's output gp's
 * input (ge is unread when expand = 0, gp when project = 0). we and wp are packed by
 * ck_conv_nhwc_pack, wd by ck_dw_nhwc_pack. Tasks are bands of gd's output rows, image by image;
 * scratch holds ck_ir_nhwc_scratch_floats floats per worker. out shares no memory with in, res
 * or scratch. */
long long ck_ir_nhwc_tasks(const long long* gd, int expand, int project);
long long ck_ir_nhwc_scratch_floats(const long long* gd, int expand, int project);
void ck_ir_nhwc(int isa, const long long* ge, const long long* gd, const long long* gp,
                int expand, int project, const float* in, const float* we, const float* be,
                int acte, const float* wd, const float* bd, int actd, const float* wp,
                const float* bp, const float* res, float* out, int actp, long long t0,
                long long t1, float* scratch);

/* Max (avg = 0) or average (avg = 1) pooling, NHWC in [N][H][W][C] and out [N][OH][OW][C]
 * (g's K equals C; R x S is the window; a global pool passes H x W). The semantics are
 * ck_pool's exactly: MAX ignores padded positions and propagates NaN; AVG divides by the window
 * clipped to the padded input [-pt, H+pb) x [-pl, W+pr) and, unless count_pad, to the input. */
long long ck_pool_nhwc_tasks(const long long* g);
void ck_pool_nhwc(int isa, const long long* g, int avg, int count_pad, const float* in,
                  float* out, long long t0, long long t1);

/* Reorder between NCHW and NHWC, P = H*W pixels per image: to_nhwc = 1 gives
 * out[n][p][c] = in[n][c][p], to_nhwc = 0 the inverse. out != in. */
long long ck_reorder_tasks(long long N, long long C, long long P);
void ck_reorder(int isa, const float* in, long long N, long long C, long long P, float* out,
                int to_nhwc, long long t0, long long t1);

/* NHWC channel ops on pixels q in [q0, q1) of N*P pixels (P per image):
 * scale: y[q][c] = x[q][c] * s[q / P][c] (y may be x);
 * layer norm: over each pixel's C channels, as ck_layer_norm (y may be x);
 * copy: y[q][off + c] = x[q][c] for c < Ci, y having Co channels per pixel (a concat's slice). */
void ck_scale_channels_nhwc(int isa, const float* x, const float* s, float* y, long long C,
                            long long P, long long q0, long long q1);
void ck_layer_norm_nhwc(int isa, const float* x, long long C, const float* gamma,
                        const float* beta, float eps, float* y, long long q0, long long q1);
void ck_copy_channels_nhwc(const float* x, long long Ci, float* y, long long Co, long long off,
                           long long q0, long long q1);

/* The benchmarks' FMA peak: iters steps of 12 independent 8-lane FMA chains (192 FLOP each). */
float ck_fma_burn(int isa, long long iters);

#ifdef __cplusplus
}
#endif
#endif
