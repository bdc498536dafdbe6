package io.convkit.engine;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.List;

/**
 * Runs convolution plans, pooling, residual adds and the normalisation and channel ops of
 * networks (LRN, layer norm, concatenation, channel scaling). Tensors are NCHW, or any rank >= 2
 * with channels at dimension 1 and the remaining dimensions one plane of pixels. An engine owns its threads and workspaces;
 * close it when done (an unclosed CPU engine's threads and workspace are reclaimed when it is
 * garbage collected, but not before).
 *
 * <p>Threads: an engine may be shared. It runs one call at a time; calls from several threads are
 * serialised, and closing it waits for the call in flight. Every call holds its tensors and weights
 * for its duration ({@link AbstractEngine}): another thread closing them frees nothing until the
 * call returns, and another thread writing a tensor the call reads (or using one it writes) makes
 * one of the two calls throw {@link IllegalStateException}. An output may not share memory with
 * an input (a view of it), except for the ops documented as in place.
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
   * Computes {@code y = act(conv(x) + residual)}: a convolution with a residual join fused into
   * it (ResNet's and MobileNet v2's {@code conv -> add}). The plan's spec has no activation of
   * its own; {@code act} applies after the sum. {@code residual} has y's shape; it is either y
   * itself ({@code y = act(conv(x) + y)}, in place, as a network pass writes ResNet's block output
   * over the block input) or shares no memory with y. An engine without a fused kernel
   * convolves, then adds.
   */
  void convolveAdd(ConvPlan plan, ConvWeights weights, Tensor x, Tensor residual, Tensor y,
      Activation act);

  /** True when {@link #convolveAdd} on {@code plan} in {@code layout} is one fused kernel. */
  default boolean fusesResidual(ConvPlan plan, Layout layout) {
    return false;
  }

  /**
   * Computes MobileNet v2's inverted-residual block, {@code y = act(project(dw(expand(x))) +
   * residual)}: {@code expand} a 1x1 conv (null: the block has none, {@code dw} reads x),
   * {@code dw} a depthwise conv, {@code project} a 1x1 conv (null: y is the depthwise output,
   * EfficientNet's expand + depthwise before its squeeze-excitation; then expand is given and
   * there is no residual), each plan's input the previous plan's output and each with its own
   * activation, except that with a residual the project has none and {@code act} applies after
   * the sum (without one, {@code act} is NONE). {@code residual} (may be null) has y's shape; y
   * shares no memory with x or the residual. Where {@link #fusesBlock} says so it is one kernel
   * that keeps the block's wide tensors in cache; elsewhere the convolutions run in turn.
   */
  void convolveBlock(ConvPlan expand, ConvWeights expandWeights, ConvPlan dw,
      ConvWeights dwWeights, ConvPlan project, ConvWeights projectWeights, Tensor x,
      Tensor residual, Tensor y, Activation act);

  /**
   * True when {@link #convolveBlock} on these plans (expand or project may be null) is one fused
   * kernel.
   */
  default boolean fusesBlock(ConvPlan expand, ConvPlan dw, ConvPlan project, Layout layout) {
    return false;
  }

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

  /**
   * Cross-channel local response normalisation ({@link LrnSpec}) of {@code x} into {@code y}: one
   * shape, different tensors.
   */
  void lrn(LrnSpec spec, Tensor x, Tensor y);

  /**
   * Layer norm over the channels at each pixel (ConvNeXt's channels-first LayerNorm):
   * {@code y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]}, mean and biased variance over
   * the C channels. {@code gamma} and {@code beta} are tensors of shape {@code [C]} (an engine with
   * device memory reads its own device tensors without transfers: a caller that runs the layer
   * repeatedly puts them there once). {@code y} has the shape of {@code x} and may be {@code x}.
   */
  void layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y);

  /**
   * Concatenates {@code xs} along channels (dimension 1) into {@code y}: every other dimension
   * agrees, and the channels add up to y's. {@code y} is none of {@code xs}.
   */
  void concat(List<Tensor> xs, Tensor y);

  /**
   * {@code y[n,c,...] = x[n,c,...] * s[n,c]} (squeeze-and-excitation's channel scaling, after its
   * sigmoid): {@code s} has shape {@code [N, C]} or {@code [N, C, 1, 1]}; {@code y} has the shape
   * of {@code x} and may be {@code x}.
   */
  void scaleChannels(Tensor x, Tensor s, Tensor y);

  /**
   * Copies {@code x} into {@code y}: one shape, any two layouts ({@link Layout}), different
   * memory. The forward pass calls it where a value's layout differs from what its consumer runs
   * in.
   */
  void reorder(Tensor x, Tensor y);

  /** The engine ops besides convolution whose layout an engine declares. */
  enum Op {
    POOL, ADD, LRN, LAYER_NORM, CONCAT, SCALE_CHANNELS
  }

  /**
   * The layout a forward pass keeps activations in on this engine where every op involved runs
   * in it ({@link #runsNhwc}); NCHW unless the engine says otherwise.
   */
  default Layout preferredLayout() {
    return Layout.NCHW;
  }

  /** True when this engine runs {@code plan} on NHWC tensors (every engine runs NCHW). */
  default boolean runsNhwc(ConvPlan plan) {
    return false;
  }

  /** True when this engine runs {@code op} on NHWC tensors (every engine runs NCHW). */
  default boolean runsNhwc(Op op) {
    return false;
  }

  /**
   * What this engine runs {@code plan} with in {@code layout}, for logs and reports (oneDNN's
   * verbose mode): the implementation's name and its micro-kernel where it has one.
   */
  default String implementation(ConvPlan plan, Layout layout) {
    return plan.algorithm().toString();
  }

  /** Waits until all work queued on this engine is done (calls may return before it is). */
  default void finish() {}

  @Override
  void close();

  /** The checks every engine makes before a pooling call touches memory. */
  static void checkPool(PoolSpec spec, Tensor x, Tensor y) {
    if (spec == null) {
      throw new IllegalArgumentException("pool spec is null");
    }
    checkPresent(spec.name(), "input", x);
    checkPresent(spec.name(), "output", y);
    Shape expected = spec.outputShape(x.shape());
    if (!y.shape().equals(expected)) {
      throw new IllegalArgumentException(spec.name() + ": output must be " + expected + " for input "
          + x.shape() + ", got " + y.shape());
    }
    if (x.sameMemory(y)) {
      throw new IllegalArgumentException(spec.name() + ": input and output must be different tensors"
          + " sharing no memory (not a tensor and a view of it)");
    }
  }

  /** The checks every engine makes before an add touches memory. */
  static void checkAdd(Tensor a, Tensor b, Tensor y, Activation act) {
    if (act == null) {
      throw new IllegalArgumentException("add: activation is null (use Activation.NONE)");
    }
    checkPresent("add", "first input", a);
    checkPresent("add", "second input", b);
    checkPresent("add", "output", y);
    if (!a.shape().equals(b.shape()) || !a.shape().equals(y.shape())) {
      throw new IllegalArgumentException("add: shapes differ: " + a.shape() + " + " + b.shape()
          + " -> " + y.shape());
    }
  }

  /** The checks every engine makes before a reorder touches memory. */
  static void checkReorder(Tensor x, Tensor y) {
    checkPresent("reorder", "input", x);
    checkPresent("reorder", "output", y);
    if (!x.shape().equals(y.shape())) {
      throw new IllegalArgumentException("reorder: the output must have the input's shape "
          + x.shape() + ", got " + y.shape());
    }
    if (x.sameMemory(y)) {
      throw new IllegalArgumentException("reorder: input and output must be different tensors "
          + "sharing no memory");
    }
  }

  /** The checks every engine makes before it touches memory. */
  static void checkCall(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    String name = plan.spec().name();
    checkPresent(name, "input", x);
    checkPresent(name, "output", y);
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
    if (x.sameMemory(y)) {
      throw new IllegalArgumentException(name + ": input and output must be different tensors "
          + "sharing no memory (not a tensor and a view of it)");
    }
  }

  /**
   * An open tensor in argument {@code role} of {@code op}, of rank >= 2 (channels at dimension 1),
   * else an {@link IllegalArgumentException} naming the op, the role and the value (closed: an
   * {@link IllegalStateException}).
   */
  private static void checkChannels(String op, String role, Tensor t) {
    checkPresent(op, role, t);
    if (t.shape().rank() < 2) {
      throw new IllegalArgumentException(op + ": the " + role + " must have channels at dimension "
          + "1 (NCHW or N x C), got " + t.shape());
    }
  }

  private static void checkPresent(String op, String role, Tensor t) {
    if (t == null) {
      throw new IllegalArgumentException(op + ": the " + role + " is null");
    }
    if (t.isClosed()) {
      // like every use of a closed tensor: a state error, not a bad argument
      throw new IllegalStateException(op + ": the " + role + " " + t + " is closed");
    }
  }

  /** The checks every engine makes before an LRN touches memory. */
  static void checkLrn(LrnSpec spec, Tensor x, Tensor y) {
    if (spec == null) {
      throw new IllegalArgumentException("lrn: spec is null");
    }
    checkChannels("lrn", "input", x);
    checkChannels("lrn", "output", y);
    if (!y.shape().equals(x.shape())) {
      throw new IllegalArgumentException("lrn: output must be " + x.shape() + " like the input, got "
          + y.shape());
    }
    if (x.sameMemory(y)) {
      throw new IllegalArgumentException("lrn: input and output must be different tensors sharing"
          + " no memory (not a tensor and a view of it)");
    }
  }

  /** The checks every engine makes before a layer norm touches memory. */
  static void checkLayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y) {
    checkChannels("layernorm", "input", x);
    checkPresent("layernorm", "gamma", gamma);
    checkPresent("layernorm", "beta", beta);
    checkChannels("layernorm", "output", y);
    Shape params = Shape.of(x.shape().c());
    if (!gamma.shape().equals(params)) {
      throw new IllegalArgumentException("layernorm: gamma must be " + params + " for input "
          + x.shape() + ", got " + gamma.shape());
    }
    if (!beta.shape().equals(params)) {
      throw new IllegalArgumentException("layernorm: beta must be " + params + " for input "
          + x.shape() + ", got " + beta.shape());
    }
    if (!Double.isFinite(eps) || eps < 0) {
      throw new IllegalArgumentException("layernorm: eps must be finite and >= 0, got " + eps);
    }
    if (!y.shape().equals(x.shape())) {
      throw new IllegalArgumentException("layernorm: output must be " + x.shape()
          + " like the input, got " + y.shape());
    }
  }

  /** The checks every engine makes before a concatenation touches memory. */
  static void checkConcat(List<Tensor> xs, Tensor y) {
    if (xs == null || xs.isEmpty()) {
      throw new IllegalArgumentException("concat: no inputs");
    }
    checkChannels("concat", "output", y);
    Shape out = y.shape();
    long channels = 0;
    for (int i = 0; i < xs.size(); i++) {
      Tensor x = xs.get(i);
      String role = "input " + i;
      checkChannels("concat", role, x);
      if (x.sameMemory(y)) {
        throw new IllegalArgumentException("concat: " + role + " is the output or a view of it "
            + "(they must share no memory)");
      }
      Shape s = x.shape();
      boolean agrees = s.rank() == out.rank();
      for (int d = 0; agrees && d < s.rank(); d++) {
        agrees = d == 1 || s.dim(d) == out.dim(d);
      }
      if (!agrees) {
        throw new IllegalArgumentException("concat: " + role + " is " + s
            + "; every dimension but the channels must match the output " + out);
      }
      channels += s.c();
    }
    if (channels != out.c()) {
      throw new IllegalArgumentException("concat: the inputs have " + channels
          + " channels in all, the output " + out + " has " + out.c());
    }
  }

  /** The checks every engine makes before a channel scaling touches memory. */
  static void checkScaleChannels(Tensor x, Tensor s, Tensor y) {
    checkChannels("scale channels", "input", x);
    checkPresent("scale channels", "scale", s);
    checkChannels("scale channels", "output", y);
    int n = x.shape().n();
    int c = x.shape().c();
    if (!s.shape().equals(Shape.of(n, c)) && !s.shape().equals(Shape.of(n, c, 1, 1))) {
      throw new IllegalArgumentException("scale channels: the scale must be " + Shape.of(n, c)
          + " or " + Shape.of(n, c, 1, 1) + " for input " + x.shape() + ", got " + s.shape());
    }
    if (!y.shape().equals(x.shape())) {
      throw new IllegalArgumentException("scale channels: output must be " + x.shape()
          + " like the input, got " + y.shape());
    }
  }
}
