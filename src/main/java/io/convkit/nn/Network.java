package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A network as a DAG of named nodes in topological order. The graph input is the node named
 * {@value #INPUT}; the output is the last node. Built with {@link NetworkBuilder}: sequential by
 * default, with {@link Add} and {@link Concat} joins. No weights are held: {@link #forward} and {@code io.convkit.nn.forward} attach them.
 */
public final class Network {
  /** The name of the graph input. */
  public static final String INPUT = "input";

  /** One node: a layer and the names of the nodes it reads. */
  public record Node(String name, Layer layer, List<String> inputs) {
    public Node {
      inputs = List.copyOf(inputs);
    }
  }

  private final String name;
  private final Shape nativeInput;
  private final List<Node> nodes;
  private final Map<String, Node> byName;

  Network(String name, Shape nativeInput, List<Node> nodes) {
    this.name = name;
    this.nativeInput = nativeInput;
    this.nodes = List.copyOf(nodes);
    Map<String, Node> m = new HashMap<>();
    for (Node n : nodes) {
      m.put(n.name(), n);
    }
    this.byName = m;
  }

  public static NetworkBuilder builder(String name, Shape input) {
    return new NetworkBuilder(name, input);
  }

  public String name() {
    return name;
  }

  /** The input shape the network was defined at (N = 1). */
  public Shape nativeInput() {
    return nativeInput;
  }

  public List<Node> nodes() {
    return nodes;
  }

  public Node node(String name) {
    Node n = byName.get(name);
    if (n == null) {
      throw new IllegalArgumentException(this.name + ": no layer named '" + name + "'");
    }
    return n;
  }

  /** The nodes whose layer is of this class, in order. */
  public <T extends Layer> List<T> layers(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Node n : nodes) {
      if (type.isInstance(n.layer())) {
        out.add(type.cast(n.layer()));
      }
    }
    return out;
  }

  /** Every node's output shape for this input (the input included, under {@value #INPUT}). */
  public Map<String, Shape> shapes(Shape input) {
    Map<String, Shape> shapes = new LinkedHashMap<>();
    shapes.put(INPUT, input);
    for (Node n : nodes) {
      shapes.put(n.name(), outputOf(n, shapes));
    }
    return Collections.unmodifiableMap(shapes);
  }

  static Shape outputOf(Node n, Map<String, Shape> shapes) {
    try {
      return n.layer().outputShape(inputShapes(n, shapes));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("layer '" + n.name() + "': " + e.getMessage(), e);
    }
  }

  static List<Shape> inputShapes(Node n, Map<String, Shape> shapes) {
    List<Shape> in = new ArrayList<>(n.inputs().size());
    for (String s : n.inputs()) {
      in.add(shapes.get(s));
    }
    return in;
  }

  public Summary summary() {
    return summary(nativeInput);
  }

  /** Per-layer output shapes, parameters and MACs for this input shape. */
  public Summary summary(Shape input) {
    Map<String, Shape> shapes = shapes(input);
    List<Summary.Row> rows = new ArrayList<>();
    for (Node n : nodes) {
      Shape out = shapes.get(n.name());
      long macs = n.layer().macs(inputShapes(n, shapes));
      rows.add(new Summary.Row(n.name(), n.layer().type(), out, n.layer().paramsTrained(),
          n.layer().paramsDeployed(), macs, out.elements()));
    }
    return new Summary(name, input, rows);
  }

  public long paramsTrained() {
    long p = 0;
    for (Node n : nodes) {
      p += n.layer().paramsTrained();
    }
    return p;
  }

  public long paramsDeployed() {
    long p = 0;
    for (Node n : nodes) {
      p += n.layer().paramsDeployed();
    }
    return p;
  }

  /**
   * The depth as the papers count it: the most weight layers (convolutions, fully connected and
   * RBF layers; not the small FCs inside squeeze-and-excitation) on any path from input to output.
   */
  public int weightDepth() {
    Map<String, Integer> depth = new HashMap<>();
    depth.put(INPUT, 0);
    int last = 0;
    for (Node n : nodes) {
      int d = 0;
      for (String in : n.inputs()) {
        d = Math.max(d, depth.get(in));
      }
      Layer l = n.layer();
      if (l instanceof ConvLayer || l instanceof Linear || l instanceof RbfOutput) {
        d++;
      }
      depth.put(n.name(), d);
      last = d;
    }
    return last;
  }

  /**
   * One forward pass with seeded random weights (He init, seed 0): a new output tensor on the
   * host that the caller closes. Each call builds the weights anew; for repeated calls build a
   * {@link io.convkit.nn.forward.ForwardPlan} once and run it with a
   * {@link io.convkit.nn.forward.ForwardPass} per engine.
   */
  public io.convkit.tensor.Tensor forward(io.convkit.tensor.Tensor input,
      io.convkit.engine.Engine engine) {
    try (var plan = new io.convkit.nn.forward.ForwardPlan(this,
            io.convkit.nn.weights.NetworkWeights.random(this, 0));
        var pass = new io.convkit.nn.forward.ForwardPass(plan, engine)) {
      return pass.forward(input).to(io.convkit.tensor.Device.HOST);
    }
  }

  @Override
  public String toString() {
    return name + " (" + nodes.size() + " layers, input " + nativeInput + ")";
  }
}
