package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Activation;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.Tolerance;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.PoolCases;
import io.convkit.testing.PoolCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Pooling and the residual add on the CPU engine against the float64 reference engine, and the
 * reference itself against hand-computed results. As in CpuEngineCorrectnessTest, each case runs
 * on the AVX2 kernels with 2 threads and on the portable kernels with 1 thread.
 *
 * <p>Every engine output tensor starts filled with NaN, so an output a kernel never writes fails
 * the comparison.
 */
class PoolingAddTest {
  static final long SEED = 20261201L;
  static final int RANDOM_CASES = 200;

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

  private static Tensor nans(Shape shape) {
    return PoolCheck.nans(shape);
  }

  private static float[] pool(Engine e, PoolSpec spec, float[] x, Shape input) {
    return PoolCheck.run(e, spec, x, input);
  }

  // ---------------------------------------------------------------- pooling, CPU vs reference

  @TestFactory
  Stream<DynamicTest> fixedPoolCases() {
    return PoolCases.fixed().stream()
        .map(c -> DynamicTest.dynamicTest(c.toString(), () -> checkPool(c)));
  }

  @TestFactory
  Stream<DynamicTest> randomPoolCases() {
    return PoolCases.random(SEED, RANDOM_CASES).stream()
        .map(c -> DynamicTest.dynamicTest(c.toString(), () -> checkPool(c)));
  }

  static void checkPool(PoolCases.Case c) {
    PoolCheck.check(c, reference, engines);
  }

  @Test
  void poolIsRepeatableAndReusesTheOutput() {
    PoolCases.Case c = PoolCases.fixed().get(0);
    float[] x = c.data();
    for (Engine e : engines) {
      try (Tensor in = Tensor.of(x, c.input().dims());
          Tensor y = nans(c.spec().outputShape(c.input()))) {
        e.pool(c.spec(), in, y);
        float[] first = y.toArray();
        e.pool(c.spec(), in, y);
        assertArrayEquals(first, y.toArray(), e.name());
      }
    }
  }

  // ---------------------------------------------------- the reference against hand computation

