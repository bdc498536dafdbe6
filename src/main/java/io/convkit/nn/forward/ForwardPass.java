package io.convkit.nn.forward;

import io.convkit.engine.Engine;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link ForwardPlan} on one engine.
 *
 * <p>Buffers: the first call for an input shape assigns every value a buffer from a small pool
 * (a buffer whose value has been read for the last time is reused by a later value of the same
 * shape) and allocates the pool's tensors on the engine's device. Later calls with that shape
 * allocate nothing: no tensors, no host arrays ({@link #allocations()} counts tensors). The
 * buffers live until {@link #close()} or an input of another shape.
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
  public record StepTime(Step step, long nanos, long macs, Shape output) {}

  private final ForwardPlan plan;
  private final Engine engine;
  private final List<Step> steps;
  private final Step.Scratch[] scratch;
  private Shape input;
  private Shape[] shapes;
  private int[] slotOf;
  private Tensor[] slots = new Tensor[0];
  private Tensor outputView;
  private long allocations;
  private boolean profiling;
  private final List<StepTime> times = new ArrayList<>();
  private boolean closed;

  public ForwardPass(ForwardPlan plan, Engine engine) {
    if (plan == null || engine == null) {
      throw new IllegalArgumentException("forward pass: plan and engine must not be null");
    }
    this.plan = plan;
    this.engine = engine;
    this.steps = plan.steps();
    this.scratch = new Step.Scratch[steps.size()];
    for (int i = 0; i < scratch.length; i++) {
      scratch[i] = new Step.Scratch();
    }
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

  /** The per-step times of the last call made while profiling. */
  public List<StepTime> times() {
    return List.copyOf(times);
  }

  /** Tensors this pass has allocated so far (flat after the first call for a shape). */
  public long allocations() {
    return allocations;
  }

  /**
   * Runs the network on {@code x} (host memory, or the engine's device) and returns the output
   * with the network's output shape. The tensor belongs to this pass: it is overwritten by the
   * next call and freed by {@link #close()}; copy it (toArray, to(...)) to keep it.
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
    check();
    prepare(x.shape());
    Tensor[] value = new Tensor[plan.valueCount()];
    value[0] = x;
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      value[s.output()] = slots[slotOf[s.output()]];
    }
    if (profiling) {
      times.clear();
    }
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      Tensor[] in = new Tensor[s.inputCount()];
      for (int j = 0; j < in.length; j++) {
        in[j] = value[s.input(j)];
      }
      Tensor out = value[s.output()];
      long t0 = profiling ? System.nanoTime() : 0;
      s.run(engine, in, out, scratch[i]);
      if (profiling) {
        engine.finish();
        times.add(new StepTime(s, System.nanoTime() - t0,
            s.macs(ForwardPlan.inputShapes(s, shapes)), out.shape()));
      }
      if (observer != null) {
        observer.after(i, out);
      }
    }
    if (plan.output() == 0) {
      return x;
    }
    return outputView;
  }

  /**
   * Runs step {@code index} alone on the given input tensors (host or this engine's) and returns
   * its output buffer (owned by this pass). For layer-by-layer comparisons between engines.
   */
  public Tensor runStep(int index, Shape networkInput, Tensor... inputs) {
    check();
    prepare(networkInput);
    Step s = steps.get(index);
    Tensor out = slots[slotOf[s.output()]];
    s.run(engine, inputs, out, scratch[index]);
    return out;
  }

  /** The shape of every value's tensor for this network input. */
  public Shape[] valueShapes(Shape networkInput) {
    return plan.shapes(networkInput);
  }

  /** Assigns buffers for this input shape (once per shape) and allocates them. */
  private void prepare(Shape in) {
    if (in.equals(input)) {
      return;
    }
    releaseBuffers();
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
    int[] slot = new int[n];
    Arrays.fill(slot, -1);
    List<Shape> slotShapes = new ArrayList<>();
    Map<Shape, Deque<Integer>> free = new HashMap<>();
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      Shape shape = sh[s.output()];
      Deque<Integer> f = free.get(shape);
      if (f != null && !f.isEmpty()) {
        slot[s.output()] = f.pop();
      } else {
        slot[s.output()] = slotShapes.size();
        slotShapes.add(shape);
      }
      // Values read for the last time by this step free their buffers for later steps (not
      // for this step's own output, which must not overwrite its inputs).
      for (int v : s.inputs()) {
        if (v != 0 && lastUse[v] == i && slot[v] >= 0) {
          free.computeIfAbsent(sh[v], k -> new ArrayDeque<>()).push(slot[v]);
          lastUse[v] = -2; // freed once even if read twice by this step
        }
      }
      if (lastUse[s.output()] == -1) { // never read (a dead branch): free at once
        free.computeIfAbsent(shape, k -> new ArrayDeque<>()).push(slot[s.output()]);
      }
    }
    Tensor[] t = new Tensor[slotShapes.size()];
    try {
      for (int i = 0; i < t.length; i++) {
        t[i] = Tensor.allocate(slotShapes.get(i), engine);
        allocations++;
      }
    } catch (RuntimeException | Error e) {
      for (Tensor x : t) {
        if (x != null) {
          x.close();
        }
      }
      throw e;
    }
    slots = t;
    slotOf = slot;
    shapes = sh;
    input = in;
    if (plan.output() != 0) {
      Tensor o = slots[slot[plan.output()]];
      Shape logical = plan.network().shapes(in).get(
          plan.network().nodes().get(plan.network().nodes().size() - 1).name());
      outputView = logical.equals(o.shape()) ? o : o.view(logical);
    }
  }

  /** Buffers held now (for reports and tests). */
  public int bufferCount() {
    return slots.length;
  }

  private void releaseBuffers() {
    for (Tensor t : slots) {
      t.close();
    }
    slots = new Tensor[0];
    input = null;
    outputView = null;
  }

  private void check() {
    if (closed) {
      throw new IllegalStateException("forward pass on " + engine.name() + " is closed");
    }
    if (plan.isClosed()) {
      throw new IllegalStateException("forward plan of " + plan.network().name() + " is closed");
    }
  }

  /** Frees the buffers and the steps' parameter tensors (not the plan, nor the engine). */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      releaseBuffers();
      for (Step.Scratch s : scratch) {
        s.close();
      }
    }
  }
}
