package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.nativ.ConvkitNative;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU engine's Winograd implementations (nhwc_winograd_f4, nhwc_winograd_f2) forced on
 * shapes that hit every tail: channel counts below, at and past multiples of 8, images smaller
 * than a tile and not a multiple of it, any padding, batches, chunks, both ISAs; against the
 * reference within the derived bound ({@link Tolerance#winogradRoundings}); the accuracy
 * criterion on realistic data; non-finite values where the direct kernel puts them; the
 * precision option; the planner's choice.
 */
class WinogradTest {
  private static final List<String> VARIANTS = List.of("nhwc_winograd_f4", "nhwc_winograd_f2");

  private static List<Isa> isas() {
    return java.util.Arrays.stream(Isa.values()).filter(Isa::supported).toList();
  }

  private static float[] run(Engine e, Conv2d conv, float[] x, Shape in) {
    try (Tensor t = ConvCheck.nhwc(x, in.dims()); Tensor y = conv.forward(t, e)) {
      assertEquals(Layout.NHWC, y.layout());
      return y.toArray();
    }
  }

  /** Random shapes: C and K in 1..40, images 1..19 a side, padding 0..2 per side, batch 1..3. */
  @Test
  void randomShapesMatchTheReferenceWithinTheDerivedBound() {
    Random rnd = new Random(20261201L);
    Activation[] acts = {Activation.NONE, Activation.RELU, Activation.SWISH, Activation.TANH};
    int ran = 0;
    try (Engine ref = Engines.reference()) {
      for (int i = 0; i < 48; i++) {
        int c = 1 + rnd.nextInt(i < 8 ? 8 : 40);
        int k = 1 + rnd.nextInt(i < 8 ? 8 : 40);
        int h = 1 + rnd.nextInt(19);
        int w = 1 + rnd.nextInt(19);
        int pt = rnd.nextInt(3);
        int pl = rnd.nextInt(3);
        int pb = rnd.nextInt(3);
        int pr = rnd.nextInt(3);
        if (h + pt + pb < 3 || w + pl + pr < 3) {
          continue;
        }
        Shape in = Shape.of(1 + rnd.nextInt(3), c, h, w);
        ConvSpec spec = ConvSpec.builder(c, k, 3, 3).padding(pt, pl, pb, pr)
            .bias(rnd.nextBoolean()).activation(acts[rnd.nextInt(acts.length)]).build();
        check(spec, in, 100 + i, ref);
        ran++;
      }
    }
    assertTrue(ran > 36, "ran " + ran);
  }

  /** A layer whose tiles outgrow one chunk (several chunks of three phases each). */
  @Test
  void layersOfSeveralChunksMatchTheReference() {
    ConvSpec spec = ConvSpec.builder(24, 20, 3, 3).padding(1).bias(true).build();
    Shape in = Shape.of(2, 24, 96, 105);
    // The geometry in native/convkit.h's order: N C H W K OH OW R S SH SW PT PL PB PR DH DW.
    long[] g = {2, 24, 96, 105, 20, 96, 105, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int m : new int[] {4, 2}) {
      assertTrue(ConvkitNative.ck_wino_nhwc_chunks(g, m) > 1, "F(" + m + ") in one chunk");
    }
    try (Engine ref = Engines.reference()) {
      check(spec, in, 7, ref);
    }
  }

  private static void check(ConvSpec spec, Shape in, long seed, Engine ref) {
    float[] w = ConvCases.data(seed, spec.denseWeightCount());
    float[] b = spec.hasBias() ? ConvCases.data(seed + 1, spec.outChannels()) : null;
    float[] x = ConvCases.data(seed + 2, in.elements());
    try (Conv2d conv = new Conv2d(spec, w, b); Tensor xn = Tensor.of(x, in.dims());
        Tensor yr = conv.forward(xn, ref)) {
      float[] want = yr.toArray();
      ConvPlan plan = conv.plan(in);
      for (Isa isa : isas()) {
        for (String v : VARIANTS) {
          try (Engine e = new CpuEngine(2, isa, Layout.NHWC, v, Precision.FAST)) {
            assertTrue(e.implementation(plan, Layout.NHWC).startsWith(v));
            Tolerance.assertClose(spec + " " + in + " " + v + " " + isa, e, Layout.NHWC, plan,
                conv.weights(), x, want, run(e, conv, x, in));
          }
        }
      }
    }
  }

  /**
   * The criterion for the default: with He-initialised weights and ReLU'd normal inputs,
   * max |diff| <= 1e-4 max |reference| on layers shaped like the suite's (smaller images).
   */
  @Test
  void realisticLayersStayWithinOneTenThousandthOfTheLargestOutput() {
    int[][] layers = {{64, 64, 28}, {128, 128, 14}, {96, 128, 14}, {256, 256, 7}};
    Random rnd = new Random(5);
    try (Engine ref = Engines.reference()) {
      for (int[] l : layers) {
        int c = l[0];
        int k = l[1];
        Shape in = Shape.of(1, c, l[2], l[2]);
        float[] w = new float[k * c * 9];
        double he = Math.sqrt(2.0 / (9 * c));
        for (int i = 0; i < w.length; i++) {
          w[i] = (float) (he * rnd.nextGaussian());
        }
        float[] x = new float[(int) in.elements()];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) Math.max(0, rnd.nextGaussian());
        }
        ConvSpec spec = ConvSpec.builder(c, k, 3, 3).padding(1).build();
        try (Conv2d conv = new Conv2d(spec, w, null); Tensor xn = Tensor.of(x, in.dims());
            Tensor yr = conv.forward(xn, ref)) {
          float[] want = yr.toArray();
          double max = 0;
          for (float v : want) {
            max = Math.max(max, Math.abs(v));
          }
          for (String v : VARIANTS) {
            try (Engine e = new CpuEngine(1, Isa.best(), Layout.NHWC, v, Precision.FAST)) {
              float[] got = run(e, conv, x, in);
              double err = 0;
              for (int i = 0; i < got.length; i++) {
                double d = Math.abs((double) got[i] - want[i]);
                err = d > err || Double.isNaN(d) ? d : err;
              }
              assertTrue(err <= 1e-4 * max, v + " on " + spec + ": max |diff| " + err
                  + " > 1e-4 x " + max);
            }
          }
        }
      }
    }
  }

  /**
   * A NaN, an infinity of each sign and a huge finite input spread through a whole Winograd
   * tile (and Inf - Inf gives NaN); the kernel recomputes such tiles directly, so every output is
   * non-finite exactly where nhwc_dense's is, with the same sign, and finite ones agree within
   * the bound.
   */
  @Test
  void nonFiniteInputsLandWhereTheDirectKernelPutsThem() {
    ConvSpec spec = ConvSpec.builder(11, 9, 3, 3).padding(1).bias(true)
        .activation(Activation.RELU).build();
    Shape in = Shape.of(2, 11, 13, 10);
    float[] w = ConvCases.data(41, spec.denseWeightCount());
    float[] b = ConvCases.data(42, 9);
    float[] x = ConvCases.data(43, in.elements());
    x[5 * 130 + 3 * 10 + 4] = Float.NaN; // image 0, channel 5, (3, 4)
    x[(11 + 2) * 130 + 9 * 10 + 9] = Float.POSITIVE_INFINITY; // image 1, channel 2, (9, 9)
    x[(11 + 7) * 130 + 9 * 10 + 8] = Float.NEGATIVE_INFINITY; // image 1, channel 7, (9, 8)
    x[3 * 130 + 12 * 10] = 3e38f; // image 0, overflows once transformed
    try (Conv2d conv = new Conv2d(spec, w, b);
        Engine dense = new CpuEngine(1, Isa.best(), Layout.NHWC, "nhwc_dense", Precision.FAST)) {
      float[] want = run(dense, conv, x, in);
      int nonFinite = 0;
      for (float v : want) {
        nonFinite += Float.isFinite(v) ? 0 : 1;
      }
      assertTrue(nonFinite > 20, "non-finite outputs " + nonFinite);
      for (Isa isa : isas()) {
        for (String v : VARIANTS) {
          try (Engine e = new CpuEngine(2, isa, Layout.NHWC, v, Precision.FAST)) {
            Tolerance.assertSameNonFinite(v + " " + isa, want, run(e, conv, x, in));
          }
        }
      }
    }
  }

  /** A non-finite weight: the layer runs nhwc_dense instead, bit for bit. */
  @Test
  void aNonFiniteWeightRunsTheDirectKernel() {
    ConvSpec spec = ConvSpec.builder(8, 8, 3, 3).padding(1).build();
    Shape in = Shape.of(1, 8, 9, 9);
    float[] w = ConvCases.data(51, spec.denseWeightCount());
    w[100] = Float.POSITIVE_INFINITY;
    float[] x = ConvCases.data(52, in.elements());
    try (Conv2d conv = new Conv2d(spec, w, null);
        Engine dense = new CpuEngine(1, Isa.best(), Layout.NHWC, "nhwc_dense", Precision.FAST);
        Engine wino = new CpuEngine(1, Isa.best(), Layout.NHWC, "nhwc_winograd_f4",
            Precision.FAST)) {
      assertArrayEquals(run(dense, conv, x, in), run(wino, conv, x, in));
    }
  }

  /** The fused residual and activation: act(conv + r) within the bound for one more rounding. */
  @Test
  void theResidualIsAddedBeforeTheActivation() {
    ConvSpec spec = ConvSpec.builder(19, 21, 3, 3).padding(1).bias(true).build();
    Shape in = Shape.of(2, 19, 11, 14);
    float[] w = ConvCases.data(61, spec.denseWeightCount());
    float[] b = ConvCases.data(62, 21);
    float[] x = ConvCases.data(63, in.elements());
    try (Conv2d conv = new Conv2d(spec, w, b); Engine ref = Engines.reference();
        Tensor xn = Tensor.of(x, in.dims()); Tensor y0 = conv.forward(xn, ref)) {
      ConvPlan plan = conv.plan(in);
      float[] conv0 = y0.toArray();
      float[] r = ConvCases.data(64, plan.output().elements());
      float[] mag = ReferenceEngine.magnitudes(plan, conv.weights(), x);
      for (String v : VARIANTS) {
        int m = Tolerance.winogradTile(v);
        double[] mw = Tolerance.winogradMagnitudes(m, plan, conv.weights(), x);
        try (Engine e = new CpuEngine(2, Isa.best(), Layout.NHWC, v, Precision.FAST);
            Tensor xh = ConvCheck.nhwc(x, in.dims());
            Tensor rh = ConvCheck.nhwc(r, plan.output().dims());
            Tensor y = Tensor.allocate(plan.output(), Device.HOST, Layout.NHWC)) {
          assertTrue(e.fusesResidual(plan, Layout.NHWC));
          e.convolveAdd(plan, conv.weights(), xh, rh, y, Activation.RELU);
          float[] got = y.toArray();
          for (int i = 0; i < got.length; i++) {
            double want = Activation.RELU.apply((double) conv0[i] + r[i]);
            double tol = Math.max(Tolerance.bound(plan.gemmK() + 1, mag[i] + Math.abs(r[i]),
                Activation.RELU), Tolerance.boundForRoundings(Tolerance.winogradRoundings(19) + 1,
                mw[i] + Math.abs(r[i]), Activation.RELU));
            if (!(Math.abs(want - got[i]) <= tol)) {
              fail(v + ": output " + i + " is " + got[i] + ", want " + want + ", bound " + tol);
            }
          }
        }
      }
    }
  }

  /** EXACT never runs Winograd; FAST picks it where the estimates say it is faster. */
  @Test
  void precisionAndThePlannersChoice() {
    ConvSpec big = ConvSpec.builder(256, 256, 3, 3).padding(1).build();
    ConvPlan p = new Conv2d(big, new float[256 * 256 * 9], null).plan(Shape.of(1, 256, 56, 56));
    ConvSpec tiny = ConvSpec.builder(4, 4, 3, 3).padding(1).build();
    ConvPlan t = new Conv2d(tiny, new float[144], null).plan(Shape.of(1, 4, 6, 6));
    try (Engine fast = Engines.cpu(1, Precision.FAST);
        Engine exact = Engines.cpu(1, Precision.EXACT)) {
      assertTrue(fast.implementation(p, Layout.NHWC).startsWith("nhwc_winograd_f4"),
          fast.implementation(p, Layout.NHWC));
      assertTrue(exact.implementation(p, Layout.NHWC).startsWith("nhwc_dense"),
          exact.implementation(p, Layout.NHWC));
      assertTrue(fast.implementation(t, Layout.NHWC).startsWith("nhwc_dense"),
          CpuEngine.misfits(t, Layout.NHWC));
      assertTrue(exact.name().contains("exact"), exact.name());
    }
    String why = CpuEngine.misfits(p, Layout.NHWC, Precision.EXACT, Isa.best());
    assertTrue(why.startsWith("nhwc_winograd_f4: precision EXACT"), why);
    assertTrue(CpuEngine.misfits(t, Layout.NHWC).contains("nhwc_winograd_f2: estimated"));
    ConvSpec strided = ConvSpec.builder(8, 8, 3, 3).stride(2).padding(1).build();
    ConvPlan s = new Conv2d(strided, new float[576], null).plan(Shape.of(1, 8, 9, 9));
    assertTrue(CpuEngine.misfits(s, Layout.NHWC).contains(
        "nhwc_winograd_f4: not 3x3, stride 1, undilated"));
    try (Engine forced = new CpuEngine(1, Isa.best(), Layout.NHWC, "nhwc_winograd_f4",
        Precision.EXACT)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> forced.implementation(p, Layout.NHWC));
      assertTrue(e.getMessage().contains("precision EXACT"), e.getMessage());
    }
  }
}