  /** 1..n, row after row. */
  private static float[] counting(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = i + 1;
    }
    return a;
  }

  /** The reference gives exactly {@code expected}, and so does every CPU engine (MAX) or nearly. */
  private static void hand(PoolSpec spec, float[] x, Shape input, float... expected) {
    assertArrayEquals(expected, pool(reference, spec, x, input), 0f, "reference " + spec);
    for (Engine e : engines) {
      assertArrayEquals(expected, pool(e, spec, x, input), 1e-6f, e.name() + " " + spec);
    }
  }

  @Test
  void referenceOnA4x4Plane() {
    //  1  2  3  4
    //  5  6  7  8
    //  9 10 11 12
    // 13 14 15 16
    Shape in = Shape.of(1, 1, 4, 4);
    float[] x = counting(16);
    hand(PoolSpec.builder(PoolKind.MAX, 2, 2).build(), x, in, 6, 8, 14, 16);
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).build(), x, in, 3.5f, 5.5f, 11.5f, 13.5f);
    // 3x3 stride 1: windows centred on 6, 7, 10, 11 (a window's mean is its centre here).
    hand(PoolSpec.builder(PoolKind.AVG, 3, 3).stride(1).build(), x, in, 6, 7, 10, 11);
    hand(PoolSpec.builder(PoolKind.MAX, 3, 3).stride(1).build(), x, in, 11, 12, 15, 16);
    hand(PoolSpec.global(PoolKind.AVG), x, in, 8.5f);
    hand(PoolSpec.global(PoolKind.MAX), x, in, 16);
    // Two channels and two images: each plane on its own.
    float[] y = counting(64);
    hand(PoolSpec.global(PoolKind.MAX), y, Shape.of(2, 2, 4, 4), 16, 32, 48, 64);
  }

  @Test
  void referenceInCeilMode() {
    // 5x5 of 1..25, 2x2 stride 2: floor gives 2x2, ceil 3x3 whose last row and column of windows
    // cover one input row or column (nothing is padding: pad 0), so their divisor is 2 or 1.
    Shape in = Shape.of(1, 1, 5, 5);
    float[] x = counting(25);
    hand(PoolSpec.builder(PoolKind.MAX, 2, 2).build(), x, in, 7, 9, 17, 19);
    hand(PoolSpec.builder(PoolKind.MAX, 2, 2).ceilMode(true).build(), x, in,
        7, 9, 10, 17, 19, 20, 22, 24, 25);
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).ceilMode(true).build(), x, in,
        4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25);
  }

  @Test
  void referenceDropsTheCeilWindowThatStartsInThePadding() {
    // 3x3 of 1..9, 2x2 stride 2 pad 1, ceil: the third window would start at 3 (padding), so
    // the output is 2x2. Rows/columns covered: {0}, {1, 2}.
    Shape in = Shape.of(1, 1, 3, 3);
    float[] x = counting(9);
    PoolSpec.Builder b = PoolSpec.builder(PoolKind.MAX, 2, 2).padding(1).ceilMode(true);
    hand(b.build(), x, in, 1, 3, 7, 9);
    // Padding counted: every window clipped to the padded input [-1, 4) has 2x2 positions.
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).padding(1).ceilMode(true).build(), x, in,
        1 / 4f, 5 / 4f, 11 / 4f, 28 / 4f);
    // Padding excluded: 1 / 1, (2+3) / 2, (4+7) / 2, (5+6+8+9) / 4.
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).padding(1).ceilMode(true).countPadding(false)
        .build(), x, in, 1, 2.5f, 5.5f, 7);
  }

  @Test
  void referenceDivisorWithAndWithoutPadding() {
    // 3x3 of 1..9, 3x3 stride 1 pad 1: corner windows cover 4 elements, edges 6, the centre 9.
    Shape in = Shape.of(1, 1, 3, 3);
    float[] x = counting(9);
    PoolSpec counted = PoolSpec.builder(PoolKind.AVG, 3, 3).stride(1).padding(1).build();
    PoolSpec excluded = PoolSpec.builder(PoolKind.AVG, 3, 3).stride(1).padding(1)
        .countPadding(false).build();
    hand(counted, x, in, 12 / 9f, 21 / 9f, 16 / 9f, 27 / 9f, 45 / 9f, 33 / 9f, 24 / 9f, 39 / 9f,
        28 / 9f);
    hand(excluded, x, in, 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7);
  }

  @Test
  void referenceMaxIgnoresPadding() {
    // All negative, so a padded zero would win if padding counted as an element.
    // -1 -5 -2
    // -3 -6 -4
    Shape in = Shape.of(1, 1, 2, 3);
    float[] x = {-1, -5, -2, -3, -6, -4};
    hand(PoolSpec.builder(PoolKind.MAX, 2, 2).padding(0, 0, 0, 1).build(), x, in, -1, -2);
    hand(PoolSpec.builder(PoolKind.MAX, 3, 3).stride(1).padding(1).build(), x, in,
        -1, -1, -2, -1, -1, -2);
    // The same windows averaged: (-2 + -4) / 4 counted, / 2 excluded.
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).padding(0, 0, 0, 1).build(), x, in, -15 / 4f,
        -6 / 4f);
    hand(PoolSpec.builder(PoolKind.AVG, 2, 2).padding(0, 0, 0, 1).countPadding(false).build(),
        x, in, -15 / 4f, -3);
  }

  // ------------------------------------------------------------------------------------- add

  /** a, b in [-8, 8) (scaled by a power of two, exactly), so RELU6 clips at both ends. */
  private static float[] addData(long seed, int n) {
    float[] a = ConvCases.data(seed, n);
    for (int i = 0; i < n; i++) {
      a[i] *= 8;
    }
    return a;
  }

  private static float[] referenceAdd(float[] a, float[] b, Shape shape, Activation act) {
    try (Tensor ta = Tensor.of(a, shape.dims()); Tensor tb = Tensor.of(b, shape.dims());
        Tensor y = nans(shape)) {
      reference.add(ta, tb, y, act);
      return y.toArray();
    }
  }

  /**
   * One float addition is correctly rounded (IEEE 754) and so is the reference's (float64 sum
   * rounded once: double rounding is innocuous for + when 53 >= 2*24 + 2); ReLU and ReLU6 are
   * exact. So with those every engine must match the reference bit for bit; sigmoid, swish and
   * GELU within their evaluation budget ({@link Tolerance#assertAddClose}).
   */
  @TestFactory
  Stream<DynamicTest> addMatchesTheReference() {
    List<DynamicTest> tests = new ArrayList<>();
    int[][] shapes = {{1}, {7}, {8}, {9}, {17}, {1000003}, {2, 3, 5, 7}, {1, 64, 28, 28}};
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
    long seed = 31L * n + act.ordinal();
    float[] a = addData(seed, n);
    float[] b = addData(seed + 1, n);
    float[] expected = referenceAdd(a, b, shape, act);
    for (Engine e : engines) {
      try (Tensor ta = Tensor.of(a, shape.dims()); Tensor tb = Tensor.of(b, shape.dims())) {
        try (Tensor y = nans(shape)) {
          e.add(ta, tb, y, act);
          Tolerance.assertAddClose(e.name() + " " + act, act, a, b, expected, y.toArray());
        }
        // In place: y is a, then y is b (b still holds its input, a the result).
        e.add(ta, tb, ta, act);
        Tolerance.assertAddClose(e.name() + " " + act + " into a", act, a, b, expected, ta.toArray());
        assertArrayEquals(b, tb.toArray(), e.name() + " " + act + " left b alone");
        ta.copyFrom(a);
        e.add(ta, tb, tb, act);
        Tolerance.assertAddClose(e.name() + " " + act + " into b", act, a, b, expected, tb.toArray());
        assertArrayEquals(a, ta.toArray(), e.name() + " " + act + " left a alone");
      }
    }
  }

  @Test
  void addOfATensorToItselfInPlace() {
    float[] a = addData(77, 1001);
    float[] expected = referenceAdd(a, a, Shape.of(1001), Activation.RELU6);
    for (Engine e : engines) {
      try (Tensor t = Tensor.of(a, 1001)) {
        e.add(t, t, t, Activation.RELU6);
        assertArrayEquals(expected, t.toArray(), e.name());
      }
    }
    // The reference in place too.
    try (Tensor t = Tensor.of(a, 1001)) {
      reference.add(t, t, t, Activation.RELU6);
      assertArrayEquals(expected, t.toArray());
    }
  }

  @Test
  void referenceAddByHand() {
    float[] a = {1.5f, -2f, 3f, 0.25f, -7f, 10f};
    float[] b = {2f, 1f, 4f, -0.5f, 1f, -3f};
    Shape s = Shape.of(2, 3);
    assertArrayEquals(new float[] {3.5f, -1f, 7f, -0.25f, -6f, 7f},
        referenceAdd(a, b, s, Activation.NONE));
    assertArrayEquals(new float[] {3.5f, 0f, 7f, 0f, 0f, 7f},
        referenceAdd(a, b, s, Activation.RELU));
    assertArrayEquals(new float[] {3.5f, 0f, 6f, 0f, 0f, 6f},
        referenceAdd(a, b, s, Activation.RELU6));
    // Correct rounding: 1 + 2^-24 is a tie, rounded to even (1); 1 + 3*2^-24 rounds up.
    float u = Math.scalb(1f, -24);
    assertArrayEquals(new float[] {1f, 1f + 4 * u}, referenceAdd(new float[] {1f, 1f},
        new float[] {u, 3 * u}, Shape.of(2), Activation.NONE));
  }

  // ------------------------------------------------------------------------------- bad input

  private static <T extends Throwable> void fails(Class<T> type, Executable call, String... parts) {
    T e = assertThrows(type, call);
    for (String p : parts) {
      assertTrue(e.getMessage() != null && e.getMessage().contains(p),
          "message '" + e.getMessage() + "' should contain '" + p + "'");
    }
  }

  private static List<Engine> allEngines() {
    List<Engine> all = new ArrayList<>(engines);
    all.add(reference);
    return all;
  }

  @Test
  void poolWithTheWrongOutputShape() {
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, 3, 3).stride(2).name("pool1").build();
    for (Engine e : allEngines()) {
      try (Tensor x = Tensor.zeros(1, 2, 9, 9); Tensor y = Tensor.zeros(1, 2, 3, 3);
          Tensor z = Tensor.zeros(1, 3, 4, 4)) {
        fails(IllegalArgumentException.class, () -> e.pool(spec, x, y), "pool1", "1x2x4x4",
            "got 1x2x3x3");
        fails(IllegalArgumentException.class, () -> e.pool(spec, x, z), "pool1", "1x2x4x4",
            "got 1x3x4x4");
      }
    }
  }

  @Test
  void poolWithAWindowLargerThanTheInputSameTensorOrNoSpec() {
    PoolSpec spec = PoolSpec.builder(PoolKind.AVG, 5, 5).padding(1).name("big").build();
    PoolSpec global = PoolSpec.global(PoolKind.AVG);
    for (Engine e : allEngines()) {
      try (Tensor x = Tensor.zeros(1, 1, 2, 2); Tensor y = Tensor.zeros(1, 1, 1, 1);
          Tensor one = Tensor.zeros(1, 1, 1, 1); Tensor flat = Tensor.zeros(4, 4)) {
        fails(IllegalArgumentException.class, () -> e.pool(spec, x, y), "big", "window height 5",
            "padded input height 4");
        fails(IllegalArgumentException.class, () -> e.pool(global, one, one), "global_avg_pool",
            "different tensors");
        fails(IllegalArgumentException.class, () -> e.pool(null, x, y), "pool spec is null");
        fails(IllegalArgumentException.class, () -> e.pool(global, flat, y),
            "global_avg_pool", "NCHW", "4x4");
      }
    }
  }

  @Test
  void poolOrAddWithAClosedTensor() {
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, 2, 2).build();
    for (Engine e : allEngines()) {
      Tensor closed = Tensor.zeros(1, 1, 6, 6);
      closed.close();
      try (Tensor x = Tensor.zeros(1, 1, 6, 6); Tensor y = Tensor.zeros(1, 1, 3, 3)) {
        fails(IllegalStateException.class, () -> e.pool(spec, closed, y), "1x1x6x6", "closed");
        Tensor closedOut = Tensor.zeros(1, 1, 3, 3);
        closedOut.close();
        fails(IllegalStateException.class, () -> e.pool(spec, x, closedOut), "1x1x3x3",
            "closed");
        fails(IllegalStateException.class, () -> e.add(x, closed, x, Activation.NONE),
            "1x1x6x6", "closed");
        fails(IllegalStateException.class, () -> e.add(x, x, closed, Activation.RELU),
            "1x1x6x6", "closed");
      }
    }
  }

  @Test
  void addWithMismatchedShapes() {
    for (Engine e : allEngines()) {
      try (Tensor a = Tensor.zeros(1, 8, 4, 4); Tensor b = Tensor.zeros(1, 8, 4, 5);
          Tensor y = Tensor.zeros(1, 8, 4, 4); Tensor flat = Tensor.zeros(128)) {
        fails(IllegalArgumentException.class, () -> e.add(a, b, y, Activation.NONE), "add",
            "1x8x4x4 + 1x8x4x5 -> 1x8x4x4");
        fails(IllegalArgumentException.class, () -> e.add(a, a, flat, Activation.NONE),
            "1x8x4x4 + 1x8x4x4 -> 128");
        fails(IllegalArgumentException.class, () -> e.add(flat, a, a, Activation.RELU),
            "128 + 1x8x4x4");
      }
    }
  }

  @Test
  void addWithANullActivation() {
    for (Engine e : allEngines()) {
      try (Tensor a = Tensor.zeros(3)) {
        fails(IllegalArgumentException.class, () -> e.add(a, a, a, null), "activation is null",
            "Activation.NONE");
      }
    }
  }

  @Test
  void closedEngine() {
    Engine e = Engines.cpu(1);
    e.close();
    try (Tensor x = Tensor.zeros(1, 1, 4, 4); Tensor y = Tensor.zeros(1, 1, 2, 2)) {
      fails(IllegalStateException.class,
          () -> e.pool(PoolSpec.builder(PoolKind.MAX, 2, 2).build(), x, y), "cpu", "closed");
      fails(IllegalStateException.class, () -> e.add(x, x, x, Activation.NONE), "cpu", "closed");
    }
  }
}
