package io.convkit.nn;

import io.convkit.conv.ConvSpec;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link Network}. Each call appends a node that reads the current node (or the named
 * inputs) and becomes the current node, so plain chains read top to bottom:
 *
 * <pre>{@code
 * NetworkBuilder b = Network.builder("net", Shape.of(1, 3, 224, 224));
 * b.convBn("conv1", 64, 7, 2, 3).relu().maxPool(3, 2, 1);
 * String x = b.current();
 * b.convBn("a", 64, 3, 1, 1).relu().convBn("b", 64, 3, 1, 1);
 * b.add("res", x, b.current()).relu();
 * b.from(x);                         // branch again from x
 * }</pre>
 *
 * Shapes are computed as nodes are added (at the native input), so channel counts are inferred
 * and a mismatch fails at once, naming the layer. Layers added without a name ({@link #bn()},
 * {@link #relu()}, pools) are named after the last named layer: {@code conv1_bn},
 * {@code conv1_relu}. {@link #bn()} right after a conv folds into it for inference.
 */
public final class NetworkBuilder {
  private final String name;
  private final Shape input;
  private final List<Network.Node> nodes = new ArrayList<>();
  private final Map<String, Shape> shapes = new HashMap<>();
  private final Map<String, Integer> index = new HashMap<>();
  private String current = Network.INPUT;
  private String base = "";
  private double bnEps = BatchNorm.DEFAULT_EPS;

  NetworkBuilder(String name, Shape input) {
    if (input == null || input.rank() != 4) {
      throw new IllegalArgumentException(name + ": the input must be an NCHW shape, got " + input);
    }
    this.name = name;
    this.input = input;
    shapes.put(Network.INPUT, input);
  }

  /** The name of the current node (the graph input at first). */
  public String current() {
    return current;
  }

  /** The current node's output shape at the native input. */
  public Shape shape() {
    return shapes.get(current);
  }

  public Shape shape(String node) {
    Shape s = shapes.get(node);
    if (s == null) {
      throw new IllegalArgumentException(name + ": no layer named '" + node + "'");
    }
    return s;
  }

  /** The current node's channels (dimension 1). */
  public int channels() {
    return shape().dim(1);
  }

  /** Makes {@code node} current: the next layer reads it (a branch). */
  public NetworkBuilder from(String node) {
    shape(node);
    current = node;
    base = node;
    return this;
  }

  /** Appends {@code layer} under {@code name}, reading {@code inputs} (none: the current node). */
  public NetworkBuilder layer(String name, Layer layer, String... inputs) {
    if (name == null || name.isBlank() || name.equals(Network.INPUT)) {
      throw new IllegalArgumentException(this.name + ": bad layer name '" + name + "'");
    }
    if (shapes.containsKey(name)) {
      throw new IllegalArgumentException(this.name + ": duplicate layer name '" + name + "'");
    }
    List<String> in = inputs.length == 0 ? List.of(current) : List.of(inputs);
    for (String s : in) {
      shape(s);
    }
    if (layer.arity() == 1 && in.size() != 1) {
      throw new IllegalArgumentException(this.name + ": layer '" + name + "' takes one input, got "
          + in);
    }
    Network.Node node = new Network.Node(name, layer, in);
    shapes.put(name, Network.outputOf(node, shapes));
    index.put(name, nodes.size());
    nodes.add(node);
    current = name;
    base = name;
    return this;
  }

  /** Appends an unnamed layer, named after the last named one plus {@code suffix}. */
  private NetworkBuilder auto(String suffix, Layer layer) {
    String keep = base;
    String n = keep + "_" + suffix;
    for (int i = 2; shapes.containsKey(n); i++) {
      n = keep + "_" + suffix + i;
    }
    layer(n, layer);
    base = keep;
    return this;
  }

  // ---- convolution and normalisation

  public NetworkBuilder conv(String name, ConvSpec spec) {
    return layer(name, new ConvLayer(spec));
  }

  /** A square conv with bias reading the current node's channels. */
  public NetworkBuilder conv(String name, int out, int k, int stride, int pad) {
    return conv(name, out, k, stride, pad, 1, true);
  }

  public NetworkBuilder conv(String name, int out, int k, int stride, int pad, int groups,
      boolean bias) {
    return conv(name, Specs.conv(name, channels(), out, k, stride, pad, groups, bias));
  }

  /** A {@code kh x kw} conv, padding {@code ph} rows and {@code pw} columns on each side. */
  public NetworkBuilder conv(String name, int out, int kh, int kw, int stride, int ph, int pw,
      boolean bias) {
    return conv(name, ConvSpec.builder(channels(), out, kh, kw).name(name).stride(stride)
        .padding(ph, pw, ph, pw).bias(bias).build());
  }

  /** A square conv without bias followed by batch norm (folded into it for inference). */
  public NetworkBuilder convBn(String name, int out, int k, int stride, int pad) {
    return conv(name, out, k, stride, pad, 1, false).bn();
  }

  public NetworkBuilder convBn(String name, int out, int k, int stride, int pad, int groups) {
    return conv(name, out, k, stride, pad, groups, false).bn();
  }

  /** Depthwise conv (groups = channels, multiplier 1) without bias, then batch norm. */
  public NetworkBuilder dwBn(String name, int k, int stride, int pad) {
    int c = channels();
    return conv(name, c, k, stride, pad, c, false).bn();
  }

  /**
   * Batch norm over the current channels. Right after a conv it is folded into that conv for
   * inference: the conv gains a bias and the BN stores nothing when deployed.
   */
  /** The epsilon of the batch norms {@link #bn()} adds from now on (default 1e-5). */
  public NetworkBuilder bnEps(double eps) {
    if (!(eps > 0) || Double.isInfinite(eps)) {
      throw new IllegalArgumentException(name + ": batch norm eps must be > 0, got " + eps);
    }
    bnEps = eps;
    return this;
  }

  public NetworkBuilder bn() {
    String folded = null;
    Integer at = index.get(current);
    if (at != null && nodes.get(at).layer() instanceof ConvLayer c && at == nodes.size() - 1) {
      Network.Node old = nodes.get(at);
      nodes.set(at, new Network.Node(old.name(), c.withFoldedBn(), old.inputs()));
      folded = old.name();
    }
    return auto("bn", new BatchNorm(channels(), folded, bnEps));
  }

  // ---- activations and element-wise layers

  public NetworkBuilder relu() {
    return act(Act.Kind.RELU);
  }

  public NetworkBuilder relu6() {
    return act(Act.Kind.RELU6);
  }

  public NetworkBuilder act(Act.Kind kind) {
    return auto(kind.name().toLowerCase(), new Act(kind));
  }

  public NetworkBuilder dropout(double p) {
    return auto("dropout", new Dropout(p));
  }

  public NetworkBuilder softmax() {
    return auto("softmax", new Softmax());
  }

  public NetworkBuilder flatten() {
    return auto("flatten", new Flatten());
  }

  public NetworkBuilder lrn(Lrn lrn) {
    return auto("lrn", lrn);
  }

  public NetworkBuilder layerNorm(String name) {
    return layer(name, new LayerNorm(channels()));
  }

  public NetworkBuilder layerScale(String name) {
    return layer(name, new LayerScale(channels()));
  }

  /** Squeeze-and-excitation on the current channels. */
  public NetworkBuilder se(String name, int reduced, Act.Kind inner) {
    return layer(name, new SqueezeExcite(name, channels(), reduced, inner));
  }

  // ---- pooling

  public NetworkBuilder pool(String name, PoolSpec spec) {
    return layer(name, new PoolLayer(spec));
  }

  public NetworkBuilder maxPool(int k, int stride, int pad) {
    return maxPool(k, stride, pad, false);
  }

  public NetworkBuilder maxPool(int k, int stride, int pad, boolean ceil) {
    return auto("maxpool", new PoolLayer(PoolSpec.builder(PoolKind.MAX, k, k).stride(stride)
        .padding(pad).ceilMode(ceil).name(base + "_maxpool").build()));
  }

  /** A named max pool. */
  public NetworkBuilder maxPool(String name, int k, int stride, int pad, boolean ceil) {
    return layer(name, new PoolLayer(PoolSpec.builder(PoolKind.MAX, k, k).stride(stride)
        .padding(pad).ceilMode(ceil).name(name).build()));
  }

  /** A named average pool. */
  public NetworkBuilder avgPool(String name, int k, int stride, int pad, boolean ceil,
      boolean countPad) {
    return layer(name, new PoolLayer(PoolSpec.builder(PoolKind.AVG, k, k).stride(stride)
        .padding(pad).ceilMode(ceil).countPadding(countPad).name(name).build()));
  }

  public NetworkBuilder avgPool(int k, int stride, int pad, boolean ceil, boolean countPad) {
    return auto("avgpool", new PoolLayer(PoolSpec.builder(PoolKind.AVG, k, k).stride(stride)
        .padding(pad).ceilMode(ceil).countPadding(countPad).name(base + "_avgpool").build()));
  }

  public NetworkBuilder globalAvgPool() {
    return auto("gap", new PoolLayer(PoolSpec.global(PoolKind.AVG)));
  }

  // ---- fully connected

  /** A fully connected layer reading the current node's features (flattened). */
  public NetworkBuilder fc(String name, int out, boolean bias) {
    Shape s = shape();
    return layer(name, new Linear((int) (s.elements() / s.dim(0)), out, bias));
  }

  // ---- joins

  /** {@code inputs[0] + inputs[1] + ...} (a residual join). */
  public NetworkBuilder add(String name, String... inputs) {
    return layer(name, new Add(1.0), inputs);
  }

  /** {@code inputs[0] + scale * inputs[1]} (Inception-ResNet's scaled residual). */
  public NetworkBuilder addScaled(String name, double scale, String identity, String residual) {
    return layer(name, new Add(scale), identity, residual);
  }

  /** Channel concatenation. */
  public NetworkBuilder concat(String name, String... inputs) {
    return layer(name, new Concat(), inputs);
  }

  public Network build() {
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException(name + ": a network needs at least one layer");
    }
    if (!current.equals(nodes.get(nodes.size() - 1).name())) {
      throw new IllegalArgumentException(name + ": the current node '" + current
          + "' is not the last one added; the output must be the last layer");
    }
    return new Network(name, input, nodes);
  }
}
