package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Uses;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuVariants;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/**
 * Issue 9's lifetime defects: a tensor, weights or layer closed from another thread while a call
 * uses it; an output that aliases its input; one thread writing what another uses; an engine that
 * is never closed. Each call must either finish with the right answer or throw
 * IllegalStateException naming what was closed; never crash, never free memory under a call.
 */
class LifetimeSafetyTest {
  /** Rounds per race; each closes at a random moment within the call's few milliseconds. */
  static final int ROUNDS = 30;

  enum Target { INPUT, OUTPUT, WEIGHTS }

  /** Closes that landed while the call held the victim (printed: evidence the race is real). */
  static final java.util.concurrent.atomic.AtomicInteger MID_CALL = new java.util.concurrent.atomic.AtomicInteger();

  /** Microseconds one call takes (the median of five), so closes can land inside it. */
  static int micros(Runnable call) {
    long[] t = new long[5];
    for (int i = 0; i < t.length; i++) {
      long t0 = System.nanoTime();
      call.run();
      t[i] = System.nanoTime() - t0;
    }
    java.util.Arrays.sort(t);
    return (int) Math.max(20, t[2] / 1000);
  }

  /**
   * Runs {@code call} on one thread while another closes {@code victim} after a random delay of
   * up to twice {@code callMicros} (so some closes land during the call, some before or after).
   */
  static Throwable race(Runnable call, AutoCloseable victim, Random rnd, int callMicros)
      throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch go = new CountDownLatch(1);
    Thread caller = new Thread(() -> {
      try {
        go.await();
        call.run();
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "race-caller");
    int delayMicros = rnd.nextInt(2 * callMicros);
    io.convkit.tensor.Lifetime held = victim instanceof Tensor t ? t.lifetime()
        : victim instanceof Conv2d c ? c.weights().lifetime() : null;
    Thread closer = new Thread(() -> {
      try {
        go.await();
        TimeUnit.MICROSECONDS.sleep(delayMicros);
        if (held != null && held.users() > 0) {
          MID_CALL.incrementAndGet();
        }
        victim.close();
      } catch (Exception e) {
        failure.compareAndSet(null, e);
      }
    }, "race-closer");
    caller.start();
    closer.start();
    go.countDown();
    caller.join(60_000);
    closer.join(60_000);
    assertTrue(!caller.isAlive() && !closer.isAlive(), "race did not finish");
    return failure.get();
  }

  static void assertClosedFailure(Throwable t, String what) {
    if (t == null) {
      return;
    }
    if (!(t instanceof IllegalStateException) || !t.getMessage().contains("closed")) {
      fail("closing the " + what + " during a call gave " + t, t);
    }
  }

  /** im2col+GEMM and depthwise convs: close the input, the output or the layer mid-call. */
  @Test
  void closingDuringAConvolutionNeverFreesUnderTheCall() throws Exception {
    ConvSpec dense = ConvSpec.builder(16, 32, 3, 3).padding(1, 1, 1, 1).bias(true)
        .activation(Activation.RELU).build();
    ConvSpec depthwise = ConvSpec.builder(32, 32, 3, 3).padding(1, 1, 1, 1).groups(32).build();
    Random rnd = new Random(9);
    List<Engine> engines = CpuVariants.open();
    try {
      for (Engine e : engines) {
        for (ConvSpec spec : List.of(dense, depthwise)) {
          Shape in = Shape.of(2, spec.inChannels(), 48, 48);
          float[] w = ConvCases.data(1, spec.denseWeightCount());
          float[] b = spec.hasBias() ? ConvCases.data(2, spec.outChannels()) : null;
          float[] xs = ConvCases.data(3, in.elements());
          float[] expected;
          int callMicros;
          try (Conv2d conv = new Conv2d(spec, w, b); Tensor x = Tensor.of(xs, in.dims());
              Tensor y = conv.forward(x, e)) {
            expected = y.toArray();
            callMicros = micros(() -> conv.forwardInto(x, e, y));
          }
          for (Target target : Target.values()) {
            for (int round = 0; round < ROUNDS; round++) {
              Conv2d conv = new Conv2d(spec, w, b);
              Tensor x = Tensor.of(xs, in.dims());
              Tensor y = Tensor.zeros(conv.plan(in).output());
              AutoCloseable victim = switch (target) {
                case INPUT -> x;
                case OUTPUT -> y;
                case WEIGHTS -> conv;
              };
              Throwable t = race(() -> conv.forwardInto(x, e, y), victim, rnd, callMicros);
              assertClosedFailure(t, target + " of " + spec.name() + " on " + e.name());
              if (t == null && target != Target.OUTPUT) {
                assertArrayEquals(expected, y.toArray(), "a call that finished computed " + target
                    + " closed mid-call");
              }
              conv.close();
              x.close();
              y.close();
            }
          }
        }
      }
    } finally {
      engines.forEach(Engine::close);
    }
    System.out.println("LifetimeSafetyTest: " + MID_CALL.get() + " closes landed during a conv");
  }

  @Test
  void closingDuringPoolingAndAddNeverFreesUnderTheCall() throws Exception {
    Random rnd = new Random(10);
    PoolSpec spec = PoolSpec.builder(PoolKind.MAX, 3, 3).stride(1, 1).build();
    Shape in = Shape.of(4, 64, 64, 64);
    List<Engine> engines = CpuVariants.open();
    try {
      for (Engine e : engines) {
        int poolMicros;
        int addMicros;
        try (Tensor x = Tensor.zeros(in); Tensor y = Tensor.zeros(spec.outputShape(in))) {
          poolMicros = micros(() -> e.pool(spec, x, y));
          addMicros = micros(() -> e.add(x, x, x, Activation.NONE));
        }
        for (int round = 0; round < ROUNDS; round++) {
          Tensor x = Tensor.of(ConvCases.data(round, in.elements()), in.dims());
          Tensor y = Tensor.zeros(spec.outputShape(in));
          Throwable t = race(() -> e.pool(spec, x, y), round % 2 == 0 ? x : y, rnd, poolMicros);
          assertClosedFailure(t, "pool tensor on " + e.name());
          Tensor z = Tensor.zeros(in);
          t = race(() -> e.add(x.isClosed() ? z : x, z, z, Activation.RELU),
              round % 2 == 0 ? z : y, rnd, addMicros);
          assertClosedFailure(t, "add tensor on " + e.name());
          x.close();
          y.close();
          z.close();
        }
      }
    } finally {
      engines.forEach(Engine::close);
    }
  }

  @Test
  void anOutputThatIsAViewOfItsInputIsRefused() {
    ConvSpec spec = ConvSpec.builder(2, 2, 1, 1).build();
    try (Engine cpu = Engines.cpu(1); Conv2d conv = new Conv2d(spec, new float[4], null);
        Tensor x = Tensor.zeros(1, 2, 3, 3)) {
      Tensor view = x.view(Shape.of(1, 2, 3, 3));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> conv.forwardInto(x, cpu, view));
      assertEquals(spec.name() + ": input and output must be different tensors sharing no "
          + "memory (not a tensor and a view of it)", e.getMessage());
      PoolSpec pool = PoolSpec.builder(PoolKind.MAX, 1, 1).build();
      IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
          () -> cpu.pool(pool, x, view));
      assertTrue(p.getMessage().endsWith("input and output must be different tensors sharing no "
          + "memory (not a tensor and a view of it)"), p.getMessage());
      // in-place ops stay allowed through a view: every element is read before it is written
      cpu.add(x, x, view, Activation.NONE);
    }
  }

  /** A thread writing a tensor excludes calls on other threads that read it, and vice versa. */
  @Test
  void anotherThreadsWriteIsRefusedNotRaced() throws Exception {
    try (Engine cpu = Engines.cpu(1); Tensor a = Tensor.zeros(1, 4, 4, 4);
        Tensor y = Tensor.zeros(1, 4, 4, 4)) {
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      Thread writer = new Thread(() -> {
        try (Uses u = Uses.begin("a long call").write("output", a)) {
          held.countDown();
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "writer-thread");
      writer.start();
      held.await();
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> cpu.add(a, a, y, Activation.NONE));
      assertTrue(e.getMessage().startsWith("add: the first input: tensor 1x4x4x4 is being written "
          + "by thread \"writer-thread\""), e.getMessage());
      assertThrows(IllegalStateException.class, () -> a.copyFrom(new float[64]));
      assertThrows(IllegalStateException.class, a::toArray);
      assertEquals(0, y.lifetime().users(), "the refused call released what it held");
      release.countDown();
      writer.join();
      cpu.add(a, a, y, Activation.NONE);
    }
  }

  /** A CPU engine that is never closed stops its threads once it is garbage collected. */
  @Test
  void aForgottenCpuEngineStopsItsThreads() throws Exception {
    String prefix = forgottenEngine();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (liveThreads(prefix) > 0 && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    assertEquals(0, liveThreads(prefix), "worker threads " + prefix + "* still alive");
  }

  /** Makes, uses and drops an engine; returns its worker threads' name prefix. */
  private static String forgottenEngine() {
    long before = Pointer.totalBytes();
    CpuEngine e = new CpuEngine(3, Isa.best());
    try (Tensor x = Tensor.zeros(1, 8, 32, 32); Tensor y = Tensor.zeros(1, 8, 16, 16)) {
      e.pool(PoolSpec.builder(PoolKind.MAX, 2, 2).build(), x, y);
    }
    assertTrue(Pointer.totalBytes() >= before);
    String prefix = null;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("convkit-cpu") && t.getName().endsWith("-worker2")) {
        String p = t.getName().substring(0, t.getName().length() - "worker2".length());
        // the newest pool: the highest id
        if (prefix == null || id(p) > id(prefix)) {
          prefix = p;
        }
      }
    }
    assertEquals(2, liveThreads(prefix), "a 3-thread engine has 2 workers");
    return prefix;
  }

  private static int id(String prefix) {
    return Integer.parseInt(prefix.substring("convkit-cpu".length(), prefix.length() - 1));
  }

  private static long liveThreads(String prefix) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
  }
}
