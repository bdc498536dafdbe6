package io.convkit.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Act;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.ConvLayer;
import io.convkit.nn.Flatten;
import io.convkit.nn.HardSigmoid;
import io.convkit.nn.LayerNorm;
import io.convkit.nn.LayerScale;
import io.convkit.nn.Linear;
import io.convkit.nn.Network;
import io.convkit.nn.PoolLayer;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The import on hand-built graphs: each op and attribute on odd shapes (a 7x5 input, asymmetric
 * pads, dilation 2, groups 3 and depthwise, stride 3, ceil mode), the patterns as PyTorch's
 * exporter writes them, and each refusal with its message. Every imported graph runs through
 * {@link ForwardPlan} on the reference engine (one on the CPU engine too) against
 * {@link OnnxEval}, a float64 evaluator of the ONNX semantics with error bounds derived from the
 * reduction lengths.
 */
class OnnxImportTest {
  // ---- building graphs

  /** A graph under construction: input "x" [-1 (symbolic), 3, 7, 5] unless given. */
  static final class G {
    final long opset;
    final List<OnnxNode> nodes = new ArrayList<>();
    final List<OnnxTensor> inits = new ArrayList<>();
    final List<OnnxGraph.ValueInfo> inputs = new ArrayList<>();

    G(long opset) {
      this(opset, -1, 3, 7, 5);
    }

    G(long opset, long... inDims) {
      this.opset = opset;
      inputs.add(new OnnxGraph.ValueInfo("x", OnnxTensor.FLOAT, inDims));
    }

    /** A seeded random float initializer, uniform in [-scale, scale]. */
    String w(String name, double scale, long... dims) {
      int n = 1;
      for (long d : dims) {
        n *= (int) d;
      }
      float[] v = new float[n];
      SplittableRandom r = new SplittableRandom(name.hashCode());
      for (int i = 0; i < n; i++) {
        v[i] = (float) (scale * (2 * r.nextDouble() - 1));
      }
      inits.add(OnnxTensor.ofFloats(name, dims, v));
      return name;
    }

    /** A positive initializer in [lo, hi) (BN variances and scales). */
    String pos(String name, double lo, double hi, long... dims) {
      int n = 1;
      for (long d : dims) {
        n *= (int) d;
      }
      float[] v = new float[n];
      SplittableRandom r = new SplittableRandom(name.hashCode());
      for (int i = 0; i < n; i++) {
        v[i] = (float) (lo + (hi - lo) * r.nextDouble());
      }
      inits.add(OnnxTensor.ofFloats(name, dims, v));
      return name;
    }

    String f(String name, long[] dims, float... v) {
      inits.add(OnnxTensor.ofFloats(name, dims, v));
      return name;
    }

    String scalar(String name, float v) {
      return f(name, new long[0], v);
    }

    String l(String name, long... v) {
      inits.add(OnnxTensor.ofLongs(name, new long[] {v.length}, v));
      return name;
    }

    /** Appends a node named {@code name} writing the tensor {@code name}. */
    G n(String op, String name, List<String> in, OnnxAttribute... attrs) {
      nodes.add(new OnnxNode(name, op, "", in, List.of(name), List.of(attrs)));
      return this;
    }

    OnnxModel model(String output) {
      OnnxGraph g = new OnnxGraph("g", nodes, inits, inputs,
          List.of(new OnnxGraph.ValueInfo(output, OnnxTensor.FLOAT, new long[0])));
      return new OnnxModel(8, List.of(new OnnxModel.OpsetId("", opset)), "test", g);
    }

    /** Conv + BN (eps 1e-3) on {@code in}: out channels m, k x k, the node named {@code c}. */
    String convBn(String c, String in, int cin, int m, int k, OnnxAttribute... attrs) {
      w(c + ".w", 1 / Math.sqrt(cin * k * k), m, cin, k, k);
      n("Conv", c, List.of(in, c + ".w"), attrs);
      bn(c + "_bn", c, m);
      return c + "_bn";
    }

    String bn(String name, String in, int c) {
      pos(name + ".g", 0.5, 1.5, c);
      w(name + ".b", 0.2, c);
      w(name + ".m", 0.2, c);
      pos(name + ".v", 0.5, 2, c);
      n("BatchNormalization", name, List.of(in, name + ".g", name + ".b", name + ".m",
          name + ".v"), af("epsilon", 1e-3f));
      return name;
    }
  }

  static OnnxAttribute ints(String name, long... v) {
    return new OnnxAttribute.Ints(name, v);
  }

  static OnnxAttribute ai(String name, long v) {
    return new OnnxAttribute.Int(name, v);
  }

  static OnnxAttribute af(String name, float v) {
    return new OnnxAttribute.Float(name, v);
  }

  static OnnxAttribute as(String name, String v) {
    return new OnnxAttribute.Str(name, v);
  }

  static OnnxAttribute tensor(String name, OnnxTensor t) {
    return new OnnxAttribute.Tensor(name, t);
  }

  // ---- running and checking

