package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ChannelOpsCheck;
import io.convkit.testing.CpuVariants;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * LRN, layer norm, concatenation and channel scaling on the CPU engine (AVX2 on 2 threads and
 * portable on 1, {@link CpuVariants}) against the float64 reference engine, with the bounds of
 * {@link io.convkit.testing.Tolerance}; the reference against hand computation; and the argument
 * checks on every engine.
 */
class ChannelOpsTest {
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

  @TestFactory
  Stream<DynamicTest> lrnMatchesTheReference() {
    return ChannelOpsCheck.lrnCases().stream().map(c -> DynamicTest.dynamicTest(c.toString(),
        () -> ChannelOpsCheck.checkLrn(c, reference, engines)));
  }

  @TestFactory
  Stream<DynamicTest> layerNormMatchesTheReference() {
    return ChannelOpsCheck.layerNormCases().stream().map(c -> DynamicTest.dynamicTest(
        c.toString(), () -> ChannelOpsCheck.checkLayerNorm(c, reference, engines)));
  }

  @Test
  void layerNormInPlace() {
    ChannelOpsCheck.LayerNormCase c = ChannelOpsCheck.layerNormCases().get(1);
    float[] x = c.data();
    float[] expected = ChannelOpsCheck.layerNorm(reference, c, x);
    for (Engine e : engines) {
      try (Tensor t = Tensor.of(x, c.shape().dims()); Tensor g = Tensor.of(c.gamma(), 5);
          Tensor b = Tensor.of(c.beta(), 5)) {
        e.layerNorm(t, g, b, c.eps(), t);
        ChannelOpsCheck.checkLayerNorm(e.name() + " in place", c.shape(), x, c.gamma(),
            c.beta(), c.eps(), expected, t.toArray());
      }
    }
  }

  @Test
  void concatCopiesExactly() {
    ChannelOpsCheck.checkConcat(reference, engines);
  }

  @Test
  void scaleChannelsMultipliesExactly() {
    ChannelOpsCheck.checkScaleChannels(reference, engines);
  }

  // ---------------------------------------------------- the reference against hand computation

