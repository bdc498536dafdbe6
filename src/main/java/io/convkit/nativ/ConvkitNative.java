package io.convkit.nativ;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JNI face of our C kernels in {@code native/}. The JavaCPP Maven plugin compiles the listed
 * sources (one translation unit) into a library inside the jar; {@link Loader} extracts and loads
 * it, so no user sets {@code java.library.path}. See {@code native/convkit.h} for each contract.
 *
 * <p>The kernels do not check bounds: every caller validates shapes and sizes first. Only the
 * engines call in here.
 */
@Platform(
    include = {"convkit.h", "common.c", "conv_nhwc.c", "winograd_nhwc.c", "nhwc_ops.c", "ir_nhwc.c", "isa_portable.c", "isa_avx2.c", "isa_avx512.c", "dispatch.c"},
    compiler = "cpp11")
public final class ConvkitNative {
  static {
    Loader.load();
  }

  private ConvkitNative() {}

  /** Loads the library (a no-op after the first call); throws if this platform has no build. */
  public static void load() {}

  public static native int ck_best_isa();

  /** A 2 MB-aligned mapping of {@code bytes} advised onto huge pages, or 0 (convkit.h). */
  public static native long ck_pages_alloc(long bytes);

  public static native void ck_pages_free(long address, long bytes);

  public static native void ck_im2col(@Const FloatPointer in, int C, int H, int W, int R, int S,
      int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW, FloatPointer col, int k0,
      int k1);

  public static native void ck_im2col_block(@Const FloatPointer in, int C, int H, int W, int R,
      int S, int sh, int sw, int pt, int pl, int dh, int dw, int OW, int k0, int k1, int oy0,
      int oy1, FloatPointer col);

  public static native void ck_bias_act_block(int isa, FloatPointer y, long ldy, int cols,
      @Const FloatPointer bias, int m0, int m1, int act);

  public static native int ck_depthwise_variant(int H, int R, int S, int sh, int sw, int dh,
      int dw, int OH, int OW);

  public static native long ck_depthwise_scratch_floats(int H, int R, int S, int sh, int sw,
      int dh, int dw, int OH, int OW);

  public static native void ck_depthwise(int isa, @Const FloatPointer in, int C, int H, int W,
      @Const FloatPointer wt, @Const FloatPointer bias, FloatPointer out, int mult, int R, int S,
      int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW, int act, int oc0, int oc1,
      FloatPointer scratch);

  public static native int ck_smallm_rows_per_block(int OW);

  public static native long ck_smallm_scratch_floats(int Cg, int R, int S, int OH, int OW);

  public static native void ck_conv_smallm(int isa, @Const FloatPointer in, int C, int H, int W,
      @Const FloatPointer wt, @Const FloatPointer bias, FloatPointer out, int M, int groups, int R,
      int S, int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW, int act, int t0,
      int t1, FloatPointer scratch);

  public static native void ck_connection_table(int isa, @Const FloatPointer col, int N,
      @Const IntPointer start, @Const IntPointer row, @Const FloatPointer w,
      @Const FloatPointer bias, FloatPointer out, int act, int o0, int o1);

  public static native long ck_pool_scratch_floats(int W, int OW, int kw, int sw, int pl);

  public static native void ck_pool(int isa, @Const FloatPointer in, int H, int W, FloatPointer out,
      int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int avg,
      int countPad, int p0, int p1, FloatPointer scratch);

  public static native void ck_add(int isa, @Const FloatPointer a, @Const FloatPointer b,
      FloatPointer y, int i0, int i1, int act);

  public static native void ck_lrn(int isa, @Const FloatPointer x, int C, int HW, int size,
      float coef, float beta, int betaIs075, float k, FloatPointer y, int t0, int t1,
      FloatPointer scratch);

  public static native void ck_layer_norm(int isa, @Const FloatPointer x, int C, int HW,
      @Const FloatPointer gamma, @Const FloatPointer beta, float eps, FloatPointer y, int t0,
      int t1);

  public static native void ck_scale_channels(int isa, @Const FloatPointer x,
      @Const FloatPointer s, FloatPointer y, int HW, int p0, int p1);
  // ---- CPU engine v2: NHWC kernels. g is the geometry, CK_G_COUNT values (see ConvGeometry).

  // The dense kernel's groups: 1, or G dividing C and K (grouped convolution, G < C).
  public static native long ck_conv_nhwc_packed_floats(@Cast("const long long*") long[] g,
      long groups);

  public static native void ck_conv_nhwc_pack(@Cast("const long long*") long[] g, long groups,
      @Const FloatPointer w, FloatPointer packed);

  public static native long ck_conv_nhwc_tasks(@Cast("const long long*") long[] g, long groups);

  public static native long ck_conv_nhwc_scratch_floats(@Cast("const long long*") long[] g,
      long groups);

  public static native String ck_conv_nhwc_variant(int isa, @Cast("const long long*") long[] g,
      long groups);

