package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ChildJvm;
import io.convkit.testing.ConvCheck;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * 10,000 seeded-random specs, weights and inputs, valid and invalid (negative and zero sizes,
 * mismatched channels and lengths, forced algorithms, closed tensors), thrown at the public API.
 * Every call must return a result or throw IllegalArgumentException / IllegalStateException: a
 * JVM crash (a native out-of-bounds access) would end the test run itself.
 */
class FuzzTest {
  @Test
  void tenThousandRandomCallsGiveResultsOrCleanExceptions() {
    Random r = new Random(42);
    int results = 0;
    int rejected = 0;
    try (Engine cpu = Engines.cpu(2)) {
      for (int i = 0; i < 10_000; i++) {
        try {
          float[] y = oneCall(r, cpu);
          for (float v : y) {
            if (!Float.isFinite(v)) {
              fail("call " + i + " produced a non-finite output " + v);
            }
          }
          results++;
        } catch (IllegalArgumentException | IllegalStateException expected) {
          assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(),
              "call " + i + ": an exception without a message");
          rejected++;
        }
      }
    }
    assertEquals(10_000, results + rejected);
    // Both kinds must occur, or the fuzzer is not exploring.
    assertTrue(results > 1_000, "only " + results + " valid calls");
    assertTrue(rejected > 1_000, "only " + rejected + " rejected calls");
  }

  /**
   * {@link Engine#convolveBlock}, seeded: random blocks (expand and project each present or not,
   * 3x3 and 5x5 depthwise, strides 1 and 2, dilation, padding sometimes as tall as the window,
   * half wide enough for the CPU's fused kernel, one-channel ends), and bad calls (a residual of the
   * wrong shape or sharing the output, an activation without a residual, a broken chain, a
   * closed input). Every call gives a clean exception or exactly the bits of its convolutions
   * run in turn on the same engine.
   */
  @Test
  void randomBlocksGiveTheirConvolutionsBitsOrCleanExceptions() {
    Random r = new Random(43);
    int fused = 0;
    int results = 0;
    int rejected = 0;
    try (Engine cpu = Engines.cpu(2)) {
      for (int i = 0; i < 600; i++) {
        try {
          fused += oneBlock(r, cpu) ? 1 : 0;
          results++;
        } catch (IllegalArgumentException | IllegalStateException expected) {
          assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(),
              "block " + i + ": an exception without a message");
          rejected++;
        }
      }
    }
    assertTrue(fused > 40, "fused blocks: " + fused);
    assertTrue(results > 200 && rejected > 100, results + " results, " + rejected + " rejected");
  }

  /** One random block call; true when it ran fused. */
  private static boolean oneBlock(Random r, Engine cpu) {
    boolean wide = r.nextBoolean();
    int ce = wide ? 60 + r.nextInt(70) : 1 + r.nextInt(20);
    int h = wide ? 40 + r.nextInt(30) : 1 + r.nextInt(12);
    int w = wide ? 40 + r.nextInt(30) : 1 + r.nextInt(12);
    boolean expand = r.nextInt(4) != 0;
    boolean project = !expand || r.nextInt(4) != 0;
    int cin = expand ? 1 + r.nextInt(8) : ce;
    int k = r.nextBoolean() ? 3 : 5;
    int dil = r.nextInt(5) == 0 ? 2 : 1;
    int effK = (k - 1) * dil + 1;
    int pad = r.nextInt(10) == 0 ? effK : (k - 1) / 2 * dil;
    int stride = 1 + r.nextInt(2);
    boolean residual = project && stride == 1 && r.nextBoolean();
    ConvSpec es = ConvSpec.builder(cin, ce, 1, 1).bias(r.nextBoolean())
        .activation(Activation.values()[r.nextInt(Activation.values().length)]).build();
    ConvSpec ds = ConvSpec.builder(ce, ce, k, k).groups(ce).stride(stride).padding(pad)
        .dilation(dil).bias(true).activation(Activation.RELU6).build();
    int cout = residual ? cin : 1 + r.nextInt(8);
    ConvSpec ps = ConvSpec.builder(ce, cout, 1, 1).bias(r.nextBoolean()).build();
    int bad = r.nextInt(8); // 0..4: one kind of bad call
    Shape in = Shape.of(1 + r.nextInt(2), cin, h, w);
    try (Conv2d e = new Conv2d(es, random(r, (int) es.denseWeightCount()), es.hasBias()
            ? random(r, ce) : null);
        Conv2d d = new Conv2d(ds, random(r, (int) ds.denseWeightCount()), random(r, ce));
        Conv2d p = new Conv2d(ps, random(r, (int) ps.denseWeightCount()), ps.hasBias()
            ? random(r, cout) : null);
        Tensor x = ConvCheck.nhwc(random(r, (int) in.elements()), in.dims())) {
      var ep = expand ? e.plan(in) : null;
      var dp = d.plan(expand ? ep.output() : in);
      var pp = project ? p.plan(bad == 2 ? Shape.of(in.n(), ce, h + 1, w) : dp.output()) : null;
      Shape out = project ? pp.output() : dp.output();
      Shape rs = bad == 0 ? Shape.of(out.n(), out.c(), out.h(), out.w() + 1) : out;
      try (Tensor y = Tensor.allocate(out, Device.HOST, Layout.NHWC);
          Tensor res = residual || bad == 0
              ? ConvCheck.nhwc(random(r, (int) rs.elements()), rs.dims()) : null) {
        if (bad == 3) {
          x.close();
        }
        Activation act = bad == 1 || residual && r.nextBoolean() ? Activation.RELU
            : Activation.NONE;
        boolean f = cpu.fusesBlock(ep, dp, pp, Layout.NHWC);
        cpu.convolveBlock(ep, expand ? e.weights() : null, dp, d.weights(), pp,
            project ? p.weights() : null, x, bad == 4 && res != null ? y : res, y, act);
        float[] got = y.toArray();
        try (Tensor ev = expand ? Tensor.allocate(ep.output(), Device.HOST, Layout.NHWC) : null;
            Tensor dv = Tensor.allocate(dp.output(), Device.HOST, Layout.NHWC)) {
          if (expand) {
            cpu.convolve(ep, e.weights(), x, ev);
          }
          cpu.convolve(dp, d.weights(), expand ? ev : x, dv);
          float[] want;
          if (!project) {
            want = dv.toArray();
          } else {
            try (Tensor z = Tensor.allocate(out, Device.HOST, Layout.NHWC)) {
              if (res != null) {
                cpu.convolveAdd(pp, p.weights(), dv, res, z, act);
              } else {
                cpu.convolve(pp, p.weights(), dv, z);
              }
              want = z.toArray();
            }
          }
          for (int i = 0; i < got.length; i++) {
            if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i])) {
              fail("block " + es + " / " + ds + " / " + ps + " on " + in + ": output " + i
                  + " is " + got[i] + ", in turn " + want[i] + (f ? " (fused)" : ""));
            }
          }
        }
        return f;
      }
    }
  }

  /** Small values, sometimes out of range: -1..6 for sizes, occasionally far off. */
  private static int small(Random r, int max) {
    int p = r.nextInt(100);
    if (p < 3) {
      return -r.nextInt(3);
    }
    return 1 + r.nextInt(max);
  }

  private static float[] oneCall(Random r, Engine cpu) {
    int groups = r.nextInt(4) == 0 ? small(r, 4) : 1;
    int in = small(r, 4) * Math.max(1, groups);
    // Now and then 8 to 19 outputs per group: the grouped NHWC implementation's range.
    int out = (groups > 1 && r.nextInt(3) == 0 ? 7 + small(r, 12) : small(r, 4))
        * Math.max(1, groups);
    if (r.nextInt(30) == 0) {
      in += 1; // likely not divisible by groups
    }
    ConvSpec.Builder b = ConvSpec.builder(in, out, small(r, 5), small(r, 5))
        .stride(small(r, 3), small(r, 3))
        .dilation(small(r, 3), small(r, 3))
        .padding(r.nextInt(5) - (r.nextInt(40) == 0 ? 2 : 0), r.nextInt(4), r.nextInt(4), r.nextInt(4))
        .groups(groups)
        .strict(r.nextInt(10) == 0)
        .bias(r.nextBoolean())
        .activation(Activation.values()[r.nextInt(Activation.values().length)]);
    if (r.nextInt(10) == 0 && in > 0 && out > 0) {
      boolean[][] t = new boolean[out + (r.nextInt(20) == 0 ? 1 : 0)][in];
      for (boolean[] row : t) {
        for (int j = 0; j < row.length; j++) {
          row[j] = r.nextBoolean();
        }
      }
      b.groups(1).connections(t);
    }
    ConvSpec spec = b.build();
    long wCount = spec.hasConnections() && r.nextBoolean() ? spec.weightCount() : spec.denseWeightCount();
    int wLen = (int) wCount + (r.nextInt(30) == 0 ? r.nextInt(3) - 1 : 0);
    float[] w = new float[Math.max(0, wLen)];
    if (!spec.hasConnections()) {
      for (int i = 0; i < w.length; i++) {
        w[i] = r.nextFloat() - 0.5f;
      }
    }
    float[] bias = spec.hasBias() || r.nextInt(30) == 0 ? new float[out] : null;
    int c = r.nextInt(20) == 0 ? in + 1 : in;
    int n = small(r, 3);
    int h = small(r, 12);
    int wd = small(r, 12);
    Algorithm forced = r.nextInt(4) == 0 ? Algorithm.values()[r.nextInt(Algorithm.values().length)] : null;
    // Half the draws on NHWC tensors: the NHWC implementations, or the reorders around an
    // engine that runs the draw in NCHW only.
    Layout layout = r.nextBoolean() ? Layout.NHWC : Layout.NCHW;
    try (Conv2d conv = new Conv2d(spec, w, bias);
        Tensor x = Tensor.allocate(Shape.of(n, c, h, wd), Device.HOST, layout)) {
      x.copyFrom(random(r, x.elements()));
      if (r.nextInt(50) == 0) {
        x.close();
      }
      try (Tensor y = conv.forward(x, cpu, forced)) {
        return y.toArray();
      }
    }
  }

  /**
   * Extreme geometry, seeded: convolutions and pools whose kernel, stride, padding, dilation or
   * window is drawn near 2^31, 2^30, 2^28 or 2^22, on small inputs. Each draw must be refused
   * with an IllegalArgumentException that names one of the drawn values, or compute exactly what
   * the reference engine computes (small-integer data: every sum is exact in float). Draws whose
   * output would be large are only planned, not run (allocation limits are not this test's
   * subject).
   */
  /**
   * {@link CloseFuzz}: seeded calls while a second thread closes their tensors or weights, in a
   * child JVM, so that a native read of freed memory that crashes is a failed test.
   */
  @Test
  void closingFromASecondThreadNeverCrashesNorChangesAResult() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of("-Xmx512m"), CloseFuzz.class, "9", "600");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().startsWith("close fuzz: 600 calls, "), r.toString());
    System.out.print(r.out());
  }

  @Test
  void extremeGeometryIsRefusedNamingAValueOrMatchesTheReference() {
    Random r = new Random(2026);
    int draws = 4000;
    int computed = 0;
    int refused = 0;
    int plannedOnly = 0;
    try (Engine cpu = Engines.cpu(2); Engine ref = Engines.reference()) {
      for (int i = 0; i < draws; i++) {
        Set<String> values = new HashSet<>();
        String what = "draw " + i;
        try {
          boolean ran = r.nextInt(3) == 0 ? extremePool(r, cpu, ref, values)
              : extremeConv(r, cpu, ref, values);
          if (ran) {
            computed++;
          } else {
            plannedOnly++;
          }
        } catch (IllegalArgumentException e) {
          refused++;
          String m = e.getMessage();
          assertTrue(m != null && namesOneOf(m, values), what + ": the refusal names none of "
              + values + ": " + m);
        }
      }
    }
    assertEquals(draws, computed + refused + plannedOnly);
    assertTrue(computed > draws / 10, "only " + computed + " extreme draws computed");
    assertTrue(refused > draws / 10, "only " + refused + " extreme draws refused");
  }

  /** Near 2^31, 2^30, 2^28 or 2^22, or (half the time) a small value. */
  private static int extreme(Random r, Set<String> values) {
    int v;
    if (r.nextBoolean()) {
      v = 1 + r.nextInt(4);
    } else {
      int[] bases = {Integer.MAX_VALUE, 1 << 30, 1 << 28, 1 << 22};
      v = bases[r.nextInt(bases.length)] - r.nextInt(3);
    }
    values.add(Integer.toString(v));
    return v;
  }

  private static int small(Random r, int max, Set<String> values) {
    int v = 1 + r.nextInt(max);
    values.add(Integer.toString(v));
    return v;
  }

  private static boolean namesOneOf(String message, Set<String> values) {
    for (String token : message.split("[^0-9]+")) {
      if (values.contains(token)) {
        return true;
      }
    }
    return false;
  }

  /** Small integers in [-3, 3]. */
  private static float[] ints(Random r, long n) {
    float[] a = new float[Math.toIntExact(n)];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextInt(7) - 3;
    }
    return a;
  }

  /** Whether it ran (false: planned only, its output being too large to allocate here). */
  private static boolean extremeConv(Random r, Engine cpu, Engine ref, Set<String> values) {
    int kind = r.nextInt(4); // dense, grouped (few or 8+ outputs per group), depthwise
    int groups = kind == 0 ? 1 : small(r, 3, values);
    int in = kind == 2 ? groups : groups * small(r, 2, values);
    int out = kind == 2 ? groups * small(r, 2, values)
        : groups * (kind == 3 ? 7 + small(r, 6, values) : small(r, 3, values));
    // The kernel is extreme rarely, and then mostly refused (weights beyond a tensor).
    int kh = r.nextInt(8) == 0 ? extreme(r, values) : small(r, 3, values);
    int kw = r.nextInt(8) == 0 ? extreme(r, values) : small(r, 3, values);
    ConvSpec spec = ConvSpec.builder(in, out, kh, kw).groups(groups)
        .stride(extreme(r, values), extreme(r, values))
        .dilation(r.nextInt(3) == 0 ? extreme(r, values) : 1,
            r.nextInt(3) == 0 ? extreme(r, values) : 1)
        .padding(r.nextInt(2) == 0 ? extreme(r, values) : 0,
            r.nextInt(2) == 0 ? extreme(r, values) : 0,
            r.nextInt(2) == 0 ? extreme(r, values) : 0,
            r.nextInt(2) == 0 ? extreme(r, values) : 0)
        .bias(r.nextBoolean())
        .activation(r.nextBoolean() ? Activation.RELU : Activation.NONE)
        .build();
    Shape input = Shape.of(small(r, 2, values), in, small(r, 9, values), small(r, 9, values));
    if (spec.outputShape(input).elements() > 1 << 16 || spec.denseWeightCount() > 1 << 23) {
      io.convkit.conv.Planner.plan(spec, input); // must plan or refuse cleanly
      return false;
    }
    float[] w = ints(r, spec.denseWeightCount());
    float[] b = spec.hasBias() ? ints(r, out) : null;
    float[] x = ints(r, input.elements());
    Algorithm forced = null;
    if (r.nextBoolean()) {
      Algorithm a = Algorithm.values()[r.nextInt(Algorithm.values().length)];
      forced = io.convkit.conv.Planner.misfit(a, spec) == null ? a : null;
    }
    boolean nhwc = r.nextBoolean();
    try (Conv2d conv = new Conv2d(spec, w, b);
        Tensor t = nhwc ? ConvCheck.nhwc(x, input.dims()) : Tensor.of(x, input.dims());
        Tensor yc = conv.forward(t, cpu, forced); Tensor yr = conv.forward(t, ref)) {
      float[] got = yc.toArray();
      float[] want = yr.toArray();
      for (int i = 0; i < want.length; i++) {
        if (!(got[i] == want[i])) {
          fail(spec + " on " + input + (nhwc ? " NHWC" : "") + (forced == null ? ""
              : " forced " + forced) + ": output "
              + i + " is " + got[i] + ", reference " + want[i]);
        }
      }
    }
    return true;
  }

  private static boolean extremePool(Random r, Engine cpu, Engine ref, Set<String> values) {
    PoolKind kind = r.nextBoolean() ? PoolKind.MAX : PoolKind.AVG;
    int kh = r.nextInt(3) == 0 ? small(r, 3, values) : extreme(r, values);
    int kw = r.nextInt(3) == 0 ? small(r, 3, values) : extreme(r, values);
    PoolSpec.Builder b = PoolSpec.builder(kind, kh, kw);
    if (r.nextBoolean()) {
      b.stride(extreme(r, values), extreme(r, values));
    }
    // Padding below the window (PoolSpec's rule), often the most it allows.
    int pt = r.nextBoolean() ? kh - 1 : r.nextInt(Math.min(kh, 4));
    int pl = r.nextBoolean() ? kw - 1 : r.nextInt(Math.min(kw, 4));
    int pb = r.nextBoolean() ? kh - 1 : 0;
    int pr = r.nextBoolean() ? kw - 1 : 0;
    for (int v : new int[] {pt, pl, pb, pr}) {
      values.add(Integer.toString(v));
    }
    PoolSpec spec = b.padding(pt, pl, pb, pr).ceilMode(r.nextBoolean())
        .countPadding(r.nextBoolean()).build();
    Shape input = Shape.of(1, small(r, 3, values), small(r, 9, values), small(r, 9, values));
    Shape output = spec.outputShape(input);
    if (output.elements() > 1 << 16) {
      return false;
    }
    float[] x = ints(r, input.elements());
    boolean nhwc = r.nextBoolean(); // the CPU's NHWC pooling on half the draws
    try (Tensor t = Tensor.of(x, input.dims());
        Tensor tc = nhwc ? ConvCheck.nhwc(x, input.dims()) : Tensor.of(x, input.dims());
        Tensor yc = Tensor.allocate(output, Device.HOST, nhwc ? Layout.NHWC : Layout.NCHW);
        Tensor yr = Tensor.zeros(output)) {
      cpu.pool(spec, tc, yc);
      ref.pool(spec, t, yr);
      float[] got = yc.toArray();
      float[] want = yr.toArray();
      for (int i = 0; i < want.length; i++) {
        // AVG: the CPU divides by a float divisor, rounded once past 2^24.
        double tol = kind == PoolKind.MAX ? 0 : Math.abs(want[i]) * 0x1p-22;
        if (!(Math.abs((double) got[i] - want[i]) <= tol)) {
          fail(spec + " on " + input + (nhwc ? " NHWC" : "") + ": output " + i + " is " + got[i]
              + ", reference "
              + want[i]);
        }
      }
    }
    return true;
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = r.nextFloat() * 2 - 1;
    }
    return a;
  }
}
