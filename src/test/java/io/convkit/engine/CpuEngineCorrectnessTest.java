package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.engine.cpu.Isa;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.ConvCases.Case;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every algorithm that fits each case, on the CPU engine, against the float64 reference engine:
 * the fixed source-table cases and 320 seeded-random specs. Each case runs on the AVX2 kernels
 * with 2 threads (work split across threads, blocks that span images for batch >= 2) and on the
 * portable kernels with 1 thread, so both ISA variants and both threading shapes are covered.
 */
class CpuEngineCorrectnessTest {
  private static Engine reference;
  private static List<Engine> engines;

  @BeforeAll
  static void engines() {
    reference = Engines.reference();
    engines = CpuVariants.open();
  }

  @AfterAll
  static void close() {
    engines.forEach(Engine::close);
    reference.close();
  }

  @Test
  void thisMachineRunsTheAvx2Kernels() {
    // The CI machine and the development machine have AVX2+FMA; if this fails, the AVX2
    // variants went untested and the suite would look greener than it is.
    assertTrue(Isa.AVX2.supported(), "this CPU has no AVX2+FMA; only the portable path ran");
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
