package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Device;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tensors on the device: round trips, a chain of layers with no host transfers between them, the
 * same results as through host tensors, and clear errors when a tensor is in the wrong place or
 * its engine is gone.
 */
class OpenClDeviceTensorTest {
  private OpenClEngine engine;

  @BeforeEach
  void open() {
    engine = OpenClEngine.open(OpenClTests.deviceOrSkip());
  }

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
  }

  @Test
  void roundTripThroughTheDevice() {
    float[] data = ConvCases.data(1, 2 * 3 * 5 * 7);
    try (Tensor h = Tensor.of(data, 2, 3, 5, 7); Tensor d = h.to(engine);
        Tensor back = d.to(Device.HOST)) {
      assertFalse(d.isOnHost());
      assertEquals(engine, d.device());
      assertEquals(h.shape(), d.shape());
      assertArrayEquals(data, d.toArray());
      assertArrayEquals(data, back.toArray());
      float[] other = ConvCases.data(2, data.length);
      d.copyFrom(other);
      assertArrayEquals(other, d.toArray());
      // Moving to a host engine (the CPU engine computes on host memory) gives a host copy.
      try (Engine cpu = Engines.cpu(1); Tensor c = d.to(cpu)) {
        assertTrue(c.isOnHost());
        assertArrayEquals(other, c.toArray());
      }
    }
  }

  @Test
  void aChainOnTheDeviceMakesNoHostTransfers() {
    ConvSpec s1 = ConvSpec.builder(3, 16, 3, 3).padding(1).bias(true)
        .activation(Activation.RELU).name("c1").build();
    ConvSpec s2 = ConvSpec.builder(16, 16, 3, 3).padding(1).groups(16).bias(true)
        .activation(Activation.RELU6).name("dw").build();
    ConvSpec s3 = ConvSpec.builder(16, 8, 1, 1).name("pw").build();
    PoolSpec pool = PoolSpec.builder(PoolKind.MAX, 2, 2).build();
    float[] x = ConvCases.data(3, 2 * 3 * 12 * 12);
    try (Conv2d c1 = conv(s1, 4); Conv2d c2 = conv(s2, 5); Conv2d c3 = conv(s3, 6);
        Engine cpu = Engines.cpu(1); Tensor hx = Tensor.of(x, 2, 3, 12, 12)) {
      float[] expected;
      try (Tensor a = c1.forward(hx, cpu); Tensor b = c2.forward(a, cpu);
          Tensor c = c3.forward(b, cpu); Tensor r = Tensor.zeros(2, 8, 12, 12);
          Tensor p = Tensor.zeros(2, 8, 6, 6)) {
        cpu.add(c, c, r, Activation.NONE);
        cpu.pool(pool, r, p);
        expected = p.toArray();
      }
      try (Tensor dx = hx.to(engine)) {
        // The first call uploads the weights; the second must transfer nothing.
        for (int pass = 0; pass < 2; pass++) {
          OpenClEngine.Stats before = engine.stats();
          try (Tensor a = c1.forward(dx, engine); Tensor b = c2.forward(a, engine);
              Tensor c = c3.forward(b, engine);
              Tensor r = Tensor.allocate(Shape.of(2, 8, 12, 12), engine);
              Tensor p = Tensor.allocate(Shape.of(2, 8, 6, 6), engine)) {
            engine.add(c, c, r, Activation.NONE);
            engine.pool(pool, r, p);
            assertFalse(p.isOnHost());
            OpenClEngine.Stats after = engine.stats();
            if (pass == 1) {
              assertEquals(before.uploads(), after.uploads(), "uploads during a device chain");
              assertEquals(before.downloads(), after.downloads(), "downloads during a device chain");
            }
            assertTrue(after.launches() > before.launches());
            float[] got = p.toArray();
            for (int i = 0; i < got.length; i++) {
              assertEquals(expected[i], got[i], 1e-4f * (1 + Math.abs(expected[i])), "output " + i);
            }
          }
        }
      }
    }
  }

  private static Conv2d conv(ConvSpec s, long seed) {
    float[] w = ConvCases.data(seed, s.denseWeightCount());
    float[] b = s.hasBias() ? ConvCases.data(seed + 1, s.outChannels()) : null;
    return new Conv2d(s, w, b);
  }

  @Test
  void aDeviceTensorOnAHostEngineIsRefusedNamingTheDevice() {
    ConvSpec s = ConvSpec.builder(2, 2, 1, 1).name("pw").build();
    try (Conv2d c = conv(s, 7); Engine cpu = Engines.cpu(1);
        Tensor d = Tensor.allocate(Shape.of(1, 2, 3, 3), engine)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> c.forward(d, cpu).close());
      assertTrue(e.getMessage().contains(engine.name()), e.getMessage());
    }
  }

  @Test
  void aTensorOfAnotherOpenClEngineIsRefused() {
    ConvSpec s = ConvSpec.builder(2, 2, 1, 1).name("pw").build();
    try (OpenClEngine other = OpenClEngine.open(engine.device()); Conv2d c = conv(s, 8);
        Tensor d = Tensor.allocate(Shape.of(1, 2, 3, 3), other);
        Tensor y = Tensor.allocate(Shape.of(1, 2, 3, 3), engine)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> c.forwardInto(d, engine, y));
      assertTrue(e.getMessage().contains("tensor.to(engine)"), e.getMessage());
    }
  }

  @Test
  void aTensorOutlivingItsEngineFailsCleanly() {
    Tensor d = Tensor.allocate(Shape.of(4), engine);
    engine.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, d::toArray);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    d.close(); // releasing after the engine is a no-op, not a crash
    assertThrows(IllegalStateException.class, () -> Tensor.allocate(Shape.of(4), engine));
  }

  @Test
  void closingTheEngineReleasesEveryBuffer() {
    Tensor d = Tensor.allocate(Shape.of(1000), engine);
    assertTrue(engine.liveBuffers() >= 2); // the tensor and the absent-bias placeholder
    d.close();
    int before = engine.liveBuffers();
    try (Tensor a = Tensor.allocate(Shape.of(10), engine)) {
      assertEquals(before + 1, engine.liveBuffers());
    }
    assertEquals(before, engine.liveBuffers());
    engine.close();
    assertEquals(0, engine.liveBuffers());
  }
}
