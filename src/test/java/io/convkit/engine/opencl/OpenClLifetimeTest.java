package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 9 on the OpenCL engine: host tensors and weights closed by another thread during a call
 * (the engine reads host memory through staging copies), and device tensors that are never closed.
 */
class OpenClLifetimeTest {
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
  void closingHostTensorsOrWeightsDuringACallNeverFreesUnderIt() throws Exception {
    ConvSpec spec = ConvSpec.builder(16, 32, 3, 3).padding(1, 1, 1, 1).bias(true)
        .activation(Activation.RELU).build();
    Shape in = Shape.of(2, 16, 48, 48);
    float[] w = ConvCases.data(1, spec.denseWeightCount());
    float[] b = ConvCases.data(2, spec.outChannels());
    float[] xs = ConvCases.data(3, in.elements());
    float[] expected;
    try (Conv2d conv = new Conv2d(spec, w, b); Tensor x = Tensor.of(xs, in.dims());
        Tensor y = conv.forward(x, engine)) {
      expected = y.toArray();
    }
    Random rnd = new Random(11);
    for (int round = 0; round < 24; round++) {
      Conv2d conv = new Conv2d(spec, w, b);
      Tensor x = Tensor.of(xs, in.dims());
      Tensor y = Tensor.zeros(conv.plan(in).output());
      int target = round % 3;
      AutoCloseable victim = target == 0 ? x : target == 1 ? y : conv;
      AtomicReference<Throwable> failure = new AtomicReference<>();
      CountDownLatch go = new CountDownLatch(1);
      Thread caller = new Thread(() -> {
        try {
          go.await();
          conv.forwardInto(x, engine, y);
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      int delay = rnd.nextInt(4000);
      caller.start();
      go.countDown();
      TimeUnit.MICROSECONDS.sleep(delay);
      victim.close();
      caller.join();
      Throwable t = failure.get();
      if (t != null && !(t instanceof IllegalStateException && t.getMessage().contains("closed"))) {
        fail("closing " + victim + " during a call gave " + t, t);
      }
      if (t == null && target != 1) {
        assertArrayEquals(expected, y.toArray(), "a finished call computed the right answer");
      }
      conv.close();
      x.close();
      y.close();
    }
  }

  /** Device tensors that nobody closes are released once collected (a Cleaner). */
  @Test
  void forgottenDeviceTensorsAreReleased() throws Exception {
    int before = engine.liveBuffers();
    allocateAndDrop(16);
    assertTrue(engine.liveBuffers() >= before + 16, "16 live device tensors");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (engine.liveBuffers() > before && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    assertEquals(before, engine.liveBuffers(), "device buffers left after the tensors were dropped");
  }

  /**
   * An engine that is never closed can be collected once its tensors are (so its cleaner releases
   * the context): nothing but the caller refers to it, not its cleaner nor a cache.
   */
  @Test
  void aForgottenEngineIsCollectable() throws Exception {
    java.lang.ref.WeakReference<OpenClEngine> ref = forgottenEngine();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (ref.get() != null && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    assertTrue(ref.get() == null, "a dropped OpenCL engine stayed reachable");
  }

  private static java.lang.ref.WeakReference<OpenClEngine> forgottenEngine() {
    OpenClEngine e = OpenClEngine.open(OpenClTests.deviceOrSkip());
    ConvSpec spec = ConvSpec.builder(2, 2, 1, 1).build();
    try (Conv2d conv = new Conv2d(spec, new float[4], null); Tensor x = Tensor.zeros(1, 2, 3, 3)) {
      Tensor dx = x.to(e); // never closed: the tensor keeps the engine until it is collected
      conv.forward(dx, e).toArray();
    }
    return new java.lang.ref.WeakReference<>(e);
  }

  private void allocateAndDrop(int count) {
    for (int i = 0; i < count; i++) {
      Tensor.allocate(Shape.of(1, 4, 64, 64), engine).copyFrom(new float[4 * 64 * 64]);
    }
  }
}
