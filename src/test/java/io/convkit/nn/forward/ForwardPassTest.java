package io.convkit.nn.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.nn.Subsampling;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuPasses;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class ForwardPassTest {
  @Test
  void secondForwardAllocatesNothing() {
    Network net = Models.create("mobilenet_v2", Map.of("alpha", "0.5"));
    Shape in = Shape.of(2, 3, 64, 64);
    try (Engine cpu = Engines.cpu(2);
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 3));
        ForwardPass pass = new ForwardPass(plan, cpu);
        Tensor x = Tensor.of(ConvCases.data(1, in.elements()), in.dims())) {
      float[] first = pass.forward(x).toArray();
      long allocations = pass.allocations();
      long bytes = Pointer.totalBytes();
      for (int i = 0; i < 3; i++) {
        assertArrayEquals(first, pass.forward(x).toArray(), "same input, same output");
      }
      assertEquals(allocations, pass.allocations(), "tensors allocated after the first call");
      assertEquals(bytes, Pointer.totalBytes(), "off-heap bytes after the first call");
      // a pool: a buffer whose value has been read for the last time is reused by a later value
      // of the same shape (MobileNet v2 changes shape at nearly every step: 36 buffers, 64 steps)
      assertTrue(pass.bufferCount() < plan.steps().size(), pass.bufferCount() + " buffers for "
          + plan.steps().size() + " steps");
      assertEquals(Shape.of(2, 1000), pass.forward(x).shape());
    }
  }

  @Test
  void theCpuPassKeepsConvsInNhwcAndTheReferenceInNchw() {
    Network net = Models.create("resnet18");
    Shape in = Shape.of(1, 3, 64, 64);
    try (Engine cpu = Engines.cpu(1); Engine ref = Engines.reference();
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 3));
        ForwardPass onCpu = new ForwardPass(plan, cpu);
        ForwardPass onRef = new ForwardPass(plan, ref);
        Tensor x = Tensor.of(ConvCases.data(1, in.elements()), in.dims())) {
      List<Step> steps = plan.steps();
      List<Layout> cpuLayouts = onCpu.stepLayouts(in);
      List<Layout> refLayouts = onRef.stepLayouts(in);
      for (int i = 0; i < steps.size(); i++) {
        Step s = steps.get(i);
        if (s.kind() == Step.Kind.CONV || s.kind() == Step.Kind.POOL
            || s.kind() == Step.Kind.ADD) {
          assertEquals(Layout.NHWC, cpuLayouts.get(i), s.name() + " on the CPU");
          assertEquals(Layout.NCHW, refLayouts.get(i), s.name() + " on the reference");
        }
      }
      // One reorder in (the NCHW input), the rest stays NHWC up to the global pool's one pixel.
      float[] y = onCpu.forward(x).toArray();
      float[] want = onRef.forward(x).toArray();
      assertEquals(want.length, y.length);
      assertEquals(onCpu.bufferCount() + 1, onCpu.allocations(), "buffers plus one reorder");
    }
  }

  @Test
  void aResidualAddFusedIntoItsConvGivesTheUnfusedBits() {
    for (String model : List.of("resnet18", "mobilenet_v2")) {
      Network net = Models.create(model, model.equals("mobilenet_v2") ? Map.of("alpha", "0.5")
          : Map.of());
      Shape in = Shape.of(2, 3, 64, 64);
      CpuPasses.run(net, 5, in, (pass, x) -> {
        List<String> fused = pass.fusedAdds(in);
        assertTrue(fused.size() >= (model.equals("resnet18") ? 8 : 10), model + ": " + fused);
        pass.setProfiling(true);
        float[] together = pass.forward(x).toArray();
        pass.setProfiling(false);
        // ResNet's adds write their output over the block input they read last (one buffer,
        // in place); MobileNet v2's residual is also its block's input, which the block reads
        long inPlace = pass.times().stream().filter(t -> t.ran().endsWith("+ residual in place"))
            .count();
        if (model.equals("resnet18")) {
          assertTrue(inPlace >= 6, model + ": " + inPlace + " adds in place");
        }
        // unfused: the add runs in place after its conv (the conv alone must not overwrite the
        // residual that shares the add's buffer: the add reads a copy)
        float[] apart = CpuPasses.unfused(pass, x);
        assertArrayEquals(apart, together, model + ": fused and unfused adds");
        assertArrayEquals(together, pass.forward(x).toArray(), model + ": fused again");
        return null;
      });
    }
  }

  @Test
  void fusionAndFoldingShapeThePlan() {
    Network net = Models.create("resnet18");
    try (ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 1))) {
      List<Step> steps = plan.steps();
      // 20 convs (BN folded, ReLU fused where the conv feeds only it), 1 pool, 1 global pool,
      // 8 adds (ReLU fused), 1 FC: no host step at all
      assertEquals(0, steps.stream().filter(s -> s.kind() == Step.Kind.HOST).count());
      assertEquals(20, steps.stream().filter(s -> s.kind() == Step.Kind.CONV).count());
      assertEquals(8, steps.stream().filter(s -> s.kind() == Step.Kind.ADD).count());
      Step conv1 = steps.get(0);
      assertEquals("conv1[3->64, k7x7, s2x2, p3,3,3,3, bias, RELU]", conv1.describe());
      assertTrue(steps.stream().filter(s -> s.kind() == Step.Kind.ADD)
          .allMatch(s -> s.describe().equals("add, RELU")));
    }
    Network irv2 = io.convkit.nn.models.InceptionResNetV2.blocks(11, false);
    try (ForwardPlan plan = new ForwardPlan(irv2, NetworkWeights.random(irv2, 1))) {
      // the residual scale 0.1 folds into each expand conv and the concats run on the engine:
      // no host step at all
      assertEquals(0, plan.steps().stream().filter(s -> s.kind() == Step.Kind.HOST).count());
      assertTrue(plan.steps().stream().anyMatch(s -> s.kind() == Step.Kind.CONCAT));
    }
  }

  @Test
  void leNetSubsamplingAndTanhRunOnTheEngines() {
    Network lenet = Models.create("lenet5");
    try (ForwardPlan plan = new ForwardPlan(lenet, NetworkWeights.random(lenet, 1))) {
      // every tanh fused into its conv, FC or subsampling (a depthwise conv): only the RBF
      // output is left on the host
      List<Step> host = plan.steps().stream().filter(s -> s.kind() == Step.Kind.HOST).toList();
      assertEquals(List.of("output"), host.stream().map(Step::name).toList());
    }
    // S2's definition on a 2-channel 5x5 input (the fifth row and column dropped): per channel
    // tanh(coeff * (sum of the 2x2 block) + bias), on every engine
    NetworkBuilder b = Network.builder("sub", Shape.of(1, 2, 5, 5));
    b.layer("s", new Subsampling(2, 2)).act(Act.Kind.TANH);
    Network net = b.build();
    NetworkWeights w = NetworkWeights.random(net, 6);
    float[] coeff = w.get("s", "weight");
    float[] bias = w.get("s", "bias");
    float[] x = ConvCases.data(3, 50);
    double[] want = new double[8];
    for (int c = 0; c < 2; c++) {
      for (int p = 0; p < 4; p++) {
        double sum = 0;
        for (int dy = 0; dy < 2; dy++) {
          for (int dx = 0; dx < 2; dx++) {
            sum += x[c * 25 + (2 * (p / 2) + dy) * 5 + 2 * (p % 2) + dx];
          }
        }
        want[c * 4 + p] = Math.tanh(coeff[c] * sum + bias[c]);
      }
    }
    try (Engine ref = Engines.reference(); Engine cpu = Engines.cpu(1);
        Tensor in = Tensor.of(x, 1, 2, 5, 5); ForwardPlan plan = new ForwardPlan(net, w)) {
      for (Engine e : List.of(ref, cpu)) {
        try (ForwardPass pass = new ForwardPass(plan, e)) {
          float[] got = pass.forward(in).toArray();
          for (int i = 0; i < 8; i++) {
            // four products summed in float, then tanh (1-Lipschitz) within a few ulp
            assertEquals(want[i], got[i], 1e-6 * (1 + Math.abs(coeff[i / 4]) * 4), e.name()
                + " output " + i);
          }
        }
      }
    }
  }

  @Test
  void batchNormUsesItsOwnEpsilonFoldedOrNot() {
    // eps 0.5 against running variances near 1 changes every output by ~20%: a fold that used
    // PyTorch's default 1e-5 instead could not pass
    NetworkBuilder b = Network.builder("eps", Shape.of(1, 2, 5, 5)).bnEps(0.5);
    b.convBn("c", 3, 3, 1, 1).relu().bn(); // the second BN follows a ReLU: not folded
    Network net = b.build();
    NetworkWeights w = NetworkWeights.random(net, 4);
    float[] x = ConvCases.data(2, 50);
    double[] want = new double[75];
    float[] cw = w.get("c", "weight");
    for (int o = 0; o < 3; o++) {
      for (int p = 0; p < 25; p++) {
        double z = 0;
        for (int i = 0; i < 2; i++) {
          for (int kh = 0; kh < 3; kh++) {
            for (int kw = 0; kw < 3; kw++) {
              int h = p / 5 + kh - 1;
              int v = p % 5 + kw - 1;
              if (h >= 0 && h < 5 && v >= 0 && v < 5) {
                z += cw[((o * 2 + i) * 3 + kh) * 3 + kw] * x[i * 25 + h * 5 + v];
              }
            }
          }
        }
        z = Math.max(0, bn(w, "c_bn", o, z));
        want[o * 25 + p] = bn(w, "c_bn2", o, z);
      }
    }
    try (Engine ref = Engines.reference(); Tensor in = Tensor.of(x, 1, 2, 5, 5);
        ForwardPlan plan = new ForwardPlan(net, w);
        ForwardPass pass = new ForwardPass(plan, ref)) {
      float[] got = pass.forward(in).toArray();
      for (int i = 0; i < 75; i++) {
        assertEquals(want[i], got[i], 1e-5 * (1 + Math.abs(want[i])), "output " + i);
      }
    }
  }

  private static double bn(NetworkWeights w, String node, int c, double z) {
    double gamma = w.get(node, "weight")[c];
    double beta = w.get(node, "bias")[c];
    double mean = w.get(node, "running_mean")[c];
    double var = w.get(node, "running_var")[c];
    return gamma * (z - mean) / Math.sqrt(var + 0.5) + beta;
  }

  @Test
  void transcendentalActivationsFuseAndLayerScaleFolds() {
    Network eff = Models.create("efficientnet_b0");
    try (ForwardPlan plan = new ForwardPlan(eff, NetworkWeights.random(eff, 1))) {
      // every swish fused into its conv (SE's inner one into the reduce FC), SE's sigmoid into
      // the expand FC: the host only multiplies by the gates
      assertEquals(0, plan.steps().stream().filter(s -> s.kind() == Step.Kind.HOST).count());
      assertEquals(16, plan.steps().stream().filter(s -> s.kind() == Step.Kind.SCALE_CHANNELS)
          .count(), "one SE multiply per MBConv block");
      assertTrue(plan.steps().stream().filter(s -> s.name().endsWith("/expand"))
          .allMatch(s -> s.describe().endsWith(", SIGMOID]")));
      assertTrue(plan.steps().stream().filter(s -> s.name().endsWith("/reduce"))
          .allMatch(s -> s.describe().endsWith(", SWISH]")));
    }
    Network cnx = Models.create("convnext_tiny");
    try (ForwardPlan plan = new ForwardPlan(cnx, NetworkWeights.random(cnx, 1))) {
      // GELU fused into pw1, gamma folded into pw2, layer norms on the engine: no host step
      assertEquals(0, plan.steps().stream().filter(s -> s.kind() == Step.Kind.HOST).count());
      assertTrue(plan.steps().stream().filter(s -> s.name().endsWith("pw1"))
          .allMatch(s -> s.describe().endsWith(", GELU]")));
      assertEquals(plan.valueOf("stage1_0_pw2"), plan.valueOf("stage1_0_gamma"));
    }
  }

  /** gamma[o] * (b[o] + sum_i w[o][i] x[i]): the folded layer scale computes the same thing. */
  @Test
  void foldedLayerScaleMatchesConvThenScale() {
    Network net = Network.builder("ls", Shape.of(1, 3, 2, 2)).conv("c", 4, 1, 1, 0)
        .layerScale("g").build();
    NetworkWeights weights = NetworkWeights.random(net, 5);
    float[] w = weights.get("c", "weight");
    float[] b = weights.get("c", "bias");
    float[] g = weights.get("g", "weight");
    float[] x = ConvCases.data(9, 12);
    try (Engine ref = Engines.reference(); ForwardPlan plan = new ForwardPlan(net, weights);
        ForwardPass pass = new ForwardPass(plan, ref); Tensor in = Tensor.of(x, 1, 3, 2, 2)) {
      assertEquals(1, plan.steps().size(), "the layer scale is an alias of the conv");
      float[] y = pass.forward(in).toArray();
      for (int o = 0; o < 4; o++) {
        for (int p = 0; p < 4; p++) {
          double sum = b[o];
          for (int i = 0; i < 3; i++) {
            sum += w[o * 3 + i] * x[i * 4 + p];
          }
          double expected = g[o] * sum;
          assertEquals(expected, y[o * 4 + p], 1e-6 * (1 + Math.abs(expected)), o + "," + p);
        }
      }
    }
  }

  @Test
  void networkForwardIsOneShotWithSeedZero() {
    Network net = Models.create("lenet5");
    float[] x = ConvCases.data(5, 32 * 32);
    try (Engine cpu = Engines.cpu(1);
        Tensor in = Tensor.of(x, 1, 1, 32, 32);
        Tensor y = net.forward(in, cpu);
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 0));
        ForwardPass pass = new ForwardPass(plan, cpu)) {
      assertEquals(Shape.of(1, 10), y.shape());
      assertArrayEquals(pass.forward(in).toArray(), y.toArray());
    }
  }

  @Test
  void randomWeightsAreSeededAndHeScaled() {
    Network net = Models.create("lenet_cifar");
    NetworkWeights a = NetworkWeights.random(net, 9);
    assertArrayEquals(a.get("conv2", "weight"), NetworkWeights.random(net, 9).get("conv2",
        "weight"));
    float[] w = a.get("fc1", "weight"); // fan_in 3200: std sqrt(2/3200) = 0.025
    double sq = 0;
    for (float v : w) {
      sq += v * v;
    }
    assertEquals(Math.sqrt(2.0 / 3200), Math.sqrt(sq / w.length), 0.001);
    assertThrows(IllegalArgumentException.class, () -> a.get("conv9", "weight"));
  }

  @Test
  void badInputsAreCleanErrors() {
    Network net = Models.create("alexnet");
    try (Engine cpu = Engines.cpu(1);
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 1));
        ForwardPass pass = new ForwardPass(plan, cpu);
        Tensor x = Tensor.zeros(1, 3, 64, 64)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> pass.forward(x));
      assertTrue(e.getMessage().contains("fc6"), e.getMessage());
      pass.close();
      assertThrows(IllegalStateException.class, () -> pass.forward(x));
    }
  }
}
