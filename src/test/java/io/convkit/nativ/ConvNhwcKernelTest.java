package io.convkit.nativ;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.testing.ConvCases;
import io.convkit.testing.GuardedSplits;
import io.convkit.testing.Isas;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The dense NHWC convolution kernel (ck_conv_nhwc) called directly, on every ISA the CPU runs
 * (AVX-512's 16-lane tiles also give AVX2's bits), against a
 * float64 loop over the contract in convkit.h: channel tails, every output width 1..13, strides,
 * dilation, asymmetric padding, non-square kernels, bias, residual, activations, batch 2. Also:
 * the task range split anywhere gives the same bits as one call, nothing outside the output or
 * the scratch is written, the one-channel kernel on every output width 1..40, and an infinite weight whose tap lies in the padding contributes
 * nothing (no Inf * 0 = NaN at the border).
 */
class ConvNhwcKernelTest {
  private static final int[] CH = {1, 3, 5, 8, 13, 16, 17, 24, 33};
  private static final int[] KS = {1, 2, 3, 5, 7};

  /** c and k are the layer's channels, groups divides both (1: dense). */
  record Case(int n, int c, int k, int h, int w, int r, int s, int sh, int sw, int pt, int pl,
      int pb, int pr, int dh, int dw, boolean bias, boolean res, Activation act, boolean inf,
      int groups) {
    Case(int n, int c, int k, int h, int w, int r, int s, int sh, int sw, int pt, int pl,
        int pb, int pr, int dh, int dw, boolean bias, boolean res, Activation act, boolean inf) {
      this(n, c, k, h, w, r, s, sh, sw, pt, pl, pb, pr, dh, dw, bias, res, act, inf, 1);
    }

    Case grouped(int g) {
      return new Case(n, c * g, k * g, h, w, r, s, sh, sw, pt, pl, pb, pr, dh, dw, bias, res,
          act, inf, g);
    }

    int cg() {
      return c / groups;
    }

    int kg() {
      return k / groups;
    }

    int oh() {
      return (h + pt + pb - ((r - 1) * dh + 1)) / sh + 1;
    }

    int ow() {
      return (w + pl + pr - ((s - 1) * dw + 1)) / sw + 1;
    }

    long[] geom() {
      return new long[] {n, c, h, w, k, oh(), ow(), r, s, sh, sw, pt, pl, pb, pr, dh, dw};
    }
  }

  /** A random geometry with output width ow (>= 1) and the given channels. */
  private static Case random(Random rnd, int c, int k, int ow, boolean inf) {
    Activation[] acts = Activation.values();
    for (;;) {
      int r = KS[rnd.nextInt(KS.length)];
      int s = KS[rnd.nextInt(KS.length)];
      int sh = 1 + rnd.nextInt(3);
      int sw = 1 + rnd.nextInt(3);
      int dh = rnd.nextInt(4) == 0 ? 2 : 1;
      int dw = rnd.nextInt(4) == 0 ? 2 : 1;
      int pt = rnd.nextInt(Math.min(r, 3));
      int pb = rnd.nextInt(Math.min(r, 3));
      int pl = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(Math.min(s, 4));
      int pr = rnd.nextInt(Math.min(s, 4));
      int es = (s - 1) * dw + 1;
      int w = (ow - 1) * sw + es - pl - pr + rnd.nextInt(sw); // the last columns may go unused
      int h = 1 + rnd.nextInt(6) + Math.max(0, (r - 1) * dh + 1 - pt - pb);
      if (w < 1 || h < 1) {
        continue;
      }
      Case cs = new Case(rnd.nextBoolean() ? 2 : 1, c, k, h, w, r, s, sh, sw, pt, pl, pb, pr, dh,
          dw, rnd.nextBoolean(), rnd.nextBoolean(), acts[rnd.nextInt(acts.length)], inf);
      if (cs.oh() >= 1 && cs.ow() == ow) {
        return cs;
      }
    }
  }

