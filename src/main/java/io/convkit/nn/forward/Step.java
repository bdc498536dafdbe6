package io.convkit.nn.forward;

import io.convkit.conv.Activation;
import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.Arrays;

/**
 * One operation of a {@link ForwardPlan}: reads values (tensors) {@link #inputs()}, writes value
 * {@link #output()}. Engine steps run on the engine ({@link Conv}, {@link Fc}, {@link Pool},
 * {@link Add}, {@link Lrn}, {@link LayerNorm}, {@link Concat}); {@link Host} steps run
 * {@link HostOps} on host arrays.
 */
public abstract sealed class Step
    permits Step.ConvBacked, Step.Pool, Step.Add, Step.Lrn, Step.LayerNorm, Step.Concat,
    Step.ScaleChannels, Step.Host {
  /** What kind of work a step does (for reports and the agreement tests' bounds). */
  public enum Kind { CONV, FC, POOL, ADD, LRN, LAYER_NORM, CONCAT, SCALE_CHANNELS, HOST }

  private final String name;
  private final int[] inputs;
  private final int output;

  Step(String name, int[] inputs, int output) {
    this.name = name;
    this.inputs = inputs;
    this.output = output;
  }

  /** The network node whose value this step computes (or, inside SE, the node plus a suffix). */
  public String name() {
    return name;
  }

  public int[] inputs() {
    return inputs.clone();
  }

  int input(int i) {
    return inputs[i];
  }

  int inputCount() {
    return inputs.length;
  }

  public int output() {
    return output;
  }

  public abstract Kind kind();

  /** A short description for the per-layer report. */
  public abstract String describe();

  /** The shape of the tensor this step writes, for these input tensor shapes. */
  abstract Shape outputShape(Shape[] in);

  /** Multiply-adds for these input shapes (conv and FC only). */
  public long macs(Shape[] in) {
    return 0;
  }

  /** Runs the step; {@code scratch} holds the host steps' reusable arrays. */
  abstract void run(Engine e, Tensor[] in, Tensor out, Scratch scratch);

  /**
   * What a step keeps from call to call within one pass: a host step's arrays (one per input and
   * one for the output), an engine step's parameter tensors on the pass's engine.
   */
  static final class Scratch {
    float[][] in;
    float[] out;
    Tensor[] params;

    /** Frees the parameter tensors. */
    void close() {
      if (params != null) {
        for (Tensor t : params) {
          if (t != null) {
            t.close();
          }
        }
        params = null;
      }
    }

    float[][] read(Tensor[] t) {
      if (in == null || in.length != t.length) {
        in = new float[t.length][];
      }
      for (int i = 0; i < t.length; i++) {
        if (in[i] == null || in[i].length != t[i].elements()) {
          in[i] = new float[t[i].elements()];
        }
        t[i].copyTo(in[i]);
      }
      return in;
    }

    float[] out(Tensor t) {
      if (out == null || out.length != t.elements()) {
        out = new float[t.elements()];
      }
      return out;
    }
  }

  /**
   * A step that runs as a convolution on the engine ({@link Conv}, {@link Fc}): the layer's
   * weights until the plan is built, then the {@link Conv2d} with the fused activation and the
   * folded scales: Inception-ResNet's residual scale ({@code scale}, one number) and ConvNeXt's
   * layer scale ({@code channelScale}, one per output channel), both multiplied into the weights
   * and bias of each output channel.
   */
  public abstract static sealed class ConvBacked extends Step permits Conv, Fc {
    Conv2d conv;
    Activation act = Activation.NONE;
    double scale = 1;
    float[] channelScale;
    float[] weight;
    float[] bias;
    final io.convkit.conv.ConvSpec base;

    ConvBacked(String name, int in, int out, io.convkit.conv.ConvSpec base, float[] weight,
        float[] bias) {
      super(name, new int[] {in}, out);
      this.base = base;
      this.weight = weight;
      this.bias = bias;
    }

    /** The layer as it runs (valid once the plan is built). */
    public Conv2d conv() {
      return conv;
    }

    /** The shape the conv sees for an input tensor of shape {@code in}. */
    public abstract Shape convInput(Shape in);

    @Override
    public long macs(Shape[] in) {
      return conv.spec().macs(convInput(in[0]));
    }
  }

  /**
   * A convolution (BN folded in, a following activation fused, an add's scale or a layer scale
   * folded in).
   */
  public static final class Conv extends ConvBacked {
    Conv(String name, int in, int out, io.convkit.conv.ConvSpec base, float[] weight,
        float[] bias) {
      super(name, in, out, base, weight, bias);
    }

    @Override
    public Shape convInput(Shape in) {
      return in;
    }

    @Override
    public Kind kind() {
      return Kind.CONV;
    }

    @Override
    public String describe() {
      return conv.spec().toString();
    }

    @Override
    Shape outputShape(Shape[] in) {
      return conv.spec().outputShape(in[0]);
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      conv.forwardInto(in[0], e, out);
    }

    /** {@code out = act(conv(x) + residual)} in one engine call (an add fused into this conv). */
    void runWithResidual(Engine e, Tensor x, Tensor residual, Tensor out, Activation act) {
      e.convolveAdd(conv.plan(x.shape()), conv.weights(), x, residual, out, act);
    }
  }

  /**
   * A fully connected layer as a 1x1 convolution on the input viewed as {@code [N, in, 1, 1]},
   * so every engine runs it with its GEMM. Output {@code [N, out, 1, 1]}.
   */
  public static final class Fc extends ConvBacked {
    private Tensor viewOf;
    private Tensor view;

    Fc(String name, int in, int out, io.convkit.conv.ConvSpec base, float[] weight,
        float[] bias) {
      super(name, in, out, base, weight, bias);
    }

    @Override
    public Shape convInput(Shape in) {
      return Shape.of(in.dim(0), (int) (in.elements() / in.dim(0)), 1, 1);
    }

    @Override
    public Kind kind() {
      return Kind.FC;
    }

    @Override
    public String describe() {
      return "fc " + conv.spec().inChannels() + "->" + conv.spec().outChannels()
          + (act == Activation.NONE ? "" : ", " + act);
    }

    @Override
    Shape outputShape(Shape[] in) {
      return Shape.of(in[0].dim(0), conv().spec().outChannels(), 1, 1);
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      Tensor x = in[0];
      if (x.shape().rank() != 4 || x.shape().h() != 1 || x.shape().w() != 1) {
        if (viewOf != x || view.isClosed()) {
          viewOf = x;
          view = x.view(convInput(x.shape()));
        }
        x = view;
      }
      conv().forwardInto(x, e, out);
    }
  }

  /** Max or average pooling on the engine. */
  public static final class Pool extends Step {
    final PoolSpec spec;

    Pool(String name, int in, int out, PoolSpec spec) {
      super(name, new int[] {in}, out);
      this.spec = spec;
    }

    public PoolSpec spec() {
      return spec;
    }

    @Override
    public Kind kind() {
      return Kind.POOL;
    }

    @Override
    public String describe() {
      return spec.toString();
    }

    @Override
    Shape outputShape(Shape[] in) {
      return spec.outputShape(in[0]);
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      e.pool(spec, in[0], out);
    }
  }

  /** A residual join {@code act(in0 + in1 + ...)} on the engine. */
  public static final class Add extends Step {
    Activation act = Activation.NONE;

    Add(String name, int[] in, int out) {
      super(name, in, out);
    }

    @Override
    public Kind kind() {
      return Kind.ADD;
    }

    @Override
    public String describe() {
      return "add" + (act == Activation.NONE ? "" : ", " + act);
    }

    @Override
    Shape outputShape(Shape[] in) {
      return in[0];
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      for (int i = 1; i < in.length; i++) {
        e.add(i == 1 ? in[0] : out, in[i], out, i == in.length - 1 ? act : Activation.NONE);
      }
    }
  }

  /** Cross-channel local response normalisation on the engine. */
  public static final class Lrn extends Step {
    final LrnSpec spec;

    Lrn(String name, int in, int out, LrnSpec spec) {
      super(name, new int[] {in}, out);
      this.spec = spec;
    }

    public LrnSpec spec() {
      return spec;
    }

    @Override
    public Kind kind() {
      return Kind.LRN;
    }

    @Override
    public String describe() {
      return spec.toString();
    }

    @Override
    Shape outputShape(Shape[] in) {
      return in[0];
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      e.lrn(spec, in[0], out);
    }
  }

  /**
   * Layer norm over channels on the engine. Gamma and beta are put on the pass's engine at its
   * first call (device memory for the OpenCL engine) and kept in the pass's scratch until the
   * pass is closed, so later calls transfer nothing for them.
   */
  public static final class LayerNorm extends Step {
    private final float[] gamma;
    private final float[] beta;
    final double eps;

    LayerNorm(String name, int in, int out, float[] gamma, float[] beta, double eps) {
      super(name, new int[] {in}, out);
      this.gamma = gamma;
      this.beta = beta;
      this.eps = eps;
    }

    public float[] gamma() {
      return gamma.clone();
    }

    public float[] beta() {
      return beta.clone();
    }

    public double eps() {
      return eps;
    }

    @Override
    public Kind kind() {
      return Kind.LAYER_NORM;
    }

    @Override
    public String describe() {
      return "layernorm(" + gamma.length + " channels, eps " + eps + ")";
    }

    @Override
    Shape outputShape(Shape[] in) {
      return in[0];
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      if (s.params == null || Arrays.stream(s.params).anyMatch(Tensor::isClosed)) {
        s.close();
        s.params = new Tensor[] {onEngine(gamma, e), onEngine(beta, e)};
      }
      e.layerNorm(in[0], s.params[0], s.params[1], eps, out);
    }

    private static Tensor onEngine(float[] a, Engine e) {
      Tensor host = Tensor.of(a, a.length);
      if (e.isHost()) {
        return host;
      }
      try (host) {
        return host.to(e);
      }
    }
  }

  /** Concatenation along channels on the engine. */
  public static final class Concat extends Step {
    Concat(String name, int[] in, int out) {
      super(name, in, out);
    }

    @Override
    public Kind kind() {
      return Kind.CONCAT;
    }

    @Override
    public String describe() {
      return "concat of " + inputCount();
    }

    @Override
    Shape outputShape(Shape[] in) {
      int c = 0;
      for (Shape x : in) {
        c += x.c();
      }
      int[] dims = in[0].dims();
      dims[1] = c;
      return Shape.of(dims);
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      e.concat(Arrays.asList(in), out);
    }
  }

  /**
   * Squeeze-and-excitation's rescale on the engine: {@code y[n][c][:] = x[n][c][:] * g[n][c]},
   * input 0 the feature map, input 1 the gates ({@code [N][C][1][1]}, sigmoid already applied).
   */
  public static final class ScaleChannels extends Step {
    ScaleChannels(String name, int x, int gates, int out) {
      super(name, new int[] {x, gates}, out);
    }

    @Override
    public Kind kind() {
      return Kind.SCALE_CHANNELS;
    }

    @Override
    public String describe() {
      return "scale channels";
    }

    @Override
    Shape outputShape(Shape[] in) {
      return in[0];
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      e.scaleChannels(in[0], in[1], out);
    }
  }

  /** An operation of {@link HostOps} on host arrays. */
  public static final class Host extends Step {
    /** The array computation: inputs, their shapes, the output array and its shape. */
    interface Op {
      void apply(float[][] in, Shape[] inShapes, float[] out, Shape outShape);
    }

    /** The output shape for the input shapes. */
    interface ShapeRule {
      Shape apply(Shape[] in);
    }

    private final String what;
    private final ShapeRule shape;
    private final Op op;

    Host(String name, int[] in, int out, String what, ShapeRule shape, Op op) {
      super(name, in, out);
      this.what = what;
      this.shape = shape;
      this.op = op;
    }

    @Override
    public Kind kind() {
      return Kind.HOST;
    }

    @Override
    public String describe() {
      return what + " (host)";
    }

    @Override
    Shape outputShape(Shape[] in) {
      return shape.apply(in);
    }

    @Override
    void run(Engine e, Tensor[] in, Tensor out, Scratch s) {
      float[][] x = s.read(in);
      Shape[] shapes = new Shape[in.length];
      for (int i = 0; i < in.length; i++) {
        shapes[i] = in[i].shape();
      }
      float[] y = s.out(out);
      op.apply(x, shapes, y, out.shape());
      out.copyFrom(y);
    }
  }
}
