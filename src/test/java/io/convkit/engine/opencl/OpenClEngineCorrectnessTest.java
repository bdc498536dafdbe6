package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.Planner;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCases.Case;
import io.convkit.testing.Tolerance;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every algorithm that fits each case, on the OpenCL engine, against the float64 reference
 * engine: the same fixed cases and seeded-random specs as the CPU engine's test (one shared
 * source, {@link ConvCases}), with the same derived tolerance. Each case runs with both GEMM
 * kernels (packed register blocks and local-memory tiles), so both are tested on whatever device
 * is here (PoCL in CI).
 */
class OpenClEngineCorrectnessTest {
  private static Engine reference;
  private static List<OpenClEngine> engines;

  @BeforeEach
  void engines() {
    ClDevice device = OpenClTests.deviceOrSkip();
    if (engines == null) {
      Tuning t = Tuning.forDevice(device.name(), device.type().name());
      reference = Engines.reference();
      engines = List.of(OpenClEngine.open(device, OpenClTests.packed(t)),
          OpenClEngine.open(device, OpenClTests.tiled(t)));
    }
  }

  @AfterAll
  static void close() {
    if (engines != null) {
      engines.forEach(Engine::close);
      reference.close();
      engines = null;
    }
  }

  @TestFactory
  Stream<DynamicTest> fixedCases() {
    return ConvCases.fixed().stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
  }

  @TestFactory
  Stream<DynamicTest> randomCases() {
    return ConvCases.random(ConvCases.RANDOM_SEED, ConvCases.RANDOM_COUNT).stream()
        .map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
  }

  static void check(Case c) {
    float[] w = ConvCases.data(c.seed(), c.spec().hasConnections() ? c.spec().weightCount()
        : c.spec().denseWeightCount());
    float[] b = c.spec().hasBias() ? ConvCases.data(c.seed() + 1, c.spec().outChannels()) : null;
    float[] x = ConvCases.data(c.seed() + 2, c.input().elements());
    int ran = 0;
    try (Conv2d conv = new Conv2d(c.spec(), w, b);
        Tensor in = Tensor.of(x, c.input().dims())) {
      float[] expected;
      try (Tensor y = conv.forward(in, reference)) {
        expected = y.toArray();
      }
      for (Algorithm a : Algorithm.values()) {
        if (Planner.misfit(a, c.spec()) != null) {
          continue;
        }
        ConvPlan plan = conv.plan(c.input(), a);
        for (OpenClEngine e : engines) {
          try (Tensor y = conv.forward(in, e, a)) {
            Tolerance.assertClose(c + " with " + a + " (" + e.describe(plan) + ") on " + e.name(),
                plan, conv.weights(), x, expected, y.toArray());
          }
          ran++;
        }
      }
    }
    assertTrue(ran >= engines.size(), "no algorithm ran " + c);
  }
}
