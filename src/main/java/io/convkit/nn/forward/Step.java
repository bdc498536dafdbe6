package io.convkit.nn.forward;

import io.convkit.conv.Activation;
import io.convkit.engine.Engine;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;

/**
 * One operation of a {@link ForwardPlan}: reads values (tensors) {@link #inputs()}, writes value
 * {@link #output()}. Engine steps run on the engine ({@link Conv}, {@link Fc}, {@link Pool},
 * {@link Add}); {@link Host} steps run {@link HostOps} on host arrays.
 */
public abstract sealed class Step permits Step.ConvBacked, Step.Pool, Step.Add, Step.Host {
  /** What kind of work a step does (for reports and the agreement tests' bounds). */
  public enum Kind { CONV, FC, POOL, ADD, HOST }

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

  /** Host arrays a host step reuses from call to call (one per input and one for the output). */
  static final class Scratch {
    float[][] in;
    float[] out;

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