  static List<Case> cases() {
    Random rnd = new Random(20261201);
    List<Case> out = new ArrayList<>();
    for (int c : CH) {
      for (int k : CH) {
        out.add(random(rnd, c, k, 1 + rnd.nextInt(13), false));
      }
    }
    for (int ow = 1; ow <= 13; ow++) {
      for (int rep = 0; rep < 4; rep++) {
        out.add(random(rnd, CH[rnd.nextInt(CH.length)], CH[rnd.nextInt(CH.length)], ow, false));
      }
    }
    // The in-place paths: 1x1 stride 1 (flattened pixels) and unpadded windows, K tails.
    int[][] plain = {{16, 16, 1, 1, 7}, {33, 24, 1, 1, 13}, {5, 17, 3, 3, 9}, {24, 40, 3, 2, 12}};
    for (int[] p : plain) {
      out.add(new Case(2, p[0], p[1], p[4], p[4], p[2], p[3], 1, 1, 0, 0, 0, 0, 1, 1, true,
          true, Activation.RELU, false));
    }
    // The AVX-512 tiles: 0 to 5 full 16-channel blocks (pairs, an odd block), alone and before
    // a tail of 8 (AVX2's 24-lane tiles; AVX-512's masked last pair or block), of 12 or of 1,
    // each pixel count 1..8 of a tile (widths 1..17), in place (1x1 stride 1: the flat path)
    // and on padded rows (3x3), every activation. 33, 40, 48, 136 and 144 are 3 or 9 blocks, an
    // odd count divisible by 3: AVX-512's 8x48 tiles, their last triple holding 1, 8 or 16
    // channels in its third block.
    int[] wide = {8, 12, 24, 40, 32, 48, 56, 64, 65, 80, 33, 136, 144};
    for (int i = 0; i < wide.length; i++) {
      for (int ow = 1; ow <= 17; ow += 2 + i % 2) {
        Activation act = Activation.values()[(ow + i) % Activation.values().length];
        boolean three = (ow + i) % 2 == 0;
        out.add(new Case(1 + ow % 2, 3 + ow % 5, wide[i], 2, ow, three ? 3 : 1, three ? 3 : 1,
            1, 1, three ? 1 : 0, three ? 1 : 0, three ? 1 : 0, three ? 1 : 0, 1, 1, ow % 3 != 0,
            ow % 4 != 1, act, ow == 9));
      }
    }
    // Several pixel blocks per image (scratch rows refilled per block), weight groups, and a
    // weight block over 160 KB (3x3x300x16 floats: the prefetching loop).
    out.add(new Case(2, 5, 24, 22, 21, 3, 3, 1, 1, 1, 2, 1, 0, 1, 1, true, true,
        Activation.SWISH, false));
    out.add(new Case(1, 7, 40, 25, 23, 5, 3, 2, 1, 2, 1, 2, 1, 1, 2, false, true,
        Activation.RELU6, false));
    out.add(new Case(1, 300, 17, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, false,
        Activation.RELU, false));
    out.add(new Case(1, 300, 17, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, true,
        Activation.NONE, true));
    // Rows of 48+ outputs: pixel blocks of whole output rows (one and two rows per block).
    out.add(new Case(1, 5, 17, 7, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, true, Activation.RELU,
        false));
    out.add(new Case(2, 3, 24, 9, 201, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, false,
        Activation.RELU6, false));
    out.add(new Case(1, 4, 9, 5, 130, 3, 5, 1, 1, 1, 2, 1, 2, 1, 1, false, false,
        Activation.NONE, true));
    // Padding wider than the padded row the windows reach (left padding past every window),
    // and windows entirely in the padding: outputs of bias and residual alone.
    out.add(new Case(1, 3, 5, 4, 1, 1, 1, 1, 3, 0, 5, 0, 0, 1, 1, true, true, Activation.NONE,
        false));
    out.add(new Case(2, 3, 17, 3, 2, 2, 2, 3, 3, 4, 4, 4, 4, 1, 1, true, true, Activation.GELU,
        false));
    out.add(new Case(2, 3, 17, 3, 2, 2, 2, 3, 3, 4, 4, 4, 4, 1, 1, true, false, Activation.RELU,
        true));
    // Infinite weights: the exact border path.
    for (int i = 0; i < 12; i++) {
      out.add(random(rnd, CH[rnd.nextInt(CH.length)], CH[rnd.nextInt(CH.length)],
          1 + rnd.nextInt(13), true));
    }
    out.add(new Case(1, 3, 17, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, false, Activation.NONE,
        true));
    // Grouped: each group's channels a slice of every pixel (in place, padded rows, dilated
    // segments, the exact border path), per-group channel tails and groups of 2 to 5.
    int[] gch = {1, 3, 8, 13, 16, 17, 24};
    for (int i = 0; i < 24; i++) {
      Case base = random(rnd, gch[rnd.nextInt(gch.length)], gch[rnd.nextInt(gch.length)],
          1 + rnd.nextInt(13), i % 6 == 5);
      out.add(base.grouped(2 + rnd.nextInt(4)));
    }
    out.add(new Case(1, 16, 24, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, true, true, Activation.RELU6,
        false).grouped(3));
    out.add(new Case(2, 8, 16, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, false, Activation.RELU,
        false).grouped(2));
    out.add(new Case(1, 5, 40, 10, 11, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, true, true, Activation.NONE,
        true).grouped(2));
    out.addAll(oneChannelCases(rnd));
    return out;
  }

