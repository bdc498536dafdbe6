package io.convkit.nn.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Issue 9: one ForwardPass and one engine shared by a thread pool give the right answers. */
class SharedForwardPassTest {
  static final int THREADS = 8;
  static final int CALLS = 4;

  /** Runs {@code pass} from 8 threads, each on its own inputs, against a one-thread pass. */
  static void checkShared(Network net, Shape in, Engine engine) throws Exception {
    try (ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 5));
        ForwardPass shared = new ForwardPass(plan, engine)) {
      float[][] inputs = new float[THREADS * CALLS][];
      float[][] expected = new float[inputs.length][];
      try (ForwardPass alone = new ForwardPass(plan, engine)) {
        for (int i = 0; i < inputs.length; i++) {
          inputs[i] = ConvCases.data(100 + i, in.elements());
          try (Tensor x = Tensor.of(inputs[i], in.dims())) {
            expected[i] = alone.forward(x).toArray();
          }
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
          int thread = t;
          done.add(pool.submit(() -> {
            start.await();
            for (int call = 0; call < CALLS; call++) {
              int i = (thread * CALLS + call * 3) % inputs.length; // threads share some inputs
              try (Tensor x = Tensor.of(inputs[i], in.dims())) {
                float[] got = shared.forward(x).toArray();
                assertArrayEquals(expected[i], got, "input " + i + " on thread " + thread
                    + " of a shared pass on " + engine.name());
              }
            }
            return null;
          }));
        }
        start.countDown();
        for (Future<?> f : done) {
          f.get(5, TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void eightThreadsOnOneCpuPass() throws Exception {
    Network net = Models.create("mobilenet_v2", Map.of("alpha", "0.5"));
    try (Engine cpu = Engines.cpu(2)) {
      checkShared(net, Shape.of(1, 3, 64, 64), cpu);
    }
  }

  @Test
  void eightThreadsOnOneReferencePass() throws Exception {
    try (Engine ref = Engines.reference()) {
      checkShared(Models.create("lenet5"), Shape.of(1, 1, 32, 32), ref);
    }
  }

  /** Device buffers per thread; the engine's queue is shared (PoCL where there is no GPU). */
  @Test
  void eightThreadsOnOneOpenClPass() throws Exception {
    Engine cl = io.convkit.engine.opencl.OpenClEngine.open(io.convkit.testing.OpenClOrSkip.device());
    try (Engine e = cl) {
      checkShared(Models.create("mobilenet_v2", Map.of("alpha", "0.5")), Shape.of(1, 3, 64, 64),
          e);
    }
  }

  @Test
  void aCallFromTheObserverIsRefused() {
    Network net = Models.create("lenet5");
    try (Engine cpu = Engines.cpu(1);
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 1));
        ForwardPass pass = new ForwardPass(plan, cpu);
        Tensor x = Tensor.zeros(1, 1, 32, 32)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> pass.forward(x, (step, out) -> pass.forward(x)));
      assertEquals("forward pass of lenet5 is already running on thread \""
          + Thread.currentThread().getName() + "\" (a call from its observer?)", e.getMessage());
      pass.forward(x); // the refused nested call left the thread's context usable
    }
  }

  @Test
  void closingThePassOrPlanDuringCallsFreesAfterThem() throws Exception {
    Network net = Models.create("mobilenet_v2", Map.of("alpha", "0.5"));
    Shape in = Shape.of(1, 3, 64, 64);
    try (Engine cpu = Engines.cpu(2)) {
      for (boolean closePlan : new boolean[] {false, true}) {
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 2));
        ForwardPass pass = new ForwardPass(plan, cpu);
        CountDownLatch inside = new CountDownLatch(1);
        List<Throwable> failures = new ArrayList<>();
        Thread caller = new Thread(() -> {
          try (Tensor x = Tensor.zeros(in)) {
            for (int i = 0; i < 50; i++) {
              pass.forward(x, (step, out) -> inside.countDown());
            }
          } catch (Throwable t) {
            failures.add(t);
          }
        });
        caller.start();
        inside.await();
        if (closePlan) {
          plan.close();
        } else {
          pass.close();
        }
        caller.join();
        assertEquals(1, failures.size(), "the next call after close fails");
        Throwable t = failures.get(0);
        assertTrue(t instanceof IllegalStateException, String.valueOf(t));
        String what = closePlan ? "forward plan of " + net.name() + " is closed"
            : "forward pass of " + net.name() + " on " + cpu.name() + " is closed";
        assertEquals(what, t.getMessage());
        pass.close();
        plan.close();
        if (!failures.isEmpty() && !(failures.get(0) instanceof IllegalStateException)) {
          fail(failures.get(0));
        }
      }
    }
  }
}
