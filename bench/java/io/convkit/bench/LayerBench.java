package io.convkit.bench;

import io.convkit.bench.LayerSuite.Layer;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.Planner;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.cpu.Blas;
import io.convkit.engine.opencl.DeviceType;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Views;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Measures one suite layer in this JVM at one thread count: our CPU engine, the GEMM-only ceiling
 * (OpenBLAS sgemm on the same M x N x K, {@code groups} calls per image), oneDNN with its best
 * layouts and ONNX Runtime on a one-Conv ONNX model of the layer ({@link OrtConv}). Each is
 * measured in a block of its own (warm-up, then only its timed calls), because OpenBLAS, OpenMP
 * and ORT threads spin after a call and would steal cores from an interleaved peer.
 *
 * <p>The setup ({@link #open}) is shared with the JMH benchmark {@link ConvLayerBenchmark}.
 * oneDNN's thread count is fixed by {@code OMP_NUM_THREADS} when the JVM starts, so a fair
 * comparison at T threads needs a JVM started with {@code OMP_NUM_THREADS=T} (and
 * {@code OPENBLAS_NUM_THREADS=T}); {@link BenchCommand} forks one per thread count.
 */
public final class LayerBench {
  public static final String CONVKIT = "convkit";
  public static final String GEMM = "gemm";
  public static final String ONEDNN = "onednn";
  public static final String OPENCL = "opencl";
  public static final String ORT = "ort";
  public static final List<String> ENGINES = List.of(CONVKIT, GEMM, ONEDNN, ORT, OPENCL);

  private LayerBench() {}

  // ------------------------------------------------------------------------------------------
  // Subjects: one benchmarked thing each, with preallocated buffers.

  /** One benchmarked implementation of a layer: {@link #call()} runs one whole forward pass. */
  public interface Subject extends AutoCloseable {
    void call();

    /** What runs, e.g. "IM2COL_GEMM (im2col + sgemm)" or oneDNN's implementation name. */
    String implementation();

    @Override
    void close();
  }

  /**
   * Opens {@code engine} ("convkit", "gemm", "onednn", "ort" or "opencl") for a layer at
   * {@code threads}.
   */
  public static Subject open(String engine, Layer layer, int threads) {
    return switch (engine) {
      case CONVKIT -> new Convkit(layer, threads);
      case GEMM -> new Gemm(layer, threads);
      case ONEDNN -> new OneDnn(layer);
      case ORT -> new Ort(layer, threads);
      case OPENCL -> new OpenCl(layer);
      default -> throw new IllegalArgumentException(
          "unknown engine '" + engine + "', expected one of " + ENGINES);
    };
  }

  /**
   * Our CPU engine through {@link Conv2d#forwardInto} into a preallocated output, in the layout a
   * forward pass would give the layer on this engine (NHWC where one of the engine's NHWC
   * implementations fits, else NCHW); the input and output stay in it between calls, as between
   * a network's layers.
   */
  public static final class Convkit implements Subject {
    private final Engine engine;
    private final Conv2d conv;
    private final Tensor x;
    private final Tensor y;
    private final ConvPlan plan;
    private final Layout layout;

    public Convkit(Layer layer, int threads) {
      ConvSpec spec = layer.spec();
      Engine e = null;
      Conv2d c = null;
      Tensor in = null;
      try {
        e = Engines.cpu(threads);
        c = new Conv2d(spec, weights(layer), bias(layer));
        this.plan = c.plan(layer.input());
        this.layout = e.preferredLayout() == Layout.NHWC && e.runsNhwc(plan) ? Layout.NHWC
            : Layout.NCHW;
        in = Tensor.allocate(layer.input(), Device.HOST, layout);
        in.copyFrom(input(layer));
        this.y = Tensor.allocate(plan.output(), Device.HOST, layout);
      } catch (RuntimeException | Error ex) {
        closeQuietly(in);
        closeQuietly(c);
        closeQuietly(e);
        throw ex;
      }
      this.engine = e;
      this.conv = c;
      this.x = in;
    }

    @Override
    public void call() {
      conv.forwardInto(x, engine, y);
    }

    public ConvPlan plan() {
      return plan;
    }

    public Engine engine() {
      return engine;
    }

    /** A copy of the output of the last call. */
    public float[] output() {
      return y.toArray();
    }

    /** What the engine runs, e.g. "nhwc_dense (f32_conv_nhwc_6x16_avx2)". */
    @Override
    public String implementation() {
      return engine.implementation(plan, layout);
    }

    @Override
    public void close() {
      y.close();
      x.close();
      conv.close();
      engine.close();
    }
  }

  /**
   * Our OpenCL engine on the first OpenCL device (a GPU where there is one), with the input, the
   * output and the weights resident on the device: {@link #call()} is one forward pass plus the
   * wait for it, so its time is the device's. {@link #transfer()} is the host-to-device copy of
   * the input plus the copy of the output back, timed on its own.
   */
  public static final class OpenCl implements Subject {
    private final OpenClEngine engine;
    private final Conv2d conv;
    private final Tensor hostX;
    private final Tensor hostY;
    private final Tensor x;
    private final Tensor y;
    private final ConvPlan plan;

    public OpenCl(Layer layer) {
      OpenClEngine e = null;
      Conv2d c = null;
      Tensor hx = null;
      Tensor hy = null;
      Tensor dx = null;
      Tensor dy = null;
      try {
        e = OpenClEngine.open(OpenClEngine.select(DeviceType.ANY));
        c = new Conv2d(layer.spec(), weights(layer), bias(layer));
        hx = Tensor.of(input(layer), layer.input().dims());
        this.plan = c.plan(layer.input());
        hy = Tensor.zeros(plan.output());
        dx = hx.to(e);
        dy = Tensor.allocate(plan.output(), e);
      } catch (RuntimeException | Error ex) {
        for (AutoCloseable a : new AutoCloseable[] {dy, dx, hy, hx, c, e}) {
          closeQuietly(a);
        }
        throw ex;
      }
      this.engine = e;
      this.conv = c;
      this.hostX = hx;
      this.hostY = hy;
      this.x = dx;
      this.y = dy;
    }

    /** Whether an OpenCL device can be opened here (false, not an exception, if not). */
    public static boolean available() {
      try {
        OpenClEngine.select(DeviceType.ANY);
        return true;
      } catch (RuntimeException | LinkageError e) {
        return false;
      }
    }

    @Override
    public void call() {
      conv.forwardInto(x, engine, y);
      engine.finish();
    }

    /** The input to the device and the output back, as a caller with host tensors pays. */
    public void transfer() {
      x.deviceMemory().write(hostX.pointer());
      y.deviceMemory().read(hostY.pointer());
    }

    /** A copy of the output of the last call. */
    public float[] output() {
      return y.toArray();
    }

    public String device() {
      return engine.device().name();
    }

    @Override
    public String implementation() {
      return engine.describe(plan);
    }

    @Override
    public void close() {
      for (AutoCloseable a : new AutoCloseable[] {y, x, hostY, hostX, conv, engine}) {
        closeQuietly(a);
      }
    }
  }

  /**
   * The GEMM-only ceiling: {@code groups} sgemm calls per image, {@code M = k/groups},
   * {@code N = outH*outW}, {@code K = (c/groups)*r*s}, on preallocated buffers (one unfolded
   * input reused across images, the whole batch's output), {@code threads} OpenBLAS threads. No
   * im2col, no bias, no activation: what the convolution would cost if it were only its GEMM.
   */
  public static final class Gemm implements Subject {
    private final int threads;
    private final int m;
    private final int n;
    private final int k;
    private final Tensor a;
    private final Tensor b;
    private final Tensor c;
    private final FloatPointer[] aAt;
    private final FloatPointer[] bAt;
    private final FloatPointer[] cAt;

    public Gemm(Layer layer, int threads) {
      ConvSpec spec = layer.spec();
      Shape out = spec.outputShape(layer.input());
      int groups = spec.groups();
      this.threads = threads;
      this.m = spec.outChannelsPerGroup();
      this.n = out.h() * out.w();
      this.k = spec.inChannelsPerGroup() * spec.kernelH() * spec.kernelW();
      Random rnd = new Random(seed(layer) ^ 0x6e6d6d);
      this.a = Tensor.zeros((int) spec.denseWeightCount());
      this.a.copyFrom(gaussian(rnd, (int) spec.denseWeightCount(), Math.sqrt(2.0 / k)));
      this.b = Tensor.zeros(groups * k * n);
      this.b.copyFrom(uniform(rnd, groups * k * n));
      this.c = Tensor.zeros(Shape.of(out.n(), out.c(), out.h() * out.w()));
      int calls = out.n() * groups;
      aAt = new FloatPointer[calls];
      bAt = new FloatPointer[calls];
      cAt = new FloatPointer[calls];
      FloatPointer pa = a.pointer();
      FloatPointer pb = b.pointer();
      FloatPointer pc = c.pointer();
      for (int img = 0; img < out.n(); img++) {
        for (int g = 0; g < groups; g++) {
          int i = img * groups + g;
          aAt[i] = Views.at(pa, (long) g * m * k);
          bAt[i] = Views.at(pb, (long) g * k * n);
          cAt[i] = Views.at(pc, (long) img * out.c() * n + (long) g * m * n);
        }
      }
    }

    @Override
    public void call() {
      for (int i = 0; i < aAt.length; i++) {
        Blas.sgemm(threads, m, n, k, aAt[i], k, bAt[i], n, 0f, cAt[i], n);
      }
    }

    @Override
    public String implementation() {
      return "sgemm " + m + "x" + n + "x" + k + (aAt.length > 1 ? " x" + aAt.length : "");
    }

    @Override
    public void close() {
      a.close();
      b.close();
      c.close();
    }
  }

  /** oneDNN with its fastest layouts; its threads are OMP_NUM_THREADS's. */
  public static final class OneDnn implements Subject {
    private final OneDnnConv conv;
    private final float[] firstOutput;

    public OneDnn(Layer layer) {
      if (!oneDnnAvailable()) {
        throw new IllegalStateException("oneDNN is not available here");
      }
      this.conv = new OneDnnConv(layer.spec(), layer.input(), weights(layer), bias(layer), true);
      try {
        // One real run: fills the internal buffers with the layer's input (timing on zeros
        // would be unfair to nobody, but a real run also gives the cross-check its output).
        this.firstOutput = conv.run(input(layer));
      } catch (RuntimeException | Error e) {
        conv.close();
        throw e;
      }
    }

    @Override
    public void call() {
      conv.execute();
    }

    /** The output of the run on the layer's input, made when this subject was opened. */
    public float[] output() {
      return firstOutput;
    }

    @Override
    public String implementation() {
      return conv.implementation();
    }

    @Override
    public void close() {
      conv.close();
    }
  }

  /**
   * ONNX Runtime on the layer as a one-Conv ONNX model with the same weights, bias and input
   * ({@link OrtConv}); {@code threads} intra-op threads, one inter-op thread.
   */
  public static final class Ort implements Subject {
    private final OrtConv conv;

    public Ort(Layer layer, int threads) {
      this.conv = new OrtConv(layer, threads);
    }

    @Override
    public void call() {
      conv.run();
    }

    /** A copy of the output of the last call. */
    public float[] output() {
      return conv.output();
    }

    @Override
    public String implementation() {
      return conv.implementation();
    }

    @Override
    public void close() {
      conv.close();
    }
  }

  /** Whether ONNX Runtime can run here (false, not an exception, if its natives do not load). */
  public static boolean ortAvailable() {
    return OrtConv.available();
  }

  /** Whether oneDNN can run here (false, not an exception, if its natives do not load). */
  public static boolean oneDnnAvailable() {
    try {
      return OneDnnConv.available();
    } catch (Throwable t) {
      return false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Data: seeded per layer, so every run and every engine sees the same numbers.

  static long seed(Layer layer) {
    return 0x5eed_c0_4e_17L ^ layer.name().hashCode();
  }

  /** He-initialised dense weights {@code [k][c/groups][r][s]}. */
  public static float[] weights(Layer layer) {
    ConvSpec spec = layer.spec();
    int fanIn = spec.inChannelsPerGroup() * spec.kernelH() * spec.kernelW();
    return gaussian(new Random(seed(layer)), (int) spec.denseWeightCount(), Math.sqrt(2.0 / fanIn));
  }

  /** A small random bias per output channel (a folded batch norm's shift). */
  public static float[] bias(Layer layer) {
    return gaussian(new Random(seed(layer) + 1), layer.k(), 0.1);
  }

  /** A uniform [-1, 1) input. */
  public static float[] input(Layer layer) {
    return uniform(new Random(seed(layer) + 2), (int) layer.input().elements());
  }

  private static float[] gaussian(Random r, int count, double std) {
    float[] v = new float[count];
    for (int i = 0; i < count; i++) {
      v[i] = (float) (r.nextGaussian() * std);
    }
    return v;
  }

  private static float[] uniform(Random r, int count) {
    float[] v = new float[count];
    for (int i = 0; i < count; i++) {
      v[i] = r.nextFloat() * 2f - 1f;
    }
    return v;
  }

  // ------------------------------------------------------------------------------------------
  // Timing.

  /** How long to warm up and to measure. */
  public record Budget(long warmupMs, long minMs, int minCalls) {
    public static final Budget DEFAULT = new Budget(300, 1000, 10);

    public Budget {
      if (warmupMs < 0 || minMs < 0 || minCalls < 1) {
        throw new IllegalArgumentException("bad budget: warm-up " + warmupMs + " ms, measure "
            + minMs + " ms, " + minCalls + " calls");
      }
    }
  }

  /** Per-call times of one block, in milliseconds. */
  public record Timing(double medianMs, double minMs, double p10Ms, double p90Ms, int calls) {
    public static final Timing NONE = new Timing(Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);

    public boolean measured() {
      return calls > 0;
    }

    public double gflops(long flops) {
      return measured() ? flops / (medianMs * 1e6) : Double.NaN;
    }
  }

  /**
   * Warms up for {@code warmupMs} (at least one call), then times single calls until at least
   * {@code minMs} and {@code minCalls} calls have passed; keeps the per-call distribution.
   */
  public static Timing time(Runnable call, Budget budget) {
    long warmEnd = System.nanoTime() + budget.warmupMs() * 1_000_000L;
    do {
      call.run();
    } while (System.nanoTime() - warmEnd < 0);
    long[] samples = new long[Math.max(16, budget.minCalls())];
    int count = 0;
    long start = System.nanoTime();
    long minNs = budget.minMs() * 1_000_000L;
    while (count < budget.minCalls() || System.nanoTime() - start < minNs) {
      long t0 = System.nanoTime();
      call.run();
      long t1 = System.nanoTime();
      if (count == samples.length) {
        samples = Arrays.copyOf(samples, count * 2);
      }
      samples[count++] = t1 - t0;
    }
    long[] s = Arrays.copyOf(samples, count);
    Arrays.sort(s);
    double median = count % 2 == 1 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2.0;
    return new Timing(median / 1e6, s[0] / 1e6, s[(int) ((count - 1) * 0.1)] / 1e6,
        s[(int) Math.ceil((count - 1) * 0.9)] / 1e6, count);
  }

  /**
   * The machine's FMA peak at {@code threads}, in GFLOP/s: each of {@code threads} threads runs
   * 12 independent FMA chains of the widest ISA the engine runs ({@link
   * io.convkit.engine.cpu.Isa#best()}: 16 lanes with AVX-512, 8 with AVX2;
   * native/kernels/fma_peak.inc) for about 0.2 s, all started together; the best of 5 rounds (a
   * busy neighbour only ever lowers it). What the "percent of the FMA peak measured in the
   * same run" is of. NaN without AVX2.
   */
  public static double fmaPeak(int threads) {
    io.convkit.engine.cpu.Isa isa = io.convkit.engine.cpu.Isa.best();
    if (isa == io.convkit.engine.cpu.Isa.PORTABLE) {
      return Double.NaN;
    }
    io.convkit.nativ.ConvkitNative.load();
    long iters = 5_000_000L; // 12 x 2 x lanes FLOP each: 1 or 2 GFLOP per thread, ~10 ms at peak
    int code = isa.code();
    double flopPerIter = 12.0 * 2 * isa.fmaLanes();
    io.convkit.nativ.ConvkitNative.ck_fma_burn(code, iters); // warm-up, clocks up
    long rounds = 20; // ~0.2 s per round at peak
    double best = 0;
    for (int round = 0; round < 5; round++) {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
      Thread[] ts = new Thread[threads];
      float[] sink = new float[threads];
      long t0 = System.nanoTime();
      for (int i = 0; i < threads; i++) {
        int me = i;
        ts[i] = new Thread(() -> {
          try {
            start.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          for (long r = 0; r < rounds; r++) {
            sink[me] += io.convkit.nativ.ConvkitNative.ck_fma_burn(code, iters);
          }
        });
        ts[i].start();
      }
      for (Thread t : ts) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return Double.NaN;
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      best = Math.max(best, threads * rounds * iters * flopPerIter / s / 1e9);
    }
    return best;
  }

  /**
   * The machine's sgemm peak at {@code threads}: OpenBLAS sgemm at M = N = K = {@code size}, the
   * median of several calls after a warm-up, in GFLOP/s.
   */
  public static double sgemmPeak(int threads, int size, Budget budget) {
    int elems = size * size;
    Random rnd = new Random(2048);
    try (Tensor a = Tensor.zeros(elems); Tensor b = Tensor.zeros(elems);
         Tensor c = Tensor.zeros(elems)) {
      a.copyFrom(uniform(rnd, elems));
      b.copyFrom(uniform(rnd, elems));
      FloatPointer pa = a.pointer();
      FloatPointer pb = b.pointer();
      FloatPointer pc = c.pointer();
      Timing t = time(() -> Blas.sgemm(threads, size, size, size, pa, size, pb, size, 0f, pc, size),
          budget);
      return 2.0 * size * size * size / (t.medianMs() * 1e6);
    }
  }

  // ------------------------------------------------------------------------------------------
  // One layer, all engines.

  /**
   * The measurements of one layer at one thread count. Times are medians in ms (NaN: not
   * measured); {@code maxRelError} compares our output with oneDNN's (NaN: not compared);
   * {@code error} is null unless our engine failed on this layer. {@code ortMs} is ONNX Runtime's
   * median, {@code ortImpl} what ran ("failed: ..." or "unavailable" where it did not) and
   * {@code ortMaxRelError} our output against ORT's (NaN: not compared).
   */
  public record Result(String layer, int threads, String algorithm, String kernel, long flops,
      double oursMs, double gemmMs, double onednnMs, String onednnImpl, double maxRelError,
      String error, Cl opencl, double ortMs, String ortImpl, double ortMaxRelError) {

    /**
     * The OpenCL engine's figures: kernel time (device-resident, median per call), transfer time
     * (input up plus output back), its kernels, and its output against our CPU engine's
     * (max relative error; NaN: not compared). {@code error} is null unless it failed.
     */
    public record Cl(double ms, double transferMs, String kernel, String device, double maxRelError,
        String error) {
      public static final Cl NONE = new Cl(Double.NaN, Double.NaN, "", "", Double.NaN, null);
    }

    public double openclGflops() {
      return flops / (opencl.ms() * 1e6);
    }

    /** OpenCL's speed relative to our CPU engine's: our_ms / opencl_ms (above 1: faster). */
    public double openclVsCpu() {
      return oursMs / opencl.ms();
    }

    public double oursGflops() {
      return flops / (oursMs * 1e6);
    }

    public double gemmGflops() {
      return flops / (gemmMs * 1e6);
    }

    public double onednnGflops() {
      return flops / (onednnMs * 1e6);
    }

    /** Our speed as a fraction of the GEMM-only ceiling's: gemm_ms / our_ms. */
    public double vsGemm() {
      return gemmMs / oursMs;
    }

    /** Our speed relative to oneDNN's: onednn_ms / our_ms (above 1: we are faster). */
    public double vsOneDnn() {
      return onednnMs / oursMs;
    }

    public double ortGflops() {
      return flops / (ortMs * 1e6);
    }

    /** Our speed relative to ONNX Runtime's: ort_ms / our_ms (above 1: we are faster). */
    public double vsOrt() {
      return ortMs / oursMs;
    }

    /** Our GFLOP/s as a percentage of {@code peakGflops}. */
    public double pctPeak(double peakGflops) {
      return 100.0 * oursGflops() / peakGflops;
    }
  }

  /** Cross-check tolerance: above this relative error a result is flagged. */
  public static final double CHECK_TOLERANCE = 1e-3;

  /** {@link #measure(Layer, int, Budget, List, boolean, int)} with one round. */
  public static Result measure(Layer layer, int threads, Budget budget, List<String> engines,
      boolean check) {
    return measure(layer, threads, budget, engines, check, 1);
  }

  /**
   * Measures one layer. Our engine, the GEMM ceiling, oneDNN and ONNX Runtime are opened
   * together and timed in alternating blocks, {@code rounds} times over (ours, GEMM, oneDNN,
   * ORT, ours, ...); each keeps its best block, so a slow spell of a shared machine cannot fall
   * on one side only. Then the OpenCL engine, as one block. {@code engines} selects which run
   * (null: all). Our engine's failure is recorded in the result, not thrown, so a suite run goes
   * on.
   */
  public static Result measure(Layer layer, int threads, Budget budget, List<String> engines,
      boolean check, int rounds) {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
    }
    List<String> which = engines == null ? ENGINES : engines;
    ConvPlan plan = Planner.plan(layer.spec(), layer.input());
    String algorithm = plan.algorithm().toString();
    String kernel = plan.kernel();
    String error = null;
    float[] ourOut = null;
    double relErr = Double.NaN;
    double ortErr = Double.NaN;
    boolean withOneDnn = which.contains(ONEDNN) && oneDnnAvailable();
    boolean withOrt = which.contains(ORT) && ortAvailable();
    Timed<Convkit> ours = null;
    Timed<Gemm> gemm = null;
    Timed<OneDnn> onednn = null;
    Timed<Ort> ort = null;
    try {
      ours = which.contains(CONVKIT) ? new Timed<>(() -> new Convkit(layer, threads), false) : null;
      gemm = which.contains(GEMM) ? new Timed<>(() -> new Gemm(layer, threads), true) : null;
      onednn = withOneDnn ? new Timed<>(() -> new OneDnn(layer), false) : null;
      ort = withOrt ? new Timed<>(() -> new Ort(layer, threads), false) : null;
      List<Timed<?>> all = new ArrayList<>();
      for (Timed<?> t : Arrays.asList(ours, gemm, onednn, ort)) {
        if (t != null) {
          all.add(t);
        }
      }
      for (int round = 0; round < rounds; round++) {
        for (Timed<?> t : all) {
          t.block(budget);
        }
      }
      if (ours != null) {
        error = ours.failure;
        if (ours.what != null) { // "name (kernel)"
          int paren = ours.what.indexOf(" (");
          algorithm = paren < 0 ? ours.what : ours.what.substring(0, paren);
          kernel = paren < 0 ? "" : ours.what.substring(paren + 2, ours.what.length() - 1);
        }
        if (check && ours.ok()) {
          ourOut = ours.subject.output();
          if (onednn != null && onednn.ok()) {
            relErr = maxRelError(ourOut, onednn.subject.output());
          }
          if (ort != null && ort.ok()) {
            ortErr = maxRelError(ourOut, ort.subject.output());
          }
        }
      }
    } finally {
      for (Timed<?> t : Arrays.asList(ours, gemm, onednn, ort)) {
        if (t != null) {
          closeQuietly(t.subject);
        }
      }
    }
    String impl = !which.contains(ONEDNN) ? "" : !withOneDnn ? "unavailable" : onednn.status();
    String ortImpl = !which.contains(ORT) ? "" : !withOrt ? "unavailable" : ort.status();
    double oursMs = ours == null ? Double.NaN : ours.ms;
    double gemmMs = gemm == null ? Double.NaN : gemm.ms;
    double onednnMs = onednn == null ? Double.NaN : onednn.ms;
    double ortMs = ort == null ? Double.NaN : ort.ms;
    Result.Cl cl = Result.Cl.NONE;
    if (which.contains(OPENCL) && OpenCl.available()) {
      try (OpenCl s = new OpenCl(layer)) {
        Timing kernelTime = time(s::call, budget);
        double relCl = ourOut == null ? Double.NaN : maxRelError(s.output(), ourOut);
        Timing transfer = time(s::transfer, budget);
        cl = new Result.Cl(kernelTime.medianMs(), transfer.medianMs(), s.implementation(),
            s.device(), relCl, null);
      } catch (RuntimeException | Error e) {
        cl = new Result.Cl(Double.NaN, Double.NaN, "", "", Double.NaN, why(e));
      }
    }
    return new Result(layer.name(), threads, algorithm, kernel, plan.flops(), oursMs, gemmMs,
        onednnMs, impl, relErr, error, cl, ortMs, ortImpl, ortErr);
  }

  /** "Class: message", as a result's error columns show a failure. */
  private static String why(Throwable e) {
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  /**
   * One engine of {@link #measure}'s alternating blocks: its subject (null if it failed to
   * open), what it runs, its best block's median so far, and why it failed (null: it did not).
   * A fatal one (the GEMM ceiling) lets its exception out instead, failing the layer.
   */
  private static final class Timed<S extends Subject> {
    final S subject;
    final String what;
    final boolean fatal;
    String failure;
    double ms = Double.NaN;

    Timed(java.util.function.Supplier<S> open, boolean fatal) {
      this.fatal = fatal;
      S s = null;
      String w = null;
      try {
        s = open.get();
        w = s.implementation();
      } catch (RuntimeException | Error e) {
        closeQuietly(s);
        s = null;
        if (fatal) {
          throw e;
        }
        failure = why(e);
      }
      this.subject = s;
      this.what = w;
    }

    boolean ok() {
      return subject != null && failure == null;
    }

    /** One timed block; the lower of the blocks' medians is kept. */
    void block(Budget budget) {
      if (!ok()) {
        return;
      }
      try {
        double m = time(subject::call, budget).medianMs();
        ms = Double.isNaN(ms) ? m : Math.min(ms, m);
      } catch (RuntimeException | Error e) {
        if (fatal) {
          throw e;
        }
        failure = why(e);
        ms = Double.NaN;
      }
    }

    /** What it ran, or "failed: ..." (oneDNN's and ORT's column). */
    String status() {
      return failure != null ? "failed: " + failure : what;
    }
  }

  /** max |a - b| / max |b| (NaN if the lengths differ or any value is NaN). */
  public static double maxRelError(float[] a, float[] b) {
    if (a == null || b == null || a.length != b.length) {
      return Double.NaN;
    }
    double maxDiff = 0;
    double maxRef = 0;
    for (int i = 0; i < a.length; i++) {
      double d = Math.abs((double) a[i] - b[i]);
      if (Double.isNaN(d)) {
        return Double.NaN;
      }
      maxDiff = Math.max(maxDiff, d);
      maxRef = Math.max(maxRef, Math.abs(b[i]));
    }
    return maxDiff / Math.max(maxRef, 1e-30);
  }

  /**
   * The thread count this JVM was started for: {@code OMP_NUM_THREADS} if set (oneDNN runs on
   * that many), else the available processors.
   */
  public static int jvmThreads() {
    String omp = System.getenv("OMP_NUM_THREADS");
    if (omp != null) {
      try {
        int t = Integer.parseInt(omp.strip().split(",")[0].strip());
        if (t > 0) {
          return t;
        }
      } catch (NumberFormatException ignored) {
        // fall through
      }
    }
    return Runtime.getRuntime().availableProcessors();
  }

  /** One readable line for a result. */
  public static String describe(Result r, double peakGflops) {
    if (r.error() != null && Double.isNaN(r.oursMs())) {
      return String.format(Locale.ROOT, "%s T=%d: FAILED %s", r.layer(), r.threads(), r.error());
    }
    return String.format(Locale.ROOT,
        "%s T=%d: %s (%s) %.3f ms %.1f GFLOP/s | gemm %.3f ms %.1f GFLOP/s | onednn %.3f ms "
            + "%.1f GFLOP/s [%s] | ort %.3f ms %.1f GFLOP/s | vs gemm %.2f vs onednn %.2f vs ort"
            + " %.2f | %.1f%% of %.1f GFLOP/s | err %.1e err ort %.1e"
            + " | opencl %.3f ms %.1f GFLOP/s + transfer %.3f ms [%s]",
        r.layer(), r.threads(), r.algorithm(), r.kernel(), r.oursMs(), r.oursGflops(),
        r.gemmMs(), r.gemmGflops(), r.onednnMs(), r.onednnGflops(), r.onednnImpl(), r.ortMs(),
        r.ortGflops(), r.vsGemm(), r.vsOneDnn(), r.vsOrt(), r.pctPeak(peakGflops), peakGflops,
        r.maxRelError(), r.ortMaxRelError(), r.opencl().ms(),
        r.openclGflops(), r.opencl().transferMs(), r.opencl().kernel());
  }

  /**
   * In-process run at this JVM's thread setting ({@link #jvmThreads()}): {@code LayerBench
   * [layer ...]} (default: the whole suite). For a comparison at several thread counts use
   * {@link BenchCommand}, which forks one JVM per count.
   */
  public static void main(String[] args) {
    int threads = jvmThreads();
    List<Layer> layers = LayerSuite.select(LayerSuite.load(), new ArrayList<>(List.of(args)));
    double peak = sgemmPeak(threads, 2048, new Budget(300, 1000, 5));
    System.out.printf(Locale.ROOT, "sgemm peak (2048^3, %d threads): %.1f GFLOP/s%n", threads, peak);
    for (Layer l : layers) {
      System.out.println(describe(measure(l, threads, Budget.DEFAULT, null, true), peak));
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception ignored) {
        // already failing
      }
    }
  }
}
