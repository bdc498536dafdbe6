package io.convkit.engine;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.tensor.Tensor;

/**
 * Runs convolution plans. An engine owns its threads and workspaces; close it when done. One
 * engine runs one call at a time: calls from several threads are serialised.
 */
public interface Engine extends AutoCloseable {
  /** A short name, e.g. "cpu(2 threads, avx2)". */
  String name();

  /** Threads this engine computes with. */
  int threads();

  /**
   * Computes {@code y = conv(x)} as {@code plan} says. {@code x} and {@code y} must have the
   * plan's input and output shapes and {@code weights} the plan's spec.
   */
  void convolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y);

  @Override
  void close();

  /** The checks every engine makes before it touches memory. */
  static void checkCall(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    x.checkOpen();
    y.checkOpen();
    String name = plan.spec().name();
    if (weights.spec() != plan.spec()) {
      throw new IllegalArgumentException(name + ": the weights belong to spec "
          + weights.spec() + ", the plan to " + plan.spec());
    }
    if (!x.shape().equals(plan.input())) {
      throw new IllegalArgumentException(name + ": the plan expects input " + plan.input()
          + ", got " + x.shape());
    }
    if (!y.shape().equals(plan.output())) {
      throw new IllegalArgumentException(name + ": the plan expects output " + plan.output()
          + ", got " + y.shape());
    }
    if (x == y) {
      throw new IllegalArgumentException(name + ": input and output must be different tensors");
    }
  }
}
