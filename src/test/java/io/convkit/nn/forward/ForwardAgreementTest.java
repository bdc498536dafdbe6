package io.convkit.nn.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.opencl.OpenClException;
import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.nn.models.InceptionResNetV2;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.pool.PoolKind;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ChannelOpsCheck;
import io.convkit.testing.Tolerance;
import io.convkit.testing.OpenClOrSkip;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole networks on the CPU and OpenCL engines against the float64 reference engine.
 *
 * <p>The tolerance is propagated layer by layer rather than tuned end to end: the reference runs
 * the network once and keeps every step's output; then each engine runs each step alone on the
 * reference's outputs of the steps before it, and must land within that step's own derived
 * bound. Convolutions and FCs (BN folded, activation fused): {@link Tolerance}'s
 * {@code (gamma(K+1) + u) * (|b| + sum |w||x|)} per output. Average pooling over a window of K
 * elements: {@code gamma(K+1) * max|x| + u|y|} (the sum's error over the divisor, which is at
 * least the number of elements summed, plus the final rounding), inside {@code bound(K, max|x|)}.
 * Max pooling: exact. Add of k tensors: each float add is correctly rounded, within
 * {@code bound(k-1, sum |x_j|)}. LRN and layer norm: {@link Tolerance}'s bounds from the window and the channel count.
 * Concatenation: exact copies. Host ops: the same code on the same input on every engine, so
 * bit for bit. With each step within its bound on the exact inputs, an engine computes every
 * step as the reference does up to float32 rounding; an end-to-end bound would need each
 * network's condition number, which random weights do not keep small.
 */
class ForwardAgreementTest {
  private static Engine reference;
  private static Engine cpu;
  private static Engine openCl;

  @BeforeAll
  static void engines() {
    reference = Engines.reference();
    cpu = Engines.cpu(2);
    try {
      openCl = Engines.openCl();
    } catch (OpenClException | LinkageError e) {
      if (OpenClOrSkip.required()) {
        fail("CONVKIT_REQUIRE_OPENCL=1 but there is no OpenCL device: " + e.getMessage(), e);
      }
      openCl = null; // OpenCL half skipped on a machine without any platform
    }
  }

  @AfterAll
  static void close() {
    reference.close();
    cpu.close();
    if (openCl != null) {
      openCl.close();
    }
  }

  static Stream<Arguments> networks() {
    return Stream.of(
        Arguments.of(Models.create("lenet5"), Shape.of(2, 1, 32, 32)),
        Arguments.of(Models.create("lenet_cifar"), Shape.of(2, 3, 32, 32)),
        Arguments.of(Models.create("mobilenet_v1", Map.of("alpha", "0.25")),
            Shape.of(1, 3, 128, 128)),
        Arguments.of(Models.create("mobilenet_v2", Map.of("alpha", "0.5")),
            Shape.of(1, 3, 96, 96)),
        Arguments.of(Models.create("resnet18"), Shape.of(1, 3, 64, 64)),
        Arguments.of(Models.create("googlenet"), Shape.of(1, 3, 64, 64)),
        Arguments.of(InceptionResNetV2.blocks(11, false), Shape.of(1, 320, 11, 11)),
        Arguments.of(InceptionResNetV2.blocks(11, true), Shape.of(1, 320, 11, 11)),
        // fused swish, SE sigmoid and GELU; ConvNeXt's folded layer scale
        Arguments.of(Models.create("efficientnet_b0"), Shape.of(1, 3, 32, 32)),
        Arguments.of(Models.create("convnext_tiny"), Shape.of(1, 3, 32, 32)));
  }

