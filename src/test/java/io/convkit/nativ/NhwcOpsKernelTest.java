package io.convkit.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Views;
import io.convkit.testing.Isas;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The NHWC depthwise, pooling, reorder and channel-op kernels of CPU engine v2, called directly
 * on both ISAs (portable always, AVX2 where the CPU has it) against naive loops in float64.
 *
 * <p>Every case checks: the values (depthwise within {@link Tolerance#bound} for its R*S taps and
 * the bias; average pooling for its window; max pooling, reorders, scaling and copies bit for
 * bit); guard floats on both sides of every output (nothing written outside it); and that the
 * task range split at several points gives the single call's output bit for bit. Channel counts
 * cover every tail (1 .. 33), widths 1 .. 13 plus a few wide rows that reach the multi-pixel
 * tiles, strides 1 to 3, dilation 2, asymmetric padding, windows 1 to 7, batch 2.
 */
class NhwcOpsKernelTest {
  private static final int[] CHANNELS = {1, 3, 5, 8, 13, 16, 17, 33};
  private static final int[] WIDTHS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 19, 37};
  private static final int GUARD = 16;
  private static final float SENTINEL = -31415.926f;
  private static final int N = 2;

  private static int[] isas() {
    return Isas.codes();
  }

  /**
   * A native float buffer with GUARD sentinel floats on both sides of its n floats, which start
   * 64-byte aligned as a Tensor's do (the AVX-512 depthwise tile runs only there).
   */
  private static final class Buf implements AutoCloseable {
    final FloatPointer full;
    final FloatPointer view;
    final int n;
    final int off; // floats before the view: GUARD, plus the slack that aligns it

    Buf(int n) {
      this.n = n;
      full = new FloatPointer(n + 2L * GUARD + 16);
      off = GUARD + (int) ((64 - (full.address() + 4L * GUARD) % 64) % 64) / 4;
      float[] s = new float[n + 2 * GUARD + 16];
      Arrays.fill(s, SENTINEL);
      full.put(s);
      view = Views.floats(full, 4L * off, n); // owns nothing
    }

    Buf(float[] data) {
      this(data.length);
      full.position(off).put(data).position(0);
    }

    float[] get() {
      float[] a = new float[n];
      full.position(off).get(a).position(0);
      return a;
    }

    void assertGuards(String what) {
      float[] s = new float[n + 2 * GUARD];
      full.position(off - GUARD).get(s).position(0);
      for (int i = 0; i < GUARD; i++) {
        if (Float.floatToRawIntBits(s[i]) != Float.floatToRawIntBits(SENTINEL)
            || Float.floatToRawIntBits(s[GUARD + n + i]) != Float.floatToRawIntBits(SENTINEL)) {
          fail(what + ": a guard float next to the output was written");
        }
      }
    }

    @Override
    public void close() {
      full.close();
    }
  }

  private static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = rnd.nextFloat() * 2 - 1;
    }
    return a;
  }

  /** Task ranges that split [0, tasks) at a few points: thirds, the first and the last task. */
  private static long[] splits(long tasks) {
    return new long[] {0, Math.min(1, tasks), tasks / 3, tasks / 2, Math.max(tasks - 1, 0), tasks};
  }

  /** A kernel call on tasks [t0, t1) writing to out. */
  private interface TaskRange {
    void run(FloatPointer out, long t0, long t1);
  }

  /**
   * Runs all tasks in one call into whole and in the pieces of {@link #splits} into split; checks
   * both outputs' guards and that they agree bit for bit; returns the output.
   */
  private static float[] runWholeAndSplit(String what, long tasks, Buf whole, Buf split,
      TaskRange call) {
    call.run(whole.view, 0, tasks);
    long[] cut = splits(tasks);
    for (int i = 0; i + 1 < cut.length; i++) {
      call.run(split.view, cut[i], cut[i + 1]);
    }
    whole.assertGuards(what);
    split.assertGuards(what + " split");
    float[] y = whole.get();
    assertBitsEqual(what + ": split tasks", y, split.get());
    return y;
  }

  private static void assertBitsEqual(String what, float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
        fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
      }
    }
  }

  // ---- depthwise ------------------------------------------------------------------------------

  /** R, S, sh, sw, dh, dw, pt, pl, pb, pr. */
  private static final int[][] DW_GEOMETRIES = {
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // MobileNet stride 1
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, // MobileNet stride 2
    {3, 3, 2, 2, 1, 1, 0, 0, 1, 1}, // TF "same" stride 2: asymmetric
    {3, 3, 1, 1, 2, 2, 2, 2, 2, 2}, // dilation 2
    {3, 3, 3, 3, 1, 1, 0, 1, 2, 0}, // stride 3, asymmetric
    {1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
    {2, 2, 2, 2, 1, 1, 0, 0, 0, 0},
    {2, 2, 1, 1, 1, 1, 2, 2, 2, 2}, // padding past the kernel: outputs with no tap at all
    {5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
    {5, 5, 2, 2, 1, 1, 1, 2, 2, 1},
    {7, 7, 1, 1, 1, 1, 3, 3, 3, 3},
    {7, 7, 3, 2, 1, 2, 3, 2, 1, 0},
    {3, 5, 1, 2, 2, 1, 1, 2, 0, 1}, // R != S, mixed strides and dilations
    {3, 3, 1, 2, 1, 1, 1, 1, 1, 1}, // 3x3 with stride (1, 2)
    {3, 3, 2, 1, 1, 1, 1, 1, 1, 1}, // 3x3 with stride (2, 1)
  };

  private static long[] geometry(int c, int h, int w, int k, int oh, int ow, int[] q) {
    return new long[] {N, c, h, w, k, oh, ow, q[0], q[1], q[2], q[3], q[6], q[7], q[8], q[9], q[4],
        q[5]};
  }

  @Test
  void depthwiseMatchesNaiveLoops() {
    Random rnd = new Random(11);
    Activation[] acts = Activation.values();
    Set<String> variants = new TreeSet<>();
    int cases = 0;
    for (int isa : isas()) {
      for (int[] q : DW_GEOMETRIES) {
        for (int c : CHANNELS) {
          for (int w : WIDTHS) {
            int h = 1 + (w + c) % 7;
            String v = depthwiseCase(rnd, isa, c, h, w, q, acts[cases % acts.length],
                cases % 3 != 0);
            if (v != null) {
              variants.add(v);
              cases++;
            }
          }
        }
        // C a multiple of 256 takes the 16-channel tiles on wide rows too; 272 does not. In the
        // AVX-512 build 64, 144, 256 and 272 take the zmm tiles for 3x3 stride 1 and 2 (their
        // 8-channel remainders too, where the channel blocks split the rows).
        for (int c : new int[] {64, 144, 256, 272}) {
          for (int w : new int[] {12, 21}) {
            String v = depthwiseCase(rnd, isa, c, 3, w, q, acts[cases % acts.length], true);
            if (v != null) {
              variants.add(v);
              cases++;
            }
          }
        }
      }
    }
    assertTrue(cases > 1000, "depthwise cases run: " + cases);
    // every tile variant (3x3 s1, 3x3 s2 and generic in two tile shapes, 5x5 s1) ran on every
    // ISA, and with AVX-512 its zmm 3x3 s1 and s2 tiles (C a multiple of 16, from 64)
    int avx512 = isas()[isas().length - 1] == 2 ? 2 : 0;
    assertEquals(7 * isas().length + avx512, variants.size(), "variants run: " + variants);
  }

  /** One geometry; returns its variant name, or null when its output would be empty. */
  private static String depthwiseCase(Random rnd, int isa, int c, int h, int w, int[] q,
      Activation act, boolean withBias) {
    int r = q[0], s = q[1], sh = q[2], sw = q[3], dh = q[4], dw = q[5];
    int pt = q[6], pl = q[7], pb = q[8], pr = q[9];
    int oh = (h + pt + pb - (r - 1) * dh - 1) / sh + 1;
    int ow = (w + pl + pr - (s - 1) * dw - 1) / sw + 1;
    if (h + pt + pb - (r - 1) * dh - 1 < 0 || w + pl + pr - (s - 1) * dw - 1 < 0) {
      return null;
    }
    long[] g = geometry(c, h, w, c, oh, ow, q);
    String variant = ConvkitNative.ck_dw_nhwc_variant(isa, g);
    String what = String.format("dw isa %d C %d %dx%d R %d S %d stride %d,%d dil %d,%d"
        + " pad %d,%d,%d,%d %s bias %b (%s)", isa, c, h, w, r, s, sh, sw, dh, dw, pt, pl, pb, pr,
        act, withBias, variant);
    float[] x = random(rnd, N * h * w * c);
    float[] wt = random(rnd, c * r * s);
    float[] bias = random(rnd, c);
    int outLen = N * oh * ow * c;
    long tasks = ConvkitNative.ck_dw_nhwc_tasks(g);
    long scratchLen = ConvkitNative.ck_dw_nhwc_scratch_floats(g);
    try (Buf in = new Buf(x);
        Buf w0 = new Buf(wt);
        Buf packed = new Buf((int) ConvkitNative.ck_dw_nhwc_packed_floats(g));
        Buf b = new Buf(bias);
        Buf scratch = new Buf((int) Math.max(scratchLen, 1));
        Buf out = new Buf(outLen);
        Buf split = new Buf(outLen)) {
      ConvkitNative.ck_dw_nhwc_pack(g, w0.view, packed.view);
      packed.assertGuards(what + " pack");
      FloatPointer bp = withBias ? b.view : null;
      float[] y = runWholeAndSplit(what, tasks, out, split, (o, t0, t1) ->
          ConvkitNative.ck_dw_nhwc(isa, g, in.view, packed.view, bp, o, act.code(), t0, t1,
              scratch.view));
      scratch.assertGuards(what + " scratch");
      for (int n = 0; n < N; n++) {
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            for (int ch = 0; ch < c; ch++) {
              double sum = withBias ? bias[ch] : 0;
              double mag = Math.abs(sum);
              for (int i = 0; i < r; i++) {
                int iy = oy * sh - pt + i * dh;
                for (int j = 0; j < s; j++) {
                  int ix = ox * sw - pl + j * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                    continue;
                  }
                  double t =
                      (double) x[((n * h + iy) * w + ix) * c + ch] * wt[(ch * r + i) * s + j];
                  sum += t;
                  mag += Math.abs(t);
                }
              }
              float expected = (float) act.apply(sum);
              float actual = y[((n * oh + oy) * ow + ox) * c + ch];
              double tol = Tolerance.bound(r * s, mag, act);
              if (!(Math.abs((double) expected - actual) <= tol)) {
                fail(String.format("%s: output (%d,%d,%d,%d) is %s, expected %s, bound %.3g", what,
                    n, oy, ox, ch, actual, expected, tol));
              }
            }
          }
        }
      }
    }
    return variant;
  }

  /** Packing is [C rounded up to 8, / 8][R*S][8], zero-padded. */
  @Test
  void depthwisePackingLayout() {
    int c = 13;
    int r = 3;
    int s = 2;
    long[] g = geometry(c, 5, 5, c, 3, 4, new int[] {r, s, 1, 1, 1, 1, 0, 0, 0, 0});
    float[] wt = new float[c * r * s];
    for (int i = 0; i < wt.length; i++) {
      wt[i] = i + 1;
    }
    assertEquals(r * s * 16, ConvkitNative.ck_dw_nhwc_packed_floats(g));
    try (Buf w = new Buf(wt); Buf p = new Buf(r * s * 16)) {
      ConvkitNative.ck_dw_nhwc_pack(g, w.view, p.view);
      p.assertGuards("pack");
      float[] packed = p.get();
      for (int t = 0; t < r * s; t++) {
        for (int ch = 0; ch < 16; ch++) {
          float expected = ch < c ? wt[ch * r * s + t] : 0f;
          assertEquals(expected, packed[((ch / 8) * r * s + t) * 8 + ch % 8],
              "tap " + t + " channel " + ch);
        }
      }
    }
  }

  /** Few output rows at batch 1 still give enough tasks for two threads to balance. */
  @Test
  void depthwiseTasksSplitChannelsOfSmallPlanes() {
    long[] g = {1, 960, 7, 7, 960, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    long tasks = ConvkitNative.ck_dw_nhwc_tasks(g);
    assertTrue(tasks >= 14, "tasks for 960ch 7x7 at batch 1: " + tasks);
    assertTrue(ConvkitNative.ck_pool_nhwc_tasks(g) >= 14);
  }

  // ---- grouped, narrow groups (4 or 8 inputs and outputs per group) ----------------------------

  @Test
  void groupedNarrowMatchesNaiveLoops() {
    Random rnd = new Random(13);
    Activation[] acts = Activation.values();
    Set<String> variants = new TreeSet<>();
    int cases = 0;
    for (int isa : isas()) {
      for (int[] q : DW_GEOMETRIES) {
        // G = 4: 1 .. 9 groups, every vector tail; G = 8: 1 .. 5 groups
        for (int[] gc : new int[][] {{4, 4}, {4, 8}, {4, 12}, {4, 20}, {4, 36}, {8, 8},
            {8, 16}, {8, 40}}) {
          for (int w : WIDTHS) {
            int h = 1 + (w + gc[1]) % 5;
            String v = groupedNarrowCase(rnd, isa, gc[0], gc[1], h, w, q,
                acts[cases % acts.length], cases % 3 != 0, cases % 4 < 2);
            if (v != null) {
              variants.add(v);
              cases++;
            }
          }
        }
      }
    }
    assertTrue(cases > 1000, "grouped narrow cases run: " + cases);
    // c4k4 and c8k8 on every ISA
    assertEquals(2 * isas().length, variants.size(), "variants run: " + variants);
  }

  /**
   * One geometry against the naive loop; with a residual, also in place (the residual is the
   * output) to the same bits. Returns the variant name, or null when the output would be empty.
   */
  private static String groupedNarrowCase(Random rnd, int isa, int cg, int c, int h, int w,
      int[] q, Activation act, boolean withBias, boolean withRes) {
    int r = q[0], s = q[1], sh = q[2], sw = q[3], dh = q[4], dw = q[5];
    int pt = q[6], pl = q[7], pb = q[8], pr = q[9];
    if (h + pt + pb - (r - 1) * dh - 1 < 0 || w + pl + pr - (s - 1) * dw - 1 < 0) {
      return null;
    }
    int oh = (h + pt + pb - (r - 1) * dh - 1) / sh + 1;
    int ow = (w + pl + pr - (s - 1) * dw - 1) / sw + 1;
    long[] g = geometry(c, h, w, c, oh, ow, q);
    long groups = c / cg;
    String variant = ConvkitNative.ck_gconv_narrow_nhwc_variant(isa, g, groups);
    String what = String.format("grouped %dx%d isa %d C %d %dx%d R %d S %d stride %d,%d"
        + " dil %d,%d pad %d,%d,%d,%d %s bias %b res %b (%s)", cg, cg, isa, c, h, w, r, s, sh, sw,
        dh, dw, pt, pl, pb, pr, act, withBias, withRes, variant);
    float[] x = random(rnd, N * h * w * c);
    float[] wt = random(rnd, c * cg * r * s); // [K][cg][R][S]
    float[] bias = random(rnd, c);
    int outLen = N * oh * ow * c;
    float[] res = random(rnd, outLen);
    long tasks = ConvkitNative.ck_gconv_narrow_nhwc_tasks(g);
    float[] y;
    try (Buf in = new Buf(x);
        Buf w0 = new Buf(wt);
        Buf packed = new Buf((int) ConvkitNative.ck_gconv_narrow_nhwc_packed_floats(g,
            groups));
        Buf b = new Buf(bias);
        Buf rb = new Buf(res);
        Buf out = new Buf(outLen);
        Buf split = new Buf(outLen);
        Buf inPlace = new Buf(res)) {
      ConvkitNative.ck_gconv_narrow_nhwc_pack(g, groups, w0.view, packed.view);
      packed.assertGuards(what + " pack");
      FloatPointer bp = withBias ? b.view : null;
      FloatPointer rp = withRes ? rb.view : null;
      y = runWholeAndSplit(what, tasks, out, split, (o, t0, t1) ->
          ConvkitNative.ck_gconv_narrow_nhwc(isa, g, groups, in.view, packed.view, bp, rp, o,
              act.code(), t0, t1));
      assertBitsEqual(what + ": the residual", res, rb.get());
      if (withRes) {
        ConvkitNative.ck_gconv_narrow_nhwc(isa, g, groups, in.view, packed.view, bp,
            inPlace.view, inPlace.view, act.code(), 0, tasks);
        inPlace.assertGuards(what + " in place");
        assertBitsEqual(what + ": in place", y, inPlace.get());
      }
    }
    for (int n = 0; n < N; n++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          for (int k = 0; k < c; k++) {
            int o = ((n * oh + oy) * ow + ox) * c + k;
            double sum = (withBias ? bias[k] : 0) + (withRes ? res[o] : 0);
            double mag = Math.abs(sum);
            for (int i = 0; i < cg; i++) {
              int ch = k / cg * cg + i;
              for (int a = 0; a < r; a++) {
                int iy = oy * sh - pt + a * dh;
                for (int j = 0; j < s; j++) {
                  int ix = ox * sw - pl + j * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                    continue;
                  }
                  double t = (double) x[((n * h + iy) * w + ix) * c + ch]
                      * wt[((k * cg + i) * r + a) * s + j];
                  sum += t;
                  mag += Math.abs(t);
                }
              }
            }
            float expected = (float) act.apply(sum);
            double tol = Tolerance.bound(cg * r * s + 2, mag, act);
            if (!(Math.abs((double) expected - y[o]) <= tol)) {
              fail(String.format("%s: output (%d,%d,%d,%d) is %s, expected %s, bound %.3g", what,
                  n, oy, ox, k, y[o], expected, tol));
            }
          }
        }
      }
    }
    return variant;
  }

  // ---- pooling --------------------------------------------------------------------------------

  /** kind, R, S, sh, sw, pt, pl, pb, pr, ceil, countPad. */
  private static final int[][] POOLS = {
    {0, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1}, // ResNet's max pool
    {0, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, // ... in ceil mode
    {0, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1},
    {0, 3, 2, 1, 3, 1, 0, 2, 1, 0, 1}, // asymmetric everything
    {0, 5, 5, 3, 3, 2, 1, 0, 2, 1, 1},
    {1, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1}, // avg counting the padding
    {1, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0}, // avg excluding it
    {1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1}, // ceil: the last window clipped to the padded input
    {1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 0},
    {1, 5, 5, 3, 3, 2, 1, 0, 2, 1, 1},
    {1, 5, 5, 3, 3, 2, 1, 0, 2, 1, 0},
    {1, 7, 7, 2, 1, 3, 3, 3, 3, 1, 0},
    {0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 1},
  };

  @Test
  void poolingMatchesNaiveLoops() {
    Random rnd = new Random(12);
    int cases = 0;
    for (int isa : isas()) {
      for (int[] p : POOLS) {
        PoolKind kind = p[0] == 0 ? PoolKind.MAX : PoolKind.AVG;
        PoolSpec spec = PoolSpec.builder(kind, p[1], p[2]).stride(p[3], p[4])
            .padding(p[5], p[6], p[7], p[8]).ceilMode(p[9] == 1).countPadding(p[10] == 1).build();
        for (int c : CHANNELS) {
          for (int w : WIDTHS) {
            int h = 1 + (w + 2 * c) % 8;
            if (h + p[5] + p[7] < p[1] || w + p[6] + p[8] < p[2]) {
              continue;
            }
            poolCase(rnd, isa, spec, c, h, w);
            cases++;
          }
        }
      }
      for (PoolKind kind : PoolKind.values()) {
        for (int c : CHANNELS) {
          for (int w : WIDTHS) {
            poolCase(rnd, isa, PoolSpec.global(kind), c, 1 + (w + c) % 7, w);
            cases++;
          }
        }
        // the global pool takes 64 channels at a time: several groups and a partial one
        for (int c : new int[] {64, 70, 130}) {
          poolCase(rnd, isa, PoolSpec.global(kind), c, 3, 5);
        }
      }
    }
    assertTrue(cases > 1000, "pool cases run: " + cases);
  }

  private static void poolCase(Random rnd, int isa, PoolSpec spec, int c, int h, int w) {
    Shape inShape = Shape.of(N, c, h, w);
    Shape outShape = spec.outputShape(inShape);
    int oh = outShape.h();
    int ow = outShape.w();
    int r = spec.kernelH(inShape);
    int s = spec.kernelW(inShape);
    int sh = spec.isGlobal() ? 1 : spec.strideH();
    int sw = spec.isGlobal() ? 1 : spec.strideW();
    int pt = spec.padTop();
    int pl = spec.padLeft();
    boolean avg = spec.kind() == PoolKind.AVG;
    long[] g = {N, c, h, w, c, oh, ow, r, s, sh, sw, pt, pl, spec.padBottom(), spec.padRight(), 1,
        1};
    String what = "pool isa " + isa + " " + spec + " C " + c + " " + h + "x" + w;
    float[] x = random(rnd, N * h * w * c);
    if (!avg) {
      // NaN must win every window it is in (max_pool2d's propagation); infinities are ordinary.
      for (int i = 0; i < Math.max(1, x.length / 40); i++) {
        x[rnd.nextInt(x.length)] = Float.NaN;
      }
      x[rnd.nextInt(x.length)] = Float.NEGATIVE_INFINITY;
      x[rnd.nextInt(x.length)] = Float.POSITIVE_INFINITY;
    }
    int outLen = N * oh * ow * c;
    long tasks = ConvkitNative.ck_pool_nhwc_tasks(g);
    try (Buf in = new Buf(x); Buf out = new Buf(outLen); Buf split = new Buf(outLen)) {
      int cp = spec.countPadding() ? 1 : 0;
      float[] y = runWholeAndSplit(what, tasks, out, split, (o, t0, t1) ->
          ConvkitNative.ck_pool_nhwc(isa, g, avg ? 1 : 0, cp, in.view, o, t0, t1));
      for (int n = 0; n < N; n++) {
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            for (int ch = 0; ch < c; ch++) {
              double sum = 0;
              double mag = 0;
              float max = Float.NEGATIVE_INFINITY;
              boolean nan = false;
              int count = 0;
              for (int i = 0; i < r; i++) {
                int iy = oy * sh - pt + i;
                for (int j = 0; j < s; j++) {
                  int ix = ox * sw - pl + j;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                    continue;
                  }
                  float v = x[((n * h + iy) * w + ix) * c + ch];
                  sum += v;
                  mag += Math.abs(v);
                  nan |= Float.isNaN(v);
                  max = Math.max(max, v);
                  count++;
                }
              }
              assertTrue(count > 0, what + ": a window covers no input");
              float actual = y[((n * oh + oy) * ow + ox) * c + ch];
              String at = String.format("%s: output (%d,%d,%d,%d)", what, n, oy, ox, ch);
              if (!avg) {
                float expected = nan ? Float.NaN : max;
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
                    at + " is " + actual + ", expected " + expected);
                continue;
              }
              double d = spec.divisor(inShape, oy, ox);
              double expected = sum / d;
              double tol = Tolerance.bound(count, mag / d);
              if (!(Math.abs(expected - actual) <= tol)) {
                fail(at + " is " + actual + ", expected " + expected + " (divisor " + d + ")");
              }
            }
          }
        }
      }
    }
  }

  /**
   * Away from the global pool the NHWC kernel reduces in ck_pool's order and divides by its
   * divisor: the outputs equal the NCHW kernel's bit for bit (NaN for NaN).
   */
  @Test
  void poolingEqualsTheNchwKernel() {
    Random rnd = new Random(17);
    for (int isa : isas()) {
      for (int[] p : POOLS) {
        PoolKind kind = p[0] == 0 ? PoolKind.MAX : PoolKind.AVG;
        PoolSpec spec = PoolSpec.builder(kind, p[1], p[2]).stride(p[3], p[4])
            .padding(p[5], p[6], p[7], p[8]).ceilMode(p[9] == 1).countPadding(p[10] == 1).build();
        for (int c : new int[] {3, 8, 17}) {
          for (int w : new int[] {7, 12, 19}) {
            int h = 9;
            Shape out = spec.outputShape(Shape.of(N, c, h, w));
            int oh = out.h();
            int ow = out.w();
            long[] g =
                {N, c, h, w, c, oh, ow, p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], 1, 1};
            float[] x = random(rnd, N * c * h * w);
            if (kind == PoolKind.MAX) {
              x[rnd.nextInt(x.length)] = Float.NaN;
            }
            int outLen = N * c * oh * ow;
            int avg = kind == PoolKind.AVG ? 1 : 0;
            int cp = p[10];
            try (Buf in = new Buf(x);
                Buf nchw = new Buf(x.length);
                Buf y = new Buf(outLen);
                Buf ref = new Buf(outLen);
                Buf refNhwc = new Buf(outLen);
                Buf scratch = new Buf((int) ConvkitNative.ck_pool_scratch_floats(w, ow, p[2],
                    p[4], p[6]))) {
              ConvkitNative.ck_pool_nhwc(isa, g, avg, cp, in.view, y.view, 0,
                  ConvkitNative.ck_pool_nhwc_tasks(g));
              ConvkitNative.ck_reorder(isa, in.view, N, c, h * w, nchw.view, 0, 0,
                  ConvkitNative.ck_reorder_tasks(N, c, h * w));
              ConvkitNative.ck_pool(isa, nchw.view, h, w, ref.view, oh, ow, p[1], p[2], p[3], p[4],
                  p[5], p[6], p[7], p[8], avg, cp, 0, N * c, scratch.view);
              ConvkitNative.ck_reorder(isa, ref.view, N, c, oh * ow, refNhwc.view, 1, 0,
                  ConvkitNative.ck_reorder_tasks(N, c, oh * ow));
              assertBitsEqual("pool isa " + isa + " " + spec + " C " + c + " W " + w
                  + " against ck_pool", refNhwc.get(), y.get());
            }
          }
        }
      }
    }
  }

  // ---- reorder --------------------------------------------------------------------------------

  @Test
  void reorderIsAnExactPermutationBothWays() {
    Random rnd = new Random(13);
    int[] channels = {1, 3, 5, 8, 13, 16, 17, 33, 64, 65, 130};
    int[] pixels = {1, 2, 7, 8, 9, 13, 49, 63, 64, 65, 100, 169};
    for (int isa : isas()) {
      for (int c : channels) {
        for (int p : pixels) {
          String what = "reorder isa " + isa + " C " + c + " P " + p;
          float[] x = random(rnd, N * c * p);
          long tasks = ConvkitNative.ck_reorder_tasks(N, c, p);
          try (Buf nchw = new Buf(x);
              Buf nhwc = new Buf(x.length);
              Buf splitNhwc = new Buf(x.length);
              Buf back = new Buf(x.length)) {
            float[] y = runWholeAndSplit(what + " to NHWC", tasks, nhwc, splitNhwc, (o, t0, t1) ->
                ConvkitNative.ck_reorder(isa, nchw.view, N, c, p, o, 1, t0, t1));
            ConvkitNative.ck_reorder(isa, nhwc.view, N, c, p, back.view, 0, 0, tasks);
            back.assertGuards(what + " to NCHW");
            float[] expected = new float[x.length];
            for (int n = 0; n < N; n++) {
              for (int ch = 0; ch < c; ch++) {
                for (int q = 0; q < p; q++) {
                  expected[(n * p + q) * c + ch] = x[(n * c + ch) * p + q];
                }
              }
            }
            assertBitsEqual(what + " to NHWC", expected, y);
            assertBitsEqual(what + " round trip", x, back.get());
          }
        }
      }
    }
  }

  // ---- channel ops ----------------------------------------------------------------------------

  @Test
  void scaleChannelsNhwc() {
    Random rnd = new Random(14);
    for (int isa : isas()) {
      for (int c : CHANNELS) {
        for (int p : new int[] {1, 3, 10}) {
          String what = "scale isa " + isa + " C " + c + " P " + p;
          float[] x = random(rnd, N * p * c);
          float[] s = random(rnd, N * c);
          float[] expected = new float[x.length];
          for (int q = 0; q < N * p; q++) {
            for (int ch = 0; ch < c; ch++) {
              expected[q * c + ch] = x[q * c + ch] * s[(q / p) * c + ch];
            }
          }
          try (Buf xb = new Buf(x); Buf sb = new Buf(s); Buf y = new Buf(x.length)) {
            long[] cut = splits(N * p);
            for (int i = 0; i + 1 < cut.length; i++) {
              ConvkitNative.ck_scale_channels_nhwc(isa, xb.view, sb.view, y.view, c, p, cut[i],
                  cut[i + 1]);
            }
            y.assertGuards(what);
            assertBitsEqual(what, expected, y.get());
            // in place
            ConvkitNative.ck_scale_channels_nhwc(isa, xb.view, sb.view, xb.view, c, p, 0, N * p);
            xb.assertGuards(what + " in place");
            assertBitsEqual(what + " in place", expected, xb.get());
          }
        }
      }
    }
  }

  @Test
  void layerNormNhwc() {
    Random rnd = new Random(15);
    int[] channels = {1, 3, 5, 8, 13, 16, 17, 33, 45, 96, 200};
    for (int isa : isas()) {
      for (int c : channels) {
        for (float eps : new float[] {1e-5f, 0f}) {
          int pixels = 7;
          String what = "layer norm isa " + isa + " C " + c + " eps " + eps;
          float[] x = random(rnd, pixels * c);
          for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 0.5f; // an offset mean
          }
          x[2 * c + c / 2] = Float.NaN; // pixel 2 is NaN throughout
          float[] gamma = random(rnd, c);
          float[] beta = random(rnd, c);
          try (Buf xb = new Buf(x);
              Buf gb = new Buf(gamma);
              Buf bb = new Buf(beta);
              Buf y = new Buf(x.length)) {
            long[] cut = splits(pixels);
            for (int i = 0; i + 1 < cut.length; i++) {
              ConvkitNative.ck_layer_norm_nhwc(isa, xb.view, c, gb.view, bb.view, eps, y.view,
                  cut[i], cut[i + 1]);
            }
            y.assertGuards(what);
            float[] out = y.get();
            for (int q = 0; q < pixels; q++) {
              float[] px = Arrays.copyOfRange(x, q * c, (q + 1) * c);
              boolean nan = q == 2;
              double mean = 0;
              for (float v : px) {
                mean += v;
              }
              mean /= c;
              double var = 0;
              for (float v : px) {
                var += (v - mean) * (v - mean);
              }
              var /= c;
              double[] bound = nan ? null : Tolerance.layerNormBounds(px, gamma, beta, eps);
              for (int ch = 0; ch < c; ch++) {
                float actual = out[q * c + ch];
                if (nan) {
                  assertTrue(Float.isNaN(actual), what + ": pixel with a NaN gives " + actual);
                  continue;
                }
                if (c == 1 && eps == 0f) {
                  // 0 / sqrt(0): NaN, as ck_layer_norm
                  assertTrue(Float.isNaN(actual), what + ": 0/0 gives " + actual);
                  continue;
                }
                double expected = (px[ch] - mean) / Math.sqrt(var + eps) * gamma[ch] + beta[ch];
                if (!(Math.abs(expected - actual) <= bound[ch])) {
                  fail(String.format("%s: pixel %d channel %d is %s, expected %s, bound %.3g",
                      what, q, ch, actual, expected, bound[ch]));
                }
              }
            }
            // in place gives the same bits
            ConvkitNative.ck_layer_norm_nhwc(isa, xb.view, c, gb.view, bb.view, eps, xb.view, 0,
                pixels);
            xb.assertGuards(what + " in place");
            assertBitsEqual(what + " in place", out, xb.get());
          }
        }
      }
    }
  }

  @Test
  void copyChannelsWritesOnlyItsSlice() {
    Random rnd = new Random(16);
    int[][] cases = {{3, 8, 0}, {3, 8, 5}, {13, 33, 17}, {1, 1, 0}, {16, 17, 1}};
    for (int[] k : cases) {
      int ci = k[0];
      int co = k[1];
      int off = k[2];
      int pixels = 9;
      String what = "copy Ci " + ci + " Co " + co + " off " + off;
      float[] x = random(rnd, pixels * ci);
      float[] y0 = random(rnd, pixels * co);
      try (Buf xb = new Buf(x); Buf y = new Buf(y0)) {
        List<long[]> ranges = new ArrayList<>();
        long[] cut = splits(pixels);
        for (int i = 0; i + 1 < cut.length; i++) {
          ranges.add(new long[] {cut[i], cut[i + 1]});
        }
        for (long[] r : ranges) {
          ConvkitNative.ck_copy_channels_nhwc(xb.view, ci, y.view, co, off, r[0], r[1]);
        }
        y.assertGuards(what);
        float[] expected = y0.clone();
        for (int q = 0; q < pixels; q++) {
          System.arraycopy(x, q * ci, expected, q * co + off, ci);
        }
        assertBitsEqual(what, expected, y.get());
      }
    }
  }
}
