package io.convkit.engine.cpu;

import static io.convkit.tensor.Views.at;

import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.conv.Planner;
import io.convkit.engine.AbstractEngine;
import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.engine.Precision;
import io.convkit.nativ.ConvkitNative;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Views;
import java.lang.ref.Cleaner;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * The CPU engine. Convolutions run the first of {@link #IMPLEMENTATIONS} that fits the plan and
 * the tensors' layout: Winograd F(4x4) or F(2x2) for 3x3 stride-1 layers where it is estimated
 * faster (precision FAST), our own NHWC micro-kernels (dense with a fused residual, depthwise) for
 * NHWC tensors, which forward passes use between layers (its {@link #preferredLayout()}); for
 * NCHW tensors the first engine's paths, OpenBLAS sgemm for the GEMM-shaped work and our kernels
 * for im2col, the epilogue, depthwise, small-group tiles and connection tables. Pooling, add,
 * concat, channel scaling and layer norm have NHWC and NCHW kernels; LRN is NCHW only.
 * See docs/DESIGN.md.
 *
 * <p>Threads: everything runs on one pool of {@code threads} (the caller included). OpenBLAS is
 * called from the pool's threads with one thread each, on that thread's block of output rows;
 * it never starts threads of its own, so the engine never runs more threads than asked for.
 * (Measured on 2 cores: with OpenBLAS's own 2 threads between our parallel im2col and epilogue,
 * three spinning threads shared two cores and layers such as ResNet-50's conv1 did not scale.)
 */
public final class CpuEngine extends AbstractEngine {
  /**
   * CONNECTION_TABLE: below this many multiply-adds per image, a batch of at least {@code threads}
   * images runs image-parallel (each thread unfolds and computes whole images) rather than
   * splitting each small image's unfold and outputs across the threads.
   */
  static final long IMAGE_PARALLEL_MAX_MACS = 32_000_000L;

  /** Pooling: the least input (floats) one grain of planes covers; a smaller layer runs on one thread. */
  static final int POOL_MIN_GRAIN_FLOATS = 16_384;

  /** Add: floats per task, a multiple of 16 (one 64-byte line) so tasks start on line boundaries. */
  static final int ADD_CHUNK_FLOATS = 16_384;

  /**
   * LRN and layer norm: the least input (floats) one grain of 8-pixel blocks covers; a smaller
   * layer runs on the calling thread alone.
   */
  static final int NORM_MIN_GRAIN_FLOATS = 16_384;

  private final int threads;
  private final Isa isa;
  private final Layout preferred;
  private final String forced;
  private final Precision precision;
  /** Stops the threads and frees the workspace of engines that were never closed. */
  private static final Cleaner CLEANER = Cleaner.create();

  private final WorkerPool pool;
  private final Workspace workspace = new Workspace();
  private final Cleaner.Cleanable cleanable;
  private boolean closed;

  /**
   * The engine's reusable scratch memory: a separate object so that the cleaner frees it without
   * holding the engine.
   */
  private static final class Workspace {
    private FloatPointer owner;
    private FloatPointer view;
    private long floats;

    synchronized FloatPointer atLeast(long n, String what) {
      n = Math.max(n, 16); // a kernel that needs no scratch still gets a valid pointer
      if (n > floats) {
        close();
        owner = Views.allocate(n, what);
        view = Views.aligned(owner, n);
        floats = n;
      }
      return view;
    }

    synchronized void close() {
      if (owner != null) {
        owner.close();
      }
      owner = null;
      view = null;
      floats = 0;
    }
  }

  public CpuEngine(int threads, Isa isa) {
    this(threads, isa, Layout.NHWC, null);
  }

  public CpuEngine(int threads, Isa isa, Layout preferred, String forced) {
    this(threads, isa, preferred, forced, Precision.fromProperty());
  }

  /**
   * An engine whose forward passes keep activations in {@code preferred} (NHWC runs our own
   * kernels; NCHW the OpenBLAS-based path of the first engine), and that runs every convolution
   * with implementation {@code forced} (one of {@link #implementations()}; null: the first that
   * fits) for tests and benchmarks, within {@code precision} (EXACT: no Winograd).
   */
  public CpuEngine(int threads, Isa isa, Layout preferred, String forced, Precision precision) {
    if (precision == null) {
      throw new IllegalArgumentException("cpu engine: precision is null");
    }
    this.precision = precision;
    if (preferred == null) {
      throw new IllegalArgumentException("cpu engine: preferred layout is null");
    }
    if (forced != null && !implementations().contains(forced)) {
      throw new IllegalArgumentException("cpu engine: no implementation named " + forced
          + "; the implementations are " + implementations());
    }
    this.preferred = preferred;
    this.forced = forced;
    if (threads < 1) {
      throw new IllegalArgumentException("cpu engine: threads must be >= 1, got " + threads);
    }
    ConvkitNative.load();
    if (!isa.supported()) {
      throw new IllegalArgumentException("cpu engine: this CPU cannot run the " + isa + " kernels");
    }
    this.threads = threads;
    this.isa = isa;
    this.pool = new WorkerPool(threads);
    WorkerPool p = pool;
    Workspace w = workspace;
    // Captures the pool and workspace, not the engine (the pool's threads never see the engine
    // once a call has returned), so a forgotten engine is collected and its threads stop.
    this.cleanable = CLEANER.register(this, () -> {
      p.close();
      w.close();
    });
  }

  @Override
  public String name() {
    return "cpu(" + threads + (threads == 1 ? " thread, " : " threads, ") + isa.name().toLowerCase()
        + (preferred == Layout.NHWC ? "" : ", " + preferred.name().toLowerCase())
        + (forced == null ? "" : ", " + forced)
        + (precision == Precision.FAST ? "" : ", " + precision.name().toLowerCase()) + ")";
  }

  @Override
  public int threads() {
    return threads;
  }

  public Isa isa() {
    return isa;
  }

  /** Bytes of workspace this engine holds now (it grows to the largest call and is reused). */
  public synchronized long workspaceBytes() {
    return 4 * workspace.floats;
  }

  /**
   * One way this engine runs a convolution. {@link #IMPLEMENTATIONS} lists them in order of
   * preference; a call runs the first whose {@code misfit} and {@code costlier} are null
   * (oneDNN's primitive list; {@code costlier} lets an algorithm that trades work for transforms,
   * Winograd, step aside where it is estimated slower). A new kernel is one entry here and its
   * method below.
   */
  record ConvImpl(String name, Misfit misfit, Costlier costlier, Runner runner) {
    ConvImpl(String name, Misfit misfit, Runner runner) {
      this(name, misfit, (p, isa) -> null, runner);
    }

    interface Costlier {
      /**
       * Where the implementation fits: why a later one is estimated faster for {@code plan} with
       * the {@code isa} kernels (an unforced engine then skips it); null if none is. (Measured on
       * 1 and 2 threads here, the estimates on one core picked the faster of the three on both,
       * or one within noise.)
       */
      String why(ConvPlan plan, Isa isa);
    }

    interface Misfit {
      /**
       * Why the implementation does not fit {@code plan} in {@code layout} on an engine of
       * {@code precision}; null if it does.
       */
      String why(ConvPlan plan, Layout layout, Precision precision);
    }

    interface Runner {
      void run(CpuEngine e, Call c);
    }
  }

  /** Every convolution implementation of this engine, most preferred first. */
  static final List<ConvImpl> IMPLEMENTATIONS = List.of(
      new ConvImpl("nhwc_winograd_f4", CpuEngine::winogradMisfit,
          (p, isa) -> winogradCostlier(p, 4, isa), (e, c) -> e.nhwcWinograd(c, 4)),
      new ConvImpl("nhwc_winograd_f2", CpuEngine::winogradMisfit,
          (p, isa) -> winogradCostlier(p, 2, isa), (e, c) -> e.nhwcWinograd(c, 2)),
      new ConvImpl("nhwc_dense", (p, l, q) -> l != Layout.NHWC ? "runs NHWC tensors"
          : p.spec().hasConnections() ? "has a connection table"
          : p.spec().groups() != 1 ? "grouped (" + p.spec().groups() + " groups)"
          : scratchMisfit(p, ConvkitNative.ck_conv_nhwc_scratch_floats(ConvGeometry.of(p), 1)),
          CpuEngine::nhwcDense),
      new ConvImpl("nhwc_depthwise", (p, l, q) -> l != Layout.NHWC ? "runs NHWC tensors"
          : !depthwiseMultiplier1(p.spec()) ? "not depthwise with one output per channel"
          : scratchMisfit(p, ConvkitNative.ck_dw_nhwc_scratch_floats(ConvGeometry.of(p))),
          CpuEngine::nhwcDepthwise),
      new ConvImpl("nhwc_grouped_narrow", (p, l, q) -> l != Layout.NHWC ? "runs NHWC tensors"
          : p.spec().hasConnections() ? "has a connection table"
          : p.spec().groups() == 1 ? "not grouped"
          : !narrowGroups(p.spec()) ? "not 4 or 8 inputs and as many outputs per group" : null,
          CpuEngine::nhwcGroupedNarrow),
      new ConvImpl("nhwc_grouped", (p, l, q) -> l != Layout.NHWC ? "runs NHWC tensors"
          : p.spec().hasConnections() ? "has a connection table"
          : p.spec().groups() == 1 ? "not grouped"
          : depthwiseMultiplier1(p.spec()) ? "depthwise (nhwc_depthwise runs it)"
          : groupedMisfit(p), CpuEngine::nhwcDense),
      new ConvImpl("nchw_pointwise_sgemm", (p, l, q) -> l != Layout.NCHW ? "runs NCHW tensors"
          : p.algorithm() != Algorithm.POINTWISE_GEMM ? "not 1x1, stride 1, unpadded" : null,
          CpuEngine::gemmConv),
      new ConvImpl("nchw_smallm_tiles", (p, l, q) -> l != Layout.NCHW ? "runs NCHW tensors"
          : !gemmShaped(p) ? "not an im2col or grouped GEMM"
          : !p.smallMTiles() ? "more than a few output channels per group" : null,
          CpuEngine::smallMTiles),
      new ConvImpl("nchw_im2col_sgemm", (p, l, q) -> l != Layout.NCHW ? "runs NCHW tensors"
          : !gemmShaped(p) ? "not an im2col or grouped GEMM" : null, CpuEngine::gemmConv),
      new ConvImpl("nchw_depthwise", (p, l, q) -> l != Layout.NCHW ? "runs NCHW tensors"
          : p.algorithm() != Algorithm.DEPTHWISE_DIRECT ? "not depthwise" : null,
          CpuEngine::depthwise),
      new ConvImpl("nchw_connection_table", (p, l, q) -> l != Layout.NCHW ? "runs NCHW tensors"
          : p.algorithm() != Algorithm.CONNECTION_TABLE ? "no connection table" : null,
          CpuEngine::connectionTable));

  /**
   * Winograd F(m x m, 3 x 3) (native/kernels/winograd_nhwc.inc) runs 3x3 stride-1 undilated
   * dense convolutions in NHWC, any padding, on FAST engines.
   */
  private static String winogradMisfit(ConvPlan p, Layout l, Precision q) {
    ConvSpec s = p.spec();
    if (l != Layout.NHWC) {
      return "runs NHWC tensors";
    }
    if (q == Precision.EXACT) {
      return "precision EXACT (Winograd's error bound is larger than the direct sum's)";
    }
    if (s.hasConnections() || s.groups() != 1) {
      return s.hasConnections() ? "has a connection table" : "grouped (" + s.groups() + " groups)";
    }
    if (s.kernelH() != 3 || s.kernelW() != 3 || s.strideH() != 1 || s.strideW() != 1
        || s.dilationH() != 1 || s.dilationW() != 1) {
      return "not 3x3, stride 1, undilated";
    }
    return null;
  }

  /**
   * Where Winograd fits, an unforced engine runs F(m x m) only where its estimated time is the
   * least of F(4x4), F(2x2) and nhwc_dense. The estimates, in ns on one core, with rates measured
   * per ISA on this project's machines (winograd_bench.c and conv_nhwc_bench.c; {@link
   * KernelRates}):
   * <ul>
   *   <li>direct: 9 C K P multiply-adds at the direct rate, P the output pixels, and its 36 C K
   *       bytes of weights read once from memory ({@link #STREAM_BYTES_PER_NS});</li>
   *   <li>F(m x m): the multiply, a^2 T Cp Kp multiply-adds at the 1x1 rate (the 1x1 kernel on
   *       short reductions), T the tiles and Cp, Kp the channels rounded up to 8; the transformed
   *       weights, 4 a^2 Cp Kp bytes read from memory once per chunk; and the
   *       transformed inputs and products, a^2 T (Cp + Kp) floats written and read back at
   *       0.8 ns each (they pass through L3; the transforms are 8-lane code on every ISA).</li>
   * </ul>
   */
  static double winogradCostNs(ConvPlan p, int m, Isa isa) {
    Shape o = p.output();
    long a2 = (long) (m + 2) * (m + 2);
    double tiles = (double) o.n() * ((o.h() + m - 1) / m) * ((o.w() + m - 1) / m);
    double cp = (p.input().c() + 7) / 8 * 8;
    double kp = (o.c() + 7) / 8 * 8;
    long chunks = ConvkitNative.ck_wino_nhwc_chunks(ConvGeometry.of(p), m);
    return a2 * tiles * cp * kp / KernelRates.of(isa).pointwiseMacPerNs()
        + chunks * 4.0 * a2 * cp * kp / STREAM_BYTES_PER_NS + a2 * tiles * (cp + kp) * 0.8;
  }

  /**
   * One core's read rate of weights from memory: a network's next call of a layer finds its
   * weights evicted by the other layers' (VGG-16's transformed weights and FC weights are
   * 650 MB). Measured with bench/native/stream_bench.c: 11.4 to 12.6 bytes per ns reading 150 MB
   * to 1 GB on the Xeon (29 to 30 up to 38 MB, from its L3: the figure a one-layer loop sees);
   * 14.2 to 14.9 reading 38 MB to 1 GB on the Zen 3 (55 at 8 MB, from its L3).
   */
  static final double STREAM_BYTES_PER_NS = 12;

  static double directCostNs(ConvPlan p, Isa isa) {
    Shape o = p.output();
    double weights = 9.0 * p.input().c() * o.c();
    return weights * o.n() * o.h() * o.w() / KernelRates.of(isa).directMacPerNs()
        + 4 * weights / STREAM_BYTES_PER_NS;
  }

  /**
   * Multiply-adds per ns on one core of the dense NHWC kernel: on 3x3 layers (direct) and on the
   * Winograd multiply's short 1x1 reductions (pointwise). Measured with the native benches
   * (conv_nhwc_bench.c, winograd_bench.c; CK_BENCH_ISA picks the ISA) on the project's
   * machines: AVX2 on a Zen 3 (85 and 60 GFLOP/s); AVX-512 on a Xeon with two 512-bit FMA pipes
   * (160 GFLOP/s on 3x3 layers, 150 on 1x1); portable on the same Xeon (2.6 and 2.4).
   */
  record KernelRates(double directMacPerNs, double pointwiseMacPerNs) {
    static KernelRates of(Isa isa) {
      return switch (isa) {
        case AVX512 -> new KernelRates(80, 75);
        case AVX2 -> new KernelRates(42, 30);
        case PORTABLE -> new KernelRates(1.3, 1.2);
      };
    }
  }

  private static String winogradCostlier(ConvPlan p, int m, Isa isa) {
    double self = winogradCostNs(p, m, isa);
    double other = winogradCostNs(p, 6 - m, isa);
    double direct = directCostNs(p, isa);
    if (self <= direct && self <= other) {
      return null;
    }
    return String.format("estimated %.3f ms, F(%dx%d) %.3f ms, nhwc_dense %.3f ms", self / 1e6,
        6 - m, 6 - m, other / 1e6, direct / 1e6);
  }

  /**
   * The NHWC kernels copy the input rows a task reads into zero-padded scratch. Where a huge
   * stride, padding or dilation makes that copy far larger than the work (the rows between
   * strides, the padding itself), they do not fit; the NCHW kernels' direct paths need no such
   * copy. The limit: 4x one image's input and output, or 1 Mi floats.
   */
  private static String scratchMisfit(ConvPlan p, long floats) {
    long work = p.input().elements() / Math.max(1, p.input().n())
        + p.output().elements() / Math.max(1, p.output().n());
    long limit = Math.max(1L << 20, 4 * work);
    return floats >= 0 && floats <= limit ? null : "its padded input copy (" + floats
        + " floats per thread) would outgrow the work (limit " + limit + "): a huge stride, "
        + "padding or dilation";
  }

  /**
   * The dense kernel runs each group on its own channel slice, in 16- or 8-lane tiles: groups
   * of fewer than 8 outputs would leave most lanes empty, where the NCHW small-M tiles fit them
   * exactly (ResNeXt's 32 groups of 4).
   */
  private static String groupedMisfit(ConvPlan p) {
    int kg = p.spec().outChannels() / p.spec().groups();
    if (kg < GROUPED_MIN_OUTPUTS) {
      return kg + " outputs per group (fewer than " + GROUPED_MIN_OUTPUTS + ")";
    }
    return scratchMisfit(p, ConvkitNative.ck_conv_nhwc_scratch_floats(ConvGeometry.of(p),
        p.spec().groups()));
  }

  /**
   * Outputs per group below which nhwc_grouped does not fit: with 4 (ResNeXt-50 res2) half of
   * each 8-lane tile is empty and each group's padded rows are copied 4 channels at a time, where
   * the NCHW small-M tiles fit the 4 outputs exactly; from 8 on, the tiles' lanes are full.
   */
  public static final int GROUPED_MIN_OUTPUTS = 8;

  /** ResNeXt-50 32x4d's res2 and res3 groupings: 4 or 8 inputs and as many outputs per group. */
  private static boolean narrowGroups(ConvSpec s) {
    int g = s.groups();
    return s.inChannels() == s.outChannels()
        && (s.inChannels() == 4 * g || s.inChannels() == 8 * g);
  }

  private static boolean gemmShaped(ConvPlan p) {
    return p.algorithm() == Algorithm.IM2COL_GEMM || p.algorithm() == Algorithm.GROUPED_GEMM;
  }

  private static boolean depthwiseMultiplier1(ConvSpec s) {
    return !s.hasConnections() && s.groups() > 1 && s.groups() == s.inChannels()
        && s.groups() == s.outChannels();
  }

  /**
   * The implementation a call on {@code plan} in {@code layout} runs: the forced one if this
   * engine was made with one (an {@link IllegalArgumentException} with its misfit if it does not
   * fit), else the first that fits.
   */
  ConvImpl choose(ConvPlan plan, Layout layout) {
    ConvImpl i = pick(plan, layout);
    if (i != null) {
      return i;
    }
    if (forced != null) {
      throw new IllegalArgumentException(plan.spec().name() + ": implementation " + forced
          + " does not fit: " + impl(forced).misfit().why(plan, layout, precision));
    }
    throw new IllegalArgumentException(plan.spec().name() + ": no implementation of " + name()
        + " fits " + plan.algorithm() + " in " + layout + ": "
        + misfits(plan, layout, precision, isa));
  }

  /**
   * What {@link #choose} runs, or null where nothing fits (or the forced implementation does not),
   * decided once per plan and layout: the misfit reasons and Winograd's estimates cost JNI calls
   * and string formatting that every call of a layer would otherwise repeat.
   */
  private ConvImpl pick(ConvPlan plan, Layout layout) {
    PickKey key = new PickKey(plan, layout);
    Optional<ConvImpl> hit = picks.get(key);
    if (hit == null) {
      if (picks.size() >= PICKS_MAX) { // a bound for callers that plan endlessly many shapes
        picks.clear();
      }
      hit = Optional.ofNullable(pickUncached(plan, layout));
      picks.put(key, hit);
    }
    return hit.orElse(null);
  }

  private ConvImpl pickUncached(ConvPlan plan, Layout layout) {
    if (forced != null) {
      ConvImpl i = impl(forced);
      return i.misfit().why(plan, layout, precision) == null ? i : null;
    }
    for (ConvImpl i : IMPLEMENTATIONS) {
      if (fitsUnforced(i, plan, layout, precision, isa)) {
        return i;
      }
    }
    return null;
  }

  private record PickKey(ConvPlan plan, Layout layout) {}

  private static final int PICKS_MAX = 4096;
  private final Map<PickKey, Optional<ConvImpl>> picks = new ConcurrentHashMap<>();

  /**
   * Each implementation's reason not to run {@code plan} in {@code layout} on a FAST engine of
   * {@link Isa#best()}'s kernels.
   */
  public static String misfits(ConvPlan plan, Layout layout) {
    return misfits(plan, layout, Precision.FAST, Isa.best());
  }

  /**
   * Each implementation's reason not to run {@code plan} in {@code layout} on an engine of
   * {@code precision} and {@code isa} ("name: fits" where it does).
   */
  public static String misfits(ConvPlan plan, Layout layout, Precision precision, Isa isa) {
    StringBuilder b = new StringBuilder();
    for (ConvImpl i : IMPLEMENTATIONS) {
      String why = i.misfit().why(plan, layout, precision);
      why = why != null ? why : i.costlier().why(plan, isa);
      b.append(b.length() == 0 ? "" : "; ").append(i.name()).append(": ")
          .append(why == null ? "fits" : why);
    }
    return b.toString();
  }

  /** The names of {@link #IMPLEMENTATIONS}, in order. */
  public static List<String> implementations() {
    return IMPLEMENTATIONS.stream().map(ConvImpl::name).toList();
  }

  @Override
  public Layout preferredLayout() {
    return preferred;
  }

  @Override
  public boolean runsNhwc(ConvPlan plan) {
    ConvImpl i = pick(plan, Layout.NHWC); // every NCHW implementation misfits NHWC tensors
    return i != null && i.name().startsWith("nhwc_");
  }

  @Override
  public boolean runsNhwc(Op op) {
    return op != Op.LRN;
  }

  @Override
  public String implementation(ConvPlan plan, Layout layout) {
    ConvImpl i = choose(plan, layout);
    String kernel = switch (i.name()) {
      case "nhwc_dense", "nhwc_grouped" -> ConvkitNative.ck_conv_nhwc_variant(isa.code(),
          ConvGeometry.of(plan), plan.spec().groups());
      case "nhwc_depthwise" -> ConvkitNative.ck_dw_nhwc_variant(isa.code(), ConvGeometry.of(plan));
      case "nhwc_grouped_narrow" -> ConvkitNative.ck_gconv_narrow_nhwc_variant(isa.code(),
          ConvGeometry.of(plan), plan.spec().groups());
      case "nhwc_winograd_f4", "nhwc_winograd_f2" -> ConvkitNative.ck_wino_nhwc_variant(
          isa.code(), ConvGeometry.of(plan), i.name().endsWith("f4") ? 4 : 2);
      default -> plan.kernel();
    };
    return i.name() + " (" + kernel + ")";
  }

  /** The implementations whose kernels add a residual (the Winograd ones fall back to nhwc_dense). */
  private static final List<String> FUSE_RESIDUAL =
      List.of("nhwc_winograd_f4", "nhwc_winograd_f2", "nhwc_dense", "nhwc_grouped_narrow");

  @Override
  public boolean fusesResidual(ConvPlan plan, Layout layout) {
    ConvImpl i = pick(plan, layout);
    return i != null && FUSE_RESIDUAL.contains(i.name());
  }

  /** An unforced engine runs i where it fits and no later implementation is estimated cheaper. */
  private static boolean fitsUnforced(ConvImpl i, ConvPlan plan, Layout layout, Precision q,
      Isa isa) {
    return i.misfit().why(plan, layout, q) == null && i.costlier().why(plan, isa) == null;
  }

  /** The implementation named {@code name}. */
  private static ConvImpl impl(String name) {
    for (ConvImpl i : IMPLEMENTATIONS) {
      if (i.name().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }

  @Override
  protected synchronized void runConvolveAdd(ConvPlan plan, ConvWeights weights, Tensor x,
      Tensor residual, Tensor y, Activation act) {
    checkNotClosed();
    run(plan, new Call(plan, weights, x, y, residual, act), x.layout());
  }

  /**
   * The fused block kernel pays off where the depthwise input (the expanded tensor) outgrows L2:
   * below this many floats per image (1 MiB) the unfused layers find it in cache anyway.
   */
  public static final long BLOCK_MIN_FLOATS = Long.getLong("convkit.blockMinFloats", 1L << 18);

  @Override
  public boolean fusesBlock(ConvPlan expand, ConvPlan dw, ConvPlan project, Layout layout) {
    return blockMisfit(expand, dw, project, layout) == null;
  }

  /**
   * Why the fused inverted-residual kernel (native/kernels/ir_nhwc.inc) does not run this
   * block, or null where it does: expand and project (either may be absent, not both) 1x1
   * convs the dense NHWC kernel runs, a depthwise conv the NHWC depthwise kernel runs whose
   * padding is smaller than its window (every band reads an input row), and an expanded tensor
   * worth keeping out of memory.
   */
  public String blockMisfit(ConvPlan expand, ConvPlan dw, ConvPlan project, Layout layout) {
    if (layout != Layout.NHWC) {
      return "runs NHWC tensors";
    }
    if (forced != null) {
      return "implementation " + forced + " is forced";
    }
    if (expand == null && project == null) {
      return "neither expand nor project";
    }
    for (ConvPlan pw : new ConvPlan[] {expand, project}) {
      if (pw == null) {
        continue;
      }
      String role = pw == expand ? "expand" : "project";
      if (Planner.misfit(Algorithm.POINTWISE_GEMM, pw.spec()) != null) {
        return role + " is not a 1x1, stride 1, unpadded, ungrouped conv";
      }
      String why = impl("nhwc_dense").misfit().why(pw, layout, precision);
      if (why != null) {
        return role + ": " + why;
      }
    }
    String why = impl("nhwc_depthwise").misfit().why(dw, layout, precision);
    if (why != null) {
      return "depthwise: " + why;
    }
    ConvSpec d = dw.spec();
    long effH = (long) (d.kernelH() - 1) * d.dilationH() + 1;
    if (d.padTop() >= effH || d.padBottom() >= effH) {
      return "the depthwise padding is as tall as its window";
    }
    long perImage = (long) dw.input().c() * dw.input().h() * dw.input().w();
    return perImage < BLOCK_MIN_FLOATS ? "the depthwise input (" + perImage + " floats per "
        + "image) stays in cache unfused (fused from " + BLOCK_MIN_FLOATS + ")" : null;
  }

  @Override
  protected synchronized void runConvolveBlock(ConvPlan expand, ConvWeights expandWeights,
      ConvPlan dw, ConvWeights dwWeights, ConvPlan project, ConvWeights projectWeights, Tensor x,
      Tensor residual, Tensor y, Activation act) {
    checkNotClosed();
    long start = VERBOSE ? System.nanoTime() : 0;
    int ex = expand == null ? 0 : 1;
    int pr = project == null ? 0 : 1;
    long[] gd = ConvGeometry.of(dw);
    // gd stands in for an absent expand or project (the kernel does not read it).
    long[] ge = expand == null ? gd : ConvGeometry.of(expand);
    long[] gp = project == null ? gd : ConvGeometry.of(project);
    Call ce = expand == null ? null : new Call(expand, expandWeights, x, y);
    Call cd = new Call(dw, dwWeights, x, y);
    Call cp = project == null ? null : new Call(project, projectWeights, x, y);
    FloatPointer we = ce == null ? null : packed(ce, ge, true).pointer();
    FloatPointer be = ce == null ? null : ce.bias;
    int acte = ce == null ? 0 : ce.act;
    FloatPointer wd = packed(cd, gd, false).pointer();
    FloatPointer wp = cp == null ? null : packed(cp, gp, true).pointer();
    FloatPointer bp = cp == null ? null : cp.bias;
    FloatPointer res = residual == null ? null : residual.pointer();
    int actp = cp == null ? 0 : residual == null ? cp.act : act.code();
    int tasks = Math.toIntExact(ConvkitNative.ck_ir_nhwc_tasks(gd, ex, pr));
    long per = wholeLines(ConvkitNative.ck_ir_nhwc_scratch_floats(gd, ex, pr));
    FloatPointer scratch = workspace(per * pool.workers(tasks));
    pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_ir_nhwc(isa.code(), ge, gd, gp,
        ex, pr, cd.x, we, be, acte, wd, cd.bias, cd.act, wp, bp, res, cd.y, actp, t0, t1,
        at(scratch, worker * per)));
    if (VERBOSE) {
      System.err.printf("convkit_verbose,exec,%s,%s,NHWC,nhwc_ir_block (%s),%s,%.3f ms%n", name(),
          (expand == null ? "" : expand.spec().name() + "+") + dw.spec().name()
          + (project == null ? "" : "+" + project.spec().name())
          + (residual == null ? "" : " + residual"),
          ConvkitNative.ck_dw_nhwc_variant(isa.code(), gd), dw.input(),
          (System.nanoTime() - start) / 1e6);
    }
  }

  @Override
  protected synchronized void runConvolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    checkNotClosed();
    run(plan, new Call(plan, weights, x, y), x.layout());
  }

  private void run(ConvPlan plan, Call c, Layout layout) {
    ConvImpl impl = choose(plan, layout);
    long t0 = VERBOSE ? System.nanoTime() : 0;
    impl.runner().run(this, c);
    if (VERBOSE) {
      System.err.printf("convkit_verbose,exec,%s,%s,%s,%s%s,%s,%.3f ms%n", name(),
          plan.spec().name(), layout, implementation(plan, layout),
          c.res == null ? "" : " + residual", plan.input(), (System.nanoTime() - t0) / 1e6);
    }
  }

  /** System property {@code convkit.verbose=true}: one line per convolution, what ran and how long. */
  static final boolean VERBOSE = Boolean.getBoolean("convkit.verbose");

  /**
   * Dense or grouped convolution in NHWC (native/kernels/conv_nhwc.inc): weights packed once per
   * layer, tasks as the kernel numbers them (group by group), each worker with its own scratch.
   */
  private void nhwcDense(Call c) {
    long[] g = ConvGeometry.of(c.plan);
    long groups = c.s.groups();
    PackedWeights pw = packed(c, g, true);
    int tasks = Math.toIntExact(ConvkitNative.ck_conv_nhwc_tasks(g, groups));
    long per = wholeLines(ConvkitNative.ck_conv_nhwc_scratch_floats(g, groups));
    FloatPointer scratch = workspace(per * pool.workers(tasks));
    pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_conv_nhwc(isa.code(), g, groups,
        c.x, pw.pointer(), c.bias, c.res, c.y, c.act, t0, t1, at(scratch, worker * per)));
  }

  /**
   * Winograd F(m x m, 3 x 3) in NHWC (native/kernels/winograd_nhwc.inc): weights transformed and
   * packed once per layer; each chunk of tiles runs its three phases (input transform, the
   * multiply, output transform) one after the other across the pool, sharing one scratch. A
   * layer with a non-finite weight runs nhwc_dense instead (every tile would need the direct
   * recomputation).
   */
  private void nhwcWinograd(Call c, int m) {
    long[] g = ConvGeometry.of(c.plan);
    long floats = ConvkitNative.ck_wino_nhwc_packed_floats(g, m);
    PackedWeights pw = c.weights.derived("cpu.nhwc_winograd_f" + m + "." + floats,
        () -> packWinograd(g, m, floats, c));
    if (pw.pointer().get(0) == 0f) {
      nhwcDense(c);
      return;
    }
    FloatPointer scratch = workspace(ConvkitNative.ck_wino_nhwc_scratch_floats(g, m));
    long chunks = ConvkitNative.ck_wino_nhwc_chunks(g, m);
    for (long ch = 0; ch < chunks; ch++) {
      for (int ph = 0; ph < 3; ph++) {
        final long chunk = ch;
        final int phase = ph;
        int tasks = Math.toIntExact(ConvkitNative.ck_wino_nhwc_tasks(g, m, phase, chunk));
        pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_wino_nhwc(isa.code(), g, m,
            phase, chunk, c.x, pw.pointer(), c.bias, c.res, c.y, c.act, t0, t1, scratch));
      }
    }
  }

  private static PackedWeights packWinograd(long[] g, int m, long floats, Call c) {
    PackedWeights p = new PackedWeights(floats, "Winograd weights of " + c.s.name());
    if (ConvkitNative.ck_wino_nhwc_pack(g, m, c.w, p.pointer()) != 0) {
      p.close();
      throw new OutOfMemoryError(c.s.name() + ": no native memory for the Winograd weight "
          + "transform (" + 4 * floats + " bytes packed)");
    }
    return p;
  }

  /** Depthwise convolution in NHWC (native/kernels/dw_nhwc.inc), vectorised across channels. */
  private void nhwcDepthwise(Call c) {
    long[] g = ConvGeometry.of(c.plan);
    PackedWeights pw = packed(c, g, false);
    int tasks = Math.toIntExact(ConvkitNative.ck_dw_nhwc_tasks(g));
    long per = wholeLines(ConvkitNative.ck_dw_nhwc_scratch_floats(g));
    FloatPointer scratch = workspace(per * pool.workers(tasks));
    pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_dw_nhwc(isa.code(), g, c.x,
        pw.pointer(), c.bias, c.y, c.act, t0, t1, at(scratch, worker * per)));
  }

  /**
   * Narrow groups, 4 or 8 channels (native/kernels/gconv_narrow_nhwc.inc): weights packed once
   * per layer into the kernel's rotated vectors; residual and activation fused.
   */
  private void nhwcGroupedNarrow(Call c) {
    long[] g = ConvGeometry.of(c.plan);
    long groups = c.s.groups();
    long floats = ConvkitNative.ck_gconv_narrow_nhwc_packed_floats(g, groups);
    PackedWeights pw = c.weights.derived("cpu.nhwc_grouped_narrow." + floats, () -> {
      PackedWeights p = new PackedWeights(floats, "packed weights of " + c.s.name());
      ConvkitNative.ck_gconv_narrow_nhwc_pack(g, groups, c.w, p.pointer());
      return p;
    });
    int tasks = Math.toIntExact(ConvkitNative.ck_gconv_narrow_nhwc_tasks(g));
    pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_gconv_narrow_nhwc(isa.code(), g,
        groups, c.x, pw.pointer(), c.bias, c.res, c.y, c.act, t0, t1));
  }

  /** Floats rounded up to whole cache lines, so two workers' scratch never share one. */
  private static long wholeLines(long floats) {
    return (floats + 15) / 16 * 16;
  }

  /** The layer's weights packed for the dense or depthwise NHWC kernel: made once, kept. */
  private static PackedWeights packed(Call c, long[] g, boolean dense) {
    long floats = dense ? ConvkitNative.ck_conv_nhwc_packed_floats(g, c.s.groups())
        : ConvkitNative.ck_dw_nhwc_packed_floats(g);
    // The packing depends on K, C, R, S and the groups only (fixed per layer), which the size
    // stands for with the kind.
    return c.weights.derived((dense ? "cpu.nhwc_dense." : "cpu.nhwc_depthwise.") + floats,
        () -> pack(g, floats, c, dense));
  }

  private static PackedWeights pack(long[] g, long floats, Call c, boolean dense) {
    PackedWeights p = new PackedWeights(floats, "packed weights of " + c.s.name());
    if (dense) {
      ConvkitNative.ck_conv_nhwc_pack(g, c.s.groups(), c.w, p.pointer());
    } else {
      ConvkitNative.ck_dw_nhwc_pack(g, c.w, p.pointer());
    }
    return p;
  }

  /**
   * NCHW to NHWC or back (native/kernels/nhwc_ops.inc), tasks as the kernel numbers them. Other
   * layout pairs never reach here (AbstractEngine copies same-memory pairs).
   */
  @Override
  protected synchronized void runReorder(Tensor x, Tensor y) {
    checkNotClosed();
    Shape s = x.shape();
    int tasks = Math.toIntExact(ConvkitNative.ck_reorder_tasks(s.n(), s.c(), s.plane()));
    FloatPointer px = x.pointer();
    FloatPointer py = y.pointer();
    int toNhwc = y.layout() == Layout.NHWC ? 1 : 0;
    pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_reorder(isa.code(), px, s.n(),
        s.c(), s.plane(), py, toNhwc, t0, t1));
  }

  /** The operands of one call, with per-image pointer arithmetic. */
  private static final class Call {
    final ConvPlan plan;
    final ConvSpec s;
    final FloatPointer x;
    final FloatPointer y;
    final FloatPointer w;
    final FloatPointer bias;
    final ConvWeights weights;
    final int batch;
    final int inC;
    final int inH;
    final int inW;
    final int outC;
    final int outH;
    final int outW;
    final long inImage;
    final long outImage;
    final int act;
    final boolean epilogue;
    final FloatPointer res; // a fused residual (nhwc_dense only), else null

    Call(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
      this(plan, weights, x, y, null, plan.spec().activation());
    }

    Call(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y, Tensor res, Activation act) {
      this.plan = plan;
      this.s = plan.spec();
      this.weights = weights;
      this.x = x.pointer();
      this.y = y.pointer();
      this.w = weights.weights().pointer();
      this.bias = weights.bias() == null ? null : weights.bias().pointer();
      this.batch = plan.input().n();
      this.inC = plan.input().c();
      this.inH = plan.input().h();
      this.inW = plan.input().w();
      this.outC = plan.output().c();
      this.outH = plan.output().h();
      this.outW = plan.output().w();
      this.inImage = (long) inC * inH * inW;
      this.outImage = (long) outC * outH * outW;
      this.act = act.code();
      this.epilogue = bias != null || this.act != 0;
      this.res = res == null ? null : res.pointer();
    }

    FloatPointer in(int n) {
      return at(x, n * inImage);
    }

    FloatPointer out(int n) {
      return at(y, n * outImage);
    }
  }

  private boolean imageParallel(Call c) {
    return threads > 1 && c.batch >= threads && c.plan.macs() / c.batch < IMAGE_PARALLEL_MAX_MACS;
  }

  /**
   * POINTWISE_GEMM, and IM2COL_GEMM / GROUPED_GEMM on sgemm. The pool splits the output rows of
   * the batch; each thread takes its rows a block at a time: unfold the block (nothing to unfold
   * for pointwise), one single-threaded sgemm per group straight into the output (ldc = H*W),
   * then bias and activation while the block is still in cache. OpenBLAS never starts threads of
   * its own, so nothing spins on a core another thread needs.
   */
  private void gemmConv(Call c) {
    ConvPlan p = c.plan;
    ConvSpec s = c.s;
    int m = p.gemmM();
    int k = p.gemmK();
    int n = p.gemmN();
    boolean unfold = p.algorithm() != io.convkit.conv.Algorithm.POINTWISE_GEMM;
    long per = p.scratchBytesPerThread() / 4;
    int rowsPerBlock = p.rowsPerBlock();
    int rows = c.batch * c.outH;
    if (!unfold && s.groups() == 1 && (n == 1 || rows < threads)) {
      gemmByChannels(c, m, k, n);
      return;
    }
    // A grain is one block, but at most half a thread's share, so every thread gets work.
    int grain = Math.max(1, Math.min(rowsPerBlock, (rows + 2 * threads - 1) / (2 * threads)));
    FloatPointer scratch = unfold ? scratch(p, pool.workers(rows, grain)) : null;
    pool.parallelFor(rows, grain, (r0, r1, worker) -> {
      FloatPointer col = unfold ? at(scratch, worker * per) : null;
      for (int r = r0; r < r1; ) {
        int image = r / c.outH;
        int oy0 = r - image * c.outH;
        int oy1 = Math.min(Math.min(c.outH, oy0 + rowsPerBlock), r1 - image * c.outH);
        int cols = (oy1 - oy0) * c.outW;
        long first = (long) oy0 * c.outW;
        FloatPointer in = c.in(image);
        FloatPointer out = c.out(image);
        for (int g = 0; g < s.groups(); g++) {
          FloatPointer b;
          int ldb;
          if (unfold) {
            ConvkitNative.ck_im2col_block(in, c.inC, c.inH, c.inW, s.kernelH(), s.kernelW(),
                s.strideH(), s.strideW(), s.padTop(), s.padLeft(), s.dilationH(), s.dilationW(),
                c.outW, g * k, (g + 1) * k, oy0, oy1, col);
            b = col;
            ldb = cols;
          } else {
            b = at(in, first);
            ldb = n;
          }
          Blas.sgemm(1, m, cols, k, at(c.w, (long) g * m * k), k, b, ldb, 0f,
              at(out, (long) g * m * n + first), n);
        }
        if (c.epilogue) {
          ConvkitNative.ck_bias_act_block(isa.code(), at(out, first), n, cols, c.bias, 0, c.outC,
              c.act);
        }
        r += oy1 - oy0;
      }
    });
  }

  /**
   * POINTWISE_GEMM on a 1x1 input (a fully connected layer run as a 1x1 convolution), or with
   * fewer output rows than threads: the output channels are split across the threads instead of
   * the rows. On a 1x1 input the whole batch is one product Y[batch][M] = X[batch][K] * W^T (a
   * matrix-vector product at batch 1). Measured: VGG-16's fc6 as a per-image sgemm with N = 1
   * streamed its weights at about 6 GB/s on one thread, whatever the thread count.
   */
  private void gemmByChannels(Call c, int m, int k, int n) {
    int grain = Math.max(16, (m + 2 * threads - 1) / (2 * threads) + 15 & ~15);
    pool.parallelFor(m, grain, (m0, m1, worker) -> {
      FloatPointer w = at(c.w, (long) m0 * k);
      if (n == 1 && c.batch == 1) {
        Blas.sgemv(1, m1 - m0, k, w, k, c.in(0), at(c.out(0), m0));
      } else if (n == 1) {
        // Input images are the rows of X [batch][K]; outputs the rows of Y [batch][M].
        Blas.sgemmTransB(1, c.batch, m1 - m0, k, c.in(0), k, w, k, at(c.out(0), m0), m);
      } else {
        for (int image = 0; image < c.batch; image++) {
          Blas.sgemm(1, m1 - m0, n, k, w, k, c.in(image), n, 0f, at(c.out(image), (long) m0 * n),
              n);
        }
      }
      if (c.epilogue) {
        for (int image = 0; image < c.batch; image++) {
          ConvkitNative.ck_bias_act_block(isa.code(), c.out(image), n, n, c.bias, m0, m1, c.act);
        }
      }
    });
  }

  private static void im2col(Call c, int n, FloatPointer col, int k0, int k1) {
    ConvSpec s = c.s;
    ConvkitNative.ck_im2col(c.in(n), c.inC, c.inH, c.inW, s.kernelH(), s.kernelW(), s.strideH(),
        s.strideW(), s.padTop(), s.padLeft(), s.dilationH(), s.dilationW(), c.outH, c.outW, col,
        k0, k1);
  }

  /** Few output channels per group: our tiles; tasks are (image, group, block of output rows). */
  private void smallMTiles(Call c) {
    ConvSpec s = c.s;
    int rowsPerBlock = ConvkitNative.ck_smallm_rows_per_block(c.outW);
    int tasksPerImage = s.groups() * ((c.outH + rowsPerBlock - 1) / rowsPerBlock);
    FloatPointer scratch = scratch(c.plan, pool.workers(c.batch * tasksPerImage));
    long per = c.plan.scratchBytesPerThread() / 4;
    pool.parallelFor(c.batch * tasksPerImage, (t0, t1, worker) -> {
      FloatPointer mine = at(scratch, worker * per);
      for (int t = t0; t < t1; ) {
        int n = t / tasksPerImage;
        int end = Math.min(t1, (n + 1) * tasksPerImage);
        ConvkitNative.ck_conv_smallm(isa.code(), c.in(n), c.inC, c.inH, c.inW, c.w, c.bias,
            c.out(n), c.outC, s.groups(), s.kernelH(), s.kernelW(), s.strideH(), s.strideW(),
            s.padTop(), s.padLeft(), s.dilationH(), s.dilationW(), c.outH, c.outW, c.act,
            t - n * tasksPerImage, end - n * tasksPerImage, mine);
        t = end;
      }
    });
  }

  /** DEPTHWISE_DIRECT: tasks are (image, output channel). */
  private void depthwise(Call c) {
    ConvSpec s = c.s;
    int mult = c.outC / c.inC;
    FloatPointer scratch = scratch(c.plan, pool.workers(c.batch * c.outC));
    long per = c.plan.scratchBytesPerThread() / 4;
    pool.parallelFor(c.batch * c.outC, (t0, t1, worker) -> {
      FloatPointer mine = at(scratch, worker * per);
      for (int t = t0; t < t1; ) {
        int n = t / c.outC;
        int end = Math.min(t1, (n + 1) * c.outC);
        ConvkitNative.ck_depthwise(isa.code(), c.in(n), c.inC, c.inH, c.inW, c.w, c.bias, c.out(n),
            mult, s.kernelH(), s.kernelW(), s.strideH(), s.strideW(), s.padTop(), s.padLeft(),
            s.dilationH(), s.dilationW(), c.outH, c.outW, c.act, t - n * c.outC,
            end - n * c.outC, mine);
        t = end;
      }
    });
  }

  /** CONNECTION_TABLE: unfold all input channels, then each output sums its connected rows. */
  private void connectionTable(Call c) {
    long wsPerImage = c.plan.workspaceBytes() / 4;
    int rows = c.inC * c.s.kernelH() * c.s.kernelW();
    int cols = c.outH * c.outW;
    ConvWeights w = c.weights;
    if (imageParallel(c)) {
      FloatPointer ws = workspace(wsPerImage * pool.workers(c.batch));
      pool.parallelFor(c.batch, (n0, n1, worker) -> {
        FloatPointer col = at(ws, worker * wsPerImage);
        for (int n = n0; n < n1; n++) {
          im2col(c, n, col, 0, rows);
          ConvkitNative.ck_connection_table(isa.code(), col, cols, w.sparseStart(), w.sparseRow(),
              w.sparseWeight(), c.bias, c.out(n), c.act, 0, c.outC);
        }
      });
      return;
    }
    FloatPointer col = workspace(wsPerImage);
    for (int n = 0; n < c.batch; n++) {
      int image = n;
      pool.parallelFor(rows, (k0, k1, worker) -> im2col(c, image, col, k0, k1));
      pool.parallelFor(c.outC, (o0, o1, worker) -> ConvkitNative.ck_connection_table(isa.code(),
          col, cols, w.sparseStart(), w.sparseRow(), w.sparseWeight(), c.bias, c.out(image), c.act,
          o0, o1));
    }
  }

  /**
   * Per-worker scratch of a direct kernel, in the shared workspace, for the {@code workers} that
   * the call's parallel loop uses (bounded by its tasks, not by the engine's thread count).
   */
  private FloatPointer scratch(ConvPlan plan, int workers) {
    return workspace(plan.scratchBytesPerThread() / 4 * workers);
  }

  /** At least {@code floats} of 64-byte-aligned workspace; grows, never shrinks, until close. */
  private FloatPointer workspace(long floats) {
    return workspace.atLeast(floats, name() + " workspace");
  }

  /**
   * Max or average pooling (kernels/pool.inc): tasks are the batch's (image, channel) planes,
   * which NCHW keeps contiguous, so a grain of planes is one native call over [p0, p1) with its
   * worker's row buffer. A grain covers at least {@link #POOL_MIN_GRAIN_FLOATS} input floats, so
   * a small layer runs on the calling thread alone.
   */
  @Override
  protected synchronized void runPool(PoolSpec spec, Tensor x, Tensor y) {
    checkNotClosed();
    if (x.layout() == Layout.NHWC) {
      long[] g = ConvGeometry.of(spec, x.shape(), y.shape());
      int tasks = Math.toIntExact(ConvkitNative.ck_pool_nhwc_tasks(g));
      int avgNhwc = spec.kind() == PoolKind.AVG ? 1 : 0;
      int padNhwc = spec.countPadding() ? 1 : 0;
      FloatPointer px = x.pointer();
      FloatPointer py = y.pointer();
      pool.parallelFor(tasks, (t0, t1, worker) -> ConvkitNative.ck_pool_nhwc(isa.code(), g,
          avgNhwc, padNhwc, px, py, t0, t1));
      return;
    }
    Shape in = x.shape();
    Shape out = y.shape();
    int kh = spec.kernelH(in);
    int kw = spec.kernelW(in);
    int planes = in.n() * in.c();
    int planeFloats = in.h() * in.w();
    FloatPointer px = x.pointer();
    FloatPointer py = y.pointer();
    // Whole cache lines per worker, so two workers' row buffers never share one.
    long per = (ConvkitNative.ck_pool_scratch_floats(in.w(), out.w(), kw, spec.strideW(),
        spec.padLeft()) + 15) / 16 * 16;
    int avg = spec.kind() == PoolKind.AVG ? 1 : 0;
    int countPad = spec.countPadding() ? 1 : 0;
    int grain = Math.max(Math.max(1, planes / (4 * threads)),
        (int) ((POOL_MIN_GRAIN_FLOATS + (long) planeFloats - 1) / planeFloats));
    FloatPointer scratch = workspace(per * pool.workers(planes, grain));
    pool.parallelFor(planes, grain, (p0, p1, worker) -> ConvkitNative.ck_pool(isa.code(), px,
        in.h(), in.w(), py, out.h(), out.w(), kh, kw, spec.strideH(), spec.strideW(),
        spec.padTop(), spec.padLeft(), spec.padBottom(), spec.padRight(), avg, countPad, p0, p1,
        at(scratch, worker * per)));
  }

  /**
   * {@code y = act(a + b)} (kernels/add.inc): tasks are contiguous chunks of
   * {@link #ADD_CHUNK_FLOATS}, a whole number of cache lines, so no two threads write one line.
   * In place is safe: each element is read and written by one thread, loads before stores.
   */
  @Override
  protected synchronized void runAdd(Tensor a, Tensor b, Tensor y, Activation act) {
    checkNotClosed();
    int n = y.elements();
    FloatPointer pa = a.pointer();
    FloatPointer pb = b.pointer();
    FloatPointer py = y.pointer();
    int chunks = (int) ((n + (long) ADD_CHUNK_FLOATS - 1) / ADD_CHUNK_FLOATS);
    pool.parallelFor(chunks, 1, (c0, c1, worker) -> ConvkitNative.ck_add(isa.code(), pa, pb, py,
        c0 * ADD_CHUNK_FLOATS, (int) Math.min(n, (long) c1 * ADD_CHUNK_FLOATS), act.code()));
  }

  /** Grain of {@code tasks} tasks of {@code floatsPerTask} each: about 4 per thread, not tiny. */
  private int grain(int tasks, long floatsPerTask) {
    long least = (NORM_MIN_GRAIN_FLOATS + floatsPerTask - 1) / Math.max(1, floatsPerTask);
    return (int) Math.max(Math.max(1, tasks / (4 * threads)), Math.min(tasks, least));
  }

  /**
   * LRN (kernels/norm.inc): tasks are 8-pixel blocks of one image, each thread with its own
   * 8*C-float buffer of squares in the workspace.
   */
  @Override
  protected synchronized void runLrn(LrnSpec spec, Tensor x, Tensor y) {
    checkNotClosed();
    Shape s = x.shape();
    int c = s.c();
    int hw = s.plane();
    int blocks = (hw + 7) / 8;
    int tasks = s.n() * blocks;
    long per = (8L * c + 15) / 16 * 16; // whole cache lines per worker
    int grain = grain(tasks, 8L * c);
    FloatPointer scratch = workspace(per * pool.workers(tasks, grain));
    FloatPointer px = x.pointer();
    FloatPointer py = y.pointer();
    float coef = (float) (spec.alpha() / spec.size());
    int is075 = spec.beta() == 0.75 ? 1 : 0;
    pool.parallelFor(tasks, grain, (t0, t1, worker) -> ConvkitNative.ck_lrn(
        isa.code(), px, c, hw, spec.size(), coef, (float) spec.beta(), is075, (float) spec.k(), py,
        t0, t1, at(scratch, worker * per)));
  }

  /** Layer norm (kernels/norm.inc): tasks are 8-pixel blocks of one image. */
  @Override
  protected synchronized void runLayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y) {
    checkNotClosed();
    Shape s = x.shape();
    int c = s.c();
    int hw = s.plane();
    if (x.layout() == Layout.NHWC) {
      int pixels = s.n() * hw;
      FloatPointer px = x.pointer();
      FloatPointer py = y.pointer();
      FloatPointer pg = gamma.pointer();
      FloatPointer pb = beta.pointer();
      pool.parallelFor(pixels, grain(pixels, c), (q0, q1, worker) ->
          ConvkitNative.ck_layer_norm_nhwc(isa.code(), px, c, pg, pb, (float) eps, py, q0, q1));
      return;
    }
    int tasks = s.n() * ((hw + 7) / 8);
    FloatPointer px = x.pointer();
    FloatPointer py = y.pointer();
    FloatPointer pg = gamma.pointer();
    FloatPointer pb = beta.pointer();
    pool.parallelFor(tasks, grain(tasks, 8L * c), (t0, t1, worker) -> ConvkitNative.ck_layer_norm(
        isa.code(), px, c, hw, pg, pb, (float) eps, py, t0, t1));
  }

  /**
   * Concatenation: one memcpy per (image, input), each contiguous in NCHW, on the calling thread.
   * (Measured on GoogLeNet's concats at 2 threads: splitting the copies across the pool gained
   * nothing over one thread, about 0.25 ms against 0.2 per concat, as the copies are
   * memory-bound, and it stalled for milliseconds whenever the other core was busy.)
   */
  @Override
  protected synchronized void runConcat(List<Tensor> xs, Tensor y) {
    checkNotClosed();
    Shape out = y.shape();
    long hw = out.plane();
    long outImage = out.c() * hw;
    FloatPointer py = y.pointer();
    if (y.layout() == Layout.NHWC) {
      // Each input fills its channel slice of every output pixel: a strided copy per input.
      int pixels = Math.toIntExact(out.n() * hw);
      long off = 0;
      for (Tensor x : xs) {
        long ci = x.shape().c();
        long at = off;
        FloatPointer px = x.pointer();
        pool.parallelFor(pixels, grain(pixels, ci), (q0, q1, worker) ->
            ConvkitNative.ck_copy_channels_nhwc(px, ci, py, out.c(), at, q0, q1));
        off += ci;
      }
      return;
    }
    long channelsBefore = 0;
    for (Tensor x : xs) {
      long floats = x.shape().c() * hw; // per image
      FloatPointer px = x.pointer();
      for (int image = 0; image < out.n(); image++) {
        Pointer.memcpy(at(py, image * outImage + channelsBefore * hw), at(px, image * floats),
            4 * floats);
      }
      channelsBefore += x.shape().c();
    }
  }

  /** Channel scaling (kernels/norm.inc): tasks are (image, channel) planes. */
  @Override
  protected synchronized void runScaleChannels(Tensor x, Tensor s, Tensor y) {
    checkNotClosed();
    Shape shape = x.shape();
    int planes = shape.n() * shape.c();
    int hw = shape.plane();
    FloatPointer px = x.pointer();
    FloatPointer ps = s.pointer();
    FloatPointer py = y.pointer();
    if (x.layout() == Layout.NHWC) {
      int pixels = shape.n() * hw;
      int c = shape.c();
      pool.parallelFor(pixels, grain(pixels, c), (q0, q1, worker) ->
          ConvkitNative.ck_scale_channels_nhwc(isa.code(), px, ps, py, c, hw, q0, q1));
      return;
    }
    pool.parallelFor(planes, grain(planes, hw), (p0, p1, worker) ->
        ConvkitNative.ck_scale_channels(isa.code(), px, ps, py, hw, p0, p1));
  }

  private void checkNotClosed() {
    if (closed) {
      throw new IllegalStateException(name() + " is closed");
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      cleanable.clean(); // stops the threads, frees the workspace; once

    }
  }

  @Override
  public String toString() {
    return name();
  }
}