  /**
   * One input channel, at most 12 outputs, no horizontal padding, stride and dilation 1 along W:
   * the one-channel kernel (16-pixel tiles). Every output width 1..40 (each tail of a 16-pixel
   * tile, rows of several tiles), 6-channel passes with channel tails, vertical padding,
   * strides and dilation along H, unused columns and infinite weights.
   */
  static List<Case> oneChannelCases(Random rnd) {
    int[] ks = {1, 2, 3, 5, 6, 7, 8, 11, 12};
    Activation[] acts = Activation.values();
    List<Case> out = new ArrayList<>();
    for (int ow = 1; ow <= 40; ow++) {
      int k = ks[ow % ks.length];
      int r = 1 + rnd.nextInt(5);
      int s = 1 + rnd.nextInt(5);
      int sh = 1 + rnd.nextInt(2);
      int dh = rnd.nextInt(3) == 0 ? 2 : 1;
      int pt = rnd.nextInt(r);
      int pb = rnd.nextInt(r);
      int w = ow + s - 1 + rnd.nextInt(2);
      int h = Math.max(1, (r - 1) * dh + 1 - pt - pb) + rnd.nextInt(5);
      out.add(new Case(1 + rnd.nextInt(2), 1, k, h, w, r, s, sh, 1, pt, 0, pb, 0, dh, 1,
          rnd.nextBoolean(), rnd.nextBoolean(), acts[ow % acts.length], ow % 7 == 3));
    }
    // LeNet-5's C1 (1 -> 6, 32x32, 5x5) with bias and ReLU, two images.
    out.add(new Case(2, 1, 6, 32, 32, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, true, false, Activation.RELU,
        false));
    return out;
  }

  private static float[] fill(Random rnd, int len) {
    return ConvCases.data(rnd.nextLong(), len);
  }