  @ParameterizedTest(name = "{0} at {1}")
  @MethodSource("networks")
  void enginesAgreeWithTheReferenceLayerByLayer(Network net, Shape input) {
    float[] x = ConvCases.data(42, input.elements());
    try (ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 7));
        Tensor in = Tensor.of(x, input.dims());
        ForwardPass ref = new ForwardPass(plan, reference)) {
      List<float[]> expected = new ArrayList<>();
      float[] out = ref.forward(in, (i, t) -> expected.add(t.toArray())).toArray();
      for (float v : out) {
        assertTrue(Float.isFinite(v), net.name() + ": reference output is not finite");
      }
      List<Step> steps = plan.steps();
      Shape[] shapes = ref.valueShapes(input);
      float[][] values = new float[plan.valueCount()][];
      values[0] = x;
      for (int i = 0; i < steps.size(); i++) {
        values[steps.get(i).output()] = expected.get(i);
      }
      for (Engine e : openCl == null ? List.of(cpu) : List.of(cpu, openCl)) {
        try (ForwardPass pass = new ForwardPass(plan, e)) {
          for (int i = 0; i < steps.size(); i++) {
            checkStep(net.name() + " on " + e.name(), pass, input, steps.get(i), shapes, values);
          }
          // And the whole network in one go, as the CLI runs it: same shape, finite.
          float[] whole = pass.forward(in).toArray();
          assertEquals(out.length, whole.length);
          for (float v : whole) {
            assertTrue(Float.isFinite(v), net.name() + " on " + e.name() + ": not finite");
          }
        }
      }
    }
  }

  private static void checkStep(String what, ForwardPass pass, Shape input, Step s,
      Shape[] shapes, float[][] values) {
    int[] ids = s.inputs();
    Tensor[] in = new Tensor[ids.length];
    try {
      for (int j = 0; j < ids.length; j++) {
        in[j] = Tensor.of(values[ids[j]], shapes[ids[j]].dims());
      }
      float[] actual = pass.runStep(indexOf(pass, s), input, in).toArray();
      float[] expected = values[s.output()];
      String at = what + ", step " + s.name() + " (" + s.describe() + ")";
      switch (s.kind()) {
        case CONV, FC -> {
          var conv = s instanceof Step.Conv c ? c.conv() : ((Step.Fc) s).conv();
          Shape xs = s instanceof Step.Conv ? shapes[ids[0]] : ((Step.Fc) s).convInput(
              shapes[ids[0]]);
          // The bound for what the engine runs the step with, in the layout the pass gives it.
          Engine e = pass.engine();
          ConvPlan cp = conv.plan(xs);
          Layout l = e.preferredLayout() == Layout.NHWC && e.runsNhwc(cp) ? Layout.NHWC
              : Layout.NCHW;
          Tolerance.assertClose(at, e, l, cp, conv.weights(), values[ids[0]], expected, actual);
        }
        case POOL -> {
          Step.Pool p = (Step.Pool) s;
          if (p.spec().kind() == PoolKind.MAX) {
            assertArrayEquals(expected, actual, at);
          } else {
            Shape xs = shapes[ids[0]];
            int k = p.spec().kernelH(xs) * p.spec().kernelW(xs);
            double max = 0;
            for (float v : values[ids[0]]) {
              max = Math.max(max, Math.abs(v));
            }
            within(at, expected, actual, k, max, null, Activation.NONE);
          }
        }
        case ADD -> {
          double[] mag = new double[expected.length];
          for (int id : ids) {
            float[] v = values[id];
            for (int q = 0; q < mag.length; q++) {
              mag[q] += Math.abs(v[q]);
            }
          }
          within(at, expected, actual, ids.length - 1, 0, mag, ((Step.Add) s).act);
        }
        case LRN -> ChannelOpsCheck.checkLrn(at, new ChannelOpsCheck.LrnCase(shapes[ids[0]],
            ((Step.Lrn) s).spec(), 1), expected, actual);
        case LAYER_NORM -> {
          Step.LayerNorm ln = (Step.LayerNorm) s;
          ChannelOpsCheck.checkLayerNorm(at, shapes[ids[0]], values[ids[0]], ln.gamma(),
              ln.beta(), ln.eps(), expected, actual);
        }
        // one correctly rounded product or a copy: bit-identical on every engine
        case CONCAT, SCALE_CHANNELS, HOST -> assertArrayEquals(expected, actual, at);
        default -> fail("unknown step kind " + s.kind());
      }
    } finally {
      for (Tensor t : in) {
        if (t != null) {
          t.close();
        }
      }
    }
  }

  private static void within(String at, float[] expected, float[] actual, int k, double m,
      double[] perElement, Activation act) {
    assertEquals(expected.length, actual.length, at);
    for (int i = 0; i < expected.length; i++) {
      double diff = Math.abs((double) expected[i] - actual[i]);
      double tol = Tolerance.bound(k, perElement == null ? m : perElement[i], act);
      if (!(diff <= tol)) {
        fail(String.format("%s: output %d is %s, reference %s, |diff| %.3g > bound %.3g", at, i,
            actual[i], expected[i], diff, tol));
      }
    }
  }

  private static int indexOf(ForwardPass pass, Step s) {
    List<Step> steps = pass.plan().steps();
    for (int i = 0; i < steps.size(); i++) {
      if (steps.get(i) == s) {
        return i;
      }
    }
    throw new AssertionError(s.name());
  }
}
