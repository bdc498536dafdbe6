package io.convkit.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.tensor.Shape;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** PoolSpec's output-size and divisor arithmetic, and the builder's rejections. */
class PoolSpecTest {
  private static <T extends Throwable> void fails(Class<T> type, Executable call, String... parts) {
    T e = assertThrows(type, call);
    for (String p : parts) {
      assertTrue(e.getMessage() != null && e.getMessage().contains(p),
          "message '" + e.getMessage() + "' should contain '" + p + "'");
    }
  }

  private static void badSpec(Supplier<PoolSpec.Builder> b, String... parts) {
    fails(IllegalArgumentException.class, () -> b.get().build(), parts);
  }

  /** Output size along both axes of a square window on a square input. */
  private static int out(int in, int k, int s, int pad, boolean ceil) {
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, k, k).stride(s).padding(pad).ceilMode(ceil)
        .build();
    Shape o = spec.outputShape(Shape.of(1, 1, in, in));
    assertEquals(o.h(), o.w());
    return o.h();
  }

  @Test
  void floorAndCeilOutputSizes() {
    // (in + 2 pad - k) / s + 1, rounded down or up.
    assertEquals(2, out(5, 2, 2, 0, false)); // 3/2 + 1
    assertEquals(3, out(5, 2, 2, 0, true)); // ceil(3/2) + 1: the last window covers column 4 alone
    assertEquals(3, out(6, 3, 2, 1, false)); // 5/2 + 1
    assertEquals(4, out(6, 3, 2, 1, true)); // ceil(5/2) + 1; the last window starts at 5 < 6 + 1
    assertEquals(3, out(7, 3, 2, 0, false)); // exact: floor and ceil agree
    assertEquals(3, out(7, 3, 2, 0, true));
    assertEquals(55, out(112, 3, 2, 0, false)); // GoogLeNet pool1: floor
    assertEquals(56, out(112, 3, 2, 0, true)); // and ceil
    assertEquals(56, out(112, 3, 2, 1, false)); // ResNet pool1
    assertEquals(27, out(55, 3, 2, 0, false)); // AlexNet pool1
    assertEquals(1, out(1, 1, 3, 0, true));
  }

  @Test
  void ceilModeDropsALastWindowThatStartsInThePadding() {
    // in 3, k 2, s 2, pad 1: ceil(3/2) + 1 = 3 windows, but the third starts at 2*2 - 1 = 3, in
    // the end padding, so it is dropped: 2, as floor gives.
    assertEquals(2, out(3, 2, 2, 1, false));
    assertEquals(2, out(3, 2, 2, 1, true));
    // in 5, k 4, s 3, pad 3: ceil(7/3) + 1 = 4; the fourth window starts at 9 - 3 = 6 >= 5.
    assertEquals(3, out(5, 4, 3, 3, true));
  }

  @Test
  void axesAreIndependent() {
    PoolSpec spec = PoolSpec.builder(PoolKind.AVG, 2, 3).stride(2, 1).padding(1, 2, 0, 1)
        .ceilMode(true).build();
    // height: 5 + 1 + 0 - 2 = 4, ceil(4/2) + 1 = 3; width: 4 + 2 + 1 - 3 = 4, 4/1 + 1 = 5.
    assertEquals(Shape.of(2, 3, 3, 5), spec.outputShape(Shape.of(2, 3, 5, 4)));
  }

  @Test
  void strideDefaultsToTheWindow() {
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, 2, 3).build();
    assertEquals(2, spec.strideH());
    assertEquals(3, spec.strideW());
    assertEquals(Shape.of(1, 1, 2, 3), spec.outputShape(Shape.of(1, 1, 5, 10)));
  }

  @Test
  void globalPool() {
    PoolSpec g = PoolSpec.global(PoolKind.AVG);
    Shape in = Shape.of(2, 64, 7, 9);
    assertTrue(g.isGlobal());
    assertEquals(Shape.of(2, 64, 1, 1), g.outputShape(in));
    assertEquals(7, g.kernelH(in));
    assertEquals(9, g.kernelW(in));
    assertEquals(63, g.divisor(in, 0, 0));
    assertEquals("global_avg_pool", g.name());
  }

  @Test
  void divisorWithAndWithoutPadding() {
    Shape in = Shape.of(1, 1, 6, 6);
    PoolSpec counted = PoolSpec.builder(PoolKind.AVG, 3, 3).stride(2).padding(1).ceilMode(true)
        .build();
    PoolSpec excluded = PoolSpec.builder(PoolKind.AVG, 3, 3).stride(2).padding(1).ceilMode(true)
        .countPadding(false).build();
    // Output 0 covers rows [-1, 2): three with padding, two of the input.
    assertEquals(9, counted.divisor(in, 0, 0));
    assertEquals(4, excluded.divisor(in, 0, 0));
    assertEquals(9, counted.divisor(in, 1, 1)); // [1, 4): all input
    assertEquals(9, excluded.divisor(in, 1, 1));
    // The ceil-mode output 3 covers [5, 8): clipped to the padded input [-1, 7) that is 2 (one
    // padded), to the input 1.
    assertEquals(3 * 2, counted.divisor(in, 0, 3));
    assertEquals(2 * 1, excluded.divisor(in, 0, 3));
    assertEquals(2 * 2, counted.divisor(in, 3, 3));
    assertEquals(1, excluded.divisor(in, 3, 3));
  }

  @Test
  void builderRejectsPaddingAsLargeAsTheWindow() {
    badSpec(() -> PoolSpec.builder(PoolKind.MAX, 3, 3).padding(3).name("p1"), "p1",
        "padding top", "[0, 2]", "got 3");
    badSpec(() -> PoolSpec.builder(PoolKind.MAX, 3, 2).padding(0, 2, 0, 0), "padding left",
        "[0, 1]", "got 2");
    badSpec(() -> PoolSpec.builder(PoolKind.AVG, 2, 3).padding(0, 0, 2, 0), "padding bottom",
        "[0, 1]", "got 2");
    badSpec(() -> PoolSpec.builder(PoolKind.AVG, 3, 2).padding(0, 0, 0, 5), "padding right",
        "[0, 1]", "got 5");
    badSpec(() -> PoolSpec.builder(PoolKind.AVG, 3, 3).padding(0, -1, 0, 0), "padding left",
        "got -1");
  }

  @Test
  void builderRejectsBadStrideWindowKindName() {
    badSpec(() -> PoolSpec.builder(PoolKind.MAX, 3, 3).stride(0).name("s0"), "s0", "stride",
        "got 0x0");
    badSpec(() -> PoolSpec.builder(PoolKind.MAX, 3, 3).stride(2, -1), "stride", "got 2x-1");
    badSpec(() -> PoolSpec.builder(PoolKind.MAX, 0, 3), "window", "got 0x3");
    badSpec(() -> PoolSpec.builder(null, 2, 2).name("nokind"), "nokind", "kind is null");
    badSpec(() -> PoolSpec.builder(PoolKind.AVG, 2, 2).name(" "), "name is empty");
  }

  @Test
  void outputShapeRejectsAWindowLargerThanThePaddedInput() {
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, 5, 2).padding(1, 0, 0, 0).name("big").build();
    fails(IllegalArgumentException.class, () -> spec.outputShape(Shape.of(1, 1, 3, 4)), "big",
        "window height 5", "padded input height 4");
    fails(IllegalArgumentException.class, () -> spec.outputShape(Shape.of(1, 1, 9, 1)), "big",
        "window width 2", "padded input width 1");
    fails(IllegalArgumentException.class, () -> spec.outputShape(Shape.of(3, 8, 8)), "big",
        "NCHW", "3x8x8");
  }

  @Test
  void toStringNamesTheOptions() {
    PoolSpec spec = PoolSpec.builder(PoolKind.AVG, 3, 3).stride(2).padding(1).ceilMode(true)
        .countPadding(false).name("p").build();
    String s = spec.toString();
    assertTrue(s.contains("AVG 3x3") && s.contains("stride 2x2") && s.contains("ceil")
        && s.contains("exclude-pad"), s);
  }
}
