package io.convkit.engine;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuVariants;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The close-from-a-second-thread fuzz ({@link FuzzTest} runs it in a child JVM, so a native crash
 * is a failed test): seeded random convolutions, pools and adds on the CPU engines while a second
 * thread closes the input, the output or the weights after a random delay of up to twice the
 * call's time. Each call must finish with exactly the result it gives undisturbed, or throw
 * IllegalStateException saying what is closed. Prints a summary; exit 1 on the first violation.
 * Args: seed, calls.
 */
public final class CloseFuzz {
  private CloseFuzz() {}

  public static void main(String[] args) throws Exception {
    long seed = Long.parseLong(args[0]);
    int calls = Integer.parseInt(args[1]);
    Random r = new Random(seed);
    int finished = 0;
    int refused = 0;
    int midCall = 0;
    List<Engine> engines = CpuVariants.open();
    try {
      for (int i = 0; i < calls; i++) {
        Engine e = engines.get(i % engines.size());
        Op op = op(r);
        float[] expected = op.run(e, null);
        int micros = op.micros(e);
        Outcome o = op.race(e, r.nextInt(3), r.nextInt(2 * micros));
        if (o.failure != null) {
          Throwable t = o.failure;
          if (!(t instanceof IllegalStateException) || !t.getMessage().contains("closed")) {
            System.out.println("call " + i + " (" + op + " on " + e.name() + "): " + t);
            t.printStackTrace(System.out);
            System.exit(1);
          }
          refused++;
        } else {
          finished++;
          if (o.result != null && !Arrays.equals(expected, o.result)) {
            System.out.println("call " + i + " (" + op + " on " + e.name() + ") finished with a "
                + "result that differs from the undisturbed one");
            System.exit(1);
          }
        }
        midCall += o.midCall ? 1 : 0;
      }
    } finally {
      engines.forEach(Engine::close);
    }
    System.out.println("close fuzz: " + calls + " calls, " + finished + " finished, " + refused
        + " refused, " + midCall + " closes during a call");
  }

  record Outcome(Throwable failure, float[] result, boolean midCall) {}

  /** One drawn call: a conv (weights as a layer), a pool or an add, with its input data. */
  private abstract static class Op {
    final Shape in;
    final float[] x;

    Op(Shape in, long seed) {
      this.in = in;
      this.x = ConvCases.data(seed, in.elements());
    }

    abstract Shape out();

    abstract AutoCloseable weights(); // null where there are none

    abstract void call(Engine e, Tensor x, Tensor y, AutoCloseable weights);

    /** Runs undisturbed and returns the output. */
    float[] run(Engine e, AutoCloseable unused) throws Exception {
      try (AutoCloseable w = weights(); Tensor tx = Tensor.of(x, in.dims());
          Tensor ty = Tensor.zeros(out())) {
        call(e, tx, ty, w);
        return ty.toArray();
      }
    }

    int micros(Engine e) throws Exception {
      long t0 = System.nanoTime();
      run(e, null);
      return (int) Math.max(20, (System.nanoTime() - t0) / 1000);
    }

    /** Runs on one thread while another closes target 0 (input), 1 (output) or 2 (weights). */
    Outcome race(Engine e, int target, int delayMicros) throws Exception {
      AutoCloseable w = weights();
      Tensor tx = Tensor.of(x, in.dims());
      Tensor ty = Tensor.zeros(out());
      AutoCloseable victim = target == 0 ? tx : target == 1 || w == null ? ty : w;
      AtomicReference<Throwable> failure = new AtomicReference<>();
      boolean[] mid = new boolean[1];
      CountDownLatch go = new CountDownLatch(1);
      Thread caller = new Thread(() -> {
        try {
          go.await();
          call(e, tx, ty, w);
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "fuzz-caller");
      Thread closer = new Thread(() -> {
        try {
          go.await();
          TimeUnit.MICROSECONDS.sleep(delayMicros);
          mid[0] = victim instanceof Tensor t ? t.lifetime().users() > 0
              : victim instanceof Conv2d c && c.weights().lifetime().users() > 0;
          victim.close();
        } catch (Exception ex) {
          failure.compareAndSet(null, ex);
        }
      }, "fuzz-closer");
      caller.start();
      closer.start();
      go.countDown();
      caller.join();
      closer.join();
      float[] result = failure.get() == null && victim != ty ? ty.toArray() : null;
      if (w != null) {
        w.close();
      }
      tx.close();
      ty.close();
      return new Outcome(failure.get(), result, mid[0]);
    }
  }

  private static Op op(Random r) {
    int kind = r.nextInt(4);
    int n = 1 + r.nextInt(2);
    if (kind == 3) {
      Shape in = Shape.of(n, 1 + r.nextInt(32), 8 + r.nextInt(48), 8 + r.nextInt(48));
      Activation act = Activation.values()[r.nextInt(Activation.values().length)];
      return new Op(in, r.nextLong()) {
        final float[] b = ConvCases.data(5, in.elements());

        @Override
        Shape out() {
          return in;
        }

        @Override
        AutoCloseable weights() {
          return null;
        }

        @Override
        void call(Engine e, Tensor x, Tensor y, AutoCloseable w) {
          try (Tensor tb = Tensor.of(b, in.dims())) {
            e.add(x, tb, y, act);
          }
        }

        @Override
        public String toString() {
          return "add " + in + " " + act;
        }
      };
    }
    if (kind == 2) {
      int k = 1 + r.nextInt(4);
      PoolSpec spec = PoolSpec.builder(r.nextBoolean() ? PoolKind.MAX : PoolKind.AVG, k, k)
          .stride(1 + r.nextInt(3)).padding(r.nextInt(k / 2 + 1)).build();
      Shape in = Shape.of(n, 1 + r.nextInt(64), 8 + r.nextInt(64), 8 + r.nextInt(64));
      return new Op(in, r.nextLong()) {
        @Override
        Shape out() {
          return spec.outputShape(in);
        }

        @Override
        AutoCloseable weights() {
          return null;
        }

        @Override
        void call(Engine e, Tensor x, Tensor y, AutoCloseable w) {
          e.pool(spec, x, y);
        }

        @Override
        public String toString() {
          return spec + " on " + in;
        }
      };
    }
    int c = 1 + r.nextInt(24);
    boolean depthwise = r.nextInt(3) == 0;
    int out = depthwise ? c : 1 + r.nextInt(48);
    int k = 1 + r.nextInt(5);
    int pad = r.nextInt(k / 2 + 1);
    ConvSpec spec = ConvSpec.builder(c, out, k, k).stride(1 + r.nextInt(2))
        .padding(pad, pad, pad, pad).dilation(1 + r.nextInt(2)).groups(depthwise ? c : 1)
        .bias(r.nextBoolean()).activation(Activation.values()[r.nextInt(4)]).build();
    Shape in = Shape.of(n, c, 12 + r.nextInt(48), 12 + r.nextInt(48));
    float[] w = ConvCases.data(r.nextLong(), spec.denseWeightCount());
    float[] b = spec.hasBias() ? ConvCases.data(r.nextLong(), spec.outChannels()) : null;
    return new Op(in, r.nextLong()) {
      @Override
      Shape out() {
        return io.convkit.conv.Planner.plan(spec, in, null).output();
      }

      @Override
      AutoCloseable weights() {
        return new Conv2d(spec, w, b);
      }

      @Override
      void call(Engine e, Tensor x, Tensor y, AutoCloseable layer) {
        ((Conv2d) layer).forwardInto(x, e, y);
      }

      @Override
      public String toString() {
        return spec + " on " + in;
      }
    };
  }
}
