package io.convkit.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.opencl.ClDevice;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.nn.Act;
import io.convkit.nn.HardSigmoid;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Import of files as PyTorch's exporter writes them (torch.onnx.export of torch 1.13 at opsets
 * 13 and 17, dynamic batch; torchvision 0.14's own blocks at tiny widths; written by
 * resources/io/convkit/onnx/torch/generate.py at development time), against PyTorch's own
 * output computed in float64. Each file is imported and run on the reference, CPU and OpenCL
 * engines at batch 2 (the graph's batch is symbolic); ONNX Runtime runs the same bytes as a
 * second oracle. The bound is the whole-network criterion, 1e-4 of the largest output:
 * the float32 engines accumulate over at most a few hundred terms per layer in these nets, orders
 * of magnitude inside it. Files the importer refuses assert the exact refusal.
 */
class TorchExportedTest {
  private static final String DIR = "/io/convkit/onnx/torch/";

  /**
   * What the importer refuses, by file. PyTorch writes LocalResponseNorm op by op (there is no
   * aten op: x * x, Unsqueeze, Pad, AveragePool over channels, Pow, Div, with a Shape/If chain
   * on the rank), which convkit does not pattern-match: the first node it stops at is x * x.
   * (Before opset 17 PyTorch writes LayerNorm op by op too: ReduceMean, Sub, Pow, ReduceMean,
   * Add, Sqrt, Div, Mul, Add; that pattern is imported, convnext_tiny.opset13 has it.)
   * MobileNetV3's squeeze-and-excitation is refused at its Hardsigmoid-gated Mul.
   */
  private static final Map<String, String> REFUSED = Map.of(
      "alexnet_lrn_tiny.opset13.onnx", lrnRefusal(13),
      "alexnet_lrn_tiny.opset17.onnx", lrnRefusal(17),
      // torch.nn.LayerNorm's default epsilon, op by op and as the opset-17 op
      "layernorm_eps5_tiny.opset13.onnx", "Div node '/norm/Div' (opset 13): epsilon 1.0E-5;"
          + " convkit's layer norm uses 1e-6 (ConvNeXt's)",
      "layernorm_eps5_tiny.opset17.onnx", "LayerNormalization node '/norm/LayerNormalization'"
          + " (opset 17): epsilon 1.0E-5; convkit's layer norm uses 1e-6 (ConvNeXt's)",
      // MobileNetV3's squeeze-and-excitation gates with Hardsigmoid, convkit's with Sigmoid
      "mobilenet_v3_se_tiny.opset13.onnx", hardGateRefusal(13),
      "mobilenet_v3_se_tiny.opset17.onnx", hardGateRefusal(17));

  private static String hardGateRefusal(int opset) {
    return "Mul node '/block/block/block.2/Mul' (opset " + opset + "): x * HardSigmoid(y) of"
        + " another tensor y ([N, 16, 4, 4] and [N, 16, 1, 1]; MobileNetV3's"
        + " squeeze-and-excitation gate) is not imported: convkit's squeeze-and-excitation gates"
        + " with Sigmoid";
  }

  private static String lrnRefusal(int opset) {
    return "Mul node '/features/features.2/Mul' (opset " + opset + "): Mul of two computed"
        + " tensors ([N, 8, 12, 12] and [N, 8, 12, 12]) is imported only as x * Sigmoid(x),"
        + " x * HardSigmoid(x) (alpha 1/6, beta 1/2) or in the GELU pattern"
        + " x * 0.5 * (1 + Erf(x / sqrt 2))";
  }

  /** One model of the manifest (name, input and output dims; its opsets are its files). */
  record Case(String name, int[] in, int[] out) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> files() {
    List<Arguments> r = new ArrayList<>();
    for (String line : text("manifest.txt").split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.trim().split(" ");
      Case c = new Case(f[0], dims(f[1]), dims(f[2]));
      for (int op : dims(f[3])) {
        r.add(Arguments.of(c, op));
      }
    }
    return r.stream();
  }

  private static OpenClEngine openCl;

  @AfterAll
  static void closeOpenCl() {
    if (openCl != null) {
      openCl.close();
      openCl = null;
    }
  }

  @ParameterizedTest(name = "{0} opset {1}")
  @MethodSource("files")
  void referenceAndCpuEnginesAgreeWithPyTorch(Case c, int opset) throws IOException {
    OnnxImport.Imported im = importOrRefusal(c, opset);
    if (im == null) {
      return;
    }
    try (Engine ref = Engines.reference(); Engine cpu = Engines.cpu(2)) {
      check(c, opset, im, ref, "reference");
      check(c, opset, im, cpu, "CPU");
    }
  }

  @ParameterizedTest(name = "{0} opset {1}")
  @MethodSource("files")
  void openClEngineAgreesWithPyTorch(Case c, int opset) throws IOException {
    OnnxImport.Imported im = importOrRefusal(c, opset);
    if (im == null) {
      return;
    }
    check(c, opset, im, openCl(), "OpenCL");
  }

  /** The fixture itself: ONNX Runtime on the same bytes computes what PyTorch did. */
  @ParameterizedTest(name = "{0} opset {1}")
  @MethodSource("files")
  void onnxRuntimeAgreesWithPyTorch(Case c, int opset) throws OrtException {
    float[] y = OnnxExportOrtTest.runOrt(bytes(file(c, opset)), input(c),
        Shape.of(c.in[0], c.in[1], c.in[2], c.in[3]));
    assertClose(c, opset, "ONNX Runtime", y);
  }

  /**
   * The op-by-op layer norm only as a whole: PyTorch's ConvNeXt block at opset 13 with one
   * input rewired, so a step of the pattern is read by something else or a step is skipped.
   */
  @Test
  void aBrokenOpByOpLayerNormIsRefusedAtTheStepThatBreaksIt() throws IOException {
    String ln = "/blocks/blocks.0/block/block.2/";
    String why = "imported only as a step of a layer norm over the channels written op by op:"
        + " (x - ReduceMean(x)) / Sqrt(ReduceMean((x - ReduceMean(x))^2) + eps)";
    // the first Linear reads x - mean instead of the normalised tensor
    assertRefused(rewired("/blocks/blocks.0/block/block.3/MatMul", 0, ln + "Sub_output_0"),
        "Sub node '" + ln + "Sub' (opset 13): " + why);
    // no epsilon before the square root
    assertRefused(rewired(ln + "Sqrt", 0, ln + "ReduceMean_1_output_0"), "Sqrt node '" + ln
        + "Sqrt' (opset 13): Sqrt is imported only as Sqrt(variance + eps) of a layer norm"
        + " written op by op");
    // the mean subtracted from another tensor than the one it is the mean of
    assertRefused(rewired(ln + "Sub", 0, "/blocks/blocks.0/block/block.0/Conv_output_0"),
        "Sub node '" + ln + "Sub' (opset 13): Sub is imported only as a computed tensor minus a"
            + " constant");
  }

  /**
   * nn.Hardswish is one hard-swish at both opsets (HardSwish at 17; x * HardSigmoid(x, alpha
   * 1/6) at 13, fused back), nn.Hardsigmoid one HardSigmoid layer with PyTorch's alpha.
   */
  @Test
  void pyTorchsHardSwishAndHardSigmoidImportAsTheirLayers() throws IOException {
    for (int opset : new int[] {13, 17}) {
      Network v3 = OnnxImport.toNetwork(OnnxCodec.read(bytes("mobilenet_v3_tiny.opset" + opset
          + ".onnx"), null), "mobilenet_v3_tiny").network();
      // stem, two per block (expand and depthwise), head, classifier
      assertEquals(7, v3.nodes().stream().filter(n -> n.layer() instanceof Act a
          && a.kind() == Act.Kind.HARD_SWISH).count(), "opset " + opset);
      assertEquals(0, v3.nodes().stream().filter(n -> n.layer() instanceof HardSigmoid).count());
      Network hs = OnnxImport.toNetwork(OnnxCodec.read(bytes("hardsigmoid_tiny.opset" + opset
          + ".onnx"), null), "hardsigmoid_tiny").network();
      List<HardSigmoid> layers = hs.nodes().stream().filter(n -> n.layer() instanceof HardSigmoid)
          .map(n -> (HardSigmoid) n.layer()).toList();
      assertEquals(1, layers.size(), "opset " + opset);
      assertEquals(1 / 6f, layers.get(0).alpha());
      assertEquals(0.5, layers.get(0).beta());
    }
  }

  private static OnnxModel rewired(String node, int input, String tensor) throws IOException {
    OnnxModel m = OnnxCodec.read(bytes("convnext_tiny.opset13.onnx"), null);
    OnnxGraph g = m.graph();
    List<OnnxNode> nodes = new ArrayList<>();
    int hits = 0;
    for (OnnxNode n : g.nodes()) {
      if (n.name().equals(node)) {
        List<String> in = new ArrayList<>(n.inputs());
        in.set(input, tensor);
        n = new OnnxNode(n.name(), n.opType(), n.domain(), in, n.outputs(), n.attributes());
        hits++;
      }
      nodes.add(n);
    }
    assertEquals(1, hits, node);
    return new OnnxModel(m.irVersion(), m.opsets(), m.producerName(), new OnnxGraph(g.name(),
        nodes, g.initializers(), g.inputs(), g.outputs()));
  }

  private static void assertRefused(OnnxModel m, String message) {
    OnnxImportException e = assertThrows(OnnxImportException.class,
        () -> OnnxImport.toNetwork(m, "convnext_tiny"));
    assertEquals(message, e.getMessage());
  }

  /** The imported network, or null after asserting the refusal listed for the file. */
  private static OnnxImport.Imported importOrRefusal(Case c, int opset) throws IOException {
    String file = file(c, opset);
    OnnxModel m = OnnxCodec.read(bytes(file), null);
    String refusal = REFUSED.get(file);
    if (refusal != null) {
      OnnxImportException e = assertThrows(OnnxImportException.class,
          () -> OnnxImport.toNetwork(m, c.name));
      assertEquals(refusal, e.getMessage(), file);
      return null;
    }
    return OnnxImport.toNetwork(m, c.name);
  }

  private static void check(Case c, int opset, OnnxImport.Imported im, Engine e, String what) {
    try (ForwardPlan plan = new ForwardPlan(im.network(), im.weights());
        ForwardPass pass = new ForwardPass(plan, e); Tensor x = Tensor.of(input(c), c.in);
        Tensor y = pass.forward(x)) {
      assertArrayEquals(c.out, y.shape().dims(), c.name + " opset " + opset + " on " + what
          + ": output dims");
      assertClose(c, opset, what, y.toArray());
    }
  }

  /** Within 1e-4 of the largest of PyTorch's float64 outputs, element by element. */
  private static void assertClose(Case c, int opset, String what, float[] y) {
    double[] want = output(c);
    assertEquals(want.length, y.length, c.name + " opset " + opset + " on " + what + ": size");
    double largest = 0;
    for (double v : want) {
      largest = Math.max(largest, Math.abs(v));
    }
    assertTrue(largest > 0, c.name + ": an all-zero output tests nothing");
    double bound = 1e-4 * largest;
    double worst = 0;
    int at = -1;
    for (int i = 0; i < y.length; i++) {
      double d = Math.abs(y[i] - want[i]);
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    assertTrue(worst <= bound, c.name + " opset " + opset + " on " + what + ": output " + at
        + " is " + y[at] + ", PyTorch " + want[at] + " (|diff| " + worst + " > bound " + bound
        + ")");
  }

  /**
   * The OpenCL engine the class shares: skipped where there is no OpenCL platform, failed
   * instead with CONVKIT_REQUIRE_OPENCL=1 (as the OpenCL engine's own tests do).
   */
  private static Engine openCl() {
    if (openCl == null) {
      ClDevice d = io.convkit.testing.OpenClOrSkip.device();
      openCl = OpenClEngine.open(d);
    }
    return openCl;
  }

  // ---- the fixture files

  private static String file(Case c, int opset) {
    return c.name + ".opset" + opset + ".onnx";
  }

  private static float[] input(Case c) {
    ByteBuffer b = ByteBuffer.wrap(bytes(c.name + ".input.bin")).order(ByteOrder.LITTLE_ENDIAN);
    float[] x = new float[b.remaining() / 4];
    b.asFloatBuffer().get(x);
    assertEquals(Arrays.stream(c.in).reduce(1, (p, q) -> p * q), x.length, c.name + ": input");
    return x;
  }

  private static double[] output(Case c) {
    ByteBuffer b = ByteBuffer.wrap(bytes(c.name + ".output.bin")).order(ByteOrder.LITTLE_ENDIAN);
    double[] y = new double[b.remaining() / 8];
    b.asDoubleBuffer().get(y);
    return y;
  }

  private static int[] dims(String s) {
    return Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
  }

  private static String text(String name) {
    return new String(bytes(name), StandardCharsets.UTF_8);
  }

  private static byte[] bytes(String name) {
    try (InputStream in = TorchExportedTest.class.getResourceAsStream(DIR + name)) {
      if (in == null) {
        throw new AssertionError("missing test resource " + DIR + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
