package io.convkit.nn;

import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.conv.Planner;
import io.convkit.engine.Engine;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;

/**
 * A convolution layer: a spec plus its weights ([out][in/groups][kh][kw] flattened) and bias.
 * {@link #forward(Tensor, Engine)} plans once per input shape and runs on any engine.
 *
 * <p>Threads: a layer may be shared; its weights are read-only and its plan cache is locked.
 * Closing it while calls on other threads use it frees the weights when those calls return; later
 * calls throw {@link IllegalStateException}.
 */
public final class Conv2d implements AutoCloseable {
  private final ConvSpec spec;
  private final ConvWeights weights;
  private ConvPlan lastPlan;
  private Algorithm lastForced;

  public Conv2d(ConvSpec spec, float[] weights, float[] bias) {
    if (spec == null) {
      throw new IllegalArgumentException("spec is null");
    }
    this.spec = spec;
    this.weights = new ConvWeights(spec, weights, bias);
  }

  public ConvSpec spec() {
    return spec;
  }

  public ConvWeights weights() {
    return weights;
  }

  /** The plan for an input shape: the planner's choice, or {@code forced} (null: choose). */
  public synchronized ConvPlan plan(Shape input, Algorithm forced) {
    ConvPlan p = lastPlan;
    if (p != null && p.input().equals(input) && lastForced == forced) {
      return p;
    }
    p = Planner.plan(spec, input, forced);
    lastPlan = p;
    lastForced = forced;
    return p;
  }

  public ConvPlan plan(Shape input) {
    return plan(input, null);
  }

  /** A new output tensor (the caller closes it). */
  public Tensor forward(Tensor x, Engine engine) {
    return forward(x, engine, (Algorithm) null);
  }

  /**
   * A new output tensor computed with a forced algorithm (null: the planner's choice). The
   * output lives where the input does (host memory, or the engine's device memory).
   */
  public Tensor forward(Tensor x, Engine engine, Algorithm forced) {
    ConvPlan p = plan(x.shape(), forced);
    if (x.layout() != Layout.NCHW && !engine.runsNhwc(p)) {
      // This engine runs the conv in NCHW only: reorder around it; the output keeps x's layout.
      try (Tensor xn = Tensor.allocate(x.shape(), x.device(), Layout.NCHW)) {
        engine.reorder(x, xn);
        try (Tensor yn = forward(xn, engine, forced)) {
          Tensor y = Tensor.allocate(p.output(), x.device(), x.layout());
          try {
            engine.reorder(yn, y);
            return y;
          } catch (RuntimeException | Error e) {
            y.close();
            throw e;
          }
        }
      }
    }
    Tensor y = Tensor.allocate(p.output(), x.device(), x.layout());
    try {
      engine.convolve(p, weights, x, y);
      return y;
    } catch (RuntimeException | Error e) {
      y.close();
      throw e;
    }
  }

  /** Computes into an existing output tensor of the right shape. */
  public void forwardInto(Tensor x, Engine engine, Tensor y) {
    engine.convolve(plan(x.shape(), null), weights, x, y);
  }

  /** Frees the weights now, or when the calls using them return. */
  @Override
  public void close() {
    weights.close();
  }
}
