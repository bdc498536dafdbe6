package io.convkit.onnx;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Act;
import io.convkit.nn.Add;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.Concat;
import io.convkit.nn.ConvLayer;
import io.convkit.nn.Dropout;
import io.convkit.nn.Flatten;
import io.convkit.nn.HardSigmoid;
import io.convkit.nn.Layer;
import io.convkit.nn.LayerNorm;
import io.convkit.nn.LayerScale;
import io.convkit.nn.Linear;
import io.convkit.nn.Lrn;
import io.convkit.nn.Network;
import io.convkit.nn.PoolLayer;
import io.convkit.nn.RbfOutput;
import io.convkit.nn.Softmax;
import io.convkit.nn.SqueezeExcite;
import io.convkit.nn.Subsampling;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A convkit network with its weights as an ONNX model (opset 17, IR version 8): one ONNX node, or
 * a short fixed pattern of nodes, per layer, so that any ONNX runtime computes what convkit's
 * reference engine does.
 *
 * <p>Names: the graph input is {@value Network#INPUT} with a symbolic batch ({@code N}); each
 * layer's output keeps the layer's node name; weights are initializers named
 * {@code node.param} (convkit's own keys, as {@link NetworkWeights} holds them). Batch norm is
 * exported unfolded (BatchNormalization), as the network describes it.
 *
 * <p>Layers that ONNX has no single op for: swish as {@code x * Sigmoid(x)}; GELU as the erf
 * form {@code x * 0.5 * (1 + Erf(x / sqrt 2))} (opset 17 has no Gelu); ReLU6 as Clip(0, 6);
 * convkit's channels-first layer norm as Transpose, LayerNormalization over the last axis,
 * Transpose back; layer scale as a Mul by a {@code [C, 1, 1]} constant; squeeze-and-excitation
 * as GlobalAveragePool, two 1x1 Convs, Sigmoid and Mul; LeNet-5's subsampling as a depthwise
 * Conv whose taps all hold the channel's coefficient; LeNet-5's RBF output
 * {@code sum_j (x_j - c_ij)^2} as {@code ReduceSumSquare(x) - 2 x c^T + |c_i|^2} (exact for its
 * +-1 centres up to float rounding); a scaled residual add {@code a + s * (b + ...)} as Sum and
 * Mul.
 */
public final class OnnxExport {
  /** The opset written; the highest that ONNX Runtime 1.23 and PyTorch 1.13's readers share. */
  public static final long OPSET = 17;

  /** IR version for opset 17. */
  public static final long IR_VERSION = 8;

  /** The epsilon convkit's LayerNorm uses (ConvNeXt's). */
  static final float LAYER_NORM_EPS = 1e-6f;

  private final Network net;
  private final NetworkWeights weights;
  private final List<OnnxNode> nodes = new ArrayList<>();
  private final List<OnnxTensor> initializers = new ArrayList<>();
  private final Shape input;
  private final Map<String, Shape> shapes;
  private final Map<String, int[]> paramShapes = new HashMap<>();
  private int constants;

  private OnnxExport(Network net, NetworkWeights weights, Shape input) {
    this.net = net;
    this.weights = weights;
    this.input = input;
    this.shapes = net.shapes(input);
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      paramShapes.put(p.key(), p.shape());
    }
  }

  /**
   * The model for {@code net} with {@code weights} (e.g. {@link NetworkWeights#random} or a
   * loaded checkpoint). Throws {@link IllegalArgumentException} naming the layer a weight is
   * missing for.
   */
  public static OnnxModel export(Network net, NetworkWeights weights) {
    if (net == null) {
      throw new IllegalArgumentException("onnx export: the network is null");
    }
    return export(net, weights, net.nativeInput());
  }

  /**
   * The model for another input size (a network with global pooling runs at any): the graph's
   * input is {@code [N, C, H, W]} of {@code input} with a symbolic batch; an explicit pool
   * window or FC size is fixed by it.
   */
  public static OnnxModel export(Network net, NetworkWeights weights, Shape input) {
    if (net == null || weights == null || input == null) {
      throw new IllegalArgumentException("onnx export: network, weights and input shape must not"
          + " be null");
    }
    return new OnnxExport(net, weights, input).build();
  }

  private OnnxModel build() {
    for (Network.Node n : net.nodes()) {
      layer(n);
    }
    long[] inDims = dims(input);
    inDims[0] = -1; // any batch
    String last = net.nodes().get(net.nodes().size() - 1).name();
    long[] outDims = dims(shapes.get(last));
    outDims[0] = -1;
    OnnxGraph g = new OnnxGraph(net.name(), nodes, initializers,
        List.of(new OnnxGraph.ValueInfo(Network.INPUT, OnnxTensor.FLOAT, inDims)),
        List.of(new OnnxGraph.ValueInfo(last, OnnxTensor.FLOAT, outDims)));
    return new OnnxModel(IR_VERSION, List.of(new OnnxModel.OpsetId("", OPSET)), "convkit", g);
  }

  private static long[] dims(Shape s) {
    long[] d = new long[s.rank()];
    for (int i = 0; i < d.length; i++) {
      d[i] = s.dim(i);
    }
    return d;
  }

  private void layer(Network.Node n) {
    String name = n.name();
    List<String> in = n.inputs();
    Layer l = n.layer();
    if (l instanceof ConvLayer c) {
      conv(name, in.get(0), name, "", c.spec());
    } else if (l instanceof BatchNorm bn) {
      node("BatchNormalization", name, List.of(in.get(0), param(name, "weight"),
          param(name, "bias"), param(name, "running_mean"), param(name, "running_var")), name,
          new OnnxAttribute.Float("epsilon", (float) bn.eps()));
    } else if (l instanceof Act a) {
      act(a.kind(), in.get(0), name, name);
    } else if (l instanceof Add a) {
      add(name, in, a.scale());
    } else if (l instanceof Concat) {
      node("Concat", name, in, name, new OnnxAttribute.Int("axis", 1));
    } else if (l instanceof PoolLayer p) {
      pool(name, in.get(0), p.spec());
    } else if (l instanceof Linear fc) {
      String flat = name + "/flatten";
      node("Flatten", flat, List.of(in.get(0)), flat, new OnnxAttribute.Int("axis", 1));
      List<String> ins = new ArrayList<>(List.of(flat, param(name, "weight")));
      if (fc.hasBias()) {
        ins.add(param(name, "bias"));
      }
      node("Gemm", name, ins, name, new OnnxAttribute.Int("transB", 1));
    } else if (l instanceof Flatten) {
      node("Flatten", name, in, name, new OnnxAttribute.Int("axis", 1));
    } else if (l instanceof Dropout) {
      node("Identity", name, in, name);
    } else if (l instanceof Softmax) {
      node("Softmax", name, in, name, new OnnxAttribute.Int("axis", 1));
    } else if (l instanceof HardSigmoid hs) {
      node("HardSigmoid", name, in, name, new OnnxAttribute.Float("alpha", (float) hs.alpha()),
          new OnnxAttribute.Float("beta", (float) hs.beta()));
    } else if (l instanceof Lrn lrn) {
      node("LRN", name, in, name, new OnnxAttribute.Int("size", lrn.size()),
          new OnnxAttribute.Float("alpha", (float) lrn.alpha()),
          new OnnxAttribute.Float("beta", (float) lrn.beta()),
          new OnnxAttribute.Float("bias", (float) lrn.k()));
    } else if (l instanceof LayerNorm) {
      layerNorm(name, in.get(0));
    } else if (l instanceof LayerScale ls) {
      float[] g = weights.get(name, "weight");
      String scale = name + ".weight";
      initializers.add(OnnxTensor.ofFloats(scale, new long[] {ls.channels(), 1, 1}, g));
      node("Mul", name, List.of(in.get(0), scale), name);
    } else if (l instanceof SqueezeExcite se) {
      squeezeExcite(name, in.get(0), se);
    } else if (l instanceof Subsampling s) {
      subsampling(name, in.get(0), s);
    } else if (l instanceof RbfOutput r) {
      rbf(name, in.get(0), r);
    } else {
      throw new IllegalArgumentException("onnx export of " + net.name() + ": layer '" + name
          + "' (" + l.type() + ") has no ONNX form");
    }
  }

  /** Adds the initializer {@code node.param} from the weights and returns its name. */
  private String param(String node, String param) {
    String key = node + "." + param;
    float[] v = weights.get(node, param);
    int[] shape = paramShapes.get(key);
    if (shape == null) {
      throw new IllegalArgumentException("onnx export of " + net.name() + ": no parameter " + key);
    }
    initializers.add(OnnxTensor.ofFloats(key, Arrays.stream(shape).asLongStream().toArray(), v));
    return key;
  }

  private String constant(String hint, long[] dims, float... values) {
    String name = hint + "/const" + constants++;
    initializers.add(OnnxTensor.ofFloats(name, dims, values));
    return name;
  }

  private void node(String op, String name, List<String> inputs, String output,
      OnnxAttribute... attributes) {
    nodes.add(new OnnxNode(name, op, "", inputs, List.of(output), List.of(attributes)));
  }

  private void conv(String name, String input, String output, String prefix, ConvSpec s) {
    List<String> ins = new ArrayList<>(List.of(input, param(name, prefix + "weight")));
    if (s.hasBias()) {
      ins.add(param(name, prefix + "bias"));
    }
    String convOut = s.activation() == Activation.NONE ? output : output + "/conv";
    node("Conv", name + (prefix.isEmpty() ? "" : "/" + prefix.substring(0, prefix.length() - 1)),
        ins, convOut,
        new OnnxAttribute.Ints("kernel_shape", new long[] {s.kernelH(), s.kernelW()}),
        new OnnxAttribute.Ints("strides", new long[] {s.strideH(), s.strideW()}),
        new OnnxAttribute.Ints("pads", new long[] {s.padTop(), s.padLeft(), s.padBottom(),
            s.padRight()}),
        new OnnxAttribute.Ints("dilations", new long[] {s.dilationH(), s.dilationW()}),
        new OnnxAttribute.Int("group", s.groups()));
    if (s.activation() != Activation.NONE) {
      act(kindOf(s.activation()), convOut, output, output + "/act");
    }
  }

  private static Act.Kind kindOf(Activation a) {
    for (Act.Kind k : Act.Kind.values()) {
      if (k.fused() == a) {
        return k;
      }
    }
    throw new AssertionError(a);
  }

  /** {@code output = kind(input)}; node names start with {@code name}. */
  private void act(Act.Kind kind, String input, String output, String name) {
    switch (kind) {
      case RELU -> node("Relu", name, List.of(input), output);
      case RELU6 -> node("Clip", name, List.of(input, scalar(name, 0f), scalar(name, 6f)), output);
      case SIGMOID -> node("Sigmoid", name, List.of(input), output);
      case TANH -> node("Tanh", name, List.of(input), output);
      case HARD_SWISH -> node("HardSwish", name, List.of(input), output);
      case SWISH -> {
        node("Sigmoid", name + "/sigmoid", List.of(input), name + "/sigmoid");
        node("Mul", name, List.of(input, name + "/sigmoid"), output);
      }
      case GELU -> {
        node("Div", name + "/div", List.of(input, scalar(name, (float) Math.sqrt(2))),
            name + "/div");
        node("Erf", name + "/erf", List.of(name + "/div"), name + "/erf");
        node("Add", name + "/add", List.of(name + "/erf", scalar(name, 1f)), name + "/add");
        node("Mul", name + "/mul", List.of(input, name + "/add"), name + "/mul");
        node("Mul", name, List.of(name + "/mul", scalar(name, 0.5f)), output);
      }
    }
  }

  private String scalar(String hint, float v) {
    return constant(hint, new long[0], v);
  }

  private void add(String name, List<String> in, double scale) {
    if (scale == 1) {
      node(in.size() == 2 ? "Add" : "Sum", name, in, name);
      return;
    }
    // a + s * (b + ...)
    List<String> rest = in.subList(1, in.size());
    String sum = rest.get(0);
    if (rest.size() > 1) {
      sum = name + "/sum";
      node("Sum", sum, rest, sum);
    }
    node("Mul", name + "/scale", List.of(sum, scalar(name, (float) scale)), name + "/scale");
    node("Add", name, List.of(in.get(0), name + "/scale"), name);
  }

  private void pool(String name, String input, PoolSpec p) {
    if (p.isGlobal()) {
      node(p.kind() == PoolKind.MAX ? "GlobalMaxPool" : "GlobalAveragePool", name, List.of(input),
          name);
      return;
    }
    Shape in = shapes.get(input);
    List<OnnxAttribute> a = new ArrayList<>(List.of(
        new OnnxAttribute.Ints("kernel_shape", new long[] {p.kernelH(in), p.kernelW(in)}),
        new OnnxAttribute.Ints("strides", new long[] {p.strideH(), p.strideW()}),
        new OnnxAttribute.Ints("pads", new long[] {p.padTop(), p.padLeft(), p.padBottom(),
            p.padRight()}),
        new OnnxAttribute.Int("ceil_mode", p.ceilMode() ? 1 : 0)));
    if (p.kind() == PoolKind.AVG) {
      a.add(new OnnxAttribute.Int("count_include_pad", p.countPadding() ? 1 : 0));
    }
    node(p.kind() == PoolKind.MAX ? "MaxPool" : "AveragePool", name, List.of(input), name,
        a.toArray(new OnnxAttribute[0]));
  }

  private void layerNorm(String name, String input) {
    node("Transpose", name + "/nhwc", List.of(input), name + "/nhwc",
        new OnnxAttribute.Ints("perm", new long[] {0, 2, 3, 1}));
    node("LayerNormalization", name + "/ln", List.of(name + "/nhwc", param(name, "weight"),
        param(name, "bias")), name + "/ln", new OnnxAttribute.Int("axis", -1),
        new OnnxAttribute.Float("epsilon", LAYER_NORM_EPS));
    node("Transpose", name, List.of(name + "/ln"), name,
        new OnnxAttribute.Ints("perm", new long[] {0, 3, 1, 2}));
  }

  private void squeezeExcite(String name, String input, SqueezeExcite se) {
    node("GlobalAveragePool", name + "/pool", List.of(input), name + "/pool");
    conv(name, name + "/pool", name + "/reduce", "reduce.", se.reduce());
    act(se.inner(), name + "/reduce", name + "/inner", name + "/inner");
    conv(name, name + "/inner", name + "/expand", "expand.", se.expand());
    node("Sigmoid", name + "/gate", List.of(name + "/expand"), name + "/gate");
    node("Mul", name, List.of(input, name + "/gate"), name);
  }

  private void subsampling(String name, String input, Subsampling s) {
    int c = s.channels();
    int k = s.window();
    float[] coeff = weights.get(name, "weight");
    float[] w = new float[c * k * k];
    for (int ch = 0; ch < c; ch++) {
      Arrays.fill(w, ch * k * k, (ch + 1) * k * k, coeff[ch]);
    }
    String wName = name + ".weight/taps";
    initializers.add(OnnxTensor.ofFloats(wName, new long[] {c, 1, k, k}, w));
    node("Conv", name, List.of(input, wName, param(name, "bias")), name,
        new OnnxAttribute.Ints("kernel_shape", new long[] {k, k}),
        new OnnxAttribute.Ints("strides", new long[] {k, k}),
        new OnnxAttribute.Int("group", c));
  }

  private void rbf(String name, String input, RbfOutput r) {
    float[] centres = weights.get(name, "weight");
    float[] norms = new float[r.out()];
    for (int i = 0; i < r.out(); i++) {
      double sq = 0;
      for (int j = 0; j < r.in(); j++) {
        sq += (double) centres[i * r.in() + j] * centres[i * r.in() + j];
      }
      norms[i] = (float) sq;
    }
    String flat = name + "/flatten";
    node("Flatten", flat, List.of(input), flat, new OnnxAttribute.Int("axis", 1));
    String c = param(name, "weight");
    String bias = constant(name, new long[] {r.out()}, norms);
    node("Gemm", name + "/cross", List.of(flat, c, bias), name + "/cross",
        new OnnxAttribute.Int("transB", 1), new OnnxAttribute.Float("alpha", -2f));
    nodes.add(new OnnxNode(name + "/sq", "ReduceSumSquare", "", List.of(flat),
        List.of(name + "/sq"), List.of(new OnnxAttribute.Ints("axes", new long[] {1}),
            new OnnxAttribute.Int("keepdims", 1))));
    node("Add", name, List.of(name + "/cross", name + "/sq"), name);
  }
}