  static float[] data(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (2 * r.nextDouble() - 1);
    }
    return x;
  }

  static float[] run(OnnxImport.Imported imp, Engine engine, float[] x, int[] dims) {
    try (ForwardPlan plan = new ForwardPlan(imp.network(), imp.weights());
        ForwardPass pass = new ForwardPass(plan, engine);
        Tensor t = Tensor.of(x, dims)) {
      return pass.forward(t).toArray();
    }
  }

  /** Imports, runs at batch n on {@code engine}, and compares with the evaluator's bound. */
  static OnnxImport.Imported check(OnnxModel m, int n, Engine engine) {
    OnnxImport.Imported imp = OnnxImport.toNetwork(m, "t");
    Shape nat = imp.network().nativeInput();
    int[] dims = {n, nat.c(), nat.h(), nat.w()};
    float[] x = data(11, n * nat.c() * nat.h() * nat.w());
    float[] got = run(imp, engine, x, dims);
    OnnxEval.T want = new OnnxEval(m).run(x, dims);
    if (got.length != want.v.length) {
      fail("output has " + got.length + " values, the evaluator " + want.v.length + " (dims "
          + Arrays.toString(want.d) + ")");
    }
    for (int i = 0; i < got.length; i++) {
      // first-order bound, doubled for the neglected second-order terms
      double tol = 2 * want.e[i] + Float.MIN_NORMAL;
      double diff = Math.abs(got[i] - want.v[i]);
      if (!(diff <= tol)) {
        fail(String.format("output %d is %s, ONNX semantics %s, |diff| %.3g > bound %.3g", i,
            got[i], want.v[i], diff, tol));
      }
    }
    return imp;
  }

  static OnnxImport.Imported check(OnnxModel m) {
    try (Engine ref = Engines.reference()) {
      return check(m, 2, ref);
    }
  }

  static long count(Network net, Class<?> type) {
    return net.nodes().stream().filter(nd -> type.isInstance(nd.layer())).count();
  }

  static long countAct(Network net, Act.Kind kind) {
    return net.nodes().stream().filter(nd -> nd.layer() instanceof Act a && a.kind() == kind)
        .count();
  }

  static void refuses(OnnxModel m, String message) {
    OnnxImportException e = assertThrows(OnnxImportException.class,
        () -> OnnxImport.toNetwork(m, "t"));
    assertEquals(message, e.getMessage());
  }

  // ---- convolution

  static Stream<Arguments> convCases() {
    return Stream.of(
        // name, out channels, group, kh, kw, attributes
        Arguments.of("asymmetric pads, stride 2x1", 4, 1, 3, 2,
            new OnnxAttribute[] {ints("pads", 1, 0, 2, 1), ints("strides", 2, 1)}),
        Arguments.of("dilation 2", 5, 1, 3, 3,
            new OnnxAttribute[] {ints("dilations", 2, 2), ints("pads", 2, 1, 2, 1)}),
        Arguments.of("groups 3, 2 per group", 6, 3, 3, 3,
            new OnnxAttribute[] {ints("pads", 1, 1, 1, 1), ai("group", 3)}),
        Arguments.of("depthwise", 3, 3, 3, 3,
            new OnnxAttribute[] {ints("pads", 0, 1, 1, 0), ai("group", 3),
                ints("kernel_shape", 3, 3)}),
        Arguments.of("stride 3", 4, 1, 2, 2,
            new OnnxAttribute[] {ints("strides", 3, 3), ints("pads", 1, 1, 1, 1)}),
        Arguments.of("SAME_UPPER", 4, 1, 4, 4,
            new OnnxAttribute[] {as("auto_pad", "SAME_UPPER"), ints("strides", 2, 2)}),
        Arguments.of("SAME_LOWER", 4, 1, 4, 3,
            new OnnxAttribute[] {as("auto_pad", "SAME_LOWER"), ints("strides", 2, 3)}),
        Arguments.of("VALID", 2, 1, 3, 3, new OnnxAttribute[] {as("auto_pad", "VALID")}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("convCases")
  void convAttributes(String what, int m, int group, int kh, int kw, OnnxAttribute[] attrs) {
    for (boolean bias : new boolean[] {false, true}) {
      G g = new G(17);
      g.w("w", 0.5, m, 3 / group, kh, kw);
      List<String> in = bias ? List.of("x", "w", g.w("b", 0.5, m)) : List.of("x", "w");
      g.n("Conv", "conv", in, attrs);
      OnnxImport.Imported imp = check(g.model("conv"));
      ConvLayer c = (ConvLayer) imp.network().node("conv").layer();
      assertEquals(bias, c.spec().hasBias(), what);
      assertEquals(group, c.spec().groups(), what);
    }
  }

  @Test
  void convBatchNormReluFoldsAndFuses() {
    G g = new G(17);
    String bn = g.convBn("c1", "x", 3, 4, 3, ints("pads", 1, 1, 1, 1));
    g.n("Relu", "r", List.of(bn));
    OnnxImport.Imported imp = check(g.model("r"));
    Network net = imp.network();
    assertTrue(((ConvLayer) net.node("c1").layer()).bnFolded());
    assertEquals("c1", ((BatchNorm) net.node("c1_bn").layer()).foldedInto());
    assertEquals(1e-3, ((BatchNorm) net.node("c1_bn").layer()).eps(), 1e-9);
  }

  @Test
  void batchNormAfterAnActivationStaysUnfolded() {
    G g = new G(17);
    g.n("Relu", "r", List.of("x"));
    g.bn("bn", "r", 3);
    OnnxImport.Imported imp = check(g.model("bn"));
    assertEquals(null, ((BatchNorm) imp.network().node("bn").layer()).foldedInto());
  }

  @Test
  void batchNormOfAConvReadTwiceStaysUnfolded() {
    G g = new G(17);
    g.w("w", 0.3, 3, 3, 1, 1);
    g.n("Conv", "c", List.of("x", "w"));
    g.bn("bn", "c", 3);
    g.n("Add", "sum", List.of("bn", "c"));
    OnnxImport.Imported imp = check(g.model("sum"));
    assertFalse(((ConvLayer) imp.network().node("c").layer()).bnFolded());
  }

  @Test
  void padBeforeConvBecomesItsPadding() {
    for (long opset : new long[] {10, 13}) {
      G g = new G(opset);
      if (opset < 11) {
        g.n("Pad", "p", List.of("x"), ints("pads", 0, 0, 1, 2, 0, 0, 0, 1));
      } else {
        g.l("pads", 0, 0, 1, 2, 0, 0, 0, 1);
        g.n("Pad", "p", List.of("x", "pads"), as("mode", "constant"));
      }
      g.w("w", 0.4, 2, 3, 3, 3);
      g.n("Conv", "c", List.of("p", "w"), ints("pads", 1, 0, 0, 0));
      OnnxImport.Imported imp = check(g.model("c"));
      ConvLayer c = (ConvLayer) imp.network().node("c").layer();
      assertEquals(List.of(2, 2, 0, 1), List.of(c.spec().padTop(), c.spec().padLeft(),
          c.spec().padBottom(), c.spec().padRight()));
    }
  }

  // ---- activations and patterns

  @Test
  void clipAsReluSixInBothOpsetForms() {
    G old = new G(10);
    old.w("w", 3, 2, 3, 1, 1);
    old.n("Conv", "c", List.of("x", "w"));
    old.n("Clip", "clip", List.of("c"), af("min", 0), af("max", 6));
    assertEquals(1, countAct(check(old.model("clip")).network(), Act.Kind.RELU6));
    G g = new G(13);
    g.w("w", 3, 2, 3, 1, 1);
    g.n("Conv", "c", List.of("x", "w"));
    g.scalar("lo", 0);
    g.scalar("hi", 6);
    g.n("Clip", "clip", List.of("c", "lo", "hi"));
    assertEquals(1, countAct(check(g.model("clip")).network(), Act.Kind.RELU6));
    G relu = new G(13);
    relu.scalar("lo", 0);
    relu.n("Clip", "clip", List.of("x", "lo"));
    assertEquals(1, countAct(check(relu.model("clip")).network(), Act.Kind.RELU));
  }

  @Test
  void sigmoidAndTanh() {
    G g = new G(17);
    g.n("Sigmoid", "s", List.of("x"));
    g.n("Tanh", "t", List.of("s"));
    Network net = check(g.model("t")).network();
    assertEquals(1, countAct(net, Act.Kind.SIGMOID));
    assertEquals(1, countAct(net, Act.Kind.TANH));
  }

  @Test
  void xTimesSigmoidIsSwishInEitherOrder() {
    for (boolean sigFirst : new boolean[] {false, true}) {
      G g = new G(17);
      g.w("w", 1, 4, 3, 3, 3);
      g.n("Conv", "c", List.of("x", "w"), ints("pads", 1, 1, 1, 1));
      g.n("Sigmoid", "s", List.of("c"));
      g.n("Mul", "swish", sigFirst ? List.of("s", "c") : List.of("c", "s"));
      Network net = check(g.model("swish")).network();
      assertEquals(1, countAct(net, Act.Kind.SWISH));
      assertEquals(0, countAct(net, Act.Kind.SIGMOID));
    }
  }

  /** ONNX's default alpha 0.2 (Keras's) and PyTorch's 1/6, after a conv that cannot fuse it. */
  @Test
  void hardSigmoidWithTheDefaultAndPyTorchsAlpha() {
    for (boolean pytorch : new boolean[] {false, true}) {
      G g = new G(17);
      // weights up to 3: the conv's outputs reach both clamps (|x| > 3 and > 2.5)
      g.w("w", 3, 4, 3, 1, 1);
      g.n("Conv", "c", List.of("x", "w"));
      g.n("HardSigmoid", "hs", List.of("c"), pytorch
          ? new OnnxAttribute[] {af("alpha", 1 / 6f), af("beta", 0.5f)}
          : new OnnxAttribute[0]);
      Network net = check(g.model("hs")).network();
      HardSigmoid hs = (HardSigmoid) net.node("hs").layer();
      assertEquals(pytorch ? 1 / 6f : 0.2f, hs.alpha());
      assertEquals(0.5, hs.beta());
      assertEquals("hardsigmoid", hs.type());
      assertEquals(0, hs.paramsTrained());
    }
  }

  @Test
  void hardSwishOp() {
    G g = new G(17);
    g.w("w", 3, 4, 3, 1, 1);
    g.n("Conv", "c", List.of("x", "w"));
    g.n("HardSwish", "hs", List.of("c"));
    Network net = check(g.model("hs")).network();
    assertEquals(1, countAct(net, Act.Kind.HARD_SWISH));
    assertEquals("hard_swish", net.node("hs").layer().type());
  }

  /** PyTorch below opset 14 writes nn.Hardswish as x * HardSigmoid(x, alpha 1/6). */
  @Test
  void xTimesPyTorchsHardSigmoidIsHardSwishInEitherOrder() {
    for (boolean hsFirst : new boolean[] {false, true}) {
      G g = new G(13);
      g.w("w", 3, 4, 3, 1, 1);
      g.n("Conv", "c", List.of("x", "w"));
      g.n("HardSigmoid", "hs", List.of("c"), af("alpha", 1 / 6f), af("beta", 0.5f));
      g.n("Mul", "m", hsFirst ? List.of("hs", "c") : List.of("c", "hs"));
      Network net = check(g.model("m")).network();
      assertEquals(1, countAct(net, Act.Kind.HARD_SWISH));
      assertEquals(0, count(net, HardSigmoid.class));
    }
    // another alpha is no hard-swish, and a gate of another tensor (MobileNetV3's SE) is refused
    G other = new G(13);
    other.n("HardSigmoid", "hs", List.of("x"));
    other.n("Mul", "m", List.of("x", "hs"));
    refuses(other.model("m"), "Mul node 'm' (opset 13): Mul of two computed tensors ([N, 3, 7, 5]"
        + " and [N, 3, 7, 5]) is imported only as x * Sigmoid(x), x * HardSigmoid(x) (alpha 1/6,"
        + " beta 1/2) or in the GELU pattern x * 0.5 * (1 + Erf(x / sqrt 2))");
    G gate = new G(13);
    gate.n("GlobalAveragePool", "gap", List.of("x"));
    gate.n("HardSigmoid", "hs", List.of("gap"), af("alpha", 1 / 6f));
    gate.n("Mul", "m", List.of("x", "hs"));
    refuses(gate.model("m"), "Mul node 'm' (opset 13): x * HardSigmoid(y) of another tensor y"
        + " ([N, 3, 7, 5] and [N, 3, 1, 1]; MobileNetV3's squeeze-and-excitation gate) is not"
        + " imported: convkit's squeeze-and-excitation gates with Sigmoid");
    G inf = new G(17);
    inf.n("HardSigmoid", "hs", List.of("x"), af("alpha", Float.POSITIVE_INFINITY));
    refuses(inf.model("hs"), "HardSigmoid node 'hs' (opset 17): alpha Infinity and beta 0.5 must"
        + " be finite");
  }

  /**
   * NaN in gives NaN out; the infinities and -0 follow the formulas' IEEE evaluation, as
   * PyTorch's (hardswish(-Inf) = -Inf * 0 = NaN), bit for bit on the reference and CPU engines.
   */
  @Test
  void hardSigmoidAndHardSwishAtTheSpecialValues() {
    float nan = Float.NaN;
    float inf = Float.POSITIVE_INFINITY;
    float[] x = {nan, -inf, inf, -0f, -3, 3, 1, -5};
    float[] swish = {nan, nan, inf, -0f, -0f, 3, 1 * (float) (1 / 6.0 + 0.5), -0f};
    float[] dflt = {nan, 0, 1, 0.5f, 0, 1, 0.7f, 0};
    float[] torch = {nan, 0, 1, 0.5f, 0, 1, (float) (1 / 6.0 + 0.5), 0};
    Object[][] cases = {
        {"HardSwish", new OnnxAttribute[0], swish},
        {"HardSigmoid", new OnnxAttribute[0], dflt},
        {"HardSigmoid", new OnnxAttribute[] {af("alpha", 1 / 6f)}, torch}};
    try (Engine ref = Engines.reference(); Engine cpu = Engines.cpu(2)) {
      for (Object[] c : cases) {
        G g = new G(17, 1, 1, 1, x.length);
        g.n((String) c[0], "y", List.of("x"), (OnnxAttribute[]) c[1]);
        OnnxImport.Imported imp = OnnxImport.toNetwork(g.model("y"), "t");
        float[] want = (float[]) c[2];
        for (Engine e : new Engine[] {ref, cpu}) {
          float[] got = run(imp, e, x, new int[] {1, 1, 1, x.length});
          for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), c[0]
                + " " + Arrays.toString((OnnxAttribute[]) c[1]) + " of " + x[i] + " on "
                + e.name() + ": " + got[i]);
          }
        }
      }
    }
  }

  /**
   * Export writes HardSigmoid (alpha, beta) and HardSwish nodes; written, read and imported
   * back they are the same layers, computing the same values bit for bit on the CPU engine.
   */
  @Test
  void hardSigmoidAndHardSwishRoundTrip() throws Exception {
    G g = new G(17);
    g.w("w", 3, 4, 3, 1, 1);
    g.n("Conv", "c", List.of("x", "w"));
    g.n("HardSwish", "hsw", List.of("c"));
    g.n("HardSigmoid", "hs1", List.of("hsw"));
    g.n("HardSigmoid", "hs2", List.of("hs1"), af("alpha", 1 / 6f), af("beta", 0.25f));
    OnnxImport.Imported imp = check(g.model("hs2"));
    Shape in = Shape.of(2, 3, 7, 5);
    OnnxModel exported = OnnxExport.export(imp.network(), imp.weights(), in);
    List<String> ops = new ArrayList<>();
    for (OnnxNode n : exported.graph().nodes()) {
      ops.add(n.opType());
    }
    assertEquals(List.of("Conv", "HardSwish", "HardSigmoid", "HardSigmoid"), ops);
    OnnxNode last = exported.graph().nodes().get(3);
    assertEquals(1 / 6f, ((OnnxAttribute.Float) last.attribute("alpha")).value());
    assertEquals(0.25f, ((OnnxAttribute.Float) last.attribute("beta")).value());
    OnnxImport.Imported back = OnnxImport.toNetwork(OnnxCodec.read(OnnxCodec.toBytes(exported),
        null), "t");
    assertEquals(1, countAct(back.network(), Act.Kind.HARD_SWISH));
    HardSigmoid b1 = (HardSigmoid) back.network().node("hs1").layer();
    assertEquals(0.2f, b1.alpha());
    assertEquals(0.5, b1.beta());
    HardSigmoid b2 = (HardSigmoid) back.network().node("hs2").layer();
    assertEquals(1 / 6f, b2.alpha());
    assertEquals(0.25, b2.beta());
    float[] x = data(5, (int) in.elements());
    try (Engine cpu = Engines.cpu(2)) {
      assertArrayEquals(run(imp, cpu, x, in.dims()), run(back, cpu, x, in.dims()));
      check(exported, 2, cpu);
    }
  }

  /** The erf GELU in three orders: PyTorch's, the half first, and commuted constants. */
  @Test
  void erfGeluInItsExporterOrders() {
    for (int order = 0; order < 3; order++) {
      G g = new G(17);
      g.w("w", 1, 4, 3, 3, 3);
      g.n("Conv", "c", List.of("x", "w"), ints("pads", 1, 1, 1, 1));
      g.scalar("one", 1);
      g.scalar("half", 0.5f);
      if (order == 0) { // torch.onnx: x / sqrt2 -> Erf -> + 1 -> x * . -> * 0.5
        g.scalar("sqrt2", 1.4142135f);
        g.n("Div", "d", List.of("c", "sqrt2"));
        g.n("Erf", "e", List.of("d"));
        g.n("Add", "a", List.of("e", "one"));
        g.n("Mul", "m", List.of("c", "a"));
        g.n("Mul", "gelu", List.of("m", "half"));
      } else if (order == 1) { // 0.5 * x first, then times (1 + erf)
        g.scalar("sqrt2", 1.4142135f);
        g.n("Div", "d", List.of("c", "sqrt2"));
        g.n("Erf", "e", List.of("d"));
        g.n("Add", "a", List.of("one", "e"));
        g.n("Mul", "h", List.of("half", "c"));
        g.n("Mul", "gelu", List.of("h", "a"));
      } else { // x * (1/sqrt2), constants first
        g.scalar("rsqrt2", 0.70710677f);
        g.n("Mul", "d", List.of("rsqrt2", "c"));
        g.n("Erf", "e", List.of("d"));
        g.n("Add", "a", List.of("one", "e"));
        g.n("Mul", "m", List.of("a", "c"));
        g.n("Mul", "gelu", List.of("half", "m"));
      }
      Network net = check(g.model("gelu")).network();
      assertEquals(1, countAct(net, Act.Kind.GELU), "order " + order);
      assertEquals(2, net.nodes().size(), "order " + order + ": conv and gelu only");
    }
  }

  @Test
  void geluOpAndScalarScale() {
    G g = new G(20);
    g.n("Gelu", "gelu", List.of("x"));
    g.scalar("three", 3);
    g.n("Mul", "m", List.of("gelu", "three"));
    Network net = check(g.model("m")).network();
    assertEquals(1, countAct(net, Act.Kind.GELU));
    assertEquals(1, count(net, LayerScale.class));
  }

  // ---- adds

  @Test
  void residualAdd() {
    G g = new G(17);
    String a = g.convBn("a", "x", 3, 3, 3, ints("pads", 1, 1, 1, 1));
    g.n("Add", "sum", List.of(a, "x"));
    g.n("Relu", "r", List.of("sum"));
    check(g.model("r"));
  }

  @Test
  void constantAddsFoldIntoTheBiasOfConvGemmAndBatchNorm() {
    G g = new G(17);
    g.w("w", 0.4, 4, 3, 3, 3);
    g.n("Conv", "c", List.of("x", "w"));
    g.w("b4", 0.5, 4, 1, 1);
    g.n("Add", "cb", List.of("b4", "c")); // constant first
    g.w("s4", 0.5, 1, 4, 1, 1);
    g.n("Sub", "cs", List.of("cb", "s4"));
    g.bn("bn", "cs", 4);
    g.scalar("k", 0.25f);
    g.n("Add", "bk", List.of("bn", "k"));
    g.n("GlobalAveragePool", "gap", List.of("bk"));
    g.n("Flatten", "flat", List.of("gap"));
    g.w("fw", 0.5, 4, 3);
    g.n("MatMul", "mm", List.of("flat", "fw"));
    g.w("fb", 0.5, 3);
    g.n("Add", "fc", List.of("mm", "fb"));
    Network net = check(g.model("fc")).network();
    assertTrue(((ConvLayer) net.node("c").layer()).spec().hasBias());
    assertTrue(((ConvLayer) net.node("c").layer()).bnFolded());
    assertTrue(((Linear) net.node("mm").layer()).hasBias());
    assertEquals(List.of("c", "bn", "gap", "flat", "mm"),
        net.nodes().stream().map(Network.Node::name).toList());
  }

  // ---- pooling

  static Stream<Arguments> poolCases() {
    return Stream.of(
        Arguments.of("max 3x3 s2 ceil, pads", "MaxPool", new OnnxAttribute[] {
            ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 0, 1, 1),
            ai("ceil_mode", 1)}),
        Arguments.of("max 2x3 s3 floor", "MaxPool", new OnnxAttribute[] {
            ints("kernel_shape", 2, 3), ints("strides", 3, 3)}),
        Arguments.of("max SAME_UPPER", "MaxPool", new OnnxAttribute[] {
            ints("kernel_shape", 3, 2), ints("strides", 2, 2), as("auto_pad", "SAME_UPPER")}),
        Arguments.of("avg count pad, ceil", "AveragePool", new OnnxAttribute[] {
            ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1),
            ai("count_include_pad", 1), ai("ceil_mode", 1)}),
        Arguments.of("avg exclude pad, asymmetric", "AveragePool", new OnnxAttribute[] {
            ints("kernel_shape", 3, 2), ints("strides", 2, 1), ints("pads", 0, 1, 2, 0)}),
        Arguments.of("avg stride 1 default", "AveragePool", new OnnxAttribute[] {
            ints("kernel_shape", 2, 2)}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("poolCases")
  void pools(String what, String op, OnnxAttribute[] attrs) {
    G g = new G(17);
    g.n(op, "pool", List.of("x"), attrs);
    check(g.model("pool"));
  }

  @Test
  void globalPoolsAndReduceMean() {
    for (int form = 0; form < 4; form++) {
      G g = new G(form == 3 ? 18 : 17);
      switch (form) {
        case 0 -> g.n("GlobalAveragePool", "y", List.of("x"));
        case 1 -> g.n("ReduceMean", "y", List.of("x"), ints("axes", 2, 3));
        case 2 -> g.n("ReduceMean", "y", List.of("x"), ints("axes", -1, -2), ai("keepdims", 0));
        default -> g.n("ReduceMean", "y", List.of("x", g.l("axes", 2, 3)), ai("keepdims", 0));
      }
      Network net = check(g.model("y")).network();
      assertEquals(1, count(net, PoolLayer.class), "form " + form);
    }
  }

  // ---- fully connected and shapes

  @Test
  void gemmTransBAndScales() {
    for (int form = 0; form < 2; form++) {
      G g = new G(17);
      g.n("GlobalAveragePool", "gap", List.of("x"));
      g.n("Flatten", "flat", List.of("gap"));
      if (form == 0) {
        g.w("fw", 0.5, 6, 3);
        g.w("fb", 0.5, 6);
        g.n("Gemm", "fc", List.of("flat", "fw", "fb"), ai("transB", 1), af("alpha", 1),
            af("beta", 1));
      } else {
        g.w("fw", 0.5, 3, 6);
        g.w("fb", 0.5, 1, 6);
        g.n("Gemm", "fc", List.of("flat", "fw", "fb"), af("alpha", 0.5f), af("beta", 2));
      }
      g.n("Softmax", "prob", List.of("fc"), ai("axis", form == 0 ? 1 : -1));
      check(g.model("prob"));
    }
  }

  @Test
  void pytorchFlattenChainsAtASymbolicBatch() {
    // torch.flatten(x, 1) in older exporters: Shape -> Gather(0) -> Unsqueeze -> Concat -> Reshape
    G g = new G(11);
    g.n("GlobalAveragePool", "gap", List.of("x"));
    g.n("Shape", "shape", List.of("gap"));
    g.nodes.add(new OnnxNode("c0", "Constant", "", List.of(), List.of("zero"),
        List.of(tensor("value", OnnxTensor.ofLongs("", new long[0], new long[] {0})))));
    g.n("Gather", "batch", List.of("shape", "zero"), ai("axis", 0));
    g.n("Unsqueeze", "batch1", List.of("batch"), ints("axes", 0));
    g.nodes.add(new OnnxNode("c1", "Constant", "", List.of(), List.of("minus1"),
        List.of(tensor("value", OnnxTensor.ofLongs("", new long[] {1}, new long[] {-1})))));
    g.n("Concat", "target", List.of("batch1", "minus1"), ai("axis", 0));
    g.n("Reshape", "flat", List.of("gap", "target"));
    g.w("fw", 0.5, 4, 3);
    g.w("fb", 0.5, 4);
    g.n("Gemm", "fc", List.of("flat", "fw", "fb"), ai("transB", 1));
    Network net = check(g.model("fc")).network();
    assertEquals(1, count(net, Flatten.class));
    for (int n : new int[] {1, 3}) {
      try (Engine ref = Engines.reference()) {
        check(g.model("fc"), n, ref);
      }
    }
  }

  @Test
  void reshapesThatFlatten() {
    // a Constant shape [1, C] at a fixed batch of 1, [-1, C], [0, -1]; a Squeeze of 1x1
    long[][] targets = {{1, 3}, {-1, 3}, {0, -1}};
    for (long[] t : targets) {
      G g = new G(13, 1, 3, 7, 5);
      g.n("GlobalAveragePool", "gap", List.of("x"));
      g.nodes.add(new OnnxNode("k", "Constant", "", List.of(), List.of("target"),
          List.of(tensor("value", OnnxTensor.ofLongs("", new long[] {2}, t)))));
      g.n("Reshape", "flat", List.of("gap", "target"));
      g.w("fw", 0.5, 3, 2);
      g.n("MatMul", "fc", List.of("flat", "fw"));
      try (Engine ref = Engines.reference()) {
        check(g.model("fc"), 1, ref);
      }
    }
    G g = new G(13);
    g.n("GlobalAveragePool", "gap", List.of("x"));
    g.n("Squeeze", "sq", List.of("gap", g.l("axes", 2, 3)));
    g.w("fw", 0.5, 3, 2);
    g.n("MatMul", "fc", List.of("sq", "fw"));
    assertEquals(1, count(check(g.model("fc")).network(), Flatten.class));
  }

  @Test
  void concatAlongChannels() {
    G g = new G(17);
    g.w("w1", 0.5, 2, 3, 3, 3);
    g.n("Conv", "a", List.of("x", "w1"), ints("pads", 1, 1, 1, 1));
    g.w("w2", 0.5, 3, 3, 1, 1);
    g.n("Conv", "b", List.of("x", "w2"));
    g.n("Concat", "cat", List.of("a", "x", "b"), ai("axis", 1));
    check(g.model("cat"));
  }

  @Test
  void softmaxOverChannelsOfAFourDimensionalTensorInOpset11() {
    G g = new G(11);
    g.n("Softmax", "p", List.of("x"));
    check(g.model("p"));
  }

  @Test
  void lrnOddAndEvenSizes() {
    for (int size : new int[] {5, 2}) {
      G g = new G(17);
      g.w("w", 1, 6, 3, 1, 1);
      g.n("Conv", "c", List.of("x", "w"));
      g.n("LRN", "lrn", List.of("c"), ai("size", size), af("alpha", 0.5f), af("beta", 0.75f),
          af("bias", 2));
      check(g.model("lrn"));
    }
  }

  @Test
  void dropoutIdentityAndCastAreAliases() {
    G g = new G(13);
    g.n("Dropout", "d", List.of("x"));
    g.n("Identity", "i", List.of("d"));
    g.n("Cast", "cast", List.of("i"), ai("to", OnnxTensor.FLOAT));
    g.n("Relu", "r", List.of("cast"));
    assertEquals(1, check(g.model("r")).network().nodes().size());
  }

  @Test
  void nodesOutOfOrderAreSorted() {
    G g = new G(17);
    g.n("Relu", "r", List.of("c"));
    g.w("w", 0.5, 2, 3, 3, 3);
    g.n("Conv", "c", List.of("x", "w"));
    assertEquals(List.of("c", "r"), check(g.model("r")).network().nodes().stream()
        .map(Network.Node::name).toList());
  }

  /** torchvision's CNBlock at opset 17, and its LayerNorm2d. */
  @Test
  void convNextBlockChannelsLast() {
    int c = 3;
    G g = new G(17);
    g.w("dw", 0.3, c, 1, 7, 7);
    g.w("dwb", 0.1, c);
    g.n("Conv", "dwconv", List.of("x", "dw", "dwb"), ai("group", c), ints("pads", 3, 3, 3, 3));
    g.n("Transpose", "t1", List.of("dwconv"), ints("perm", 0, 2, 3, 1));
    g.pos("lng", 0.5, 1.5, c);
    g.w("lnb", 0.2, c);
    g.n("LayerNormalization", "ln", List.of("t1", "lng", "lnb"), ai("axis", -1),
        af("epsilon", 1e-6f));
    g.w("w1", 0.5, c, 4 * c);
    g.n("MatMul", "pw1", List.of("ln", "w1"));
    g.w("b1", 0.1, 4 * c);
    g.n("Add", "pw1b", List.of("pw1", "b1"));
    g.scalar("sqrt2", 1.4142135f);
    g.scalar("one", 1);
    g.scalar("half", 0.5f);
    g.n("Div", "d", List.of("pw1b", "sqrt2"));
    g.n("Erf", "e", List.of("d"));
    g.n("Add", "a", List.of("e", "one"));
    g.n("Mul", "m", List.of("pw1b", "a"));
    g.n("Mul", "gelu", List.of("m", "half"));
    g.w("w2", 0.3, 4 * c, c);
    g.n("MatMul", "pw2", List.of("gelu", "w2"));
    g.w("b2", 0.1, c);
    g.n("Add", "pw2b", List.of("pw2", "b2"));
    g.n("Transpose", "t2", List.of("pw2b"), ints("perm", 0, 3, 1, 2));
    g.pos("gamma", 0.1, 0.2, c, 1, 1);
    g.n("Mul", "scaled", List.of("gamma", "t2"));
    g.n("Add", "block", List.of("scaled", "x"));
    Network net = check(g.model("block")).network();
    assertEquals(1, count(net, LayerNorm.class));
    assertEquals(1, count(net, LayerScale.class));
    assertEquals(3, count(net, ConvLayer.class));
    assertEquals(1, countAct(net, Act.Kind.GELU));
  }

  @Test
  void layerNormOnFeaturesAndLayerScaleOnChannels() {
    G g = new G(17);
    g.n("GlobalAveragePool", "gap", List.of("x"));
    g.pos("s", 0.5, 1.5, 1, 3, 1, 1);
    g.n("Mul", "scaled", List.of("gap", "s"));
    g.n("Flatten", "flat", List.of("scaled"));
    g.pos("lng", 0.5, 1.5, 3);
    g.n("LayerNormalization", "ln", List.of("flat", "lng"), af("epsilon", 1e-6f));
    check(g.model("ln"));
  }

  /** A classifier on the CPU engine: the imported network runs on every engine. */
  @Test
  void runsOnTheCpuEngine() {
    G g = new G(17);
    String a = g.convBn("c1", "x", 3, 6, 3, ints("pads", 1, 1, 1, 1), ints("strides", 2, 1));
    g.n("Relu", "r1", List.of(a));
    g.n("MaxPool", "mp", List.of("r1"), ints("kernel_shape", 2, 2), ints("strides", 2, 2),
        ai("ceil_mode", 1));
    String b = g.convBn("c2", "mp", 2, 6, 3, ints("pads", 1, 1, 1, 1), ai("group", 3));
    g.n("Add", "res", List.of(b, "mp"));
    g.scalar("lo", 0);
    g.scalar("hi", 6);
    g.n("Clip", "r2", List.of("res", "lo", "hi"));
    g.n("GlobalAveragePool", "gap", List.of("r2"));
    g.n("Flatten", "flat", List.of("gap"));
    g.w("fw", 0.5, 5, 6);
    g.w("fb", 0.5, 5);
    g.n("Gemm", "fc", List.of("flat", "fw", "fb"), ai("transB", 1));
    try (Engine cpu = Engines.cpu(2)) {
      check(g.model("fc"), 2, cpu);
    }
  }

  // ---- refusals

  @Test
  void unsupportedOpsNameOpNodeAndOpset() {
    G g = new G(17);
    g.n("Einsum", "einsum_3", List.of("x"), as("equation", "ij->ji"));
    refuses(g.model("einsum_3"), "unsupported op 'Einsum' (node 'einsum_3', opset 17)");
    G d = new G(17);
    d.nodes.add(new OnnxNode("f", "FusedConv", "com.microsoft", List.of("x"), List.of("f"),
        List.of()));
    refuses(d.model("f"), "unsupported op 'com.microsoft.FusedConv' (node 'f', opset 17)");
  }

  @Test
  void refusesMalformedGraphs() {
    G cycle = new G(17);
    cycle.n("Relu", "a", List.of("b"));
    cycle.n("Relu", "b", List.of("a"));
    refuses(cycle.model("b"), "t: the graph has a cycle through Relu node 'a'");
    G dangling = new G(17);
    dangling.n("Relu", "a", List.of("nowhere"));
    refuses(dangling.model("a"), "t: Relu node 'a' reads 'nowhere', which no node, initializer"
        + " or graph input produces");
    G twice = new G(17);
    twice.nodes.add(new OnnxNode("a", "Relu", "", List.of("x"), List.of("y"), List.of()));
    twice.nodes.add(new OnnxNode("b", "Sigmoid", "", List.of("x"), List.of("y"), List.of()));
    refuses(twice.model("y"), "t: tensor 'y' is produced twice, by Relu node 'a' and Sigmoid"
        + " node 'b'");
    G two = new G(17);
    two.inputs.add(new OnnxGraph.ValueInfo("z", OnnxTensor.FLOAT, new long[] {1, 3, 7, 5}));
    two.n("Add", "a", List.of("x", "z"));
    refuses(two.model("a"), "t: the graph has 2 inputs that are not initializers [x, z];"
        + " convkit imports exactly one");
    G three = new G(17, 1, 3, 7);
    three.n("Relu", "a", List.of("x"));
    refuses(three.model("a"), "t: graph input 'x' has dims [1, 3, 7]; convkit imports a 4-d"
        + " NCHW tensor with fixed C, H and W (N may be symbolic)");
    G symH = new G(17, -1, 3, -1, 5);
    symH.n("Relu", "a", List.of("x"));
    refuses(symH.model("a"), "t: graph input 'x' has dims [-1, 3, -1, 5]; convkit imports a 4-d"
        + " NCHW tensor with fixed C, H and W (N may be symbolic)");
    G ints = new G(17);
    ints.inputs.set(0, new OnnxGraph.ValueInfo("x", OnnxTensor.INT64, new long[] {1, 3, 7, 5}));
    ints.n("Relu", "a", List.of("x"));
    refuses(ints.model("a"), "t: graph input 'x' has element type 7; convkit imports FLOAT (1)"
        + " only");
  }

  @Test
  void refusesMismatchedOrComputedWeights() {
    G dims = new G(17);
    dims.w("w", 1, 4, 2, 3, 3);
    dims.n("Conv", "c", List.of("x", "w"));
    refuses(dims.model("c"), "Conv node 'c' (opset 17): weight 'w' has dims [4, 2, 3, 3];"
        + " expected [M, 3/1, kH, kW] with M divisible by group 1 for input 1x3x7x5");
    G kernel = new G(17);
    kernel.w("w", 1, 4, 3, 3, 3);
    kernel.n("Conv", "c", List.of("x", "w"), ints("kernel_shape", 3, 2));
    refuses(kernel.model("c"), "Conv node 'c' (opset 17): kernel_shape [3, 2] does not match"
        + " weight 'w' dims [4, 3, 3, 3]");
    G bias = new G(17);
    bias.w("w", 1, 4, 3, 3, 3);
    bias.w("b", 1, 3);
    bias.n("Conv", "c", List.of("x", "w", "b"));
    refuses(bias.model("c"), "Conv node 'c' (opset 17): bias 'b' has dims [3], expected [4]");
    G computed = new G(17);
    computed.n("Relu", "r", List.of("x"));
    computed.n("Conv", "c", List.of("x", "r"));
    refuses(computed.model("c"), "Conv node 'c' (opset 17): weight 'r' is computed by the graph,"
        + " not a constant (an initializer or Constant)");
    G bytes = new G(17);
    bytes.inits.add(new OnnxTensor("w", OnnxTensor.FLOAT, new long[] {4, 3, 1, 1}, new byte[40]));
    bytes.n("Conv", "c", List.of("x", "w"));
    refuses(bytes.model("c"), "t: tensor 'w' has dims [4, 3, 1, 1] (12 elements of 4 bytes) but"
        + " 40 bytes of data");
    G bn = new G(17);
    bn.w("g", 1, 4);
    bn.w("b", 1, 3);
    bn.w("m", 1, 3);
    bn.w("v", 1, 3);
    bn.n("BatchNormalization", "bn", List.of("x", "g", "b", "m", "v"));
    refuses(bn.model("bn"), "BatchNormalization node 'bn' (opset 17): scale 'g' has dims [4],"
        + " expected [3] for input 1x3x7x5");
  }

  @Test
  void refusesWhatConvkitCannotExpress() {
    G clip = new G(17);
    clip.scalar("lo", -1);
    clip.scalar("hi", 1);
    clip.n("Clip", "clip", List.of("x", "lo", "hi"));
    refuses(clip.model("clip"), "Clip node 'clip' (opset 17): Clip(min -1.0, max 1.0); convkit"
        + " has ReLU (0, inf) and ReLU6 (0, 6) only");
    G add = new G(17);
    add.n("Relu", "r", List.of("x"));
    add.scalar("k", 1);
    add.n("Add", "a", List.of("r", "k"));
    refuses(add.model("a"), "Add node 'a' (opset 17): a constant added to the output of relu"
        + " layer 'r'; convkit folds it only into the bias of the Conv, Gemm/MatMul or"
        + " BatchNormalization that produces the tensor, read by nothing else");
    G shared = new G(17);
    shared.w("w", 1, 3, 3, 1, 1);
    shared.n("Conv", "c", List.of("x", "w"));
    shared.scalar("k", 1);
    shared.n("Add", "a", List.of("c", "k"));
    shared.n("Add", "s", List.of("a", "c"));
    refuses(shared.model("s"), "Add node 'a' (opset 17): a constant added to the output of conv"
        + " layer 'c', which 2 layers read; convkit folds it only into the bias of the Conv,"
        + " Gemm/MatMul or BatchNormalization that produces the tensor, read by nothing else");
    G erf = new G(17);
    erf.n("Erf", "e", List.of("x"));
    erf.n("Relu", "r", List.of("e"));
    refuses(erf.model("r"), "unsupported op 'Erf' (node 'e', opset 17): Erf is imported only in"
        + " the GELU pattern x * 0.5 * (1 + Erf(x / sqrt 2))");
    G tr = new G(17);
    tr.n("Transpose", "t", List.of("x"), ints("perm", 0, 1, 3, 2));
    refuses(tr.model("t"), "unsupported op 'Transpose' (node 't', opset 17): Transpose is"
        + " imported only as the channels-last round trip (0,2,3,1) ... (0,3,1,2) around"
        + " LayerNormalization and MatMul");
    G open = new G(17);
    open.n("Transpose", "t", List.of("x"), ints("perm", 0, 2, 3, 1));
    open.n("Relu", "r", List.of("t"));
    refuses(open.model("r"), "unsupported op 'Transpose' (node 't', opset 17): Transpose is"
        + " imported only as the channels-last round trip (0,2,3,1) ... (0,3,1,2) around"
        + " LayerNormalization and MatMul");
    G eps = new G(17);
    eps.n("Transpose", "t", List.of("x"), ints("perm", 0, 2, 3, 1));
    eps.w("g", 1, 3);
    eps.n("LayerNormalization", "ln", List.of("t", "g"));
    refuses(eps.model("ln"), "LayerNormalization node 'ln' (opset 17): epsilon 1.0E-5;"
        + " convkit's layer norm uses 1e-6 (ConvNeXt's)");
    G mul = new G(17);
    mul.n("Relu", "r", List.of("x"));
    mul.n("Mul", "m", List.of("x", "r"));
    refuses(mul.model("m"), "Mul node 'm' (opset 17): Mul of two computed tensors ([N, 3, 7, 5]"
        + " and [N, 3, 7, 5]) is imported only as x * Sigmoid(x), x * HardSigmoid(x) (alpha 1/6,"
        + " beta 1/2) or in the GELU pattern x * 0.5 * (1 + Erf(x / sqrt 2))");
    G soft = new G(13);
    soft.n("Softmax", "p", List.of("x"), ai("axis", 1));
    refuses(soft.model("p"), "Softmax node 'p' (opset 13): Softmax over axis 1 of 1x3x7x5;"
        + " convkit's softmax is over each sample's features (a 2-d input's last axis)");
    G reshape = new G(17);
    reshape.n("Reshape", "r", List.of("x", reshape.l("s", 0, 3, 35)));
    refuses(reshape.model("r"), "Reshape node 'r' (opset 17): Reshape of 1x3x7x5 to"
        + " [0, 3, 35]; convkit imports a reshape that flattens to [N, -1] (or does nothing)");
    G broadcast = new G(17);
    broadcast.n("GlobalAveragePool", "gap", List.of("x"));
    broadcast.n("Add", "a", List.of("x", "gap"));
    refuses(broadcast.model("a"), "Add node 'a' (opset 17): Add of [N, 3, 7, 5] and"
        + " [N, 3, 1, 1]; convkit adds tensors of one shape (no broadcasting)");
    G pool = new G(17);
    pool.n("MaxPool", "mp", List.of("x"), ints("kernel_shape", 2, 2), ints("dilations", 2, 2));
    refuses(pool.model("mp"), "MaxPool node 'mp' (opset 17): dilations [2, 2]; convkit pools"
        + " without dilation");
  }
}
