package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Failures surface as clear exceptions naming the device, before anything is half done. */
class OpenClFaultTest {
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
  void aBuildFailureCarriesTheBuildLog() {
    OpenClException e = assertThrows(OpenClException.class, () -> engine.build("broken.cl",
        "kernel void broken(global float* y) { y[0] = convkit_no_such_identifier; }", "-DX=1"));
    String m = e.getMessage();
    assertTrue(m.contains(engine.name()), m);
    assertTrue(m.contains("broken.cl"), m);
    assertTrue(m.contains("-DX=1"), m);
    assertTrue(m.contains("convkit_no_such_identifier"), "the build log is missing: " + m);
  }

  @Test
  void aBufferOverTheDeviceLimitIsRefusedBeforeAllocation() {
    long limit = engine.device().maxAllocBytes();
    int live = engine.liveBuffers();
    DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
        () -> engine.buffer(limit / 4 + 1, "a test buffer"));
    assertTrue(e.getMessage().contains(engine.name()), e.getMessage());
    assertTrue(e.getMessage().contains(Long.toString(limit)), e.getMessage());
    assertEquals(live, engine.liveBuffers(), "nothing was allocated");
    // Through the public path too, where a tensor that large can exist at all.
    if (limit / 4 + 1 <= Integer.MAX_VALUE) {
      Shape big = Shape.of((int) (limit / 4 + 1));
      assertThrows(DeviceMemoryException.class, () -> Tensor.allocate(big, engine));
      assertEquals(live, engine.liveBuffers());
    }
  }

  @Test
  void aTiledWorkGroupLargerThanTheDeviceAllowsIsRefused() {
    // Checked against the device when the engine opens, not at the first launch.
    Tuning t = engine.tuning();
    long max = engine.device().maxWorkGroupSize();
    int side = 1;
    while ((long) side * side <= max) {
      side *= 2;
    }
    if (side <= 256) {
      Tuning tooBig = new Tuning(Tuning.Gemm.TILED, t.mr(), t.nv(), t.pl(), side, side, 8, 1, 1,
          t.lx(), false);
      OpenClException e = assertThrows(OpenClException.class,
          () -> OpenClEngine.open(engine.device(), tooBig).close());
      assertTrue(e.getMessage().contains("work-group"), e.getMessage());
    }
  }

  @Test
  void bestFallsBackToTheCpuOrPicksAGpu() {
    boolean gpu;
    try {
      OpenClEngine.select(DeviceType.GPU);
      gpu = true;
    } catch (OpenClException none) {
      gpu = false;
    }
    try (Engine best = Engines.best()) {
      if (gpu) {
        assertTrue(best instanceof OpenClEngine, best.name());
      } else {
        assertTrue(best instanceof CpuEngine, best.name());
      }
    }
  }

  @Test
  void noSuchDeviceNamesWhatThereIs() {
    OpenClException e = assertThrows(OpenClException.class, () -> Engines.openCl(99, 0));
    assertTrue(e.getMessage().contains("platform 99"), e.getMessage());
    assertTrue(e.getMessage().contains(engine.device().name()), e.getMessage());
  }

  @Test
  void tuningDataIsReadAndChecked() {
    Tuning cpu = Tuning.forDevice("some cpu", "CPU");
    assertEquals(Tuning.Gemm.PACKED, cpu.gemm());
    Tuning gpu = Tuning.forDevice("some gpu", "GPU");
    assertEquals(Tuning.Gemm.TILED, gpu.gemm());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Tuning(Tuning.Gemm.TILED, 6, 1, 1, 30, 32, 8, 4, 4, 16, false));
    assertTrue(e.getMessage().contains("30x32"), e.getMessage());
  }

  @Test
  void weightsAreUploadedOnceAndDroppedWhenClosed() {
    ConvSpec s = ConvSpec.builder(4, 4, 3, 3).padding(1).name("c").build();
    float[] w = new float[(int) s.denseWeightCount()];
    try (Tensor x = Tensor.zeros(1, 4, 5, 5)) {
      io.convkit.nn.Conv2d c = new io.convkit.nn.Conv2d(s, w, null);
      c.forward(x, engine).close();
      int live = engine.liveBuffers();
      c.forward(x, engine).close();
      assertEquals(live, engine.liveBuffers(), "the second call reuses the device weights");
      c.close();
      // The next new layer purges the closed one's device copy.
      try (io.convkit.nn.Conv2d d = new io.convkit.nn.Conv2d(s, w, null)) {
        d.forward(x, engine).close();
        assertEquals(live, engine.liveBuffers());
      }
    }
  }
}