  /** out[n][oy][ox][k] in float64, and the sum of the terms' magnitudes. */
  private static void reference(Case cs, float[] x, float[] w, float[] b, float[] res,
      double[] y, double[] mag) {
    int oh = cs.oh();
    int ow = cs.ow();
    for (int n = 0; n < cs.n(); n++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          for (int k = 0; k < cs.k(); k++) {
            int o = ((n * oh + oy) * ow + ox) * cs.k() + k;
            double s = 0;
            double m = 0;
            if (b != null) {
              s += b[k];
              m += Math.abs(b[k]);
            }
            if (res != null) {
              s += res[o];
              m += Math.abs(res[o]);
            }
            int c0 = k / cs.kg() * cs.cg(); // the group's first input channel
            for (int c = 0; c < cs.cg(); c++) {
              for (int r = 0; r < cs.r(); r++) {
                int iy = oy * cs.sh() - cs.pt() + r * cs.dh();
                if (iy < 0 || iy >= cs.h()) {
                  continue;
                }
                for (int q = 0; q < cs.s(); q++) {
                  int ix = ox * cs.sw() - cs.pl() + q * cs.dw();
                  if (ix < 0 || ix >= cs.w()) {
                    continue;
                  }
                  double t = (double) x[((n * cs.h() + iy) * cs.w() + ix) * cs.c() + c0 + c]
                      * w[((k * cs.cg() + c) * cs.r() + r) * cs.s() + q];
                  s += t;
                  m += Math.abs(t);
                }
              }
            }
            y[o] = cs.act().apply(s);
            mag[o] = m;
          }
        }
      }
    }
  }

  /** Runs tasks [0, T) in the calls given by the split points; returns out without its guards. */
  private static float[] run(int isa, Case cs, long[] g, FloatPointer x, FloatPointer packed,
      FloatPointer b, FloatPointer res, int outLen, long[] splits) {
    return GuardedSplits.run(cs.toString(), outLen,
        ConvkitNative.ck_conv_nhwc_scratch_floats(g, cs.groups()),
        ConvkitNative.ck_conv_nhwc_tasks(g, cs.groups()), splits,
        (out, scratch, t0, t1) -> ConvkitNative.ck_conv_nhwc(isa, g, cs.groups(), x, packed, b,
            res, out, cs.act().code(), t0, t1, scratch));
  }

  private static void check(int isa, Case cs, Random rnd) {
    long[] g = cs.geom();
    int oh = cs.oh();
    int ow = cs.ow();
    int inLen = cs.n() * cs.h() * cs.w() * cs.c();
    int outLen = cs.n() * oh * ow * cs.k();
    float[] x = fill(rnd, inLen);
    float[] w = fill(rnd, cs.k() * cs.cg() * cs.r() * cs.s());
    if (cs.inf()) {
      // One +Inf tap per output channel: outputs reading it are +-Inf, the others finite.
      for (int k = 0; k < cs.k(); k++) {
        int c = rnd.nextInt(cs.cg());
        int r = rnd.nextInt(cs.r());
        int q = k % 2 == 0 ? 0 : cs.s() - 1; // an edge column, so the padding holds it often
        w[((k * cs.cg() + c) * cs.r() + r) * cs.s() + q] = Float.POSITIVE_INFINITY;
      }
    }
    float[] b = cs.bias() ? fill(rnd, cs.k()) : null;
    float[] res = cs.res() ? fill(rnd, outLen) : null;
    double[] want = new double[outLen];
    double[] mag = new double[outLen];
    reference(cs, x, w, b, res, want, mag);
    long tasks = ConvkitNative.ck_conv_nhwc_tasks(g, cs.groups());
    assertTrue(tasks >= 1, cs + ": tasks " + tasks);
    String variant = ConvkitNative.ck_conv_nhwc_variant(isa, g, cs.groups());
    assertFalse(variant == null || variant.isEmpty() || variant.equals("stub"), variant);
    assertTrue(variant.endsWith(new String[] {"_portable", "_avx2", "_avx512"}[isa]), variant);
    try (FloatPointer xp = new FloatPointer(x);
        FloatPointer wp = new FloatPointer(w);
        FloatPointer packed = new FloatPointer(
            ConvkitNative.ck_conv_nhwc_packed_floats(g, cs.groups()));
        FloatPointer bp = b == null ? null : new FloatPointer(b);
        FloatPointer rp = res == null ? null : new FloatPointer(res)) {
      ConvkitNative.ck_conv_nhwc_pack(g, cs.groups(), wp, packed);
      float[] y = run(isa, cs, g, xp, packed, bp, rp, outLen, new long[0]);
      int k = cs.cg() * cs.r() * cs.s() + (res != null ? 1 : 0);
      for (int i = 0; i < outLen; i++) {
        double e = want[i];
        if (Double.isNaN(e) || Double.isInfinite(e)) {
          if (!(Double.compare(e, (double) y[i]) == 0
              || Double.isNaN(e) && Float.isNaN(y[i]))) {
            fail(String.format("isa %d %s: output %d is %s, reference %s", isa, cs, i, y[i], e));
          }
          continue;
        }
        double tol = Tolerance.bound(k, mag[i], cs.act());
        double diff = Math.abs(e - y[i]);
        if (!(diff <= tol)) {
          fail(String.format("isa %d %s: output %d is %s, reference %s, |diff| %.3g > %.3g",
              isa, cs, i, y[i], e, diff, tol));
        }
      }
      if (isa == 2) { // the 16-lane tiles sum in the 8-lane tiles' order: the same bits
        float[] y1 = run(1, cs, g, xp, packed, bp, rp, outLen, new long[0]);
        for (int i = 0; i < outLen; i++) {
          if (Float.floatToIntBits(y1[i]) != Float.floatToIntBits(y[i])) {
            fail(String.format("%s: output %d is %s with AVX-512, %s with AVX2", cs, i, y[i],
                y1[i]));
          }
        }
      }
      long[][] splits = {{1}, {tasks / 2}, {tasks - 1}, {tasks / 3, 2 * tasks / 3}};
      for (long[] sp : splits) {
        float[] z = run(isa, cs, g, xp, packed, bp, rp, outLen, sp);
        for (int i = 0; i < outLen; i++) {
          if (Float.floatToIntBits(z[i]) != Float.floatToIntBits(y[i])) {
            fail(String.format("isa %d %s: split %s changes output %d: %s vs %s", isa, cs,
                java.util.Arrays.toString(sp), i, z[i], y[i]));
          }
        }
      }
    }
  }

  @Test
  void matchesTheFloat64LoopOnEveryIsa() {
    List<Case> cases = cases();
    int[] isas = Isas.codes();
    for (int isa : isas) {
      Random rnd = new Random(7 + isa);
      for (Case cs : cases) {
        check(isa, cs, rnd);
      }
    }
  }

  /** The one-channel cases run the one-channel kernel; its neighbours outside the fit do not. */
  @Test
  void oneChannelKernelRunsWhereItFits() {
    int isa = ConvkitNative.ck_best_isa();
    for (Case cs : oneChannelCases(new Random(3))) {
      String v = ConvkitNative.ck_conv_nhwc_variant(isa, cs.geom(), 1);
      assertTrue(v.startsWith("f32_conv_nhwc_c1_16x6"), cs + ": " + v);
    }
    Case[] outside = {
        new Case(1, 1, 13, 8, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, true, false, Activation.NONE,
            false), // 13 outputs
        new Case(1, 1, 6, 8, 8, 3, 3, 1, 1, 0, 1, 0, 1, 1, 1, true, false, Activation.NONE,
            false), // horizontal padding
        new Case(1, 1, 6, 9, 9, 3, 3, 1, 2, 0, 0, 0, 0, 1, 1, true, false, Activation.NONE,
            false), // stride 2 along W
        new Case(1, 1, 6, 9, 9, 3, 3, 1, 1, 0, 0, 0, 0, 1, 2, true, false, Activation.NONE,
            false), // dilation 2 along W
        new Case(1, 2, 6, 8, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, true, false, Activation.NONE,
            false)}; // two channels
    for (Case cs : outside) {
      String v = ConvkitNative.ck_conv_nhwc_variant(isa, cs.geom(), 1);
      assertFalse(v.contains("c1_16x6"), cs + ": " + v);
    }
    Case grouped = new Case(1, 1, 6, 8, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, true, false,
        Activation.NONE, false).grouped(2);
    assertFalse(ConvkitNative.ck_conv_nhwc_variant(isa, grouped.geom(), 2).contains("c1_16x6"));
  }

  /** Each output width 1..13 occurs, and so do the kernel sizes, strides, acts and options. */
  @Test
  void coversTheTails() {
    List<Case> cases = cases();
    boolean[] widths = new boolean[14];
    boolean dil = false;
    boolean asym = false;
    boolean nonSquare = false;
    boolean stride3 = false;
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Case cs : cases) {
      seen.add("act " + cs.act());
      seen.add("bias " + cs.bias());
      seen.add("res " + cs.res());
      seen.add("n " + cs.n());
      seen.add("grouped " + (cs.groups() > 1) + (cs.inf() ? " inf" : ""));
      seen.add("sh " + cs.sh());
      seen.add("sw " + cs.sw());
      seen.add("r " + cs.r());
      seen.add("s " + cs.s());
      if (cs.ow() <= 13) {
        widths[cs.ow()] = true;
      }
      dil |= cs.dh() == 2 || cs.dw() == 2;
      asym |= cs.pt() != cs.pb() || cs.pl() != cs.pr();
      nonSquare |= cs.r() != cs.s();
      stride3 |= cs.sh() == 3 || cs.sw() == 3;
    }
    for (int ow = 1; ow <= 13; ow++) {
      assertTrue(widths[ow], "width " + ow);
    }
    assertTrue(dil && asym && nonSquare && stride3);
    for (Activation a : Activation.values()) {
      assertTrue(seen.contains("act " + a), "act " + a);
    }
    for (String want : new String[] {"bias true", "bias false", "res true", "res false", "n 2",
        "grouped true", "grouped true inf", "sh 1", "sh 2", "sh 3", "sw 1", "sw 2", "sw 3"}) {
      assertTrue(seen.contains(want), want);
    }
    for (int k : KS) {
      assertTrue(seen.contains("r " + k) && seen.contains("s " + k), "kernel size " + k);
    }
  }
}
