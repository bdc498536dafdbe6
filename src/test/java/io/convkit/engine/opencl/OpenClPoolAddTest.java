package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.convkit.conv.Activation;
import io.convkit.engine.Engine;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.PoolCases;
import io.convkit.testing.PoolCheck;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Pooling and the residual add on the OpenCL engine against the reference engine: the same pool
 * cases as the CPU engine's test ({@link PoolCases}, compared by {@link PoolCheck}: MAX exactly,
 * AVG within the derived bound), and add bit for bit (one correctly rounded float addition) with
 * the exact activations, within the evaluation budget with the others.
 */
class OpenClPoolAddTest {
  static final long SEED = 20261201L;
  static final int RANDOM_CASES = 200;

  private static Engine reference;
  private static OpenClEngine engine;

  private static final OpenClTests.SharedEngines shared = new OpenClTests.SharedEngines();

  @BeforeEach
  void engine() {
    shared.open();
    reference = shared.reference;
    engine = shared.engine;
  }

  @AfterAll
  static void close() {
    shared.close();
  }

  @TestFactory
  Stream<DynamicTest> fixedPoolCases() {
    return PoolCases.fixed().stream().map(c -> DynamicTest.dynamicTest(c.toString(),
        () -> PoolCheck.check(c, reference, List.of(engine))));
  }

  @TestFactory
  Stream<DynamicTest> randomPoolCases() {
    return PoolCases.random(SEED, RANDOM_CASES).stream().map(c -> DynamicTest.dynamicTest(
        c.toString(), () -> PoolCheck.check(c, reference, List.of(engine))));
  }

  @TestFactory
  Stream<DynamicTest> addMatchesTheReference() {
    List<DynamicTest> tests = new ArrayList<>();
    int[][] shapes = {{1}, {7}, {17}, {100003}, {2, 3, 5, 7}};
    for (int[] dims : shapes) {
      for (Activation act : Activation.values()) {
        Shape shape = Shape.of(dims);
        tests.add(DynamicTest.dynamicTest("add " + shape + " " + act, () -> checkAdd(shape, act)));
      }
    }
    return tests.stream();
  }

  static void checkAdd(Shape shape, Activation act) {
    int n = Math.toIntExact(shape.elements());
    float[] a = ConvCases.data(31L * n + act.ordinal(), n);
    float[] b = ConvCases.data(31L * n + act.ordinal() + 1, n);
    for (int i = 0; i < n; i++) { // [-8, 8): ReLU6 clips at both ends
      a[i] *= 8;
      b[i] *= 8;
    }
    float[] expected;
    try (Tensor ta = Tensor.of(a, shape.dims()); Tensor tb = Tensor.of(b, shape.dims());
        Tensor y = PoolCheck.nans(shape)) {
      reference.add(ta, tb, y, act);
      expected = y.toArray();
      // Host tensors (staged), then in place into a and into b.
      try (Tensor out = PoolCheck.nans(shape)) {
        engine.add(ta, tb, out, act);
        Tolerance.assertAddClose("host tensors " + act, act, a, b, expected, out.toArray());
      }
      engine.add(ta, tb, ta, act);
      Tolerance.assertAddClose("host, into a " + act, act, a, b, expected, ta.toArray());
      assertArrayEquals(b, tb.toArray(), "host, b untouched");
      ta.copyFrom(a);
      // Device tensors, in place on the device.
      try (Tensor da = ta.to(engine); Tensor db = tb.to(engine)) {
        engine.add(da, db, db, act);
        Tolerance.assertAddClose("device, into b " + act, act, a, b, expected, db.toArray());
        assertArrayEquals(a, da.toArray(), "device, a untouched");
      }
    }
  }
}