  public static native void ck_conv_nhwc(int isa, @Cast("const long long*") long[] g,
      long groups, @Const FloatPointer in, @Const FloatPointer packed, @Const FloatPointer bias,
      @Const FloatPointer res, FloatPointer out, int act, long t0, long t1, FloatPointer scratch);

  // Winograd F(m x m, 3 x 3), m = 2 or 4 (see convkit.h): pack once, then per chunk phases 0, 1, 2.
  public static native long ck_wino_nhwc_packed_floats(@Cast("const long long*") long[] g, int m);

  public static native int ck_wino_nhwc_pack(@Cast("const long long*") long[] g, int m,
      @Const FloatPointer w, FloatPointer packed);

  public static native long ck_wino_nhwc_chunks(@Cast("const long long*") long[] g, int m);

  public static native long ck_wino_nhwc_tasks(@Cast("const long long*") long[] g, int m,
      int phase, long chunk);

  public static native long ck_wino_nhwc_scratch_floats(@Cast("const long long*") long[] g, int m);

  public static native String ck_wino_nhwc_variant(int isa, @Cast("const long long*") long[] g,
      int m);

  public static native void ck_wino_nhwc(int isa, @Cast("const long long*") long[] g, int m,
      int phase, long chunk, @Const FloatPointer in, @Const FloatPointer packed,
      @Const FloatPointer bias, @Const FloatPointer res, FloatPointer out, int act, long t0,
      long t1, FloatPointer scratch);

  public static native long ck_dw_nhwc_packed_floats(@Cast("const long long*") long[] g);

  public static native void ck_dw_nhwc_pack(@Cast("const long long*") long[] g,
      @Const FloatPointer w, FloatPointer packed);

  public static native long ck_dw_nhwc_tasks(@Cast("const long long*") long[] g);

  public static native long ck_dw_nhwc_scratch_floats(@Cast("const long long*") long[] g);

  public static native String ck_dw_nhwc_variant(int isa, @Cast("const long long*") long[] g);

  public static native void ck_dw_nhwc(int isa, @Cast("const long long*") long[] g,
      @Const FloatPointer in, @Const FloatPointer packed, @Const FloatPointer bias,
      FloatPointer out, int act, long t0, long t1, FloatPointer scratch);

  public static native long ck_gconv_narrow_nhwc_packed_floats(
      @Cast("const long long*") long[] g, long groups);

  public static native void ck_gconv_narrow_nhwc_pack(@Cast("const long long*") long[] g,
      long groups, @Const FloatPointer w, FloatPointer packed);

  public static native long ck_gconv_narrow_nhwc_tasks(@Cast("const long long*") long[] g);

  public static native String ck_gconv_narrow_nhwc_variant(int isa,
      @Cast("const long long*") long[] g, long groups);

  public static native void ck_gconv_narrow_nhwc(int isa, @Cast("const long long*") long[] g,
      long groups, @Const FloatPointer in, @Const FloatPointer packed, @Const FloatPointer bias,
      @Const FloatPointer res, FloatPointer out, int act, long t0, long t1);

  public static native long ck_ir_nhwc_tasks(@Cast("const long long*") long[] gd, int expand,
      int project);

  public static native long ck_ir_nhwc_scratch_floats(@Cast("const long long*") long[] gd,
      int expand, int project);

  public static native void ck_ir_nhwc(int isa, @Cast("const long long*") long[] ge,
      @Cast("const long long*") long[] gd, @Cast("const long long*") long[] gp, int expand,
      int project, @Const FloatPointer in, @Const FloatPointer we, @Const FloatPointer be,
      int acte, @Const FloatPointer wd, @Const FloatPointer bd, int actd,
      @Const FloatPointer wp, @Const FloatPointer bp, @Const FloatPointer res,
      FloatPointer out, int actp, long t0, long t1, FloatPointer scratch);

  public static native long ck_pool_nhwc_tasks(@Cast("const long long*") long[] g);

  public static native void ck_pool_nhwc(int isa, @Cast("const long long*") long[] g, int avg,
      int countPad, @Const FloatPointer in, FloatPointer out, long t0, long t1);

  public static native long ck_reorder_tasks(long n, long c, long p);

  public static native void ck_reorder(int isa, @Const FloatPointer in, long n, long c, long p,
      FloatPointer out, int toNhwc, long t0, long t1);

  public static native void ck_scale_channels_nhwc(int isa, @Const FloatPointer x,
      @Const FloatPointer s, FloatPointer y, long c, long p, long q0, long q1);

  public static native void ck_layer_norm_nhwc(int isa, @Const FloatPointer x, long c,
      @Const FloatPointer gamma, @Const FloatPointer beta, float eps, FloatPointer y, long q0,
      long q1);

  public static native void ck_copy_channels_nhwc(@Const FloatPointer x, long ci, FloatPointer y,
      long co, long off, long q0, long q1);

  /** The benchmarks' FMA peak loop (see native/kernels/fma_peak.inc). */
  public static native float ck_fma_burn(int isa, long iters);
}
