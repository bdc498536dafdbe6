package io.convkit.engine;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Device;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;

/**
 * Runs convolution plans, pooling and residual adds. An engine owns its threads and workspaces;
 * close it when done. One engine runs one call at a time: calls from several threads are
 * serialised.
 *
 * <p>An engine is also a {@link Device}: {@code tensor.to(engine)} puts a tensor where the engine
 * computes (device memory for the OpenCL engine, host memory for the others). Every engine
 * accepts host tensors; an engine with device memory also accepts its own device tensors, and a
 * chain of calls on those makes no host round trips.
 */
public interface Engine extends Device, AutoCloseable {
  /** A short name, e.g. "cpu(2 threads, avx2)". */
  @Override
  String name();

  /** Threads this engine computes with. */
  int threads();

  /**
   * Computes {@code y = conv(x)} as {@code plan} says. {@code x} and {@code y} must have the
   * plan's input and output shapes and {@code weights} the plan's spec.
   */
  void convolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y);

  /**
   * Computes {@code y = pool(x)} per channel as {@code spec} says; {@code y} must have
   * {@code spec.outputShape(x.shape())}.
   */
  void pool(PoolSpec spec, Tensor x, Tensor y);

  /**
   * Computes {@code y = act(a + b)} elementwise (a residual join). All three have one shape;
   * {@code y} may be {@code a} or {@code b} (in place).
   */
  void add(Tensor a, Tensor b, Tensor y, Activation act);

  /** Waits until all work queued on this engine is done (calls may return before it is). */
  default void finish() {}

  @Override
  void close();

  /** The checks every engine makes before a pooling call touches memory. */
  static void checkPool(PoolSpec spec, Tensor x, Tensor y) {
    if (spec == null) {
      throw new IllegalArgumentException("pool spec is null");
    }
    x.checkOpen();
    y.checkOpen();
    Shape expected = spec.outputShape(x.shape());
    if (!y.shape().equals(expected)) {
      throw new IllegalArgumentException(spec.name() + ": output must be " + expected + " for input "
          + x.shape() + ", got " + y.shape());
    }
    if (x == y) {
      throw new IllegalArgumentException(spec.name() + ": input and output must be different tensors");
    }
  }

  /** The checks every engine makes before an add touches memory. */
  static void checkAdd(Tensor a, Tensor b, Tensor y, Activation act) {
    if (act == null) {
      throw new IllegalArgumentException("add: activation is null (use Activation.NONE)");
    }
    a.checkOpen();
    b.checkOpen();
    y.checkOpen();
    if (!a.shape().equals(b.shape()) || !a.shape().equals(y.shape())) {
      throw new IllegalArgumentException("add: shapes differ: " + a.shape() + " + " + b.shape()
          + " -> " + y.shape());
    }
  }

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
