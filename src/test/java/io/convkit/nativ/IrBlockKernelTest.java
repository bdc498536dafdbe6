package io.convkit.nativ;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.testing.ConvCases;
import io.convkit.testing.GuardedSplits;
import io.convkit.testing.Isas;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The fused inverted-residual kernel (ck_ir_nhwc) called directly, on both ISAs, against the
 * three kernels it fuses run one after the other on whole tensors (ck_conv_nhwc, ck_dw_nhwc,
 * ck_conv_nhwc with the residual). The band kernel runs those same kernels on band-sized
 * geometries, so every output must be bit for bit the same: with and without expand, strides 1
 * and 2, 3x3 and 5x5 windows, without project (EfficientNet's expand + depthwise), dilation, asymmetric vertical padding, channel tails, several
 * bands per image (wide rows of many channels), batch 2, NaN and infinite inputs. Also: any task
 * split gives the same bits, and nothing outside the output or the worker's scratch is written.
 */
class IrBlockKernelTest {

  record Case(int n, int cin, int ce, int cout, int h, int w, int r, int s, int sh, int sw,
      int pt, int pl, int pb, int pr, int dh, int dw, boolean expand, boolean project,
      boolean res, Activation ae, Activation ad, Activation ap, boolean nan) {
    int oh() {
      return (h + pt + pb - ((r - 1) * dh + 1)) / sh + 1;
    }

    int ow() {
      return (w + pl + pr - ((s - 1) * dw + 1)) / sw + 1;
    }

    int dwIn() {
      return expand ? ce : cin;
    }

    long[] ge() {
      return pointwise(n, cin, ce, h, w);
    }

    long[] gd() {
      int c = dwIn();
      return new long[] {n, c, h, w, c, oh(), ow(), r, s, sh, sw, pt, pl, pb, pr, dh, dw};
    }

    long[] gp() {
      return pointwise(n, dwIn(), Math.max(1, cout), oh(), ow());
    }

    /** Channels per output pixel: the project's, or the depthwise's without project. */
    int outC() {
      return project ? cout : dwIn();
    }
  }

  private static long[] pointwise(int n, int c, int k, int h, int w) {
    return new long[] {n, c, h, w, k, h, w, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
  }

  static List<Case> cases() {
    Random rnd = new Random(20261202);
    Activation[] acts = Activation.values();
    List<Case> out = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      int r = rnd.nextBoolean() ? 3 : 5;
      int s = rnd.nextInt(4) == 0 ? 5 : 3;
      int sh = 1 + rnd.nextInt(2);
      int sw = 1 + rnd.nextInt(2);
      int dh = rnd.nextInt(5) == 0 ? 2 : 1;
      int dw = rnd.nextInt(5) == 0 ? 2 : 1;
      int effR = (r - 1) * dh + 1;
      int effS = (s - 1) * dw + 1;
      int pt = rnd.nextInt(effR);
      int pb = rnd.nextInt(effR);
      int pl = rnd.nextInt(Math.min(effS, 3));
      int pr = rnd.nextInt(Math.min(effS, 3));
      // Every third case wide enough (rows of many channels) that an image takes many bands.
      boolean wide = i % 3 == 0;
      int ce = wide ? 120 + rnd.nextInt(90) : 1 + rnd.nextInt(40);
      int w = Math.max(effS, (wide ? 30 : 1) + rnd.nextInt(wide ? 30 : 20));
      int h = Math.max(effR, 1 + rnd.nextInt(wide ? 40 : 20));
      boolean expand = i % 4 != 1;
      boolean project = i % 4 != 2; // expand + depthwise alone (EfficientNet)
      int cin = expand ? 1 + rnd.nextInt(30) : ce;
      Case c = new Case(1 + rnd.nextInt(2), cin, ce, 1 + rnd.nextInt(33), h, w, r, s, sh, sw,
          pt, pl, pb, pr, dh, dw, expand, project, project && rnd.nextBoolean(),
          acts[rnd.nextInt(acts.length)],
          acts[rnd.nextInt(acts.length)], acts[rnd.nextInt(acts.length)], i % 7 == 6);
      if (c.oh() >= 1 && c.ow() >= 1) {
        out.add(c);
      }
    }
    // MobileNet v2's block 2 (stride 2) and block 3 (stride 1, residual) at their real sizes.
    out.add(new Case(1, 16, 96, 24, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, true, false,
        Activation.RELU6, Activation.RELU6, Activation.NONE, false));
    out.add(new Case(1, 24, 144, 24, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, true, true,
        Activation.RELU6, Activation.RELU6, Activation.NONE, false));
    // EfficientNet-B0's block 2 up to its squeeze-excitation: expand + depthwise, swish.
    out.add(new Case(1, 16, 96, 0, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, false, false,
        Activation.SWISH, Activation.SWISH, Activation.NONE, false));
    return out;
  }

  @Test
  void casesHaveSeveralBandsAndBothForms() {
    List<Case> cases = cases();
    int multiBand = 0;
    int noExpand = 0;
    int noProject = 0;
    for (Case c : cases) {
      long tasks = ConvkitNative.ck_ir_nhwc_tasks(c.gd(), c.expand() ? 1 : 0,
          c.project() ? 1 : 0);
      assertTrue(tasks >= c.n(), c + ": " + tasks + " tasks");
      if (tasks >= 3L * c.n()) {
        multiBand++;
      }
      if (!c.expand()) {
        noExpand++;
      }
      if (!c.project()) {
        noProject++;
      }
    }
    assertTrue(multiBand >= 10, "cases with 3+ bands per image: " + multiBand);
    assertTrue(noExpand >= 5, "cases without expand: " + noExpand);
    assertTrue(noProject >= 5, "cases without project: " + noProject);
  }

  @Test
  void matchesTheUnfusedKernelsBitForBit() {
    int[] isas = Isas.codes();
    for (int isa : isas) {
      Random rnd = new Random(11 + isa);
      for (Case c : cases()) {
        check(isa, c, rnd);
      }
    }
  }

  private static FloatPointer packDense(long[] g, float[] w) {
    FloatPointer p = new FloatPointer(ConvkitNative.ck_conv_nhwc_packed_floats(g, 1));
    try (FloatPointer wp = new FloatPointer(w)) {
      ConvkitNative.ck_conv_nhwc_pack(g, 1, wp, p);
    }
    return p;
  }

  private static void check(int isa, Case c, Random rnd) {
    long[] ge = c.ge();
    long[] gd = c.gd();
    long[] gp = c.gp();
    int dwc = c.dwIn();
    int inLen = c.n() * c.h() * c.w() * c.cin();
    int eLen = c.n() * c.h() * c.w() * dwc;
    int dLen = c.n() * c.oh() * c.ow() * dwc;
    int outLen = c.n() * c.oh() * c.ow() * c.outC();
    float[] x = ConvCases.data(rnd.nextLong(), inLen);
    if (c.nan()) {
      x[rnd.nextInt(inLen)] = Float.NaN;
      x[rnd.nextInt(inLen)] = Float.POSITIVE_INFINITY;
    }
    float[] we = ConvCases.data(rnd.nextLong(), c.ce() * c.cin());
    float[] wd = ConvCases.data(rnd.nextLong(), dwc * c.r() * c.s());
    float[] wpw = ConvCases.data(rnd.nextLong(), Math.max(1, c.cout()) * dwc);
    float[] be = ConvCases.data(rnd.nextLong(), c.ce());
    float[] bd = ConvCases.data(rnd.nextLong(), dwc);
    float[] bp = ConvCases.data(rnd.nextLong(), Math.max(1, c.cout()));
    float[] res = c.res() ? ConvCases.data(rnd.nextLong(), outLen) : null;
    int ex = c.expand() ? 1 : 0;
    int pr = c.project() ? 1 : 0;
    try (FloatPointer xp = new FloatPointer(x);
        FloatPointer pe = packDense(ge, we);
        FloatPointer pp = packDense(gp, wpw);
        FloatPointer pd = new FloatPointer(ConvkitNative.ck_dw_nhwc_packed_floats(gd));
        FloatPointer wdp = new FloatPointer(wd);
        FloatPointer bep = new FloatPointer(be);
        FloatPointer bdp = new FloatPointer(bd);
        FloatPointer bpp = new FloatPointer(bp);
        FloatPointer rp = res == null ? null : new FloatPointer(res);
        FloatPointer e = new FloatPointer(Math.max(1, eLen));
        FloatPointer d = new FloatPointer(dLen);
        FloatPointer want = new FloatPointer(outLen)) {
      ConvkitNative.ck_dw_nhwc_pack(gd, wdp, pd);
      // Unfused, on whole tensors.
      FloatPointer dwIn = xp;
      if (c.expand()) {
        ConvkitNative.ck_conv_nhwc(isa, ge, 1, xp, pe, bep, null, e, c.ae().code(), 0,
            ConvkitNative.ck_conv_nhwc_tasks(ge, 1), null);
        dwIn = e;
      }
      ConvkitNative.ck_dw_nhwc(isa, gd, dwIn, pd, bdp, c.project() ? d : want, c.ad().code(), 0,
          ConvkitNative.ck_dw_nhwc_tasks(gd), null);
      if (c.project()) {
        ConvkitNative.ck_conv_nhwc(isa, gp, 1, d, pp, bpp, rp, want, c.ap().code(), 0,
            ConvkitNative.ck_conv_nhwc_tasks(gp, 1), null);
      }
      float[] expected = new float[outLen];
      want.get(expected);
      long tasks = ConvkitNative.ck_ir_nhwc_tasks(gd, ex, pr);
      long[][] splits = {{}, {1}, {tasks / 2}, {tasks - 1}, {tasks / 3, 2 * tasks / 3}};
      for (long[] sp : splits) {
        float[] got = runFused(isa, c, xp, pe, bep, pd, bdp, pp, bpp, rp, outLen, tasks, sp);
        for (int i = 0; i < outLen; i++) {
          if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(expected[i])
              && !(Float.isNaN(got[i]) && Float.isNaN(expected[i]))) {
            fail(String.format("isa %d %s, split %s: output %d is %s, unfused %s", isa, c,
                Arrays.toString(sp), i, got[i], expected[i]));
          }
        }
      }
    }
  }

  /** Runs tasks [0, T) in the calls given by the split points, each with fresh scratch. */
  private static float[] runFused(int isa, Case c, FloatPointer xp, FloatPointer pe,
      FloatPointer bep, FloatPointer pd, FloatPointer bdp, FloatPointer pp, FloatPointer bpp,
      FloatPointer rp, int outLen, long tasks, long[] splits) {
    int ex = c.expand() ? 1 : 0;
    int pr = c.project() ? 1 : 0;
    return GuardedSplits.run(c.toString(), outLen,
        ConvkitNative.ck_ir_nhwc_scratch_floats(c.gd(), ex, pr), tasks, splits,
        (out, scratch, t0, t1) -> ConvkitNative.ck_ir_nhwc(isa, c.ge(), c.gd(), c.gp(), ex, pr,
            xp, pe, bep, c.ae().code(), pd, bdp, c.ad().code(), pp, bpp, rp, out, c.ap().code(),
            t0, t1, scratch));
  }
}
