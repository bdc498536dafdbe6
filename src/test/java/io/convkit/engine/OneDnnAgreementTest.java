package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.convkit.bench.OneDnnConv;
import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.Planner;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Our CPU engine and our reference engine against oneDNN, an independent implementation, on
 * seeded-random specs and a few realistic layers; and oneDNN's fastest layout (the benchmark
 * peer) against oneDNN on plain NCHW.
 *
 * <p>Tolerance, derived rather than tuned. Each output is a sum of K = (in/groups)*kh*kw
 * products plus the bias. A float32 sum of n terms in any order, blocking, with or without FMA,
 * is off from the exact value by at most gamma(n) * sum|terms| with gamma(n) = n*u/(1-n*u),
 * u = 2^-24 (Higham, section 3.1); the products add at most u each, so one float32 result errs
 * by at most about (K+1)*u*(|b| + M) where M = sum_k |w_k x_k| (the reference engine, float64
 * then rounded once, errs by at most u*(|b| + M)). Two results therefore differ by at most
 * 2*(K+1)*u*(|b| + M); we allow twice that, 4*(K+1)*u*(|b| + M), to cover gamma's denominator
 * and the float32 rounding of M itself, plus the smallest normal float for underflow. ReLU and
 * ReLU6 are 1-Lipschitz, so they never widen a difference; sigmoid, swish and GELU widen it by at
 * most max|f'| ({@link Activation#lipschitz}, at most 1.13), and each side evaluates them
 * approximately: each within {@link Tolerance#EVAL_ULPS} u * (|y| + 1) (oneDNN's eltwise ops
 * are documented to few-ulp accuracy in f32), so twice that is added. M is computed per output by
 * oneDNN itself: the same geometry without bias or activation on |w| and |x|.
 */
class OneDnnAgreementTest {
  static final long SEED = 0x0DD1_5EEDL;
  static final int RANDOM_CASES = 64;
  static final double U = Math.scalb(1.0, -24);

  private Engine cpu;
  private Engine reference;

  @BeforeEach
  void setUp() {
    assumeTrue(OneDnnConv.available(), "oneDNN presets do not load on this machine");
    cpu = Engines.cpu();
    reference = Engines.reference();
  }

  @AfterEach
  void tearDown() {
    if (cpu != null) {
      cpu.close();
    }
    if (reference != null) {
      reference.close();
    }
  }

  /** One case: spec, input shape and data. */
  record Case(String id, ConvSpec spec, Shape input, float[] x, float[] w, float[] b) {
    @Override
    public String toString() {
      return id + " " + spec + " on " + input;
    }
  }

  @Test
  void randomSpecsAgreeWithOneDnn() {
    Random rnd = new Random(SEED);
    List<String> failures = new ArrayList<>();
    Set<Activation> activations = EnumSet.noneOf(Activation.class);
    int depthwise1 = 0;
    int depthwise2 = 0;
    int grouped = 0;
    int dense = 0;
    int made = 0;
    int attempts = 0;
    while (made < RANDOM_CASES) {
      if (++attempts > 100_000) {
        fail("could only draw " + made + " valid random specs");
      }
      Case c = randomCase(rnd, made);
      if (c == null) {
        continue;
      }
      made++;
      activations.add(c.spec().activation());
      int g = c.spec().groups();
      if (g == 1) {
        dense++;
      } else if (g == c.spec().inChannels() && c.spec().outChannels() == g) {
        depthwise1++;
      } else if (g == c.spec().inChannels() && c.spec().outChannels() == 2 * g) {
        depthwise2++;
      } else {
        grouped++;
      }
      compare(c, failures);
    }
    assertEquals(EnumSet.allOf(Activation.class), activations, "every activation drawn");
    assertTrue(dense > 0 && depthwise1 > 0 && depthwise2 > 0 && grouped > 0,
        "every kind of grouping drawn: dense " + dense + ", depthwise x1 " + depthwise1
            + ", depthwise x2 " + depthwise2 + ", grouped " + grouped);
    assertTrue(failures.isEmpty(),
        failures.size() + " disagreement(s) with oneDNN:\n" + String.join("\n", failures));
  }

  @Test
  void realisticLayersAgreeWithOneDnn() {
    Random rnd = new Random(SEED + 1);
    List<String> failures = new ArrayList<>();
    compare(withData("ResNeXt g32 3x3", ConvSpec.builder(128, 128, 3, 3).padding(1).groups(32)
        .bias(true).activation(Activation.RELU).name("resnext_g32").build(),
        Shape.of(1, 128, 14, 14), rnd), failures);
    compare(withData("depthwise 3x3 s2", ConvSpec.builder(32, 32, 3, 3).stride(2).padding(1)
        .groups(32).bias(true).activation(Activation.RELU6).name("dw3_s2").build(),
        Shape.of(1, 32, 28, 28), rnd), failures);
    compare(withData("pointwise 1x1", ConvSpec.builder(64, 96, 1, 1).bias(true)
        .name("pw").build(), Shape.of(2, 64, 14, 14), rnd), failures);
    assertTrue(failures.isEmpty(),
        failures.size() + " disagreement(s) with oneDNN:\n" + String.join("\n", failures));
  }

