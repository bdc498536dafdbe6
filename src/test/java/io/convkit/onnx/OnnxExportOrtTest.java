package io.convkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.models.InceptionResNetV2;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Export against an independent implementation: each network is exported with seeded random
 * weights, the file's bytes are run by ONNX Runtime, and its output is compared with convkit's
 * reference engine (float64) and CPU engine on the same input. The bound is the issue's
 * whole-network criterion, 1e-4 of the largest output: ORT and our CPU engine accumulate in
 * float32 over reductions of up to a few thousand terms per layer, which stays well inside it.
 */
class OnnxExportOrtTest {
  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of(Models.create("lenet5"), Shape.of(2, 1, 32, 32)),
        Arguments.of(Models.create("lenet_cifar"), Shape.of(2, 3, 32, 32)),
        Arguments.of(Models.create("mobilenet_v1", Map.of("alpha", "0.25")),
            Shape.of(1, 3, 64, 64)),
        Arguments.of(Models.create("mobilenet_v2", Map.of("alpha", "0.5")),
            Shape.of(1, 3, 64, 64)),
        Arguments.of(Models.create("resnet18"), Shape.of(1, 3, 64, 64)),
        Arguments.of(Models.create("resnext50_32x4d"), Shape.of(1, 3, 32, 32)),
        Arguments.of(Models.create("googlenet"), Shape.of(1, 3, 64, 64)),
        Arguments.of(InceptionResNetV2.blocks(11, true), Shape.of(1, 320, 11, 11)),
        Arguments.of(Models.create("efficientnet_b0"), Shape.of(1, 3, 32, 32)),
        Arguments.of(Models.create("convnext_tiny"), Shape.of(1, 3, 32, 32)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void onnxRuntimeComputesWhatTheReferenceEngineDoes(Network net, Shape in) throws OrtException {
    NetworkWeights w = NetworkWeights.random(net, 3);
    byte[] file = OnnxCodec.toBytes(OnnxExport.export(net, w, in));
    float[] x = ConvCases.data(11, in.elements());
    float[] ort = runOrt(file, x, in);
    float[] ref;
    float[] cpu;
    try (ForwardPlan plan = new ForwardPlan(net, w); Engine r = Engines.reference();
        Engine c = Engines.cpu(2); ForwardPass pr = new ForwardPass(plan, r);
        ForwardPass pc = new ForwardPass(plan, c); Tensor t = Tensor.of(x, in.dims())) {
      ref = pr.forward(t).toArray();
      cpu = pc.forward(t).toArray();
    }
    assertEquals(ref.length, ort.length, net.name() + ": ORT's output size");
    double largest = 0;
    for (float v : ref) {
      largest = Math.max(largest, Math.abs(v));
    }
    assertTrue(largest > 0, net.name() + ": an all-zero output tests nothing");
    double bound = 1e-4 * largest;
    for (int i = 0; i < ref.length; i++) {
      assertTrue(Math.abs(ort[i] - ref[i]) <= bound, net.name() + " output " + i + ": ORT "
          + ort[i] + ", reference " + ref[i] + " (bound " + bound + ")");
      assertTrue(Math.abs(cpu[i] - ort[i]) <= bound, net.name() + " output " + i + ": CPU "
          + cpu[i] + ", ORT " + ort[i] + " (bound " + bound + ")");
    }
  }

  /** ONNX Runtime on one thread, all graph optimisations (its fusions and NCHWc layout). */
  static float[] runOrt(byte[] model, float[] x, Shape in) throws OrtException {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(1);
      o.setInterOpNumThreads(1);
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession s = env.createSession(model, o);
          ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env,
              FloatBuffer.wrap(x), new long[] {in.n(), in.c(), in.h(), in.w()});
          OrtSession.Result r = s.run(Map.of("input", t))) {
        FloatBuffer b = ((ai.onnxruntime.OnnxTensor) r.get(0)).getFloatBuffer();
        float[] y = new float[b.remaining()];
        b.get(y);
        return y;
      }
    }
  }
}