  @Test
  void referenceLrnByHand() {
    // 3 channels, 1 pixel, size 3: channel 1 sums all three squares (1 + 4 + 9 = 14); channel 0
    // sums channels 0-1 (5); channel 2 sums 1-2 (13). y = x / (k + alpha/size * sum)^beta with
    // k = 1, alpha = 3, beta = 1: 1/(1+5), 2/(1+14), 3/(1+13). With beta 0.5 and k = 11, alpha
    // = 3: channel 1 is 2 / sqrt(25).
    try (Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 3, 1, 1);
        Tensor y = Tensor.zeros(1, 3, 1, 1)) {
      reference.lrn(new LrnSpec(3, 3, 1, 1), x, y);
      assertArrayEquals(new float[] {1f / 6, 2f / 15, 3f / 14}, y.toArray());
      reference.lrn(new LrnSpec(3, 3, 0.5, 11), x, y);
      assertEquals(0.4f, y.toArray()[1]);
      // An even window reaches one channel below and two above: channel 0 sums 0..2 (14).
      reference.lrn(new LrnSpec(4, 4, 1, 1), x, y);
      assertEquals(1f / 15, y.toArray()[0]);
      for (Engine e : engines) {
        try (Tensor z = Tensor.zeros(1, 3, 1, 1)) {
          e.lrn(new LrnSpec(3, 3, 1, 1), x, z);
          assertArrayEquals(new float[] {1f / 6, 2f / 15, 3f / 14}, z.toArray(), 1e-7f, e.name());
        }
      }
    }
  }

  private static void assertEquals(float expected, float actual) {
    assertArrayEquals(new float[] {expected}, new float[] {actual});
  }

  @Test
  void referenceLayerNormByHand() {
    // Two pixels, channels [1, 3] and [5, 5]: mean 2, variance 1 -> [-1, 1]; a constant pixel
    // gives 0 (eps 0 would divide 0 by 0: use 1). Weight [2, 1], bias [0, 1].
    try (Tensor x = Tensor.of(new float[] {1, 5, 3, 5}, 1, 2, 1, 2);
        Tensor g = Tensor.of(new float[] {2, 1}, 2); Tensor b = Tensor.of(new float[] {0, 1}, 2);
        Tensor y = Tensor.zeros(1, 2, 1, 2)) {
      reference.layerNorm(x, g, b, 0, y);
      float[] r = y.toArray();
      assertEquals(-2, r[0]);
      assertEquals(2, r[2]);
      reference.layerNorm(x, g, b, 1, y);
      r = y.toArray();
      assertArrayEquals(new float[] {(float) (-2 / Math.sqrt(2)), 0, (float) (1 + 1 / Math.sqrt(2)),
          1}, r);
    }
  }

  @Test
  void referenceConcatInterleavesPerImage() {
    // a: 2 images x 1 channel x 2 pixels, b: 2 images x 2 channels x 2 pixels
    try (Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 1, 2);
        Tensor b = Tensor.of(new float[] {10, 11, 12, 13, 20, 21, 22, 23}, 2, 2, 1, 2);
        Tensor y = Tensor.zeros(2, 3, 1, 2)) {
      reference.concat(List.of(a, b), y);
      assertArrayEquals(new float[] {1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23}, y.toArray());
    }
  }

  @Test
  void referenceScaleChannelsByHand() {
    try (Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 1, 2);
        Tensor s = Tensor.of(new float[] {2, -1, 0.5f, 0}, 2, 2); Tensor y = Tensor.zeros(2, 2, 1, 2)) {
      reference.scaleChannels(x, s, y);
      assertArrayEquals(new float[] {2, 4, -3, -4, 2.5f, 3, 0, 0}, y.toArray());
    }
  }

  // ------------------------------------------------------------------------------- bad input

  private static void failsClosed(Executable call, String... parts) {
    IllegalStateException e = assertThrows(IllegalStateException.class, call);
    for (String p : parts) {
      assertTrue(e.getMessage() != null && e.getMessage().contains(p),
          "message '" + e.getMessage() + "' should contain '" + p + "'");
    }
  }

  private static void fails(Executable call, String... parts) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
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

  /** The argument checks every engine makes; shared with the OpenCL test. */
  static void badArguments(Engine e) {
    LrnSpec spec = new LrnSpec(5, 1e-4, 0.75, 2);
    Tensor closed = Tensor.zeros(1, 4, 3, 3);
    closed.close();
    try (Tensor x = Tensor.zeros(1, 4, 3, 3); Tensor y = Tensor.zeros(1, 4, 3, 3);
        Tensor wrong = Tensor.zeros(1, 4, 3, 2); Tensor flat = Tensor.zeros(36);
        Tensor g = Tensor.zeros(4); Tensor g5 = Tensor.zeros(5); Tensor s = Tensor.zeros(1, 4);
        Tensor s3 = Tensor.zeros(1, 3); Tensor a = Tensor.zeros(1, 1, 3, 3);
        Tensor b = Tensor.zeros(1, 3, 3, 3); Tensor c = Tensor.zeros(1, 2, 3, 3);
        Tensor d = Tensor.zeros(2, 1, 3, 3)) {
      String n = e.name();
      fails(() -> e.lrn(null, x, y), "lrn", "spec is null");
      fails(() -> e.lrn(spec, null, y), "lrn", "input is null");
      fails(() -> e.lrn(spec, x, wrong), "lrn", "output must be 1x4x3x3", "got 1x4x3x2");
      fails(() -> e.lrn(spec, x, x), "lrn", "different tensors");
      fails(() -> e.lrn(spec, flat, flat), "lrn", "channels at dimension 1", "36");
      failsClosed(() -> e.lrn(spec, closed, y), "lrn", "input Tensor[1x4x3x3, closed] is closed");
      failsClosed(() -> e.lrn(spec, x, closed), "lrn", "output Tensor[1x4x3x3, closed] is closed");

      fails(() -> e.layerNorm(x, g5, g, 1e-6, y), "layernorm", "gamma must be 4", "got 5");
      fails(() -> e.layerNorm(x, g, g5, 1e-6, y), "layernorm", "beta must be 4", "got 5");
      fails(() -> e.layerNorm(x, g, null, 1e-6, y), "layernorm", "beta is null");
      fails(() -> e.layerNorm(x, g, g, -1, y), "layernorm", "eps", "-1.0");
      fails(() -> e.layerNorm(x, g, g, Double.NaN, y), "layernorm", "eps", "NaN");
      fails(() -> e.layerNorm(x, g, g, 1e-6, wrong), "layernorm", "output must be 1x4x3x3");
      failsClosed(() -> e.layerNorm(x, closed, g, 1e-6, y), "layernorm", "gamma Tensor[1x4x3x3, closed] is closed");

      fails(() -> e.concat(List.of(), y), "concat", "no inputs");
      fails(() -> e.concat(null, y), "concat", "no inputs");
      fails(() -> e.concat(Arrays.asList(a, null), y), "concat", "input 1 is null");
      fails(() -> e.concat(List.of(a, c), y), "concat", "3 channels in all", "1x4x3x3 has 4");
      fails(() -> e.concat(List.of(a, wrong), y), "concat", "input 1 is 1x4x3x2",
          "every dimension but the channels");
      fails(() -> e.concat(List.of(d, b), y), "concat", "input 0 is 2x1x3x3");
      failsClosed(() -> e.concat(List.of(a, b), closed), "concat", "output Tensor[1x4x3x3, closed] is closed");
      fails(() -> e.concat(List.of(a, y), y), "concat", "input 1 is the output");
      fails(() -> e.concat(List.of(a, b), null), "concat", "output is null");

      fails(() -> e.scaleChannels(x, s3, y), "scale channels", "1x4 or 1x4x1x1", "got 1x3");
      fails(() -> e.scaleChannels(x, g, y), "scale channels", "got 4");
      fails(() -> e.scaleChannels(x, s, wrong), "scale channels", "output must be 1x4x3x3");
      fails(() -> e.scaleChannels(x, null, y), "scale channels", "scale is null");
      failsClosed(() -> e.scaleChannels(closed, s, y), "scale channels", "input Tensor[1x4x3x3, closed] is closed");
      assertTrue(n != null);
    }
  }

  @Test
  void badArgumentsNameTheOpAndTheValue() {
    for (Engine e : allEngines()) {
      badArguments(e);
    }
  }

  @Test
  void lrnSpecChecksItsValues() {
    fails(() -> new LrnSpec(0, 1e-4, 0.75, 2), "lrn", "size must be >= 1, got 0");
    fails(() -> new LrnSpec(5, -1, 0.75, 2), "lrn", "alpha", "-1.0");
    fails(() -> new LrnSpec(5, 1e-4, Double.NaN, 2), "lrn", "beta", "NaN");
    fails(() -> new LrnSpec(5, 1e-4, 0.75, 0), "lrn", "k must be finite and > 0, got 0.0");
  }

  @Test
  void closedEngine() {
    Engine e = Engines.cpu(1);
    e.close();
    try (Tensor x = Tensor.zeros(1, 2, 2, 2); Tensor y = Tensor.zeros(1, 2, 2, 2);
        Tensor g = Tensor.zeros(2)) {
      assertThrows(IllegalStateException.class,
          () -> e.lrn(new LrnSpec(3, 1, 0.75, 1), x, y));
      assertThrows(IllegalStateException.class, () -> e.layerNorm(x, g, g, 1e-6, y));
      assertThrows(IllegalStateException.class, () -> e.concat(List.of(x), y));
      assertThrows(IllegalStateException.class,
          () -> e.scaleChannels(x, Tensor.zeros(1, 2), y));
    }
  }

  @Test
  void theOpsLeaveTheirInputsAlone() {
    ChannelOpsCheck.LrnCase c = ChannelOpsCheck.lrnCases().get(0);
    float[] x = c.data();
    for (Engine e : engines) {
      try (Tensor in = Tensor.of(x, c.shape().dims()); Tensor y = Tensor.zeros(c.shape())) {
        e.lrn(c.spec(), in, y);
        assertArrayEquals(x, in.toArray(), e.name());
      }
    }
  }

}