  /** The benchmark peer: oneDNN in its own fastest layout gives the NCHW answer. */
  @Test
  void bestLayoutAgreesWithPlainNchw() {
    Random rnd = new Random(SEED + 2);
    List<Case> cases = List.of(
        withData("dense 3x3 64->64 on 28x28", ConvSpec.builder(64, 64, 3, 3).padding(1)
            .bias(true).activation(Activation.RELU).name("dense3x3").build(),
            Shape.of(1, 64, 28, 28), rnd),
        withData("1x1 64->128 on 28x28", ConvSpec.builder(64, 128, 1, 1).bias(true)
            .name("pw").build(), Shape.of(1, 64, 28, 28), rnd),
        withData("depthwise 3x3 64 on 28x28", ConvSpec.builder(64, 64, 3, 3).padding(1)
            .groups(64).bias(true).activation(Activation.RELU6).name("dw3").build(),
            Shape.of(1, 64, 28, 28), rnd));
    List<String> failures = new ArrayList<>();
    for (Case c : cases) {
      float[] mag = magnitudes(c);
      try (OneDnnConv plain = new OneDnnConv(c.spec(), c.input(), c.w(), c.b(), false);
          OneDnnConv best = new OneDnnConv(c.spec(), c.input(), c.w(), c.b(), true)) {
        float[] yPlain = plain.run(c.x());
        float[] yBest = best.run(c.x());
        float[] again = best.run(c.x()); // run() must be repeatable (no stale reorders)
        best.execute(); // the benchmark path: must run and leave the buffers consistent
        System.out.printf("oneDNN %s: plain NCHW -> %s, any -> %s%n", c.id(),
            plain.implementation(), best.implementation());
        assertFalse(best.implementation().isBlank(), "implementation name");
        String v = violation(c, yPlain, yBest, mag);
        if (v != null) {
          failures.add("any layout (" + best.implementation() + ") vs NCHW ("
              + plain.implementation() + ") on " + c + ": " + v);
        }
        String r = violation(c, yBest, again, mag);
        if (r != null) {
          failures.add("second run() of " + c + " differs: " + r);
        }
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  /** The comparison has teeth: swapping left and right padding must be caught. */
  @Test
  void comparisonCatchesAWrongAnswer() {
    Random rnd = new Random(SEED + 3);
    Case good = withData("pads 0,2,1,0", ConvSpec.builder(3, 4, 3, 3).padding(0, 2, 1, 0)
        .name("asym").build(), Shape.of(1, 3, 9, 9), rnd);
    ConvSpec swapped = ConvSpec.builder(3, 4, 3, 3).padding(1, 0, 0, 2).name("swapped").build();
    float[] mag = magnitudes(good);
    float[] expected;
    try (OneDnnConv dnn = new OneDnnConv(good.spec(), good.input(), good.w(), null, false)) {
      expected = dnn.run(good.x());
    }
    assertNull(violation(good, expected, ours(good, reference), mag), "the right answer passes");
    Case wrong = new Case("swapped", swapped, good.input(), good.x(), good.w(), null);
    assertNotNull(violation(good, expected, ours(wrong, reference), mag),
        "an answer with the paddings swapped must fail the comparison");
  }

  @Test
  void connectionTablesAreRejected() {
    boolean[][] table = {{true, false}, {false, true}, {true, true}};
    ConvSpec spec = ConvSpec.builder(2, 3, 3, 3).connections(table).build();
    assertThrows(IllegalArgumentException.class, () -> new OneDnnConv(spec, Shape.of(1, 2, 5, 5),
        new float[(int) spec.denseWeightCount()], null, false));
  }

  // ---------------------------------------------------------------------------------------

  /** Runs our CPU and reference engines and oneDNN (NCHW) on a case; records disagreements. */
  private void compare(Case c, List<String> failures) {
    float[] mag = magnitudes(c);
    float[] dnn;
    String impl;
    try (OneDnnConv o = new OneDnnConv(c.spec(), c.input(), c.w(), c.b(), false)) {
      dnn = o.run(c.x());
      impl = o.implementation();
    }
    ConvPlan plan = Planner.plan(c.spec(), c.input());
    String cpuV = violation(c, dnn, ours(c, cpu), mag);
    String refV = violation(c, dnn, ours(c, reference), mag);
    if (cpuV != null || refV != null) {
      failures.add(c + " [ours: " + plan.algorithm() + " / " + plan.kernel() + "; oneDNN: " + impl
          + "]\n    cpu engine: " + (cpuV == null ? "agrees" : cpuV)
          + "\n    reference engine: " + (refV == null ? "agrees" : refV));
    }
  }

  private static float[] ours(Case c, Engine engine) {
    Shape s = c.input();
    try (Conv2d conv = new Conv2d(c.spec(), c.w(), c.b());
        Tensor x = Tensor.of(c.x(), s.n(), s.c(), s.h(), s.w());
        Tensor y = conv.forward(x, engine)) {
      return y.toArray();
    }
  }

  /** M per output: sum_k |w_k x_k|, by oneDNN on the same geometry without bias or activation. */
  private static float[] magnitudes(Case c) {
    ConvSpec s = c.spec();
    ConvSpec abs = ConvSpec.builder(s.inChannels(), s.outChannels(), s.kernelH(), s.kernelW())
        .stride(s.strideH(), s.strideW())
        .padding(s.padTop(), s.padLeft(), s.padBottom(), s.padRight())
        .dilation(s.dilationH(), s.dilationW()).groups(s.groups()).name(s.name() + "_abs").build();
    try (OneDnnConv o = new OneDnnConv(abs, c.input(), abs(c.w()), null, false)) {
      return o.run(abs(c.x()));
    }
  }

  /** Null when every output is within the bound, else the first offending output described. */
  static String violation(Case c, float[] expected, float[] actual, float[] mag) {
    Shape out = c.spec().outputShape(c.input());
    if (expected.length != actual.length || expected.length != out.elements()) {
      return "output length " + actual.length + ", expected " + expected.length + " (" + out + ")";
    }
    int k = c.spec().inChannelsPerGroup() * c.spec().kernelH() * c.spec().kernelW();
    int hw = out.h() * out.w();
    for (int i = 0; i < expected.length; i++) {
      int ch = (i / hw) % out.c();
      double b = c.b() == null ? 0 : Math.abs(c.b()[ch]);
      Activation act = c.spec().activation();
      double m = b + mag[i];
      double tol = act.lipschitz() * 4.0 * (k + 1) * U * m + Float.MIN_NORMAL;
      if (!Tolerance.exact(act)) {
        tol += 2 * Tolerance.EVAL_ULPS * U * (m + 1);
      }
      double diff = Math.abs((double) expected[i] - actual[i]);
      if (!(diff <= tol)) {
        int n = i / (hw * out.c());
        int p = i % hw;
        return String.format("output [n=%d, c=%d, y=%d, x=%d] is %s, oneDNN %s: |diff| %.3g > "
            + "bound %.3g (K=%d)", n, ch, p / out.w(), p % out.w(), actual[i], expected[i], diff,
            tol, k);
      }
    }
    return null;
  }

  /** A random spec (null when the draw is invalid) with random data. */
  private static Case randomCase(Random r, int index) {
    int kind = index % 4; // dense, depthwise x1, depthwise x2, grouped
    int in;
    int out;
    int groups;
    switch (kind) {
      case 0 -> {
        in = 1 + r.nextInt(20);
        out = 1 + r.nextInt(20);
        groups = 1;
      }
      case 1 -> {
        in = 1 + r.nextInt(20);
        out = in;
        groups = in;
      }
      case 2 -> {
        in = 1 + r.nextInt(10);
        out = 2 * in;
        groups = in;
      }
      default -> {
        groups = 2 + r.nextInt(3);
        in = groups * (1 + r.nextInt(20 / groups));
        out = groups * (1 + r.nextInt(20 / groups));
      }
    }
    int kh = 1 + r.nextInt(5);
    int kw = 1 + r.nextInt(5);
    int sh = 1 + r.nextInt(3);
    int sw = 1 + r.nextInt(3);
    int dh = 1 + r.nextInt(2);
    int dw = 1 + r.nextInt(2);
    int pt = r.nextInt(3);
    int pl = r.nextInt(3);
    int pb = r.nextInt(3);
    int pr = r.nextInt(3);
    int n = 1 + r.nextInt(2);
    int h = 1 + r.nextInt(20);
    int w = 1 + r.nextInt(20);
    boolean bias = r.nextBoolean();
    Activation act = Activation.values()[index % Activation.values().length];
    ConvSpec spec;
    Shape input = Shape.of(n, in, h, w);
    try {
      spec = ConvSpec.builder(in, out, kh, kw).stride(sh, sw).padding(pt, pl, pb, pr)
          .dilation(dh, dw).groups(groups).bias(bias).activation(act).name("random" + index)
          .build();
      Planner.plan(spec, input);
    } catch (IllegalArgumentException invalid) {
      return null;
    }
    return withData("#" + index, spec, input, r);
  }

  private static Case withData(String id, ConvSpec spec, Shape input, Random r) {
    float[] x = uniform(r, (int) input.elements());
    float[] w = uniform(r, (int) spec.denseWeightCount());
    float[] b = spec.hasBias() ? uniform(r, spec.outChannels()) : null;
    return new Case(id, spec, input, x, w, b);
  }

  private static float[] uniform(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = 2 * r.nextFloat() - 1;
    }
    return a;
  }

  private static float[] abs(float[] a) {
    float[] b = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = Math.abs(a[i]);
    }
    return b;
  }
}
