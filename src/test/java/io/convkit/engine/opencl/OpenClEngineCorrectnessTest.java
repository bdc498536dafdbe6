package io.convkit.engine.opencl;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.ConvCases.Case;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every algorithm that fits each case, on the OpenCL engine, against the float64 reference
 * engine: the same fixed cases and seeded-random specs as the CPU engine's test (one shared
 * source, {@link ConvCases}), with the same derived tolerance. Each case runs on three engines:
 * the device's own tuning, the packed GEMM with other block shapes, and the tiled GEMM, so both
 * GEMM kernels and both depthwise kernels are tested on whatever device is here (PoCL in CI).
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
      engines = List.of(OpenClEngine.open(device, t),
          OpenClEngine.open(device, OpenClTests.packed(t)),
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
    ConvCheck.check(c, reference, engines);
  }
}
