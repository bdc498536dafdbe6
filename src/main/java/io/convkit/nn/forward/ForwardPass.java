package io.convkit.nn.forward;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.engine.Engine;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Lifetime;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Uses;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a {@link ForwardPlan} on one engine.
 *
 * <p>Buffers: the first call for an input shape assigns every value a buffer from a small pool
 * (a buffer whose value has been read for the last time is reused by a later value of the same
 * shape; a fused conv + add writes its output over the residual when the add reads it last)
 * and allocates the pool's tensors on the engine's device. Later calls with that shape
 * allocate nothing: no tensors, no host arrays ({@link #allocations()} counts tensors). The
 * buffers live until {@link #close()} or an input of another shape.
 *
 * <p>Threads: a pass may be shared. Each thread that calls it gets buffers of its own (made on
 * its first call, freed by {@link #close()} or once the thread has ended), so N threads on one
 * pass and one engine compute what N separate passes would; the engine serialises their calls.
 * The tensor {@link #forward} returns belongs to the calling thread's buffers: the same thread's
 * next call overwrites it, another thread's does not. Calling the pass again from inside its own
 * {@link Observer} throws {@link IllegalStateException}. Closing the pass (or its plan) while
 * calls run frees their memory when they return.
 *
 * <pre>{@code
 * try (ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, 1));
 *      ForwardPass pass = new ForwardPass(plan, engine)) {
 *   float[] logits = pass.forward(x).toArray();   // the pass owns the output tensor
 * }
 * }</pre>
 */
public final class ForwardPass implements AutoCloseable {
  /** One step's time in the last profiled call. */
  /**
   * One step's time in the last profiled call, and what ran it: for a conv, the engine's
   * implementation and micro-kernel ("+ residual" where an add was fused into it; that add then
   * reports "fused"); for other steps the layout it ran in.
   */
  public record StepTime(Step step, long nanos, long macs, Shape output, String ran) {}

  private final ForwardPlan plan;
  private final Engine engine;
  private final List<Step> steps;
  // One context per calling thread; weak keys, and contexts of ended threads are freed.
  private final Map<Thread, Context> contexts = new WeakHashMap<>();
  private final AtomicLong allocations = new AtomicLong();
  private volatile boolean profiling;
  private volatile List<StepTime> times = List.of();
  private final Lifetime lifetime;

  /** What one thread's calls use: buffers for its current input shape and the steps' scratch. */
  private final class Context {
    final Step.Scratch[] scratch = new Step.Scratch[steps.size()];
    Shape input;
    Shape[] shapes;
    int[] slotOf;
    Tensor[] slots = new Tensor[0];
    Tensor outputView;
    // The layout each step runs in (null: any), for this input shape.
    Layout[] mode;
    // Reordered copies of step inputs whose layout differs from the step's: [step][input].
    Tensor[][] reordered;
    // The network output reordered to NCHW when the last step runs NHWC.
    Tensor outputNchw;
    // fusedAdd[i] = j: conv step i runs with add step j fused into it (-1: none)
    int[] fusedAdd = new int[0];
    // block[i] = {expand or -1, depthwise, project or -1}: step i heads a fused block (or null)
    int[][] block = new int[0][];
    // overwrites[i] = r: conv step i's fused add writes its output over residual value r's
    // buffer, in place (-1: none); spare[i] holds r for the add when an observer runs i alone.
    int[] overwrites = new int[0];
    Tensor[] spare = new Tensor[0];
    boolean running;

    Context() {
      for (int i = 0; i < scratch.length; i++) {
        scratch[i] = new Step.Scratch();
      }
    }

    void releaseBuffers() {
      for (Tensor t : slots) {
        t.close();
      }
      if (reordered != null) {
        for (Tensor[] ts : reordered) {
          for (Tensor t : ts) {
            if (t != null) {
              t.close();
            }
          }
        }
      }
      reordered = null;
      for (Tensor t : spare) {
        if (t != null) {
          t.close();
        }
      }
      spare = new Tensor[0];
      if (outputNchw != null) {
        outputNchw.close();
        outputNchw = null;
      }
      slots = new Tensor[0];
      input = null;
      outputView = null;
    }

    void close() {
      releaseBuffers();
      for (Step.Scratch s : scratch) {
        s.close();
      }
    }
  }

  public ForwardPass(ForwardPlan plan, Engine engine) {
    if (plan == null || engine == null) {
      throw new IllegalArgumentException("forward pass: plan and engine must not be null");
    }
    this.plan = plan;
    this.engine = engine;
    this.steps = plan.steps();
    this.lifetime = new Lifetime("forward pass of " + plan.network().name() + " on "
        + engine.name(), this::freeContexts);
  }

  public Engine engine() {
    return engine;
  }

  public ForwardPlan plan() {
    return plan;
  }

  /** Times each step (waiting for the engine after each) on the following calls. */
  public void setProfiling(boolean on) {
    profiling = on;
  }

  /** The per-step times of the last call made while profiling (by any thread). */
  public List<StepTime> times() {
    return times;
  }

  /** Tensors this pass has allocated so far (flat after each thread's first call for a shape). */
  public long allocations() {
    return allocations.get();
  }

  /**
   * Runs the network on {@code x} (host memory, or the engine's device) and returns the output
   * with the network's output shape. The tensor belongs to this pass and the calling thread: it
   * is overwritten by the thread's next call and freed by {@link #close()}; copy it (toArray,
   * to(...)) to keep it.
   */
  public Tensor forward(Tensor x) {
    return forward(x, null);
  }

  /** Called after each step with the step's index and output (tests compare layer by layer). */
  public interface Observer {
    void after(int step, Tensor output);
  }

  /** {@link #forward(Tensor)}, calling {@code observer} after each step. */
  public Tensor forward(Tensor x, Observer observer) {
    if (x == null) {
      throw new IllegalArgumentException("forward pass of " + plan.network().name()
          + ": the input is null");
    }
    try (Uses u = begin()) {
      Context c = enter();
      try {
        return run(c, x, observer);
      } finally {
        c.running = false;
      }
    }
  }

  private Tensor run(Context c, Tensor x, Observer observer) {
    prepare(c, x.shape());
    Tensor[] value = new Tensor[plan.valueCount()];
    value[0] = x;
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      value[s.output()] = c.slots[c.slotOf[s.output()]];
    }
    boolean timed = profiling;
    List<StepTime> t = timed ? new ArrayList<>() : null;
    boolean[] fusedDone = new boolean[steps.size()];
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      Tensor[] in = new Tensor[s.inputCount()];
      for (int j = 0; j < in.length; j++) {
        in[j] = value[s.input(j)];
      }
      Tensor out = value[s.output()];
      long t0 = timed ? System.nanoTime() : 0;
      in = inLayout(c, i, in);
      int[] b = observer == null ? c.block[i] : null;
      int j = observer == null && !fusedDone[i] ? c.fusedAdd[i] : -1;
      if (b != null) {
        // expand -> depthwise -> project (+ the add) in one engine call, band by band.
        runBlock(c, b, in[0], value, fusedDone);
        j = -1;
      } else if (j >= 0) {
        // conv + residual + the add's activation in one kernel; the add step then has nothing
        // left to do. (With an observer each step runs alone, the add in place.)
        Step.Add a = (Step.Add) steps.get(j);
        int other = a.input(0) == s.output() ? a.input(1) : a.input(0);
        ((Step.Conv) s).runWithResidual(engine, in[0], value[other], value[a.output()], a.act);
        fusedDone[j] = true;
      } else if (!fusedDone[i]) {
        if (c.overwrites[i] >= 0) {
          // Run alone (an observer), this conv would write over the residual its add reads,
          // which shares the output's buffer: the add reads a copy instead.
          int r = c.overwrites[i];
          if (c.spare[i] == null) {
            c.spare[i] = Tensor.allocate(value[r].shape(), engine, value[r].layout());
            allocations.incrementAndGet();
          }
          engine.reorder(value[r], c.spare[i]);
          value[r] = c.spare[i];
        }
        s.run(engine, in, out, c.scratch[i]);
      }
      if (timed) {
        engine.finish();
        long nanos = System.nanoTime() - t0;
        // A fused block's multiply-adds count at its first step, where its time is.
        long macs = 0;
        if (b != null) {
          for (int k : b) {
            macs += k >= 0 ? macs(c, k) : 0;
          }
        } else if (!fusedDone[i] || j >= 0) {
          macs = macs(c, i);
        }
        t.add(new StepTime(s, nanos, macs, out.shape(),
            b != null ? blockRan(c, b) : ran(c, i, in, j >= 0, fusedDone[i] && j < 0)));
      }
      if (observer != null) {
        observer.after(i, out);
      }
    }
    if (timed) {
      times = List.copyOf(t);
    }
    if (plan.output() == 0) {
      return x;
    }
    if (c.outputNchw != null) {
      engine.reorder(value[plan.output()], c.outputNchw);
    }
    return c.outputView;
  }

  private long macs(Context c, int i) {
    Step s = steps.get(i);
    return s.macs(ForwardPlan.inputShapes(s, c.shapes));
  }

  /** Runs the fused block {@code b} from its first step; marks the steps it ran done. */
  private void runBlock(Context c, int[] b, Tensor x, Tensor[] value, boolean[] fusedDone) {
    Step.Conv e = b[0] >= 0 ? (Step.Conv) steps.get(b[0]) : null;
    Step.Conv d = (Step.Conv) steps.get(b[1]);
    Step.Conv p = b[2] >= 0 ? (Step.Conv) steps.get(b[2]) : null;
    Shape[] sh = c.shapes;
    int j = p == null ? -1 : c.fusedAdd[b[2]];
    Tensor residual = null;
    Tensor y = value[p == null ? d.output() : p.output()];
    Activation act = Activation.NONE;
    if (j >= 0) {
      Step.Add a = (Step.Add) steps.get(j);
      residual = value[a.input(0) == p.output() ? a.input(1) : a.input(0)];
      y = value[a.output()];
      act = a.act;
      fusedDone[j] = true;
    }
    engine.convolveBlock(e == null ? null : e.conv().plan(x.shape()),
        e == null ? null : e.conv().weights(), d.conv().plan(sh[d.input(0)]), d.conv().weights(),
        p == null ? null : p.conv().plan(sh[p.input(0)]), p == null ? null : p.conv().weights(),
        x, residual, y, act);
    for (int k : b) {
      if (k >= 0 && k != (e != null ? b[0] : b[1])) {
        fusedDone[k] = true;
      }
    }
  }

  private String blockRan(Context c, int[] b) {
    Step.Conv d = (Step.Conv) steps.get(b[1]);
    return "nhwc_ir_block: " + (b[0] >= 0 ? "expand, " : "") + engine.implementation(
        d.conv().plan(c.shapes[d.input(0)]), Layout.NHWC)
        + (b[2] < 0 ? "" : ", project" + (c.fusedAdd[b[2]] >= 0 ? " + residual" : ""))
        + " in row bands";
  }

  /** What ran step {@code i} (see {@link StepTime}). */
  private String ran(Context c, int i, Tensor[] in, boolean withResidual, boolean fused) {
    Step s = steps.get(i);
    if (fused) {
      return "fused into the conv before";
    }
    if (s instanceof Step.ConvBacked cb) {
      Tensor x = in[0];
      Shape xs = cb.convInput(x.shape());
      Layout l = s instanceof Step.Conv && c.mode[i] != null ? c.mode[i] : Layout.NCHW;
      return engine.implementation(cb.conv().plan(xs), l) + (!withResidual ? ""
          : c.overwrites[i] >= 0 ? " + residual in place" : " + residual");
    }
    return c.mode[i] == null ? "host" : c.mode[i].name();
  }

  /**
   * Step {@code i}'s inputs in the layout it runs in: each input whose memory order differs is
   * reordered into this context's buffer for it (made on first use, then reused).
   */
  private Tensor[] inLayout(Context c, int i, Tensor[] in) {
    Layout want = c.mode[i];
    if (want == null) {
      return in;
    }
    Tensor[] out = in;
    for (int j = 0; j < in.length; j++) {
      Tensor t = in[j];
      if (!Layout.sameMemory(t.shape(), t.layout(), want)) {
        if (out == in) {
          out = in.clone();
        }
        Tensor r = c.reordered[i][j];
        if (r == null || !r.shape().equals(t.shape())) {
          if (r != null) {
            r.close();
          }
          r = Tensor.allocate(t.shape(), engine, want);
          allocations.incrementAndGet();
          c.reordered[i][j] = r;
        }
        engine.reorder(t, r);
        out[j] = r;
      }
    }
    return out;
  }

  /**
   * The layout step {@code s} runs in on this engine for these input shapes: the engine's
   * preferred layout where the engine runs that op in it, else NCHW; null where any layout will
   * do (host steps read and write NCHW arrays whatever the tensor's layout; an FC on one pixel
   * sees the same memory either way).
   */
  private Layout modeOf(Step s, Shape[] in) {
    if (s instanceof Step.Host) {
      return null;
    }
    if (s instanceof Step.Fc) {
      Shape x = in[0];
      return x.rank() == 4 && (long) x.h() * x.w() > 1 && x.c() > 1 ? Layout.NCHW : null;
    }
    if (engine.preferredLayout() != Layout.NHWC || in[0].rank() != 4) {
      return Layout.NCHW;
    }
    boolean nhwc = switch (s.kind()) {
      case CONV -> engine.runsNhwc(((Step.Conv) s).conv().plan(in[0]));
      case POOL -> engine.runsNhwc(Engine.Op.POOL);
      case ADD -> engine.runsNhwc(Engine.Op.ADD);
      case LRN -> engine.runsNhwc(Engine.Op.LRN);
      case LAYER_NORM -> engine.runsNhwc(Engine.Op.LAYER_NORM);
      case CONCAT -> engine.runsNhwc(Engine.Op.CONCAT);
      case SCALE_CHANNELS -> engine.runsNhwc(Engine.Op.SCALE_CHANNELS);
      default -> false;
    };
    return nhwc ? Layout.NHWC : Layout.NCHW;
  }

  /**
   * For each step, the add step fused into it (-1: none): a conv whose only reader is a two-input
   * add, whose other input is computed before the conv, in the conv's layout, where the engine
   * has one kernel for conv + residual ({@link Engine#fusesResidual}) and the conv has no
   * activation of its own. oneDNN's sum post-op; ONNX Runtime's Conv+Add fusion.
   */
  private int[] fusions(Shape[] sh, Layout[] mode, Layout[] layoutOf) {
    int[] fused = new int[steps.size()];
    Arrays.fill(fused, -1);
    int[] readers = readers();
    int[] producer = producers();
    for (int j = 0; j < steps.size(); j++) {
      if (!(steps.get(j) instanceof Step.Add a) || a.inputCount() != 2 || mode[j] == null) {
        continue;
      }
      for (int k = 0; k < 2; k++) {
        int v = a.input(k);
        int u = a.input(1 - k);
        int i = producer[v];
        if (i < 0 || u == v || readers[v] != 1 || v == plan.output() || fused[i] >= 0
            || !(steps.get(i) instanceof Step.Conv conv) || mode[i] != mode[j]
            || producer[u] >= i || layoutOf[u] != mode[j] || layoutOf[v] != mode[j]
            || conv.conv().spec().activation() != io.convkit.conv.Activation.NONE) {
          continue;
        }
        Shape[] in = ForwardPlan.inputShapes(conv, sh);
        if (engine.fusesResidual(conv.conv().plan(in[0]), mode[i])) {
          fused[i] = j;
          break;
        }
      }
    }
    return fused;
  }

  /**
   * How this engine runs the plan for one set of value shapes: the layout each step runs in
   * (null: any), the layout each value is kept in, and for each step the add fused into it (-1:
   * none). Computed once per input shape by {@link #prepare}; the reports compute it afresh.
   */
  private record Layouts(Layout[] mode, Layout[] layoutOf, int[] fusedAdd, int[][] block) {}

  private Layouts layouts(Shape[] sh) {
    Layout[] mode = new Layout[steps.size()];
    Layout[] layoutOf = new Layout[plan.valueCount()];
    layoutOf[0] = Layout.NCHW; // the caller's input; a step reorders it if need be
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      mode[i] = modeOf(s, ForwardPlan.inputShapes(s, sh));
      layoutOf[s.output()] = outputLayout(s, mode[i], sh);
    }
    int[] fusedAdd = fusions(sh, mode, layoutOf);
    return new Layouts(mode, layoutOf, fusedAdd, blocks(sh, mode, layoutOf, fusedAdd));
  }

  /**
   * The fused blocks ({@link Engine#convolveBlock}) around each depthwise-capable conv step d:
   * expand is the step just before, a conv read only by d; project the step just after, a conv
   * that alone reads d (with the add fused into it, whose other input is computed before the
   * block starts). All NHWC. The first form the engine fuses wins: expand + d + project, d +
   * project (unless the project would keep a larger tensor inside as the next block's expand),
   * expand + d (EfficientNet, where squeeze-excitation reads d).
   * block[head] = {expand or -1, d, project or -1}.
   */
  private int[][] blocks(Shape[] sh, Layout[] mode, Layout[] layoutOf, int[] fusedAdd) {
    int n = steps.size();
    int[][] block = new int[n][];
    boolean[] taken = new boolean[n]; // a step of some block
    int[] readers = readers();
    int[] producer = producers();
    for (int i = 0; i < n; i++) {
      Step.Conv d = nhwcConv(i, mode, layoutOf);
      if (d == null || taken[i]) {
        continue;
      }
      ConvPlan dp = d.conv().plan(sh[d.input(0)]);
      int e = i - 1;
      Step.Conv ec = e >= 0 && !taken[e] ? expandOf(e, d, mode, readers) : null;
      int j = i + 1 < n ? fusedAdd[i + 1] : -1;
      Step.Conv pc = i + 1 < n && steps.get(i + 1) instanceof Step.Conv q
          && q.input(0) == d.output() && readers[d.output()] == 1 && d.output() != plan.output()
          && mode[i + 1] == Layout.NHWC
          && layoutOf[j >= 0 ? steps.get(j).output() : q.output()] == Layout.NHWC ? q : null;
      ConvPlan ep = ec == null ? null : ec.conv().plan(sh[ec.input(0)]);
      ConvPlan pp = pc == null ? null : pc.conv().plan(sh[pc.input(0)]);
      int[] b = null;
      if (ec != null && pc != null && (j < 0 || residualBefore(j, pc.output(), producer, e))
          && engine.fusesBlock(ep, dp, pp, Layout.NHWC)) {
        b = new int[] {e, i, i + 1};
      } else if (pc != null && (j < 0 || residualBefore(j, pc.output(), producer, i))
          && engine.fusesBlock(null, dp, pp, Layout.NHWC)
          && !expandsLargerBlock(i + 1, sh[d.input(0)], sh, mode, layoutOf, readers, fusedAdd)) {
        b = new int[] {-1, i, i + 1};
      } else if (ec != null && fusedAdd[i] < 0 && engine.fusesBlock(ep, dp, null, Layout.NHWC)) {
        b = new int[] {e, i, -1};
      }
      if (b != null) {
        block[b[0] >= 0 ? b[0] : i] = b;
        for (int k : b) {
          if (k >= 0) {
            taken[k] = true;
          }
        }
      }
    }
    return block;
  }

  /**
   * True when conv step p (a project candidate) would rather expand the depthwise step after it:
   * that block keeps p's output, larger than {@code inner}, out of memory. MobileNet v1's
   * pw1 -> dw2 -> pw2 keeps pw1's 64 x 112 x 112 floats in the cache, where dw1 -> pw1 would keep
   * dw1's 32 x 112 x 112 and send pw1's to memory for dw2 to read back.
   */
  private boolean expandsLargerBlock(int p, Shape inner, Shape[] sh, Layout[] mode,
      Layout[] layoutOf, int[] readers, int[] fusedAdd) {
    Step.Conv d = p + 1 < steps.size() ? nhwcConv(p + 1, mode, layoutOf) : null;
    Step.Conv pc = d == null || fusedAdd[p] >= 0 ? null : expandOf(p, d, mode, readers);
    return pc != null && sh[pc.output()].elements() > inner.elements()
        && engine.fusesBlock(pc.conv().plan(sh[pc.input(0)]), d.conv().plan(sh[d.input(0)]),
            null, Layout.NHWC);
  }

  /** Step i as a block's depthwise candidate: a conv run in NHWC on NHWC values; else null. */
  private Step.Conv nhwcConv(int i, Layout[] mode, Layout[] layoutOf) {
    return steps.get(i) instanceof Step.Conv d && mode[i] == Layout.NHWC
        && layoutOf[d.input(0)] == Layout.NHWC && layoutOf[d.output()] == Layout.NHWC ? d : null;
  }

  /**
   * Step e as the expand of depthwise step d: an NHWC conv whose output only d reads and that
   * is not the network's output; else null.
   */
  private Step.Conv expandOf(int e, Step.Conv d, Layout[] mode, int[] readers) {
    return steps.get(e) instanceof Step.Conv c && c.output() == d.input(0)
        && readers[c.output()] == 1 && mode[e] == Layout.NHWC && c.output() != plan.output()
        ? c : null;
  }

  /** How many step inputs read each value. */
  private int[] readers() {
    int[] readers = new int[plan.valueCount()];
    for (Step s : steps) {
      for (int v : s.inputs()) {
        readers[v]++;
      }
    }
    return readers;
  }

  /** The step that computes each value (-1: the network input). */
  private int[] producers() {
    int[] producer = new int[plan.valueCount()];
    Arrays.fill(producer, -1);
    for (int i = 0; i < steps.size(); i++) {
      producer[steps.get(i).output()] = i;
    }
    return producer;
  }

  /** True when add step j's input other than {@code v} is computed before step {@code head}. */
  private boolean residualBefore(int j, int v, int[] producer, int head) {
    Step a = steps.get(j);
    int u = a.input(0) == v ? a.input(1) : a.input(0);
    return producer[u] < head;
  }

  /** The adds this engine fuses into their convs for this input, as "conv + add" names. */
  public List<String> fusedAdds(Shape networkInput) {
    int[] f = layouts(plan.shapes(networkInput)).fusedAdd();
    List<String> out = new ArrayList<>();
    for (int i = 0; i < f.length; i++) {
      if (f[i] >= 0) {
        out.add(steps.get(i).name() + " + " + steps.get(f[i]).name());
      }
    }
    return out;
  }

  /** The blocks this engine runs fused for this input ({@link Engine#convolveBlock}). */
  public List<String> fusedBlocks(Shape networkInput) {
    int[][] b = layouts(plan.shapes(networkInput)).block();
    List<String> out = new ArrayList<>();
    for (int[] x : b) {
      if (x != null) {
        out.add((x[0] >= 0 ? steps.get(x[0]).name() + " -> " : "") + steps.get(x[1]).name()
            + (x[2] >= 0 ? " -> " + steps.get(x[2]).name() : ""));
      }
    }
    return out;
  }

  /** The layout step s writes when it runs in {@code mode} (see {@link #modeOf}). */
  private Layout outputLayout(Step s, Layout mode, Shape[] sh) {
    Layout l = mode != null ? mode : s instanceof Step.Host ? engine.preferredLayout()
        : Layout.NCHW;
    // one pixel or one channel: the same memory either way, labelled NCHW
    return Layout.sameMemory(sh[s.output()], l, Layout.NCHW) ? Layout.NCHW : l;
  }

  /** The layout each step runs in for this input, for a report (null: any). */
  public List<Layout> stepLayouts(Shape networkInput) {
    return Arrays.asList(layouts(plan.shapes(networkInput)).mode());
  }

  /**
   * Runs step {@code index} alone on the given input tensors (host or this engine's) and returns
   * its output buffer (owned by this pass and thread). For layer-by-layer comparisons between
   * engines.
   */
  public Tensor runStep(int index, Shape networkInput, Tensor... inputs) {
    try (Uses u = begin()) {
      Context c = enter();
      try {
        prepare(c, networkInput);
        Step s = steps.get(index);
        Tensor out = c.slots[c.slotOf[s.output()]];
        s.run(engine, inLayout(c, index, inputs), out, c.scratch[index]);
        return out;
      } finally {
        c.running = false;
      }
    }
  }

  /** The shape of every value's tensor for this network input. */
  public Shape[] valueShapes(Shape networkInput) {
    return plan.shapes(networkInput);
  }

  /** Holds this pass and its plan open for one call. */
  private Uses begin() {
    return Uses.begin(lifetime.what()).hold(null, lifetime).hold(null, plan.lifetime());
  }

  /** The calling thread's context, marked running (a nested call on this thread is refused). */
  private Context enter() {
    Thread me = Thread.currentThread();
    Context c;
    List<Context> ended = List.of();
    synchronized (contexts) {
      c = contexts.get(me);
      if (c == null) {
        ended = new ArrayList<>();
        // A new thread: free what threads that have ended left behind.
        for (Iterator<Map.Entry<Thread, Context>> it = contexts.entrySet().iterator();
            it.hasNext(); ) {
          Map.Entry<Thread, Context> e = it.next();
          if (!e.getKey().isAlive()) {
            ended.add(e.getValue());
            it.remove();
          }
        }
        c = new Context();
        contexts.put(me, c);
      }
    }
    ended.forEach(Context::close);
    if (c.running) {
      throw new IllegalStateException("forward pass of " + plan.network().name()
          + " is already running on thread \"" + me.getName() + "\" (a call from its observer?)");
    }
    c.running = true;
    return c;
  }

  /** Assigns buffers for this input shape (once per shape and thread) and allocates them. */
  private void prepare(Context c, Shape in) {
    if (in.equals(c.input)) {
      return;
    }
    c.releaseBuffers();
    Shape[] sh = plan.shapes(in);
    int n = plan.valueCount();
    int[] lastUse = new int[n];
    Arrays.fill(lastUse, -1);
    for (int i = 0; i < steps.size(); i++) {
      for (int v : steps.get(i).inputs()) {
        lastUse[v] = i;
      }
    }
    lastUse[plan.output()] = Integer.MAX_VALUE;
    Layouts lay = layouts(sh);
    Layout[] layoutOf = lay.layoutOf();
    int[] fusedAdd = lay.fusedAdd();
    int[][] block = lay.block();
    int[] slot = new int[n];
    Arrays.fill(slot, -1);
    List<SlotKey> slotShapes = new ArrayList<>();
    Map<SlotKey, Deque<Integer>> free = new HashMap<>();
    boolean[] producedEarly = new boolean[steps.size()];
    int[] overwrites = new int[steps.size()];
    Arrays.fill(overwrites, -1);
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      // A conv fused with its add writes the add's output, so that buffer is taken here, at the
      // conv; the conv's own value shares it (an observer sees it before the add runs in place).
      int produced = fusedAdd[i] >= 0 ? steps.get(fusedAdd[i]).output() : s.output();
      if (fusedAdd[i] >= 0) {
        producedEarly[fusedAdd[i]] = true;
      }
      if (!producedEarly[i]) {
        SlotKey key = new SlotKey(sh[produced], layoutOf[produced]);
        int r = fusedAdd[i] >= 0 ? overwritable(i, fusedAdd[i], lastUse, slot) : -1;
        if (r >= 0 && key.equals(new SlotKey(sh[r], layoutOf[r]))) {
          // The output goes over the residual, in place: one stream less through the caches
          // (ResNet's 1x1 convs with an add ran up to 1.7x slower reading a separate residual).
          slot[produced] = slot[r];
          overwrites[i] = r;
          lastUse[r] = -2; // its buffer lives on as the add's output: never freed at the add
        } else {
          slot[produced] = take(free, slotShapes, key);
        }
        if (fusedAdd[i] >= 0) {
          slot[s.output()] = slot[produced];
        }
      }
      if (block[i] != null) {
        // A fused block writes its last output (the project's, its add's, or the depthwise's)
        // while this, its first step, reads the block input: that buffer is taken here, before
        // the input is freed.
        int p = block[i][2] >= 0 ? block[i][2] : block[i][1];
        int j = fusedAdd[p];
        int out = j >= 0 ? steps.get(j).output() : steps.get(p).output();
        slot[out] = take(free, slotShapes, new SlotKey(sh[out], layoutOf[out]));
        slot[steps.get(p).output()] = slot[out];
        producedEarly[p] = true;
        if (j >= 0) {
          producedEarly[j] = true;
        }
      }
      SlotKey shape = new SlotKey(sh[s.output()], layoutOf[s.output()]);
      // Values read for the last time by this step free their buffers for later steps (not
      // for this step's own output, which must not overwrite its inputs).
      for (int v : s.inputs()) {
        if (v != 0 && lastUse[v] == i && slot[v] >= 0 && !(producedEarly[i]
            && slot[v] == slot[s.output()])) {
          free.computeIfAbsent(new SlotKey(sh[v], layoutOf[v]), k -> new ArrayDeque<>())
              .push(slot[v]);
          lastUse[v] = -2; // freed once even if read twice by this step
        }
      }
      if (lastUse[s.output()] == -1 && fusedAdd[i] < 0) { // never read (a dead branch): free
        free.computeIfAbsent(shape, k -> new ArrayDeque<>()).push(slot[s.output()]);
      }
    }
    Tensor[] t = new Tensor[slotShapes.size()];
    try {
      for (int i = 0; i < t.length; i++) {
        t[i] = Tensor.allocate(slotShapes.get(i).shape(), engine, slotShapes.get(i).layout());
        allocations.incrementAndGet();
      }
    } catch (RuntimeException | Error e) {
      for (Tensor x : t) {
        if (x != null) {
          x.close();
        }
      }
      throw e;
    }
    c.slots = t;
    c.slotOf = slot;
    c.shapes = sh;
    c.input = in;
    c.mode = lay.mode();
    c.fusedAdd = fusedAdd;
    c.block = block;
    c.overwrites = overwrites;
    c.spare = new Tensor[steps.size()];
    c.reordered = new Tensor[steps.size()][];
    for (int i = 0; i < steps.size(); i++) {
      c.reordered[i] = new Tensor[steps.get(i).inputCount()];
    }
    if (plan.output() != 0) {
      Tensor o = c.slots[slot[plan.output()]];
      if (o.layout() != Layout.NCHW) { // the caller gets NCHW
        c.outputNchw = Tensor.allocate(o.shape(), engine, Layout.NCHW);
        allocations.incrementAndGet();
        o = c.outputNchw;
      }
      Shape logical = plan.network().shapes(in).get(
          plan.network().nodes().get(plan.network().nodes().size() - 1).name());
      c.outputView = logical.equals(o.shape()) ? o : o.view(logical);
    }
  }

  /**
   * The residual value of conv step i's fused add j when the add's output may take its buffer:
   * the add reads it last, no step between them reads it, the conv does not read it, and it is
   * neither the network input (the caller's) nor in a buffer shared with a live value; else -1.
   */
  private int overwritable(int i, int j, int[] lastUse, int[] slot) {
    Step.Add a = (Step.Add) steps.get(j);
    Step s = steps.get(i);
    int r = a.input(0) == s.output() ? a.input(1) : a.input(0);
    if (r == 0 || r == s.output() || slot[r] < 0 || lastUse[r] != j) {
      return -1;
    }
    for (int k = i; k < j; k++) {
      for (int v : steps.get(k).inputs()) {
        if (v == r) {
          return -1;
        }
      }
    }
    for (int v = 0; v < slot.length; v++) { // another value still in r's buffer
      if (v != r && slot[v] == slot[r] && lastUse[v] > i) {
        return -1;
      }
    }
    return r;
  }

  /** A free buffer of this key's shape and layout, or a new one. */
  private static int take(Map<SlotKey, Deque<Integer>> free, List<SlotKey> slotShapes,
      SlotKey key) {
    Deque<Integer> f = free.get(key);
    if (f != null && !f.isEmpty()) {
      return f.pop();
    }
    slotShapes.add(key);
    return slotShapes.size() - 1;
  }

  /** A buffer pool's key: values of one shape and layout share buffers. */
  private record SlotKey(Shape shape, Layout layout) {}

  /** Buffers the calling thread's context holds now (for reports and tests). */
  public int bufferCount() {
    synchronized (contexts) {
      Context c = contexts.get(Thread.currentThread());
      return c == null ? 0 : c.slots.length;
    }
  }

  private void freeContexts() {
    List<Context> all;
    synchronized (contexts) {
      all = new ArrayList<>(contexts.values());
      contexts.clear();
    }
    all.forEach(Context::close);
  }

  /**
   * Frees every thread's buffers and the steps' parameter tensors (not the plan, nor the engine):
   * now, or when the calls running on other threads return.
   */
  @Override
  public void close() {
    lifetime.close();
  }
}
