package io.convkit.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.cli.Main;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.engine.opencl.OpenClException;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ChildJvm;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.OpenClOrSkip;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Extreme geometry: kernels, strides, paddings, dilations, pool windows and input sizes near
 * 2^31, 2^28 and 2^22. Each case either computes the right answer on every engine (checked
 * against a long-index naive reference computed here) or is refused with an
 * IllegalArgumentException whose message names the field and the value. The data are small
 * integers and the weights small integers, so every sum is exact in float whatever the order,
 * and convolutions and max pools must match exactly.
 *
 * <p>The whole set first runs in a child JVM ({@link #main}), so that a native crash is a failed
 * test, not a dead test run.
 */
class GeometryLimitsTest {
  static final int MAX = Integer.MAX_VALUE;
  static final int P30 = 1 << 30;
  static final int P29 = 1 << 29;
  static final int P28 = 1 << 28;
  static final int P22 = 1 << 22;

  record ConvCase(String name, ConvSpec spec, Shape input) {
    @Override
    public String toString() {
      return name + " " + spec + " on " + input;
    }
  }

  record PoolCase(String name, PoolSpec spec, Shape input) {
    @Override
    public String toString() {
      return name + " " + spec + " on " + input;
    }
  }

  static List<ConvCase> convCases() {
    List<ConvCase> c = new ArrayList<>();
    c.add(new ConvCase("stride 2^30, 1x1 output", ConvSpec.builder(2, 3, 3, 3).stride(P30)
        .padding(1).bias(true).build(), Shape.of(1, 2, 5, 5)));
    c.add(new ConvCase("stride 2^31-1", ConvSpec.builder(3, 2, 1, 1).stride(MAX).build(),
        Shape.of(2, 3, 4, 4)));
    c.add(new ConvCase("padding 2^30 top/left, stride 2^30", ConvSpec.builder(2, 2, 3, 3)
        .stride(P30).padding(P30, P30, 0, 0).activation(Activation.RELU).build(),
        Shape.of(1, 2, 4, 4)));
    c.add(new ConvCase("padded extent exactly 2^31-1", ConvSpec.builder(1, 1, 1, 1)
        .stride(P30 - 1).padding(P30 - 1).bias(true).build(), Shape.of(1, 1, 1, 1)));
    c.add(new ConvCase("dilation 2^29", ConvSpec.builder(2, 4, 3, 3).dilation(P29).padding(P29)
        .build(), Shape.of(1, 2, 3, 3)));
    c.add(new ConvCase("dilation 2^30, padding 2^30 bottom/right", ConvSpec.builder(2, 3, 2, 2)
        .dilation(P30).padding(0, 0, P30, P30).bias(true).build(), Shape.of(2, 2, 3, 3)));
    c.add(new ConvCase("grouped, stride 2^28", ConvSpec.builder(4, 10, 3, 3).groups(2)
        .stride(P28).padding(P28 - 1).build(), Shape.of(1, 4, 6, 6)));
    c.add(new ConvCase("grouped wide, stride 2^31-1", ConvSpec.builder(4, 40, 2, 2).groups(2)
        .stride(MAX, 1).build(), Shape.of(1, 4, 5, 5)));
    c.add(new ConvCase("depthwise, stride 2^30", ConvSpec.builder(4, 8, 3, 3).groups(4)
        .stride(P30).padding(1).bias(true).build(), Shape.of(2, 4, 6, 6)));
    c.add(new ConvCase("depthwise, stride 2^20 (workspace)", ConvSpec.builder(3, 3, 3, 3)
        .groups(3).stride(1 << 20).padding(1).build(), Shape.of(1, 3, 40, 40)));
    c.add(new ConvCase("depthwise, dilation 2^28 stride 1", ConvSpec.builder(2, 2, 3, 3)
        .groups(2).dilation(P28).padding(P28).build(), Shape.of(1, 2, 3, 3)));
    c.add(new ConvCase("depthwise, dilation 2^28 stride 3", ConvSpec.builder(2, 2, 3, 3)
        .groups(2).dilation(P28).stride(3).padding(P28).activation(Activation.RELU).build(),
        Shape.of(1, 2, 7, 7)));
    c.add(new ConvCase("depthwise, padding 2^30 left, stride 2^30", ConvSpec.builder(2, 2, 3, 3)
        .groups(2).stride(P30).padding(1, P30, 1, 0).build(), Shape.of(1, 2, 5, 5)));
    c.add(new ConvCase("kernel 1 x 2^22", ConvSpec.builder(1, 1, 1, P22)
        .padding(0, P22 / 2, 0, P22 / 2 - 8).build(), Shape.of(1, 1, 2, 8)));
    c.add(new ConvCase("connection table, stride 2^30", ConvSpec.builder(3, 2, 3, 3)
        .connections(new boolean[][] {{true, false, true}, {false, true, false}})
        .stride(P30).padding(2).bias(true).build(), Shape.of(1, 3, 5, 5)));
    return c;
  }

  static List<PoolCase> poolCases() {
    List<PoolCase> c = new ArrayList<>();
    for (PoolKind kind : PoolKind.values()) {
      c.add(new PoolCase("window 2^28 of padding", PoolSpec.builder(kind, P28, P28)
          .padding(P28 - 1).build(), Shape.of(1, 2, 8, 8)));
      c.add(new PoolCase("window 2^28, ceil", PoolSpec.builder(kind, P28, P28)
          .padding(P28 - 1, 3, 0, P28 - 1).ceilMode(true).build(), Shape.of(1, 2, 8, 9)));
      c.add(new PoolCase("stride 2^30", PoolSpec.builder(kind, 3, 3).stride(P30).padding(1)
          .build(), Shape.of(1, 1, 5, 5)));
      c.add(new PoolCase("stride 2^31-1", PoolSpec.builder(kind, 2, 2).stride(MAX).build(),
          Shape.of(1, 3, 4, 9)));
      c.add(new PoolCase("window 2^30, padded extent 2^31-1", PoolSpec.builder(kind, P30, P30)
          .padding(P30 - 1).build(), Shape.of(1, 1, 1, 1)));
      c.add(new PoolCase("stride 2^30, ceil", PoolSpec.builder(kind, 3, 3).stride(P30).padding(2)
          .ceilMode(true).build(), Shape.of(1, 1, 7, 7)));
      c.add(new PoolCase("window 2^22, stride 2^21", PoolSpec.builder(kind, P22, P22)
          .stride(1 << 21).padding(P22 - 1).build(), Shape.of(1, 2, 64, 64)));
    }
    c.add(new PoolCase("avg window 2^28, padding excluded", PoolSpec.builder(PoolKind.AVG, P28,
        P28).padding(P28 - 1).countPadding(false).build(), Shape.of(1, 2, 8, 8)));
    c.add(new PoolCase("avg window 2^22, padding excluded, ceil", PoolSpec.builder(PoolKind.AVG,
        P22, P22).stride(1 << 21).padding(P22 - 1).countPadding(false).ceilMode(true).build(),
        Shape.of(1, 1, 33, 64)));
    return c;
  }

  // ---- the long-index references ----

  /** Small integers in [-3, 3]: every sum of a few thousand products is exact in float. */
  static float[] data(long seed, long n) {
    Random r = new Random(seed);
    float[] a = new float[Math.toIntExact(n)];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextInt(7) - 3;
    }
    return a;
  }

  static float[] naiveConv(ConvSpec s, float[] w, float[] b, float[] x, Shape in) {
    Shape out = s.outputShape(in);
    int cg = s.inChannelsPerGroup();
    int mg = s.outChannelsPerGroup();
    float[] y = new float[Math.toIntExact(out.elements())];
    for (int n = 0; n < out.n(); n++) {
      for (int o = 0; o < out.c(); o++) {
        int g = o / mg;
        for (int oy = 0; oy < out.h(); oy++) {
          for (int ox = 0; ox < out.w(); ox++) {
            double sum = b == null ? 0 : b[o];
            for (int ic = 0; ic < cg; ic++) {
              int i = g * cg + ic;
              if (!s.connected(o, i)) {
                continue;
              }
              for (long ky = 0; ky < s.kernelH(); ky++) {
                long iy = (long) oy * s.strideH() - s.padTop() + ky * s.dilationH();
                if (iy < 0 || iy >= in.h()) {
                  continue;
                }
                for (long kx = 0; kx < s.kernelW(); kx++) {
                  long ix = (long) ox * s.strideW() - s.padLeft() + kx * s.dilationW();
                  if (ix >= 0 && ix < in.w()) {
                    sum += w[(int) ((((long) o * cg + ic) * s.kernelH() + ky) * s.kernelW() + kx)]
                        * x[(int) ((((long) n * in.c() + i) * in.h() + iy) * in.w() + ix)];
                  }
                }
              }
            }
            if (s.activation() == Activation.RELU) {
              sum = Math.max(0, sum);
            }
            y[(int) ((((long) n * out.c() + o) * out.h() + oy) * out.w() + ox)] = (float) sum;
          }
        }
      }
    }
    return y;
  }

  static float[] naivePool(PoolSpec p, float[] x, Shape in) {
    Shape out = p.outputShape(in);
    int kh = p.kernelH(in);
    int kw = p.kernelW(in);
    float[] y = new float[Math.toIntExact(out.elements())];
    for (int plane = 0; plane < out.n() * out.c(); plane++) {
      for (int oy = 0; oy < out.h(); oy++) {
        for (int ox = 0; ox < out.w(); ox++) {
          long y0 = (long) oy * p.strideH() - p.padTop();
          long x0 = (long) ox * p.strideW() - p.padLeft();
          long ya = Math.max(0, y0);
          long yb = Math.min(in.h(), y0 + kh);
          long xa = Math.max(0, x0);
          long xb = Math.min(in.w(), x0 + kw);
          double sum = 0;
          float max = Float.NEGATIVE_INFINITY;
          for (long iy = ya; iy < yb; iy++) {
            for (long ix = xa; ix < xb; ix++) {
              float v = x[(int) (((long) plane * in.h() + iy) * in.w() + ix)];
              sum += v;
              max = Math.max(max, v);
            }
          }
          if (yb <= ya || xb <= xa) {
            throw new AssertionError(p + ": window (" + oy + ", " + ox + ") covers no input");
          }
          long divisor = p.countPadding()
              ? (Math.min(y0 + kh, (long) in.h() + p.padBottom()) - y0)
                  * (Math.min(x0 + kw, (long) in.w() + p.padRight()) - x0)
              : (yb - ya) * (xb - xa);
          y[(plane * out.h() + oy) * out.w() + ox] =
              p.kind() == PoolKind.MAX ? max : (float) (sum / divisor);
        }
      }
    }
    return y;
  }

  // ---- running the cases ----

  /** Dense weights, zero where a connection table disconnects (ConvWeights insists). */
  static float[] weights(ConvSpec s) {
    float[] w = data(1, s.denseWeightCount());
    int taps = s.kernelH() * s.kernelW();
    for (int o = 0; o < s.outChannels(); o++) {
      for (int ic = 0; ic < s.inChannelsPerGroup(); ic++) {
        int i = o / s.outChannelsPerGroup() * s.inChannelsPerGroup() + ic;
        if (!s.connected(o, i)) {
          java.util.Arrays.fill(w, (o * s.inChannelsPerGroup() + ic) * taps,
              (o * s.inChannelsPerGroup() + ic + 1) * taps, 0f);
        }
      }
    }
    return w;
  }

  /** Runs a conv case on an engine, with a forced algorithm or none. */
  static float[] conv(ConvCase c, Engine e, Algorithm forced) {
    float[] w = weights(c.spec());
    float[] b = c.spec().hasBias() ? data(2, c.spec().outChannels()) : null;
    try (Conv2d conv = new Conv2d(c.spec(), w, b);
        Tensor x = Tensor.of(data(3, c.input().elements()), c.input().dims());
        Tensor y = conv.forward(x, e, forced)) {
      return y.toArray();
    }
  }

  static float[] expected(ConvCase c) {
    return naiveConv(c.spec(), weights(c.spec()),
        c.spec().hasBias() ? data(2, c.spec().outChannels()) : null, data(3, c.input().elements()),
        c.input());
  }

  static float[] pool(PoolCase c, Engine e) {
    try (Tensor x = Tensor.of(data(4, c.input().elements()), c.input().dims());
        Tensor y = Tensor.zeros(c.spec().outputShape(c.input()))) {
      e.pool(c.spec(), x, y);
      return y.toArray();
    }
  }

  /** The algorithms a CPU engine can be forced to on this spec (null: the planner's choice). */
  static List<Algorithm> algorithms(ConvSpec s) {
    List<Algorithm> a = new ArrayList<>();
    a.add(null);
    for (Algorithm alg : Algorithm.values()) {
      if (Planner.misfit(alg, s) == null) {
        a.add(alg);
      }
    }
    return a;
  }

  static void checkConv(ConvCase c, Engine e, Algorithm forced) {
    float[] want = expected(c);
    float[] got = conv(c, e, forced);
    String what = c + " on " + e.name() + (forced == null ? "" : " forced " + forced);
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      if (!(got[i] == want[i])) {
        fail(what + ": output " + i + " is " + got[i] + ", reference " + want[i]);
      }
    }
  }

  static void checkPool(PoolCase c, Engine e) {
    float[] want = naivePool(c.spec(), data(4, c.input().elements()), c.input());
    float[] got = pool(c, e);
    String what = c + " on " + e.name();
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      // MAX and sums of small integers are exact; AVG's float divisor is rounded once (it
      // passes 2^24), and the division rounds once: a relative 2^-22 covers both.
      double tol = c.spec().kind() == PoolKind.MAX ? 0 : Math.abs(want[i]) * 0x1p-22;
      if (!(Math.abs((double) got[i] - want[i]) <= tol)) {
        fail(what + ": output " + i + " is " + got[i] + ", reference " + want[i]);
      }
    }
  }

  static void checkAll(List<Engine> engines, boolean forceCpuAlgorithms) {
    for (ConvCase c : convCases()) {
      for (Engine e : engines) {
        List<Algorithm> algs = forceCpuAlgorithms && e instanceof CpuEngine
            ? algorithms(c.spec()) : java.util.Collections.singletonList(null);
        for (Algorithm a : algs) {
          checkConv(c, e, a);
        }
      }
    }
    for (PoolCase c : poolCases()) {
      for (Engine e : engines) {
        checkPool(c, e);
      }
    }
  }

  // ---- the child JVM ----

  /**
   * The child JVM's probe: every case on every engine (OpenCL where there is a device), every
   * refused case; prints a line per case, then "all cases ran". A crash shows as the exit status.
   */
  public static void main(String[] args) {
    List<Engine> engines = new ArrayList<>(CpuVariants.open());
    engines.add(Engines.reference());
    try {
      engines.add(Engines.openCl());
    } catch (OpenClException noDevice) {
      System.out.println("no OpenCL device: " + noDevice.getMessage());
    }
    for (ConvCase c : convCases()) {
      for (Engine e : engines) {
        for (Algorithm a : e instanceof CpuEngine ? algorithms(c.spec())
            : java.util.Collections.<Algorithm>singletonList(null)) {
          System.out.println("conv " + c + " on " + e.name() + " " + a);
          conv(c, e, a);
        }
      }
    }
    for (PoolCase c : poolCases()) {
      for (Engine e : engines) {
        System.out.println("pool " + c + " on " + e.name());
        pool(c, e);
      }
    }
    for (Refusal r : refusals()) {
      System.out.println("refused " + r.expected());
      try {
        r.call().execute();
        System.out.println("NOT REFUSED: " + r.expected());
        System.exit(3);
      } catch (IllegalArgumentException expected) {
        // the probe only looks for crashes; the test asserts the messages in process
      } catch (Throwable t) {
        System.out.println("WRONG EXCEPTION: " + t);
        System.exit(4);
      }
    }
    for (Engine e : engines) {
      e.close();
    }
    System.out.println("all cases ran");
  }

  @Test
  void everyCaseRunsInAChildJvmWithoutCrashing() throws Exception {
    ChildJvm.Result r = ChildJvm.run(java.util.List.of("-Xmx512m"), GeometryLimitsTest.class);
    String out = r.out() + r.err();
    String tail = out.substring(Math.max(0, out.length() - 4000));
    assertEquals(0, r.exit(), "the child JVM died or failed; its last output:\n" + tail);
    assertTrue(out.contains("all cases ran"), tail);
  }

  @Test
  void validExtremeGeometryMatchesTheLongIndexReferenceOnCpuAndReference() {
    List<Engine> engines = new ArrayList<>(CpuVariants.open());
    engines.add(Engines.reference());
    try {
      checkAll(engines, true);
    } finally {
      engines.forEach(Engine::close);
    }
  }

  @Test
  void validExtremeGeometryMatchesTheLongIndexReferenceOnOpenCl() {
    Engine cl;
    try {
      cl = Engines.openCl();
    } catch (OpenClException e) {
      if (OpenClOrSkip.required()) {
        fail("CONVKIT_REQUIRE_OPENCL=1 but there is no OpenCL device: " + e.getMessage(), e);
      }
      Assumptions.abort("no OpenCL device here (" + e.getMessage() + ")");
      return;
    }
    try {
      checkAll(List.of(cl), false);
    } finally {
      cl.close();
    }
  }

  // ---- refusals ----

  record Refusal(String expected, Executable call) {}

  static List<Refusal> refusals() {
    List<Refusal> r = new ArrayList<>();
    r.add(new Refusal("conv: padded input height 5 + 1073741824 + 1073741824 = 2147483653 is more"
        + " than the 2147483647 the kernels can index",
        () -> ConvSpec.builder(1, 1, 3, 3).padding(P30).build().outputShape(Shape.of(1, 1, 5, 5))));
    r.add(new Refusal("c1: padded input width 7 + 2147483647 + 0 = 2147483654 is more than the"
        + " 2147483647 the kernels can index",
        () -> ConvSpec.builder(1, 1, 1, 1).name("c1").padding(0, MAX, 0, 0).build()
            .outputShape(Shape.of(1, 1, 7, 7))));
    r.add(new Refusal("conv: dilated kernel height (3 - 1) * 1073741824 + 1 = 2147483649 is more"
        + " than the 2147483647 the kernels can index",
        () -> ConvSpec.builder(1, 1, 3, 3).dilation(P30).build()));
    r.add(new Refusal("conv: dilated kernel width (2147483647 - 1) * 2 + 1 = 4294967293 is more"
        + " than the 2147483647 the kernels can index",
        () -> ConvSpec.builder(1, 1, 1, MAX).dilation(1, 2).build()));
    r.add(new Refusal("conv: weights 1x1x65536x65536 have 4294967296 elements, more than the"
        + " 2147483647 a tensor holds", () -> ConvSpec.builder(1, 1, 65536, 65536).build()));
    r.add(new Refusal("conv: weights 1x1x268435456x8 have 2147483648 elements, more than the"
        + " 2147483647 a tensor holds", () -> ConvSpec.builder(1, 1, P28, 8).build()));
    r.add(new Refusal("conv: weights 2147483647x2147483647x2147483647x2147483647 have more than"
        + " 2^63 elements, more than the 2147483647 a tensor holds",
        () -> ConvSpec.builder(MAX, MAX, MAX, MAX).build()));
    r.add(new Refusal("shape 2147483647x2147483647x2147483647: the element count overflows a"
        + " 64-bit count at dimension 2 (2147483647)", () -> Tensor.zeros(MAX, MAX, MAX)));
    r.add(new Refusal("shape 2147483647x2147483647x2147483647x2147483647: the element count"
        + " overflows a 64-bit count at dimension 2 (2147483647)",
        () -> Planner.plan(ConvSpec.builder(1, 1, 1, 1).build(), Shape.of(MAX, MAX, MAX, MAX))));
    r.add(new Refusal("conv: input 2147483647x3x224x224 has 323256418415616 elements, more than"
        + " the 2147483647 a tensor holds",
        () -> Planner.plan(ConvSpec.builder(3, 64, 3, 3).build(), Shape.of(MAX, 3, 224, 224))));
    r.add(new Refusal("conv: the multiply-adds for input 2147483647x32768x65536x1 overflow a"
        + " 64-bit count", () -> ConvSpec.builder(P22 / 128, P22 / 128, 1, 1).build()
            .macs(Shape.of(MAX, 1 << 15, 1 << 16, 1))));
    r.add(new Refusal("conv: connection table row 1 has no entries, expected one per input"
        + " channel: 2", () -> ConvSpec.builder(2, 2, 1, 1)
            .connections(new boolean[][] {{true, false}, null}).build()));
    r.add(new Refusal("shape 1x1x2147483647x3: a channel plane of 6442450941 elements is"
        + " more than the 2147483647 the kernels can index",
        () -> Shape.of(1, 1, MAX, 3).plane()));
    r.add(new Refusal("max_pool: padded input height 2 + 1073741823 + 1073741823 = 2147483648 is"
        + " more than the 2147483647 the kernels can index",
        () -> PoolSpec.builder(PoolKind.MAX, P30, P30).padding(P30 - 1).build()
            .outputShape(Shape.of(1, 1, 2, 2))));
    r.add(new Refusal("avg_pool: padded input width 9 + 2147483646 + 2147483646 = 4294967301 is"
        + " more than the 2147483647 the kernels can index",
        () -> PoolSpec.builder(PoolKind.AVG, 1, MAX).stride(1).padding(0, MAX - 1, 0, MAX - 1)
            .build().outputShape(Shape.of(1, 1, 1, 9))));
    return r;
  }

  @Test
  void overflowingGeometryIsRefusedNamingTheFieldAndValue() {
    for (Refusal r : refusals()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r.call(),
          r.expected());
      assertEquals(r.expected(), e.getMessage());
    }
  }

  @Test
  void fourPaddingsOf2To30AreNotZeroPadding() {
    ConvSpec s = ConvSpec.builder(1, 1, 1, 1).padding(P30).build();
    assertEquals("it needs zero padding", Planner.misfit(Algorithm.POINTWISE_GEMM, s));
    assertEquals(Algorithm.IM2COL_GEMM, Planner.choose(s));
    assertEquals("conv[1->1, k1x1, p1073741824,1073741824,1073741824,1073741824]", s.toString());
  }

  @Test
  void summaryOfAHugeBatchIsOneLineNotANegativeCount() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"summary", "vgg16", "--input", "2147483647x3x224x224"},
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, status, out.toString(StandardCharsets.UTF_8));
    assertEquals("convkit: vgg16 at input 2147483647x3x224x224: the summary's totals (MACs, FLOPs"
        + " or activation elements) overflow a 64-bit count\n", err.toString(StandardCharsets.UTF_8));
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void depthwiseWithAHugeStrideNeedsNoWorkspace() {
    for (int stride : new int[] {1 << 20, P30, MAX}) {
      ConvPlan p = Planner.plan(ConvSpec.builder(8, 8, 3, 3).groups(8).stride(stride).padding(1)
          .build(), Shape.of(1, 8, 64, 64));
      assertEquals(Algorithm.DEPTHWISE_DIRECT, p.algorithm());
      assertEquals("depthwise 3x3 direct, no scratch", p.kernel(), "stride " + stride);
      assertEquals(32, p.scratchBytesPerThread(), "stride " + stride);
    }
    // A 1-row output with K = 2^22 needs one row of unfolded columns, not 256.
    ConvPlan wide = Planner.plan(ConvSpec.builder(1, 1, 1, P22).padding(0, P22 / 2, 0, P22 / 2 - 8)
        .build(), Shape.of(1, 1, 1, 8));
    assertEquals(4L * (P22 * 8L + 8), wide.scratchBytesPerThread());
  }

  @Test
  void cpuWorkspaceIsBoundedByTheTasksNotTheThreads() {
    try (CpuEngine cpu = new CpuEngine(8, Isa.best())) {
      ConvCase dw = new ConvCase("depthwise, 2 channels", ConvSpec.builder(2, 2, 3, 3).groups(2)
          .padding(1).build(), Shape.of(1, 2, 40, 40));
      ConvPlan plan = Planner.plan(dw.spec(), dw.input());
      checkConv(dw, cpu, null);
      // Two tasks (image, channel): two workers' scratch, not eight.
      assertEquals(2 * plan.scratchBytesPerThread(), cpu.workspaceBytes());
    }
    try (CpuEngine cpu = new CpuEngine(8, Isa.best())) {
      PoolCase p = new PoolCase("window 2^28", PoolSpec.builder(PoolKind.MAX, P28, P28)
          .padding(P28 - 1).build(), Shape.of(1, 2, 8, 8));
      checkPool(p, cpu);
      // One grain of planes (a small layer runs on one thread), and a row buffer of the input
      // row, not of the 2^28 window: 8 + 8 + 8 floats rounded to a cache line.
      assertEquals(4 * 32, cpu.workspaceBytes());
    }
  }
}
