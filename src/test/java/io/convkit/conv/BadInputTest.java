package io.convkit.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Each kind of bad input fails at once, with the right type and a message naming the value. */
class BadInputTest {
  private static Engine cpu;

  @BeforeAll
  static void open() {
    cpu = Engines.cpu(2);
  }

  @AfterAll
  static void close() {
    cpu.close();
  }

  private static <T extends Throwable> void fails(Class<T> type, Executable call, String... parts) {
    T e = assertThrows(type, call);
    for (String p : parts) {
      assertTrue(e.getMessage() != null && e.getMessage().contains(p),
          "message '" + e.getMessage() + "' should contain '" + p + "'");
    }
  }

  private static void badSpec(Supplier<ConvSpec.Builder> b, String... parts) {
    fails(IllegalArgumentException.class, () -> b.get().build(), parts);
  }

  @Test
  void nonPositiveChannelsKernelStrideDilation() {
    badSpec(() -> ConvSpec.builder(0, 4, 3, 3).name("L1"), "L1", "input channels", "got 0");
    badSpec(() -> ConvSpec.builder(3, -2, 3, 3).name("L2"), "L2", "output channels", "got -2");
    badSpec(() -> ConvSpec.builder(3, 4, 0, 3), "kernel height", "got 0");
    badSpec(() -> ConvSpec.builder(3, 4, 3, -1), "kernel width", "got -1");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).stride(0, 1), "stride height", "got 0");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).stride(1, -3), "stride width", "got -3");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).dilation(0, 1), "dilation height", "got 0");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).dilation(1, -1), "dilation width", "got -1");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).groups(0), "groups", "got 0");
  }

  @Test
  void negativePadding() {
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).padding(-1, 0, 0, 0), "padding top", "got -1");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).padding(0, -2, 0, 0), "padding left", "got -2");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).padding(0, 0, -3, 0), "padding bottom", "got -3");
    badSpec(() -> ConvSpec.builder(3, 4, 3, 3).padding(0, 0, 0, -4), "padding right", "got -4");
  }

  @Test
  void channelsNotDivisibleByGroups() {
    badSpec(() -> ConvSpec.builder(6, 8, 3, 3).groups(4).name("grp"), "grp", "input channels 6",
        "groups 4");
    badSpec(() -> ConvSpec.builder(8, 6, 3, 3).groups(4), "output channels 6", "groups 4");
  }

  @Test
  void badConnectionTable() {
    badSpec(() -> ConvSpec.builder(3, 2, 3, 3).connections(new boolean[3][3]).name("c3"), "c3",
        "3 rows", "output channel: 2");
    badSpec(() -> ConvSpec.builder(3, 2, 3, 3).connections(new boolean[][] {{true, true, true},
        {true, true}}), "row 1 has 2 entries", "input channel: 3");
    badSpec(() -> ConvSpec.builder(3, 2, 3, 3).connections(new boolean[][] {{true, false, true},
        {false, false, false}}), "output 1", "no input");
    badSpec(() -> ConvSpec.builder(4, 2, 3, 3).groups(2).connections(new boolean[2][4]),
        "groups 1, got 2");
  }

  @Test
  void inputChannelMismatch() {
    ConvSpec spec = ConvSpec.builder(3, 4, 3, 3).name("conv1").build();
    try (Conv2d conv = new Conv2d(spec, new float[4 * 3 * 9], null);
        Tensor x = Tensor.zeros(1, 5, 8, 8)) {
      fails(IllegalArgumentException.class, () -> conv.forward(x, cpu), "conv1",
          "expected 3 input channels", "got 5");
    }
    fails(IllegalArgumentException.class, () -> spec.outputShape(Shape.of(3, 8, 8)),
        "4-d", "3x8x8");
  }

  @Test
  void emptyOutput() {
    ConvSpec spec = ConvSpec.builder(1, 1, 5, 5).dilation(2).name("big").build();
    fails(IllegalArgumentException.class, () -> spec.outputShape(Shape.of(1, 1, 8, 8)), "big",
        "output height would be <= 0", "input height 8", "kernel height 9");
  }

  @Test
  void strictNonIntegralOutput() {
    // SOURCE_TABLES T10: 7x7 input, 3x3 filter, stride 3 gives 2.33.
    ConvSpec strict = ConvSpec.builder(1, 1, 3, 3).stride(3).strict(true).name("s3").build();
    fails(IllegalArgumentException.class, () -> strict.outputShape(Shape.of(1, 1, 7, 7)), "s3",
        "2.33", "not a whole number");
    ConvSpec floor = ConvSpec.builder(1, 1, 3, 3).stride(3).build();
    assertEquals(Shape.of(1, 1, 2, 2), floor.outputShape(Shape.of(1, 1, 7, 7)));
  }

  @Test
  void wrongWeightOrBiasLength() {
    ConvSpec spec = ConvSpec.builder(3, 4, 3, 3).bias(true).name("wl").build();
    fails(IllegalArgumentException.class, () -> new Conv2d(spec, new float[107], new float[4]),
        "wl", "expected 108 weights", "got 107");
    fails(IllegalArgumentException.class, () -> new Conv2d(spec, new float[108], new float[3]),
        "expected 4 bias values", "got 3");
    fails(IllegalArgumentException.class, () -> new Conv2d(spec, new float[108], null),
        "got none");
    ConvSpec noBias = ConvSpec.builder(3, 4, 3, 3).build();
    fails(IllegalArgumentException.class, () -> new Conv2d(noBias, new float[108], new float[4]),
        "no bias", "got 4");
    boolean[][] table = {{true, false}, {true, true}};
    ConvSpec t = ConvSpec.builder(2, 2, 1, 1).connections(table).build();
    fails(IllegalArgumentException.class, () -> new Conv2d(t, new float[2], null),
        "expected 3 connected weights", "or 4 dense", "got 2");
    fails(IllegalArgumentException.class, () -> new Conv2d(t, new float[] {1, 5, 1, 1}, null),
        "[0][1] is non-zero");
  }

  @Test
  void closedTensor() {
    ConvSpec spec = ConvSpec.builder(1, 1, 1, 1).build();
    try (Conv2d conv = new Conv2d(spec, new float[] {1}, null)) {
      Tensor x = Tensor.zeros(1, 1, 2, 2);
      x.close();
      fails(IllegalStateException.class, () -> conv.forward(x, cpu), "1x1x2x2", "closed");
      fails(IllegalStateException.class, x::toArray, "closed");
    }
  }

  @Test
  void forcedAlgorithmThatDoesNotFit() {
    ConvSpec spec = ConvSpec.builder(8, 8, 3, 3).name("dense3x3").build();
    fails(IllegalArgumentException.class,
        () -> Planner.plan(spec, Shape.of(1, 8, 9, 9), Algorithm.POINTWISE_GEMM), "dense3x3",
        "POINTWISE_GEMM", "1x1 kernel");
    fails(IllegalArgumentException.class,
        () -> Planner.plan(spec, Shape.of(1, 8, 9, 9), Algorithm.DEPTHWISE_DIRECT),
        "DEPTHWISE_DIRECT", "groups == input channels (8)", "has 1");
    fails(IllegalArgumentException.class,
        () -> Planner.plan(spec, Shape.of(1, 8, 9, 9), Algorithm.CONNECTION_TABLE),
        "no connection table");
    ConvSpec grouped = ConvSpec.builder(8, 8, 3, 3).groups(2).build();
    fails(IllegalArgumentException.class,
        () -> Planner.plan(grouped, Shape.of(1, 8, 9, 9), Algorithm.IM2COL_GEMM), "groups 1",
        "has 2");
  }

  @Test
  void tensorShapeAndDataMismatch() {
    fails(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3), "2x3", "6", "5");
    fails(IllegalArgumentException.class, () -> Tensor.zeros(2, 0, 3), "dimension 1", "got 0");
    fails(IllegalArgumentException.class, () -> Tensor.zeros(65536, 65536),
        "4294967296 elements", String.valueOf(Integer.MAX_VALUE));
  }

  @Test
  void workspaceLargerThanTheKernelsIndex() {
    // 7x7 over 1024 channels: one unfolded output row of width 43000 already has
    // 50176 * 43000 > 2^31 entries, so even the smallest block cannot be indexed.
    ConvSpec spec = ConvSpec.builder(1024, 64, 7, 7).padding(3).name("huge").build();
    fails(IllegalArgumentException.class, () -> Planner.plan(spec, Shape.of(1, 1024, 1, 43000)),
        "huge", "floats of workspace");
    // An input no tensor can hold is refused by the planner too, before any engine sees it.
    ConvSpec small = ConvSpec.builder(1024, 8, 1, 1).name("wide").build();
    fails(IllegalArgumentException.class, () -> Planner.plan(small, Shape.of(1, 1024, 2048, 2048)),
        "wide", "input 1x1024x2048x2048", "4294967296 elements");
  }

  @Test
  void mismatchedOutputTensor() {
    ConvSpec spec = ConvSpec.builder(1, 2, 3, 3).name("out").build();
    try (Conv2d conv = new Conv2d(spec, new float[18], null);
        Tensor x = Tensor.zeros(1, 1, 5, 5);
        Tensor y = Tensor.zeros(1, 2, 4, 4)) {
      fails(IllegalArgumentException.class, () -> conv.forwardInto(x, cpu, y), "out",
          "1x2x3x3", "got 1x2x4x4");
    }
  }

  @Test
  void closedEngine() {
    Engine e = Engines.cpu(1);
    e.close();
    ConvSpec spec = ConvSpec.builder(1, 1, 1, 1).build();
    try (Conv2d conv = new Conv2d(spec, new float[] {1}, null); Tensor x = Tensor.zeros(1, 1, 2, 2)) {
      fails(IllegalStateException.class, () -> conv.forward(x, e), "closed");
    }
  }
}
