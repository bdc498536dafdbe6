package io.convkit.onnx;

import io.convkit.conv.ConvSpec;
import io.convkit.engine.LrnSpec;
import io.convkit.nn.Act;
import io.convkit.nn.Add;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.Concat;
import io.convkit.nn.Dropout;
import io.convkit.nn.ConvLayer;
import io.convkit.nn.Flatten;
import io.convkit.nn.HardSigmoid;
import io.convkit.nn.Layer;
import io.convkit.nn.LayerNorm;
import io.convkit.nn.LayerScale;
import io.convkit.nn.Linear;
import io.convkit.nn.Lrn;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.nn.PoolLayer;
import io.convkit.nn.Softmax;
import io.convkit.nn.Specs;
import io.convkit.nn.SqueezeExcite;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.nn.weights.ParamNaming;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Imports an ONNX graph ({@link OnnxModel}) as a convkit {@link Network} with its
 * {@link NetworkWeights}. The graph is walked in topological order (sorted when the file's order
 * is not); every tensor becomes a constant (initializers, Constant nodes and whatever folds from
 * them, shape chains included), a computed tensor backed by a convkit layer, or a pending
 * pattern that only its consumers decide ({@code Sigmoid(x)} becomes swish when multiplied by
 * {@code x}, {@code Erf(x / sqrt 2)} a GELU once the rest of the pattern arrives, a zero Pad
 * the padding of the Conv that reads it, a Transpose to channels-last the layout of a layer
 * norm and the 1x1 convs inside ConvNeXt's block). Then:
 * <ul>
 *   <li>layers nothing reads are dropped;</li>
 *   <li>an added constant folds into the bias of the Conv, Gemm/MatMul or BatchNormalization that
 *       produces the tensor (read by nothing else), else the import fails;</li>
 *   <li>a BatchNormalization reading a Conv that nothing else reads folds into it; activations
 *       and per-channel scales (layer scale) fuse in {@link io.convkit.nn.forward.ForwardPlan}.
 *       </li>
 * </ul>
 * Anything else is an {@link OnnxImportException} with one line naming the op, the node and
 * the opset.
 */
public final class OnnxImport {
  private OnnxImport() {}

  /** An imported network and the weights its forward pass reads. */
  public record Imported(Network network, NetworkWeights weights) {}

  /**
   * The network {@code model} describes, named {@code name}, and its weights (from the
   * initializers and Constant nodes). The native input is the graph input's shape, with a
   * symbolic batch read as 1 (the network runs at any batch).
   */
  public static Imported toNetwork(OnnxModel model, String name) {
    if (model == null) {
      throw new OnnxImportException("onnx import: the model is null");
    }
    if (name == null || name.isBlank()) {
      throw new OnnxImportException("onnx import: the network name is empty");
    }
    return new Importer(model, name).run();
  }

  // ---- values: what an ONNX tensor is while importing

  /** The batch dimension when the graph input's is symbolic (in folded shape constants). */
  static final long BATCH = Long.MIN_VALUE + 7;

  private sealed interface Val permits Const, Dyn, Sig, HardSig, Scaled, ErfV, ErfP1, XErf,
      Padded, LnPart {}

  /** A constant, row-major: float elements (f) or integer ones (l); one of them is null. */
  private record Const(String name, long[] dims, float[] f, long[] l) implements Val {
    int size() {
      return f != null ? f.length : l.length;
    }
  }

  /**
   * A tensor a convkit layer computes: its node and (channels-first) shape; channelsLast is the
   * Transpose that made the ONNX tensor the NHWC view of it, or null.
   */
  private record Dyn(String node, Shape shape, OnnxNode channelsLast) implements Val {
    boolean same(Dyn o) {
      return node.equals(o.node) && (channelsLast == null) == (o.channelsLast == null);
    }
  }

  /** Sigmoid(x), not yet emitted: x times it is swish. */
  private record Sig(Dyn x, OnnxNode origin) implements Val {}

  /**
   * HardSigmoid(x) with its alpha and beta, not yet emitted: x times it is hard-swish when it is
   * PyTorch's (alpha 1/6, beta 1/2; the opset-13 export of nn.Hardswish).
   */
  private record HardSig(Dyn x, double alpha, double beta, OnnxNode origin) implements Val {
    boolean isPytorch() {
      // the attribute is a FLOAT: 1/6 rounded to float
      return (float) alpha == (float) (1.0 / 6) && beta == 0.5;
    }
  }

  /** c * x for a scalar c (Mul or Div by a constant), not yet emitted. */
  private record Scaled(Dyn x, double c, OnnxNode origin) implements Val {}

  /** Erf(c * x): only GELU's pattern uses it. */
  private record ErfV(Dyn x, double c, OnnxNode origin) implements Val {}

  /** 1 + Erf(x / sqrt 2). */
  private record ErfP1(Dyn x, OnnxNode origin) implements Val {}

  /** s * x * (1 + Erf(x / sqrt 2)): GELU when s is 1/2. */
  private record XErf(Dyn x, double s, OnnxNode origin) implements Val {}

  /**
   * A step of a layer norm over the channels written op by op (PyTorch before opset 17):
   * mean(x), x - mean, (x - mean)^2, its mean var, var + eps, sqrt(var + eps), then (x - mean) /
   * sqrt(var + eps), which a per-channel Mul (the scale) or anything else emits as a LayerNorm.
   */
  private record LnPart(Dyn x, int stage, double eps, OnnxNode origin) implements Val {
    static final int MEAN = 1;
    static final int CENTERED = 2;
    static final int SQUARED = 3;
    static final int VAR = 4;
    static final int VAR_EPS = 5;
    static final int STD = 6;
    static final int NORMED = 7;
  }

  /** x with zero padding (top, left, bottom, right) that a Conv reading it takes over. */
  private record Padded(Dyn x, int[] pads, OnnxNode origin) implements Val {}

  /** A constant add not yet folded into its producer's bias (removed before building). */
  private static final class ConstAdd implements Layer {
    final float[] perChannel;
    final OnnxNode origin;

    ConstAdd(float[] perChannel, OnnxNode origin) {
      this.perChannel = perChannel;
      this.origin = origin;
    }

    @Override
    public String type() {
      return "const_add";
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
      return Layer.single("const_add", inputs);
    }
  }

  /** One convkit layer as emitted, before the folds decide its final form. */
  private static final class Ir {
    final String name;
    Layer layer;
    final List<String> inputs;
    final Shape shape;
    final OnnxNode origin;

    Ir(String name, Layer layer, List<String> inputs, Shape shape, OnnxNode origin) {
      this.name = name;
      this.layer = layer;
      this.inputs = new ArrayList<>(inputs);
      this.shape = shape;
      this.origin = origin;
    }
  }

  private static final class Importer {
    private static final double SQRT_HALF = Math.sqrt(0.5);

    private final OnnxModel model;
    private final OnnxGraph graph;
    private final String netName;
    private final long opset;
    private final Map<String, OnnxTensor> initializers = new HashMap<>();
    private final Map<String, Val> vals = new HashMap<>();
    private final Map<String, Integer> reads = new HashMap<>();
    private final List<Ir> ir = new ArrayList<>();
    private final Map<String, Ir> irByName = new HashMap<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, float[]> weights = new HashMap<>();
    private Shape nativeInput;
    private boolean symbolicBatch;

    Importer(OnnxModel model, String name) {
      this.model = model;
      this.graph = model.graph();
      this.netName = name;
      this.opset = model.defaultOpset();
      names.add(Network.INPUT);
    }

    Imported run() {
      if (graph == null) {
        throw new OnnxImportException(netName + ": the model has no graph");
      }
      if (opset < 1) {
        throw new OnnxImportException(netName + ": the model imports no opset of the default"
            + " ONNX domain");
      }
      for (OnnxTensor t : graph.initializers()) {
        if (t.name().isEmpty()) {
          throw new OnnxImportException(netName + ": an initializer has no name");
        }
        if (initializers.put(t.name(), t) != null) {
          throw new OnnxImportException(netName + ": initializer '" + t.name()
              + "' is given twice");
        }
      }
      String inputName = graphInput();
      List<OnnxNode> order = sort(inputName);
      if (graph.outputs().size() != 1) {
        throw new OnnxImportException(netName + ": the graph has " + graph.outputs().size()
            + " outputs; convkit imports graphs with exactly one");
      }
      for (OnnxNode n : order) {
        for (String in : n.inputs()) {
          if (!in.isEmpty()) {
            reads.merge(in, 1, Integer::sum);
          }
        }
      }
      for (OnnxNode n : order) {
        node(n);
      }
      String outName = graph.outputs().get(0).name();
      Val v = value(outName, null, "the graph output");
      if (v instanceof Const) {
        throw new OnnxImportException(netName + ": the graph output '" + outName
            + "' is a constant; there is nothing to run");
      }
      Dyn out = materialize(outName, null);
      if (out.channelsLast != null) {
        throw transposeError(out.channelsLast);
      }
      if (out.node.equals(Network.INPUT)) {
        throw new OnnxImportException(netName + ": the graph output '" + outName
            + "' is the graph input; there is no layer to run");
      }
      return build(out.node);
    }

    // ---- graph checks

    /** The one graph input that is not an initializer: a 4-d float NCHW tensor. */
    private String graphInput() {
      List<OnnxGraph.ValueInfo> real = new ArrayList<>();
      for (OnnxGraph.ValueInfo vi : graph.inputs()) {
        if (!initializers.containsKey(vi.name())) {
          real.add(vi);
        }
      }
      if (real.size() != 1) {
        List<String> ns = new ArrayList<>();
        for (OnnxGraph.ValueInfo vi : real) {
          ns.add(vi.name());
        }
        throw new OnnxImportException(netName + ": the graph has " + real.size()
            + " inputs that are not initializers " + ns + "; convkit imports exactly one");
      }
      OnnxGraph.ValueInfo in = real.get(0);
      long[] d = in.dims();
      if (in.elemType() != OnnxTensor.FLOAT) {
        throw new OnnxImportException(netName + ": graph input '" + in.name()
            + "' has element type " + in.elemType() + "; convkit imports FLOAT (1) only");
      }
      boolean ok = d.length == 4 && (d[0] == -1 || d[0] >= 1);
      for (int i = 1; ok && i < 4; i++) {
        ok = d[i] >= 1 && d[i] <= Integer.MAX_VALUE;
      }
      if (!ok || d[0] > Integer.MAX_VALUE) {
        throw new OnnxImportException(netName + ": graph input '" + in.name() + "' has dims "
            + dims(d) + "; convkit imports a 4-d NCHW tensor with fixed C, H and W (N may be"
            + " symbolic)");
      }
      symbolicBatch = d[0] == -1;
      nativeInput = Shape.of(symbolicBatch ? 1 : (int) d[0], (int) d[1], (int) d[2], (int) d[3]);
      vals.put(in.name(), new Dyn(Network.INPUT, nativeInput, null));
      return in.name();
    }

    /**
     * The nodes in topological order: the file's order where it is one, else sorted (the ready
     * node that comes first in the file goes first). Refuses a tensor produced twice, a dangling
     * input and a cycle.
     */
    private List<OnnxNode> sort(String inputName) {
      List<OnnxNode> nodes = graph.nodes();
      Map<String, Integer> producer = new HashMap<>();
      for (int i = 0; i < nodes.size(); i++) {
        OnnxNode n = nodes.get(i);
        for (String out : n.outputs()) {
          if (out.isEmpty()) {
            continue;
          }
          if (out.equals(inputName) || initializers.containsKey(out)) {
            throw new OnnxImportException(netName + ": " + n.describe() + " writes '" + out
                + "', which is a graph input or initializer");
          }
          Integer prev = producer.put(out, i);
          if (prev != null) {
            throw new OnnxImportException(netName + ": tensor '" + out + "' is produced twice, by "
                + nodes.get(prev).describe() + " and " + n.describe());
          }
        }
      }
      int[] missing = new int[nodes.size()];
      List<List<Integer>> users = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        users.add(new ArrayList<>());
      }
      for (int i = 0; i < nodes.size(); i++) {
        OnnxNode n = nodes.get(i);
        for (String in : n.inputs()) {
          if (in.isEmpty() || in.equals(inputName) || initializers.containsKey(in)) {
            continue;
          }
          Integer p = producer.get(in);
          if (p == null) {
            throw new OnnxImportException(netName + ": " + n.describe() + " reads '" + in
                + "', which no node, initializer or graph input produces");
          }
          missing[i]++;
          users.get(p).add(i);
        }
      }
      for (OnnxGraph.ValueInfo o : graph.outputs()) {
        if (!producer.containsKey(o.name()) && !o.name().equals(inputName)
            && !initializers.containsKey(o.name())) {
          throw new OnnxImportException(netName + ": graph output '" + o.name()
              + "' is produced by no node");
        }
      }
      PriorityQueue<Integer> ready = new PriorityQueue<>();
      for (int i = 0; i < nodes.size(); i++) {
        if (missing[i] == 0) {
          ready.add(i);
        }
      }
      List<OnnxNode> order = new ArrayList<>(nodes.size());
      boolean[] done = new boolean[nodes.size()];
      while (!ready.isEmpty()) {
        int i = ready.poll();
        done[i] = true;
        order.add(nodes.get(i));
        for (int u : users.get(i)) {
          if (--missing[u] == 0) {
            ready.add(u);
          }
        }
      }
      if (order.size() < nodes.size()) {
        // Every node left waits on another node left: walking back from one meets a cycle.
        int at = 0;
        while (done[at]) {
          at++;
        }
        boolean[] seen = new boolean[nodes.size()];
        while (!seen[at]) {
          seen[at] = true;
          for (String in : nodes.get(at).inputs()) {
            Integer p = in.isEmpty() ? null : producer.get(in);
            if (p != null && !done[p]) {
              at = p;
              break;
            }
          }
        }
        throw new OnnxImportException(netName + ": the graph has a cycle through "
            + nodes.get(at).describe());
      }
      return order;
    }

    // ---- one node

    private void node(OnnxNode n) {
      if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
        throw new OnnxImportException("unsupported op '" + n.domain() + "." + n.opType()
            + "' (node '" + n.name() + "', opset " + opset + ")");
      }
      for (OnnxAttribute a : n.attributes()) {
        if (a instanceof OnnxAttribute.Unsupported u) {
          throw fail(n, "attribute '" + u.name() + "' has type " + u.type()
              + ", which convkit does not read");
        }
      }
      switch (n.opType()) {
        case "Conv" -> conv(n);
        case "BatchNormalization" -> batchNorm(n);
        case "Relu" -> out(n, act(n, dyn(n, 0), Act.Kind.RELU));
        case "Tanh" -> out(n, act(n, dyn(n, 0), Act.Kind.TANH));
        case "Sigmoid" -> out(n, new Sig(dyn(n, 0), n));
        case "Clip" -> clip(n);
        case "Gelu" -> gelu(n);
        case "HardSigmoid" -> hardSigmoid(n);
        case "HardSwish" -> out(n, act(n, dyn(n, 0), Act.Kind.HARD_SWISH));
        case "Mul" -> mul(n);
        case "Div" -> div(n);
        case "Add" -> add(n, false);
        case "Sub" -> add(n, true);
        case "Erf" -> erf(n);
        case "MaxPool" -> pool(n, PoolKind.MAX);
        case "AveragePool" -> pool(n, PoolKind.AVG);
        case "GlobalAveragePool" -> out(n, emit(n, "", new PoolLayer(PoolSpec.global(
            PoolKind.AVG)), plain(n, 0)));
        case "GlobalMaxPool" -> out(n, emit(n, "", new PoolLayer(PoolSpec.global(
            PoolKind.MAX)), plain(n, 0)));
        case "ReduceMean" -> reduceMean(n);
        case "Flatten" -> flatten(n);
        case "Reshape" -> reshape(n);
        case "Squeeze", "Unsqueeze" -> squeeze(n, n.opType().equals("Squeeze"));
        case "Gemm" -> gemm(n);
        case "MatMul" -> matMul(n);
        case "Concat" -> concat(n);
        case "Softmax" -> softmax(n);
        case "LRN" -> lrn(n);
        case "Dropout" -> dropout(n);
        case "Identity" -> out(n, need(n, 0));
        case "Constant" -> out(n, constantNode(n));
        case "Shape" -> shape(n);
        case "Gather" -> gather(n);
        case "Cast" -> cast(n);
        case "Slice" -> slice(n);
        case "Transpose" -> transpose(n);
        case "LayerNormalization" -> layerNorm(n);
        case "Pad" -> pad(n);
        case "Pow" -> pow(n);
        case "Sqrt" -> sqrt(n);
        default -> throw new OnnxImportException(unsupported(n));
      }
    }

    private String unsupported(OnnxNode n) {
      return "unsupported op '" + n.opType() + "' (node '" + n.name() + "', opset " + opset + ")";
    }

    private OnnxImportException fail(OnnxNode n, String msg) {
      return new OnnxImportException(n.describe() + " (opset " + opset + "): " + msg);
    }

    private void out(OnnxNode n, Val v) {
      if (n.outputs().isEmpty() || n.outputs().get(0).isEmpty()) {
        throw fail(n, "the node has no output");
      }
      vals.put(n.outputs().get(0), v);
    }

    // ---- reading inputs

    /** Input i's value, or null when the optional input is absent. */
    private Val in(OnnxNode n, int i) {
      if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
        return null;
      }
      return value(n.inputs().get(i), n, "input " + i);
    }

    private Val need(OnnxNode n, int i) {
      Val v = in(n, i);
      if (v == null) {
        throw fail(n, "input " + i + " is missing");
      }
      return v;
    }

    private Val value(String name, OnnxNode user, String role) {
      Val v = vals.get(name);
      if (v == null) {
        OnnxTensor t = initializers.get(name);
        if (t == null) {
          throw new OnnxImportException(netName + ": " + role + " '" + name + "' of "
              + (user == null ? "the graph" : user.describe()) + " has no value");
        }
        v = decode(t, user);
        vals.put(name, v);
      }
      return v;
    }

    /** A constant from a tensor record, its byte length checked against its dims. */
    private Const decode(OnnxTensor t, OnnxNode user) {
      long[] d = t.dims();
      long n = 1;
      for (long x : d) {
        if (x < 0 || (x > 0 && n > Integer.MAX_VALUE / x)) {
          throw new OnnxImportException(netName + ": tensor '" + t.name() + "' has dims "
              + dims(d) + ", not a size convkit holds");
        }
        n *= x;
      }
      int size = OnnxTensor.elementSize(t.dataType());
      boolean isFloat = t.dataType() == OnnxTensor.FLOAT || t.dataType() == OnnxTensor.DOUBLE;
      boolean isInt = t.dataType() == OnnxTensor.INT64 || t.dataType() == OnnxTensor.INT32;
      if (!isFloat && !isInt) {
        throw new OnnxImportException(netName + ": tensor '" + t.name() + "'"
            + (user == null ? "" : " read by " + user.describe()) + " has element type "
            + t.dataType() + "; convkit reads FLOAT, DOUBLE, INT64 and INT32 tensors");
      }
      if (t.data() == null || t.data().length != n * size) {
        throw new OnnxImportException(netName + ": tensor '" + t.name() + "' has dims "
            + dims(d) + " (" + n + " elements of " + size + " bytes) but "
            + (t.data() == null ? 0 : t.data().length) + " bytes of data");
      }
      return isFloat ? new Const(t.name(), d, t.floats(), null)
          : new Const(t.name(), d, null, t.longs());
    }

    /** Input i as a constant (a weight): refuses a tensor the graph computes. */
    private Const cst(OnnxNode n, int i, String role) {
      Val v = need(n, i);
      if (v instanceof Const c) {
        return c;
      }
      throw fail(n, role + " '" + n.inputs().get(i) + "' is computed by the graph, not a constant"
          + " (an initializer or Constant)");
    }

    private Const cstOrNull(OnnxNode n, int i, String role) {
      return in(n, i) == null ? null : cst(n, i, role);
    }

    private float[] floats(OnnxNode n, Const c, String role) {
      if (c.f == null) {
        throw fail(n, role + " '" + c.name + "' is an integer tensor, expected float");
      }
      return c.f;
    }

    private long[] longs(OnnxNode n, Const c, String role) {
      if (c.l == null) {
        throw fail(n, role + " '" + c.name + "' is a float tensor, expected integers");
      }
      return c.l;
    }

    /** Input i as a computed tensor (a channels-last view allowed: for element-wise ops). */
    private Dyn dyn(OnnxNode n, int i) {
      Val v = need(n, i);
      if (v instanceof Const c) {
        throw fail(n, "input '" + c.name + "' is a constant; convkit does not fold " + n.opType()
            + " of constants");
      }
      return materialize(n.inputs().get(i), n);
    }

    /** Input i as a computed channels-first tensor. */
    private Dyn plain(OnnxNode n, int i) {
      Dyn d = dyn(n, i);
      if (d.channelsLast != null) {
        throw transposeError(d.channelsLast);
      }
      return d;
    }

    private OnnxImportException transposeError(OnnxNode t) {
      return new OnnxImportException(unsupported(t) + ": Transpose is imported only as the"
          + " channels-last round trip (0,2,3,1) ... (0,3,1,2) around LayerNormalization and"
          + " MatMul");
    }

    /** The tensor {@code name} as emitted layers: pending patterns are emitted (or refused). */
    private Dyn materialize(String name, OnnxNode user) {
      Val v = vals.get(name);
      Dyn d;
      if (v instanceof Dyn x) {
        d = x;
      } else if (v instanceof Sig s) {
        d = act(s.origin, s.x, Act.Kind.SIGMOID);
      } else if (v instanceof HardSig h) {
        d = emit(h.origin, "", new HardSigmoid(h.alpha, h.beta), h.x);
      } else if (v instanceof Scaled s) {
        d = s.c == 1 ? s.x : emitW(s.origin, "", new LayerScale(s.x.shape.c()),
            fill(s.x.shape.c(), s.c), s.x);
      } else if (v instanceof XErf g && g.s == 0.5) {
        d = act(g.origin, g.x, Act.Kind.GELU);
      } else if (v instanceof XErf g) {
        throw erfError(g.origin);
      } else if (v instanceof ErfP1 g) {
        throw erfError(g.origin);
      } else if (v instanceof ErfV g) {
        throw erfError(g.origin);
      } else if (v instanceof LnPart p && p.stage == LnPart.NORMED) {
        d = layerNormOf(p.origin, p.x, fill(p.x.shape.c(), 1));
      } else if (v instanceof LnPart p) {
        throw lnError(p.origin);
      } else if (v instanceof Padded p) {
        throw fail(p.origin, "a constant zero Pad is imported only where a Conv reads it"
            + (user == null ? "" : ", not " + user.describe()));
      } else {
        throw new OnnxImportException(netName + ": '" + name + "' is a constant where a computed"
            + " tensor is expected" + (user == null ? "" : " by " + user.describe()));
      }
      vals.put(name, d);
      return d;
    }

    private OnnxImportException lnError(OnnxNode origin) {
      return fail(origin, "imported only as a step of a layer norm over the channels written op by"
          + " op: (x - ReduceMean(x)) / Sqrt(ReduceMean((x - ReduceMean(x))^2) + eps)");
    }

    /**
     * A LayerNorm (epsilon 1e-6, checked by the Div) over the channels of x with scale g and a
     * zero bias (a later Add folds in).
     */
    private Dyn layerNormOf(OnnxNode origin, Dyn x, float[] g) {
      Dyn y = emitW(origin, "", new LayerNorm(x.shape.c()), g, x);
      weights.put(y.node + ".bias", new float[x.shape.c()]);
      return y;
    }

    private void pow(OnnxNode n) {
      Val a = need(n, 0);
      Const e = cst(n, 1, "exponent");
      if (a instanceof LnPart p && p.stage == LnPart.CENTERED && e.size() == 1
          && scalar(e) == 2) {
        out(n, new LnPart(p.x, LnPart.SQUARED, 0, n));
        return;
      }
      throw fail(n, "Pow is imported only as the square (x - ReduceMean(x))^2 of a layer norm"
          + " written op by op");
    }

    private void sqrt(OnnxNode n) {
      if (need(n, 0) instanceof LnPart p && p.stage == LnPart.VAR_EPS) {
        out(n, new LnPart(p.x, LnPart.STD, p.eps, n));
        return;
      }
      throw fail(n, "Sqrt is imported only as Sqrt(variance + eps) of a layer norm written op by"
          + " op");
    }

    /** Whether ReduceMean over {@code axes} (keepdims 1) of x is over its channels only. */
    private static boolean overChannels(Dyn x, long[] axes, long keep) {
      if (keep == 0 || axes == null || axes.length != 1) {
        return false;
      }
      if (x.channelsLast != null) {
        return axes[0] == -1 || axes[0] == 3;
      }
      return x.shape.rank() == 2 && (axes[0] == -1 || axes[0] == 1);
    }

    private OnnxImportException erfError(OnnxNode origin) {
      return new OnnxImportException(unsupported(origin) + ": Erf is imported only in the GELU"
          + " pattern x * 0.5 * (1 + Erf(x / sqrt 2))");
    }

    // ---- emitting layers

    /** Appends a layer reading {@code inputs}, in the layout of the first. */
    private Dyn emit(OnnxNode origin, String suffix, Layer layer, Dyn... inputs) {
      return emit(origin, suffix, layer, inputs[0].channelsLast, null, inputs);
    }

    /** Appends a layer with one weight ("weight") reading {@code x}, in its layout. */
    private Dyn emitW(OnnxNode origin, String suffix, Layer layer, float[] w, Dyn x) {
      return emit(origin, suffix, layer, x.channelsLast, w, new Dyn[] {x});
    }

    /** The name is the ONNX node's (or its first output's), made unique. */
    private Dyn emit(OnnxNode origin, String suffix, Layer layer, OnnxNode channelsLast,
        float[] w, Dyn[] inputs) {
      String base = origin.name().isEmpty() ? (origin.outputs().isEmpty() ? origin.opType()
          : origin.outputs().get(0)) : origin.name();
      base += suffix;
      if (base.isBlank()) {
        base = origin.opType();
      }
      String name = base;
      for (int i = 2; names.contains(name); i++) {
        name = base + "_" + i;
      }
      List<String> ins = new ArrayList<>();
      List<Shape> shapes = new ArrayList<>();
      for (Dyn d : inputs) {
        ins.add(d.node);
        shapes.add(d.shape);
      }
      Shape out;
      try {
        out = layer.outputShape(shapes);
      } catch (IllegalArgumentException e) {
        throw fail(origin, e.getMessage());
      }
      names.add(name);
      Ir node = new Ir(name, layer, ins, out, origin);
      ir.add(node);
      irByName.put(name, node);
      if (w != null) {
        weights.put(name + ".weight", w);
      }
      return new Dyn(name, out, channelsLast);
    }

    private Dyn act(OnnxNode origin, Dyn x, Act.Kind kind) {
      return emit(origin, "", new Act(kind), x);
    }

    // ---- attributes

    /** Attribute {@code name} of {@code n} as a {@code type} (null when absent), else a failure. */
    private <A extends OnnxAttribute> A attr(OnnxNode n, String name, Class<A> type,
        String what) {
      OnnxAttribute a = n.attribute(name);
      if (a == null || type.isInstance(a)) {
        return type.cast(a);
      }
      throw fail(n, "attribute '" + name + "' is not " + what);
    }

    private long attrInt(OnnxNode n, String name, long dflt) {
      OnnxAttribute.Int a = attr(n, name, OnnxAttribute.Int.class, "an INT");
      return a == null ? dflt : a.value();
    }

    private double attrFloat(OnnxNode n, String name, double dflt) {
      OnnxAttribute.Float a = attr(n, name, OnnxAttribute.Float.class, "a FLOAT");
      return a == null ? dflt : a.value();
    }

    private String attrString(OnnxNode n, String name, String dflt) {
      OnnxAttribute.Str a = attr(n, name, OnnxAttribute.Str.class, "a STRING");
      return a == null ? dflt : a.value();
    }

    private long[] attrInts(OnnxNode n, String name) {
      OnnxAttribute.Ints a = attr(n, name, OnnxAttribute.Ints.class, "INTS");
      return a == null ? null : a.values();
    }

    /** An INTS attribute of {@code len} values in [min, max], or {@code dflt} when absent. */
    private int[] ints(OnnxNode n, String name, int len, int min, int[] dflt) {
      long[] v = attrInts(n, name);
      if (v == null) {
        return dflt;
      }
      if (v.length != len) {
        throw fail(n, "attribute '" + name + "' has " + v.length + " values " + dims(v)
            + ", expected " + len);
      }
      int[] r = new int[len];
      for (int i = 0; i < len; i++) {
        if (v[i] < min || v[i] > Shape.MAX_INDEX) {
          throw fail(n, "attribute '" + name + "' " + dims(v) + " has a value out of range");
        }
        r[i] = (int) v[i];
      }
      return r;
    }

    // ---- convolution, normalisation, pooling

    private void conv(OnnxNode n) {
      Val xv = need(n, 0);
      int[] extra = {0, 0, 0, 0};
      Dyn x;
      if (xv instanceof Padded p) {
        x = p.x;
        extra = p.pads;
      } else {
        x = plain(n, 0);
      }
      if (x.shape.rank() != 4) {
        throw fail(n, "input " + x.shape + " is not 4-d NCHW");
      }
      Const w = cst(n, 1, "weight");
      float[] wf = floats(n, w, "weight");
      long[] wd = w.dims;
      int group = (int) Math.max(0, Math.min(Integer.MAX_VALUE, attrInt(n, "group", 1)));
      int cin = x.shape.c();
      if (group < 1) {
        throw fail(n, "group " + attrInt(n, "group", 1) + " must be >= 1");
      }
      if (wd.length != 4 || wd[1] * group != cin || wd[0] % group != 0) {
        throw fail(n, "weight '" + w.name + "' has dims " + dims(wd) + "; expected [M, " + cin
            + "/" + group + ", kH, kW] with M divisible by group " + group + " for input "
            + x.shape);
      }
      int[] k = ints(n, "kernel_shape", 2, 1, new int[] {(int) wd[2], (int) wd[3]});
      if (k[0] != wd[2] || k[1] != wd[3]) {
        throw fail(n, "kernel_shape " + Arrays.toString(k) + " does not match weight '" + w.name
            + "' dims " + dims(wd));
      }
      int[] s = ints(n, "strides", 2, 1, new int[] {1, 1});
      int[] d = ints(n, "dilations", 2, 1, new int[] {1, 1});
      int[] pads = pads(n, k, s, d, x.shape, extra);
      int m = (int) wd[0];
      Const b = cstOrNull(n, 2, "bias");
      if (b != null && (b.dims.length != 1 || b.dims[0] != m)) {
        throw fail(n, "bias '" + b.name + "' has dims " + dims(b.dims) + ", expected [" + m
            + "]");
      }
      ConvSpec spec;
      try {
        spec = ConvSpec.builder(cin, m, k[0], k[1]).name(name(n)).stride(s[0], s[1])
            .padding(pads[0], pads[1], pads[2], pads[3]).dilation(d[0], d[1]).groups(group)
            .bias(b != null).build();
      } catch (IllegalArgumentException e) {
        throw fail(n, e.getMessage());
      }
      Dyn y = emitW(n, "", new ConvLayer(spec), wf, x);
      if (b != null) {
        weights.put(y.node + ".bias", floats(n, b, "bias"));
      }
      out(n, y);
    }

    /** The name a node's first layer gets (for specs that carry a name). */
    private String name(OnnxNode n) {
      return n.name().isEmpty() ? n.opType() : n.name();
    }

    /**
     * Pads (top, left, bottom, right) from pads or auto_pad, plus {@code extra} (a Pad before the
     * node). SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start.
     */
    private int[] pads(OnnxNode n, int[] k, int[] s, int[] d, Shape x, int[] extra) {
      String auto = attrString(n, "auto_pad", "NOTSET");
      int[] p;
      switch (auto) {
        case "NOTSET" -> p = ints(n, "pads", 4, 0, new int[] {0, 0, 0, 0});
        case "VALID" -> p = new int[] {0, 0, 0, 0};
        case "SAME_UPPER", "SAME_LOWER" -> {
          p = new int[4];
          int[] size = {x.h() + extra[0] + extra[2], x.w() + extra[1] + extra[3]};
          for (int a = 0; a < 2; a++) {
            long out = (size[a] + (long) s[a] - 1) / s[a];
            long total = Math.max(0, (out - 1) * s[a] + (long) (k[a] - 1) * d[a] + 1 - size[a]);
            long small = total / 2;
            boolean upper = auto.equals("SAME_UPPER");
            p[a] = (int) (upper ? small : total - small);
            p[a + 2] = (int) (upper ? total - small : small);
          }
        }
        default -> throw fail(n, "auto_pad '" + auto + "' is not NOTSET, VALID, SAME_UPPER or"
            + " SAME_LOWER");
      }
      int[] r = new int[4];
      for (int i = 0; i < 4; i++) {
        long v = (long) p[i] + extra[i];
        if (v > Shape.MAX_INDEX) {
          throw fail(n, "padding " + v + " is too large");
        }
        r[i] = (int) v;
      }
      return r;
    }

    private void batchNorm(OnnxNode n) {
      Dyn x = plain(n, 0);
      if (attrInt(n, "training_mode", 0) != 0) {
        throw fail(n, "training_mode 1 is not inference; convkit imports inference graphs");
      }
      if (attrInt(n, "spatial", 1) != 1) {
        throw fail(n, "spatial 0 (per-element statistics) is not supported");
      }
      for (int i = 1; i < n.outputs().size(); i++) {
        if (!n.outputs().get(i).isEmpty() && reads.containsKey(n.outputs().get(i))) {
          throw fail(n, "output " + i + " (training statistics) is read; convkit imports"
              + " inference graphs");
        }
      }
      int c = x.shape.c();
      String[] roles = {"scale", "bias", "mean", "var"};
      String[] params = {"weight", "bias", "running_mean", "running_var"};
      float[][] p = new float[4][];
      for (int i = 0; i < 4; i++) {
        Const t = cst(n, i + 1, roles[i]);
        if (t.dims.length != 1 || t.dims[0] != c) {
          throw fail(n, roles[i] + " '" + t.name + "' has dims " + dims(t.dims) + ", expected ["
              + c + "] for input " + x.shape);
        }
        p[i] = floats(n, t, roles[i]);
      }
      double eps = attrFloat(n, "epsilon", 1e-5);
      BatchNorm bn;
      try {
        bn = new BatchNorm(c, null, eps);
      } catch (IllegalArgumentException e) {
        throw fail(n, e.getMessage());
      }
      Dyn y = emit(n, "", bn, x);
      for (int i = 0; i < 4; i++) {
        weights.put(y.node + "." + params[i], p[i]);
      }
      out(n, y);
    }

    private void layerNorm(OnnxNode n) {
      Dyn x = dyn(n, 0);
      long axis = attrInt(n, "axis", -1);
      int rank = x.shape.rank();
      boolean overC = x.channelsLast != null ? (axis == -1 || axis == 3)
          : rank == 2 && (axis == -1 || axis == 1);
      if (!overC) {
        throw fail(n, "LayerNormalization over axis " + axis + " of " + onnxShape(x)
            + "; convkit normalises over the channels only (channels-last axis -1, or a 2-d [N, C]"
            + " input)");
      }
      double eps = attrFloat(n, "epsilon", 1e-5);
      if ((float) eps != 1e-6f) {
        throw fail(n, "epsilon " + (float) eps + "; convkit's layer norm uses 1e-6 (ConvNeXt's)");
      }
      if (attrInt(n, "stash_type", 1) != 1) {
        throw fail(n, "stash_type " + attrInt(n, "stash_type", 1) + " is not float (1)");
      }
      for (int i = 1; i < n.outputs().size(); i++) {
        if (!n.outputs().get(i).isEmpty() && reads.containsKey(n.outputs().get(i))) {
          throw fail(n, "output " + i + " (mean or inverse standard deviation) is read");
        }
      }
      int c = x.shape.c();
      float[] g = perAxis(n, cst(n, 1, "scale"), c, "scale");
      Const bc = cstOrNull(n, 2, "bias");
      float[] b = bc == null ? new float[c] : perAxis(n, bc, c, "bias");
      Dyn y = emitW(n, "", new LayerNorm(c), g, x);
      weights.put(y.node + ".bias", b);
      out(n, y);
    }

    /** A [C] (or [1, C]...) float constant's values. */
    private float[] perAxis(OnnxNode n, Const t, int c, String role) {
      float[] f = floats(n, t, role);
      boolean ok = f.length == c && t.dims.length >= 1 && t.dims[t.dims.length - 1] == c;
      if (!ok) {
        throw fail(n, role + " '" + t.name + "' has dims " + dims(t.dims) + ", expected [" + c
            + "]");
      }
      return f;
    }

    private void pool(OnnxNode n, PoolKind kind) {
      Dyn x = plain(n, 0);
      if (x.shape.rank() != 4) {
        throw fail(n, "input " + x.shape + " is not 4-d NCHW");
      }
      if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()
          && reads.containsKey(n.outputs().get(1))) {
        throw fail(n, "the Indices output is read; convkit's max pool has none");
      }
      int[] k = ints(n, "kernel_shape", 2, 1, null);
      if (k == null) {
        throw fail(n, "attribute 'kernel_shape' is missing");
      }
      int[] s = ints(n, "strides", 2, 1, new int[] {1, 1});
      int[] d = ints(n, "dilations", 2, 1, new int[] {1, 1});
      if (d[0] != 1 || d[1] != 1) {
        throw fail(n, "dilations " + Arrays.toString(d) + "; convkit pools without dilation");
      }
      int[] p = pads(n, k, s, d, x.shape, new int[4]);
      boolean ceil = attrInt(n, "ceil_mode", 0) != 0;
      boolean countPad = attrInt(n, "count_include_pad", 0) != 0;
      PoolSpec spec;
      try {
        spec = PoolSpec.builder(kind, k[0], k[1]).name(name(n)).stride(s[0], s[1])
            .padding(p[0], p[1], p[2], p[3]).ceilMode(ceil).countPadding(countPad).build();
      } catch (IllegalArgumentException e) {
        throw fail(n, e.getMessage());
      }
      out(n, emit(n, "", new PoolLayer(spec), x));
    }

    private void reduceMean(OnnxNode n) {
      long[] axes;
      if (opset >= 18) {
        Const a = cstOrNull(n, 1, "axes");
        axes = a == null ? null : longs(n, a, "axes");
      } else {
        axes = attrInts(n, "axes");
      }
      long keep = attrInt(n, "keepdims", 1);
      // a layer norm written op by op: the mean, then the mean of the squares
      Val v = need(n, 0);
      if (v instanceof LnPart p && p.stage == LnPart.SQUARED && overChannels(p.x, axes, keep)) {
        out(n, new LnPart(p.x, LnPart.VAR, 0, n));
        return;
      }
      if (v instanceof Dyn d && overChannels(d, axes, keep)) {
        out(n, new LnPart(d, LnPart.MEAN, 0, n));
        return;
      }
      Dyn x = plain(n, 0);
      boolean hw = x.shape.rank() == 4 && axes != null && axes.length == 2
          && normAxes(axes, 4).equals(Set.of(2, 3));
      if (!hw) {
        throw fail(n, "ReduceMean over axes " + (axes == null ? "(all)" : dims(axes)) + " of "
            + x.shape + "; convkit imports the mean over H and W (axes [2, 3]) only");
      }
      Dyn y = emit(n, "", new PoolLayer(PoolSpec.global(PoolKind.AVG)), x);
      if (keep == 0) {
        y = emit(n, "/flatten", new Flatten(), y);
      }
      out(n, y);
    }

    private static Set<Integer> normAxes(long[] axes, int rank) {
      Set<Integer> s = new HashSet<>();
      for (long a : axes) {
        long v = a < 0 ? a + rank : a;
        s.add(v < 0 || v >= rank ? -1 : (int) v);
      }
      return s;
    }

    private void lrn(OnnxNode n) {
      Dyn x = plain(n, 0);
      long size = attrInt(n, "size", -1);
      double alpha = attrFloat(n, "alpha", 1e-4);
      double beta = attrFloat(n, "beta", 0.75);
      double bias = attrFloat(n, "bias", 1.0);
      if (size < 1 || size > Integer.MAX_VALUE) {
        throw fail(n, "size " + size + " must be >= 1");
      }
      try {
        new LrnSpec((int) size, alpha, beta, bias); // its checks, at import time
      } catch (IllegalArgumentException e) {
        throw fail(n, e.getMessage());
      }
      out(n, emit(n, "", new Lrn((int) size, alpha, beta, bias), x));
    }

    // ---- activations and the fused patterns

    private void clip(OnnxNode n) {
      Dyn x = dyn(n, 0);
      double lo;
      double hi;
      if (opset < 11) {
        lo = attrFloat(n, "min", Double.NEGATIVE_INFINITY);
        hi = attrFloat(n, "max", Double.POSITIVE_INFINITY);
      } else {
        lo = scalarOr(n, 1, "min", Double.NEGATIVE_INFINITY);
        hi = scalarOr(n, 2, "max", Double.POSITIVE_INFINITY);
      }
      Act.Kind kind;
      if (lo == 0 && hi == 6) {
        kind = Act.Kind.RELU6;
      } else if (lo == 0 && hi == Double.POSITIVE_INFINITY) {
        kind = Act.Kind.RELU;
      } else {
        throw fail(n, "Clip(min " + lo + ", max " + hi + "); convkit has ReLU (0, inf) and ReLU6"
            + " (0, 6) only");
      }
      out(n, act(n, x, kind));
    }

    private double scalarOr(OnnxNode n, int i, String role, double dflt) {
      Const c = cstOrNull(n, i, role);
      if (c == null) {
        return dflt;
      }
      if (c.size() != 1) {
        throw fail(n, role + " '" + c.name + "' has dims " + dims(c.dims) + ", expected a scalar");
      }
      return scalar(c);
    }

    private static double scalar(Const c) {
      return c.f != null ? c.f[0] : c.l[0];
    }

    private void hardSigmoid(OnnxNode n) {
      Dyn x = dyn(n, 0);
      double alpha = attrFloat(n, "alpha", 0.2f);
      double beta = attrFloat(n, "beta", 0.5f);
      if (!Double.isFinite(alpha) || !Double.isFinite(beta)) {
        throw fail(n, "alpha " + alpha + " and beta " + beta + " must be finite");
      }
      out(n, new HardSig(x, alpha, beta, n));
    }

    private void gelu(OnnxNode n) {
      String approx = attrString(n, "approximate", "none");
      if (!approx.equals("none")) {
        throw fail(n, "approximate '" + approx + "'; convkit's GELU is the exact erf form");
      }
      out(n, act(n, dyn(n, 0), Act.Kind.GELU));
    }

    /**
     * Squeeze-and-excitation, {@code x * Sigmoid(expand(inner(reduce(GlobalAveragePool(x)))))}
     * with 1x1 convs with bias, as exporters write it: one {@link SqueezeExcite} layer (so the
     * forward pass runs it on the engine) taking the convs' weights; the pool, convs and inner
     * activation already emitted are left unread and dropped. Null when {@code s} is not that.
     */
    private Dyn squeezeExcite(OnnxNode n, Dyn x, Sig s) {
      Ir expand = irByName.get(s.x().node());
      if (expand == null || !(expand.layer instanceof ConvLayer ec) || !pointwise(ec.spec())) {
        return null;
      }
      Ir inner = irByName.get(expand.inputs.get(0));
      if (inner == null || !(inner.layer instanceof Act act)) {
        return null;
      }
      Ir reduce = irByName.get(inner.inputs.get(0));
      if (reduce == null || !(reduce.layer instanceof ConvLayer rc) || !pointwise(rc.spec())) {
        return null;
      }
      Ir pool = irByName.get(reduce.inputs.get(0));
      if (pool == null || !(pool.layer instanceof PoolLayer pl) || !pl.spec().isGlobal()
          || pl.spec().kind() != PoolKind.AVG || !pool.inputs.get(0).equals(x.node())) {
        return null;
      }
      int c = x.shape().c();
      int r = rc.spec().outChannels();
      if (rc.spec().inChannels() != c || ec.spec().inChannels() != r
          || ec.spec().outChannels() != c) {
        return null;
      }
      String name = (n.name().isEmpty() ? n.outputs().get(0) : n.name());
      Dyn y = emit(n, "", new SqueezeExcite(name, c, r, act.kind()), x);
      weights.put(y.node() + ".reduce.weight", weights.get(reduce.name + ".weight"));
      weights.put(y.node() + ".reduce.bias", weights.get(reduce.name + ".bias"));
      weights.put(y.node() + ".expand.weight", weights.get(expand.name + ".weight"));
      weights.put(y.node() + ".expand.bias", weights.get(expand.name + ".bias"));
      return y;
    }

    /** A 1x1, stride-1, unpadded, ungrouped conv with bias and no fused activation. */
    private static boolean pointwise(ConvSpec s) {
      return s.kernelH() == 1 && s.kernelW() == 1 && s.strideH() == 1 && s.strideW() == 1
          && s.groups() == 1 && s.hasBias() && s.dilationH() == 1 && s.dilationW() == 1
          && s.padTop() == 0 && s.padLeft() == 0 && s.padBottom() == 0 && s.padRight() == 0
          && s.activation() == io.convkit.conv.Activation.NONE && !s.hasConnections();
    }

    private void erf(OnnxNode n) {
      Val v = need(n, 0);
      if (v instanceof Scaled s) {
        out(n, new ErfV(s.x, s.c, n));
      } else {
        out(n, new ErfV(dyn(n, 0), 1, n));
      }
    }

    /** The pending or computed value of input i, for patterns: constants stay constants. */
    private Val pat(OnnxNode n, int i) {
      return need(n, i);
    }

    private void mul(OnnxNode n) {
      Val a = pat(n, 0);
      Val b = pat(n, 1);
      if (a instanceof Const ca && b instanceof Const cb) {
        out(n, fold(n, ca, cb, '*'));
        return;
      }
      if (a instanceof Const || b instanceof Const) {
        boolean constFirst = a instanceof Const;
        Const c = (Const) (constFirst ? a : b);
        int vi = constFirst ? 1 : 0;
        Val v = constFirst ? b : a;
        float[] cf = floats(n, c, "factor");
        if (cf.length == 1) {
          out(n, scale(n, vi, v, cf[0]));
          return;
        }
        if (v instanceof LnPart p && p.stage == LnPart.NORMED) {
          // the layer norm's scale
          out(n, layerNormOf(n, p.x, perChannel(n, c, p.x, "factor")));
          return;
        }
        Dyn x = dyn(n, vi);
        float[] per = perChannel(n, c, x, "factor");
        out(n, emitW(n, "", new LayerScale(x.shape.c()), per, x));
        return;
      }
      // two computed tensors: x * Sigmoid(x), x * HardSigmoid(x), or a step of the GELU pattern
      for (int swap = 0; swap < 2; swap++) {
        Val p = swap == 0 ? a : b;
        Val q = swap == 0 ? b : a;
        String pName = n.inputs().get(swap);
        if (q instanceof Sig s && p instanceof Dyn x && x.same(s.x)) {
          out(n, act(n, x, Act.Kind.SWISH));
          return;
        }
        if (q instanceof HardSig h && p instanceof Dyn x && x.same(h.x) && h.isPytorch()) {
          out(n, act(n, x, Act.Kind.HARD_SWISH));
          return;
        }
        if (q instanceof HardSig h && p instanceof Dyn x && !x.same(h.x)) {
          throw fail(n, "x * HardSigmoid(y) of another tensor y (" + onnxShape(x) + " and "
              + onnxShape(h.x) + "; MobileNetV3's squeeze-and-excitation gate) is not imported:"
              + " convkit's squeeze-and-excitation gates with Sigmoid");
        }
        if (q instanceof ErfP1 e) {
          if (p instanceof Dyn x && x.same(e.x)) {
            out(n, new XErf(x, 1, n));
            return;
          }
          if (p instanceof Scaled s && s.x.same(e.x)) {
            out(n, new XErf(s.x, s.c, n));
            return;
          }
        }
        if (swap == 0 && pName.equals(n.inputs().get(1)) && p instanceof Sig) {
          break; // Sigmoid(x)^2: not a pattern
        }
        if (q instanceof Sig s && p instanceof Dyn x) {
          Dyn se = squeezeExcite(n, x, s);
          if (se != null) {
            out(n, se);
            return;
          }
        }
      }
      Dyn x = dyn(n, 0);
      Dyn y = dyn(n, 1);
      throw fail(n, "Mul of two computed tensors (" + onnxShape(x) + " and " + onnxShape(y)
          + ") is imported only as x * Sigmoid(x), x * HardSigmoid(x) (alpha 1/6, beta 1/2) or in"
          + " the GELU pattern x * 0.5 * (1 + Erf(x / sqrt 2))");
    }

    /** Input vi (value v) times the scalar c, kept pending for the patterns. */
    private Val scale(OnnxNode n, int vi, Val v, double c) {
      if (v instanceof Scaled s) {
        return new Scaled(s.x, s.c * c, n);
      } else if (v instanceof XErf g) {
        return new XErf(g.x, g.s * c, n);
      }
      return new Scaled(dyn(n, vi), c, n);
    }

    private void div(OnnxNode n) {
      Val a = pat(n, 0);
      Val b = pat(n, 1);
      if (a instanceof Const ca && b instanceof Const cb) {
        out(n, fold(n, ca, cb, '/'));
        return;
      }
      if (a instanceof LnPart p && p.stage == LnPart.CENTERED && b instanceof LnPart q
          && q.stage == LnPart.STD && p.x.same(q.x)) {
        if ((float) q.eps != 1e-6f) {
          throw fail(n, "epsilon " + (float) q.eps + "; convkit's layer norm uses 1e-6"
              + " (ConvNeXt's)");
        }
        out(n, new LnPart(p.x, LnPart.NORMED, q.eps, n));
        return;
      }
      if (b instanceof Const c && c.f != null && c.size() == 1 && c.f[0] != 0) {
        out(n, scale(n, 0, a, 1.0 / c.f[0]));
        return;
      }
      throw fail(n, "Div is imported only by a non-zero float scalar constant or between"
          + " constants");
    }

    private void add(OnnxNode n, boolean sub) {
      Val a = pat(n, 0);
      Val b = pat(n, 1);
      if (a instanceof Const ca && b instanceof Const cb) {
        out(n, fold(n, ca, cb, sub ? '-' : '+'));
        return;
      }
      if (sub && b instanceof LnPart p && p.stage == LnPart.MEAN && a instanceof Dyn x
          && x.same(p.x)) {
        out(n, new LnPart(x, LnPart.CENTERED, 0, n));
        return;
      }
      if (b instanceof Const || (!sub && a instanceof Const)) {
        boolean constFirst = a instanceof Const;
        Const c = (Const) (constFirst ? a : b);
        Val v = constFirst ? b : a;
        int vi = constFirst ? 1 : 0;
        float[] cf = floats(n, c, "addend");
        if (!sub && v instanceof LnPart p && p.stage == LnPart.VAR && cf.length == 1) {
          out(n, new LnPart(p.x, LnPart.VAR_EPS, cf[0], n));
          return;
        }
        if (!sub && v instanceof ErfV e && cf.length == 1 && cf[0] == 1
            && Math.abs(e.c - SQRT_HALF) <= 1e-6 * SQRT_HALF) {
          out(n, new ErfP1(e.x, n));
          return;
        }
        Dyn x = dyn(n, vi);
        float[] per = perChannel(n, c, x, "addend");
        if (sub) {
          float[] neg = new float[per.length];
          for (int i = 0; i < per.length; i++) {
            neg[i] = -per[i];
          }
          per = neg;
        }
        out(n, emit(n, "", new ConstAdd(per, n), x));
        return;
      }
      if (sub) {
        throw fail(n, "Sub is imported only as a computed tensor minus a constant");
      }
      Dyn x = dyn(n, 0);
      Dyn y = dyn(n, 1);
      if (!x.shape.equals(y.shape) || (x.channelsLast == null) != (y.channelsLast == null)) {
        throw fail(n, "Add of " + onnxShape(x) + " and " + onnxShape(y) + "; convkit adds"
            + " tensors of one shape (no broadcasting)");
      }
      // the graph input first: NetworkWeights looks up an add's later inputs as layers
      if (y.node.equals(Network.INPUT) && !x.node.equals(Network.INPUT)) {
        Dyn t = x;
        x = y;
        y = t;
      } else if (y.node.equals(Network.INPUT)) {
        y = emit(n, "/input", new Dropout(0), y); // x + x on the input: an alias names it
      }
      out(n, emit(n, "", new Add(1.0), x, y));
    }

    /**
     * A constant that broadcasts along the channels of {@code x} as C values (a scalar repeated),
     * else the import fails: convkit's constant adds and multiplies are per channel.
     */
    private float[] perChannel(OnnxNode n, Const c, Dyn x, String role) {
      float[] f = floats(n, c, role);
      int ch = x.shape.c();
      if (f.length == 1) {
        return fill(ch, f[0]);
      }
      int rank = x.channelsLast != null ? 4 : x.shape.rank();
      int axis = x.channelsLast != null ? 3 : 1;
      long[] d = c.dims;
      boolean ok = d.length <= rank && f.length == ch;
      for (int i = 0; ok && i < d.length; i++) {
        int at = rank - d.length + i;
        ok = at == axis ? d[i] == ch : d[i] == 1;
      }
      if (!ok) {
        throw fail(n, role + " '" + c.name + "' has dims " + dims(d) + "; convkit imports a"
            + " scalar or per-channel constant for " + onnxShape(x));
      }
      return f;
    }

    private static float[] fill(int n, double v) {
      float[] f = new float[n];
      Arrays.fill(f, (float) v);
      return f;
    }

    // ---- fully connected

    private void gemm(OnnxNode n) {
      Dyn x = plain(n, 0);
      if (attrInt(n, "transA", 0) != 0) {
        throw fail(n, "transA 1; convkit imports Gemm with the input untransposed");
      }
      if (x.shape.rank() != 2) {
        throw fail(n, "input " + x.shape + " is not 2-d");
      }
      boolean transB = attrInt(n, "transB", 0) != 0;
      double alpha = attrFloat(n, "alpha", 1);
      double beta = attrFloat(n, "beta", 1);
      Const bt = cst(n, 1, "weight");
      float[] bf = floats(n, bt, "weight");
      int k = x.shape.dim(1);
      long[] bd = bt.dims;
      if (bd.length != 2 || bd[transB ? 1 : 0] != k) {
        throw fail(n, "weight '" + bt.name + "' has dims " + dims(bd) + "; expected "
            + (transB ? "[out, " + k + "]" : "[" + k + ", out]") + " for input " + x.shape);
      }
      int out = (int) bd[transB ? 0 : 1];
      float[] w = transB ? bf : transpose(bf, k, out);
      if (alpha != 1) {
        w = times(w, alpha);
      }
      float[] bias = null;
      Const ct = cstOrNull(n, 2, "bias");
      if (ct != null) {
        float[] cf = floats(n, ct, "bias");
        long[] cd = ct.dims;
        boolean ok = cf.length == 1 || (cf.length == out && cd.length >= 1
            && cd[cd.length - 1] == out && (cd.length == 1 || (cd.length == 2 && cd[0] == 1)));
        if (!ok) {
          throw fail(n, "bias '" + ct.name + "' has dims " + dims(cd) + ", expected [" + out
              + "]");
        }
        bias = cf.length == 1 ? fill(out, cf[0]) : cf;
        if (beta != 1) {
          bias = times(bias, beta);
        }
      }
      Dyn y = fc(n, x, k, out, w, bias);
      out(n, y);
    }

    private Dyn fc(OnnxNode n, Dyn x, int k, int out, float[] w, float[] bias) {
      Linear fc;
      try {
        fc = new Linear(k, out, bias != null);
      } catch (IllegalArgumentException e) {
        throw fail(n, e.getMessage());
      }
      Dyn y = emitW(n, "", fc, w, x);
      if (bias != null) {
        weights.put(y.node + ".bias", bias);
      }
      return y;
    }

    private void matMul(OnnxNode n) {
      Dyn x = dyn(n, 0);
      Const wt = cst(n, 1, "weight");
      float[] wf = floats(n, wt, "weight");
      long[] wd = wt.dims;
      int k = x.shape.c();
      if (wd.length != 2 || wd[0] != k) {
        throw fail(n, "weight '" + wt.name + "' has dims " + dims(wd) + "; expected [" + k
            + ", out] for input " + onnxShape(x));
      }
      int out = (int) wd[1];
      float[] w = transpose(wf, k, out);
      if (x.channelsLast != null) {
        // [N, H, W, C] x [C, D] is a 1x1 conv on the channels-first tensor
        ConvSpec spec;
        try {
          spec = Specs.conv(name(n), k, out, 1, 1, 0, 1, false);
        } catch (IllegalArgumentException e) {
          throw fail(n, e.getMessage());
        }
        out(n, emitW(n, "", new ConvLayer(spec), w, x));
      } else if (x.shape.rank() == 2) {
        out(n, fc(n, x, k, out, w, null));
      } else {
        throw fail(n, "MatMul of " + onnxShape(x) + "; convkit imports a 2-d [N, K] input, or"
            + " the channels-last view inside a Transpose round trip");
      }
    }

    /** [rows][cols] to [cols][rows]. */
    private static float[] transpose(float[] a, int rows, int cols) {
      float[] t = new float[a.length];
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
          t[c * rows + r] = a[r * cols + c];
        }
      }
      return t;
    }

    private static float[] times(float[] a, double s) {
      float[] r = new float[a.length];
      for (int i = 0; i < a.length; i++) {
        r[i] = (float) (a[i] * s);
      }
      return r;
    }

    // ---- shape ops

    private void flatten(OnnxNode n) {
      Val v = need(n, 0);
      long axis = attrInt(n, "axis", 1);
      if (v instanceof Const c) {
        int r = c.dims.length;
        long a = axis < 0 ? axis + r : axis;
        if (a < 0 || a > r) {
          throw fail(n, "axis " + axis + " is out of range for rank " + r);
        }
        long rows = 1;
        for (int i = 0; i < a; i++) {
          rows *= c.dims[i];
        }
        out(n, reshaped(c, new long[] {rows, c.size() / Math.max(1, rows)}));
        return;
      }
      Dyn x = plain(n, 0);
      int r = x.shape.rank();
      if (axis == 1 || axis == 1 - r) {
        out(n, r == 2 ? x : emit(n, "", new Flatten(), x));
        return;
      }
      throw fail(n, "Flatten at axis " + axis + " of " + x.shape + "; convkit flattens at axis 1");
    }

    private static Const reshaped(Const c, long[] dims) {
      return new Const(c.name, dims, c.f, c.l);
    }

    private void reshape(OnnxNode n) {
      Val v = need(n, 0);
      long[] t = longs(n, cst(n, 1, "shape"), "shape");
      boolean allowZero = attrInt(n, "allowzero", 0) != 0;
      if (v instanceof Const c) {
        out(n, reshaped(c, resolve(n, t, c.dims, allowZero)));
        return;
      }
      Dyn x = plain(n, 0);
      long[] cur = onnxDims(x);
      long per = x.shape.elements() / x.shape.n();
      // the target with its batch dim recognised: BATCH, 0 (copy), the fixed N, or 1 / -1
      boolean batch0 = t.length >= 1 && (t[0] == BATCH || (t[0] == 0 && !allowZero)
          || (!symbolicBatch && t[0] == nativeInput.n()) || (symbolicBatch && t[0] == 1));
      long[] rest = null;
      if (batch0) {
        long[] cd = Arrays.copyOfRange(cur, 1, cur.length);
        long[] td = Arrays.copyOfRange(t, 1, t.length);
        rest = resolvePer(n, td, cd, per, allowZero);
      } else if (t.length >= 1 && t[0] == -1) {
        long[] td = Arrays.copyOfRange(t, 1, t.length);
        long prod = 1;
        for (long d : td) {
          prod = d <= 0 ? -1 : prod * d;
          if (prod < 0) {
            break;
          }
        }
        if (prod == per) {
          rest = td;
        }
      }
      if (rest != null) {
        long[] curRest = Arrays.copyOfRange(cur, 1, cur.length);
        if (Arrays.equals(rest, curRest)) {
          out(n, x); // a no-op
          return;
        }
        if (rest.length == 1) {
          out(n, emit(n, "", new Flatten(), x));
          return;
        }
      }
      throw fail(n, "Reshape of " + x.shape + " to " + dims(t) + "; convkit imports a reshape"
          + " that flattens to [N, -1] (or does nothing)");
    }

    /** Target dims after the batch: 0 copies, -1 infers; null when they do not fit. */
    private long[] resolvePer(OnnxNode n, long[] t, long[] cur, long per, boolean allowZero) {
      long[] r = t.clone();
      int infer = -1;
      long prod = 1;
      for (int i = 0; i < r.length; i++) {
        if (r[i] == 0 && !allowZero) {
          if (i >= cur.length) {
            return null;
          }
          r[i] = cur[i];
        }
        if (r[i] == -1) {
          if (infer >= 0) {
            throw fail(n, "shape " + dims(t) + " has two -1 entries");
          }
          infer = i;
        } else if (r[i] < 0) {
          return null;
        } else {
          prod *= r[i];
        }
      }
      if (infer >= 0) {
        if (prod == 0 || per % prod != 0) {
          return null;
        }
        r[infer] = per / prod;
      } else if (prod != per) {
        return null;
      }
      return r;
    }

    /** A Reshape of a constant: 0 copies, -1 infers. */
    private long[] resolve(OnnxNode n, long[] t, long[] cur, boolean allowZero) {
      long total = 1;
      for (long d : cur) {
        total *= d;
      }
      long[] r = resolvePer(n, t, cur, total, allowZero);
      if (r == null) {
        throw fail(n, "cannot reshape constant of dims " + dims(cur) + " to " + dims(t));
      }
      return r;
    }

    private void squeeze(OnnxNode n, boolean squeeze) {
      Val v = need(n, 0);
      long[] axes;
      if (opset >= 13) {
        Const a = cstOrNull(n, 1, "axes");
        axes = a == null ? null : longs(n, a, "axes");
      } else {
        axes = attrInts(n, "axes");
      }
      if (v instanceof Const c) {
        out(n, reshaped(c, squeeze ? squeezed(n, c.dims, axes) : unsqueezed(n, c.dims, axes)));
        return;
      }
      Dyn x = plain(n, 0);
      if (squeeze && x.shape.rank() == 4 && x.shape.h() == 1 && x.shape.w() == 1
          && (axes == null ? x.shape.c() != 1 : normAxes(axes, 4).equals(Set.of(2, 3)))) {
        out(n, emit(n, "", new Flatten(), x));
        return;
      }
      throw fail(n, n.opType() + " of " + x.shape + " over axes "
          + (axes == null ? "(all of size 1)" : dims(axes)) + "; convkit imports a Squeeze of"
          + " [N, C, 1, 1] to [N, C] only");
    }

    private long[] squeezed(OnnxNode n, long[] d, long[] axes) {
      List<Long> r = new ArrayList<>();
      Set<Integer> ax = axes == null ? null : normAxes(axes, d.length);
      if (ax != null && ax.contains(-1)) {
        throw fail(n, "axes " + dims(axes) + " are out of range for rank " + d.length);
      }
      for (int i = 0; i < d.length; i++) {
        boolean drop = ax == null ? d[i] == 1 : ax.contains(i);
        if (drop && d[i] != 1) {
          throw fail(n, "axis " + i + " of dims " + dims(d) + " is not 1");
        }
        if (!drop) {
          r.add(d[i]);
        }
      }
      return r.stream().mapToLong(Long::longValue).toArray();
    }

    private long[] unsqueezed(OnnxNode n, long[] d, long[] axes) {
      if (axes == null) {
        throw fail(n, "axes are missing");
      }
      int rank = d.length + axes.length;
      Set<Integer> ax = normAxes(axes, rank);
      if (ax.contains(-1) || ax.size() != axes.length) {
        throw fail(n, "axes " + dims(axes) + " are out of range or repeated for rank " + rank);
      }
      long[] r = new long[rank];
      int j = 0;
      for (int i = 0; i < rank; i++) {
        r[i] = ax.contains(i) ? 1 : d[j++];
      }
      return r;
    }

    private void concat(OnnxNode n) {
      boolean allConst = true;
      for (int i = 0; i < n.inputs().size(); i++) {
        allConst &= need(n, i) instanceof Const;
      }
      long axis = attrInt(n, "axis", Long.MIN_VALUE);
      if (axis == Long.MIN_VALUE) {
        throw fail(n, "attribute 'axis' is missing");
      }
      if (allConst) {
        out(n, concatConst(n, axis));
        return;
      }
      Dyn[] xs = new Dyn[n.inputs().size()];
      for (int i = 0; i < xs.length; i++) {
        xs[i] = plain(n, i);
      }
      int rank = xs[0].shape.rank();
      if (rank != 4 || (axis != 1 && axis != -3)) {
        throw fail(n, "Concat over axis " + axis + " of " + xs[0].shape + "; convkit"
            + " concatenates 4-d tensors over the channels (axis 1)");
      }
      out(n, xs.length == 1 ? xs[0] : emit(n, "", new Concat(), xs));
    }

    private Const concatConst(OnnxNode n, long axis) {
      List<Const> cs = new ArrayList<>();
      for (int i = 0; i < n.inputs().size(); i++) {
        cs.add((Const) need(n, i));
      }
      Const first = cs.get(0);
      int rank = first.dims.length;
      long a = axis < 0 ? axis + rank : axis;
      if (a < 0 || a >= rank) {
        throw fail(n, "axis " + axis + " is out of range for rank " + rank);
      }
      boolean isFloat = first.f != null;
      long outer = 1;
      for (int i = 0; i < a; i++) {
        outer *= first.dims[i];
      }
      long[] d = first.dims.clone();
      d[(int) a] = 0;
      long[] inner = new long[cs.size()];
      for (int k = 0; k < cs.size(); k++) {
        Const c = cs.get(k);
        if ((c.f != null) != isFloat || c.dims.length != rank) {
          throw fail(n, "constant inputs differ in type or rank");
        }
        for (int i = 0; i < rank; i++) {
          if (i != a && c.dims[i] != first.dims[i]) {
            throw fail(n, "constant inputs have dims " + dims(first.dims) + " and "
                + dims(c.dims));
          }
        }
        d[(int) a] += c.dims[(int) a];
        inner[k] = c.size() / Math.max(1, outer);
      }
      int total = 0;
      for (Const c : cs) {
        total += c.size();
      }
      float[] f = isFloat ? new float[total] : null;
      long[] l = isFloat ? null : new long[total];
      int at = 0;
      for (long o = 0; o < outer; o++) {
        for (int k = 0; k < cs.size(); k++) {
          int len = (int) inner[k];
          int from = (int) (o * len);
          if (isFloat) {
            System.arraycopy(cs.get(k).f, from, f, at, len);
          } else {
            System.arraycopy(cs.get(k).l, from, l, at, len);
          }
          at += len;
        }
      }
      return new Const(n.outputs().get(0), d, f, l);
    }

    private void softmax(OnnxNode n) {
      Dyn x = plain(n, 0);
      long axis = attrInt(n, "axis", opset < 13 ? 1 : -1);
      int r = x.shape.rank();
      boolean ok = r == 2 ? (axis == 1 || axis == -1) : opset < 13 && (axis == 1 || axis == 1 - r);
      if (!ok) {
        throw fail(n, "Softmax over axis " + axis + " of " + x.shape + "; convkit's softmax is"
            + " over each sample's features (a 2-d input's last axis)");
      }
      out(n, emit(n, "", new Softmax(), x));
    }

    private void dropout(OnnxNode n) {
      Val v = need(n, 0);
      if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()
          && reads.containsKey(n.outputs().get(1))) {
        throw fail(n, "the mask output is read; convkit imports inference graphs");
      }
      Const training = cstOrNull(n, 2, "training_mode");
      if (training != null && scalar(training) != 0) {
        throw fail(n, "training_mode is true; convkit imports inference graphs");
      }
      out(n, v);
    }

    private Const constantNode(OnnxNode n) {
      String out = n.outputs().isEmpty() ? "" : n.outputs().get(0);
      for (OnnxAttribute a : n.attributes()) {
        if (a instanceof OnnxAttribute.Tensor t && a.name().equals("value")) {
          return decode(new OnnxTensor(out, t.value().dataType(), t.value().dims(),
              t.value().data()), n);
        } else if (a instanceof OnnxAttribute.Float f && a.name().equals("value_float")) {
          return new Const(out, new long[0], new float[] {f.value()}, null);
        } else if (a instanceof OnnxAttribute.Floats f && a.name().equals("value_floats")) {
          return new Const(out, new long[] {f.values().length}, f.values(), null);
        } else if (a instanceof OnnxAttribute.Int i && a.name().equals("value_int")) {
          return new Const(out, new long[0], null, new long[] {i.value()});
        } else if (a instanceof OnnxAttribute.Ints i && a.name().equals("value_ints")) {
          return new Const(out, new long[] {i.values().length}, null, i.values());
        }
      }
      throw fail(n, "no value, value_float(s) or value_int(s) attribute");
    }

    private void shape(OnnxNode n) {
      Val v = need(n, 0);
      long[] d;
      if (v instanceof Const c) {
        d = c.dims;
      } else if (v instanceof Sig s) {
        d = onnxDims(s.x); // element-wise patterns keep their input's shape
      } else if (v instanceof Scaled s) {
        d = onnxDims(s.x);
      } else if (v instanceof ErfV e) {
        d = onnxDims(e.x);
      } else if (v instanceof ErfP1 e) {
        d = onnxDims(e.x);
      } else if (v instanceof XErf e) {
        d = onnxDims(e.x);
      } else {
        d = onnxDims(materialize(n.inputs().get(0), n));
      }
      int r = d.length;
      long start = attrInt(n, "start", 0);
      long end = attrInt(n, "end", r);
      start = Math.max(0, Math.min(r, start < 0 ? start + r : start));
      end = Math.max(start, Math.min(r, end < 0 ? end + r : end));
      long[] s = Arrays.copyOfRange(d, (int) start, (int) end);
      out(n, new Const(n.outputs().get(0), new long[] {s.length}, null, s));
    }

    /** The ONNX dims of a computed tensor: NHWC for a channels-last view, N as BATCH if symbolic. */
    private long[] onnxDims(Dyn x) {
      int[] s = x.shape.dims();
      long[] d = new long[s.length];
      for (int i = 0; i < s.length; i++) {
        d[i] = s[i];
      }
      if (x.channelsLast != null) {
        d = new long[] {s[0], s[2], s[3], s[1]};
      }
      if (symbolicBatch) {
        d[0] = BATCH;
      }
      return d;
    }

    private String onnxShape(Dyn x) {
      return dims(onnxDims(x));
    }

    private void gather(OnnxNode n) {
      Val v = need(n, 0);
      if (!(v instanceof Const data)) {
        throw fail(n, "Gather of a computed tensor; convkit folds Gather of constants only");
      }
      long[] idx = longs(n, cst(n, 1, "indices"), "indices");
      Const ic = (Const) need(n, 1);
      long axis = attrInt(n, "axis", 0);
      int r = data.dims.length;
      if (r < 1 || (axis != 0 && axis != -r)) {
        throw fail(n, "Gather over axis " + axis + " of dims " + dims(data.dims) + "; convkit"
            + " folds Gather over axis 0");
      }
      long rows = data.dims[0];
      int inner = (int) (data.size() / Math.max(1, rows));
      int total = idx.length * inner;
      float[] f = data.f == null ? null : new float[total];
      long[] l = data.l == null ? null : new long[total];
      for (int i = 0; i < idx.length; i++) {
        long j = idx[i] < 0 ? idx[i] + rows : idx[i];
        if (j < 0 || j >= rows) {
          throw fail(n, "index " + idx[i] + " is out of range for dims " + dims(data.dims));
        }
        if (f != null) {
          System.arraycopy(data.f, (int) j * inner, f, i * inner, inner);
        } else {
          System.arraycopy(data.l, (int) j * inner, l, i * inner, inner);
        }
      }
      long[] d = new long[ic.dims.length + r - 1];
      System.arraycopy(ic.dims, 0, d, 0, ic.dims.length);
      System.arraycopy(data.dims, 1, d, ic.dims.length, r - 1);
      out(n, new Const(n.outputs().get(0), d, f, l));
    }

    private void cast(OnnxNode n) {
      Val v = need(n, 0);
      long to = attrInt(n, "to", -1);
      boolean toFloat = to == OnnxTensor.FLOAT || to == OnnxTensor.DOUBLE;
      boolean toInt = to == OnnxTensor.INT64 || to == OnnxTensor.INT32;
      if (v instanceof Const c) {
        if (toFloat) {
          float[] f = c.f;
          if (f == null) {
            f = new float[c.l.length];
            for (int i = 0; i < f.length; i++) {
              if (c.l[i] == BATCH) {
                throw fail(n, "the value depends on the batch size, which is symbolic");
              }
              f[i] = c.l[i];
            }
          }
          out(n, new Const(c.name, c.dims, f, null));
          return;
        }
        if (toInt) {
          long[] l = c.l;
          if (l == null) {
            l = new long[c.f.length];
            for (int i = 0; i < l.length; i++) {
              l[i] = (long) c.f[i];
            }
          }
          out(n, new Const(c.name, c.dims, null, l));
          return;
        }
      } else if (to == OnnxTensor.FLOAT) {
        out(n, v);
        return;
      }
      throw fail(n, "Cast to type " + to + " is not supported");
    }

    private void slice(OnnxNode n) {
      Val v = need(n, 0);
      if (!(v instanceof Const c) || c.dims.length != 1) {
        throw fail(n, "Slice of a computed or multi-dimensional tensor; convkit folds Slice of"
            + " 1-d constants only");
      }
      long[] starts;
      long[] ends;
      long[] steps = null;
      if (opset < 10) {
        starts = attrInts(n, "starts");
        ends = attrInts(n, "ends");
      } else {
        starts = longs(n, cst(n, 1, "starts"), "starts");
        ends = longs(n, cst(n, 2, "ends"), "ends");
        Const axes = cstOrNull(n, 3, "axes");
        if (axes != null && (axes.size() != 1 || scalar(axes) != 0 && scalar(axes) != -1)) {
          throw fail(n, "axes must be [0] for a 1-d constant");
        }
        Const st = cstOrNull(n, 4, "steps");
        steps = st == null ? null : longs(n, st, "steps");
      }
      if (starts == null || ends == null || starts.length != 1 || ends.length != 1) {
        throw fail(n, "starts and ends must have one value each");
      }
      long step = steps == null ? 1 : steps[0];
      if (step != 1) {
        throw fail(n, "step " + step + "; convkit folds Slice with step 1 only");
      }
      long len = c.dims[0];
      long s = clampIndex(starts[0], len);
      long e = Math.max(s, clampIndex(ends[0], len));
      long[] d = {e - s};
      out(n, new Const(c.name, d, c.f == null ? null : Arrays.copyOfRange(c.f, (int) s, (int) e),
          c.l == null ? null : Arrays.copyOfRange(c.l, (int) s, (int) e)));
    }

    private static long clampIndex(long i, long len) {
      long v = i < 0 ? i + len : i;
      return Math.max(0, Math.min(len, v));
    }

    private void transpose(OnnxNode n) {
      Val v = need(n, 0);
      long[] perm = attrInts(n, "perm");
      if (!(v instanceof Const)) {
        Dyn x = dyn(n, 0);
        if (x.channelsLast == null && x.shape.rank() == 4
            && Arrays.equals(perm, new long[] {0, 2, 3, 1})) {
          out(n, new Dyn(x.node, x.shape, n));
          return;
        }
        if (x.channelsLast != null && Arrays.equals(perm, new long[] {0, 3, 1, 2})) {
          out(n, new Dyn(x.node, x.shape, null));
          return;
        }
      }
      throw transposeError(n);
    }

    private void pad(OnnxNode n) {
      Dyn x = plain(n, 0);
      String mode = attrString(n, "mode", "constant");
      long[] p;
      double value;
      if (opset < 11) {
        p = attrInts(n, "pads");
        value = attrFloat(n, "value", 0);
      } else {
        p = longs(n, cst(n, 1, "pads"), "pads");
        value = scalarOr(n, 2, "constant_value", 0);
        if (in(n, 3) != null) {
          throw fail(n, "the axes input is not supported");
        }
      }
      if (!mode.equals("constant") || value != 0) {
        throw fail(n, "Pad mode '" + mode + "' value " + value + "; convkit imports a constant"
            + " zero pad (before a Conv)");
      }
      if (p == null || p.length != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0
          || x.shape.rank() != 4) {
        throw fail(n, "pads " + (p == null ? "(missing)" : dims(p)) + "; convkit imports"
            + " padding of H and W of a 4-d tensor only");
      }
      int[] pads = new int[4];
      long[] src = {p[2], p[3], p[6], p[7]};
      for (int i = 0; i < 4; i++) {
        if (src[i] < 0 || src[i] > Shape.MAX_INDEX) {
          throw fail(n, "pads " + dims(p) + " must be >= 0");
        }
        pads[i] = (int) src[i];
      }
      out(n, new Padded(x, pads, n));
    }

    // ---- constant folding

    /** a op b for constants of one shape, or one of them a scalar. */
    private Const fold(OnnxNode n, Const a, Const b, char op) {
      boolean isFloat = a.f != null || b.f != null;
      if ((a.f != null) != (b.f != null)) {
        throw fail(n, "constant inputs differ in type (float and integer)");
      }
      int na = a.size();
      int nb = b.size();
      if (na != nb && na != 1 && nb != 1) {
        throw fail(n, "constants of dims " + dims(a.dims) + " and " + dims(b.dims) + "; convkit"
            + " folds same-shape or scalar operands only");
      }
      Const big = na >= nb ? a : b;
      if (na == nb && !Arrays.equals(a.dims, b.dims)) {
        big = a.dims.length >= b.dims.length ? a : b;
      }
      int len = Math.max(na, nb);
      if (isFloat) {
        float[] r = new float[len];
        for (int i = 0; i < len; i++) {
          double x = a.f[na == 1 ? 0 : i];
          double y = b.f[nb == 1 ? 0 : i];
          r[i] = (float) switch (op) {
            case '+' -> x + y;
            case '-' -> x - y;
            case '*' -> x * y;
            default -> x / y;
          };
        }
        return new Const(n.outputs().get(0), big.dims, r, null);
      }
      long[] r = new long[len];
      for (int i = 0; i < len; i++) {
        long x = a.l[na == 1 ? 0 : i];
        long y = b.l[nb == 1 ? 0 : i];
        if (x == BATCH || y == BATCH) {
          throw fail(n, "the value depends on the batch size, which is symbolic");
        }
        if (op == '/' && y == 0) {
          throw fail(n, "integer division by zero");
        }
        r[i] = switch (op) {
          case '+' -> x + y;
          case '-' -> x - y;
          case '*' -> x * y;
          default -> x / y;
        };
      }
      return new Const(n.outputs().get(0), big.dims, null, r);
    }

    // ---- the network

    private Imported build(String outNode) {
      // keep what the output needs
      Set<String> live = new HashSet<>();
      live.add(outNode);
      for (int i = ir.size() - 1; i >= 0; i--) {
        Ir node = ir.get(i);
        if (live.contains(node.name)) {
          live.addAll(node.inputs);
        }
      }
      List<Ir> keep = new ArrayList<>();
      for (Ir node : ir) {
        if (live.contains(node.name)) {
          keep.add(node);
        }
      }
      Map<String, Integer> consumers = new HashMap<>();
      for (Ir node : keep) {
        for (String in : node.inputs) {
          consumers.merge(in, 1, Integer::sum);
        }
      }
      consumers.merge(outNode, 1, Integer::sum);
      // constant adds into their producers' biases, then the names that read them redirected
      Map<String, String> redirect = new HashMap<>();
      List<Ir> nodes = new ArrayList<>();
      for (Ir node : keep) {
        node.inputs.replaceAll(s -> redirect.getOrDefault(s, s));
        if (node.layer instanceof ConstAdd ca) {
          String p = node.inputs.get(0);
          foldBias(ca, p, consumers.getOrDefault(p, 0));
          redirect.put(node.name, p);
          consumers.merge(p, consumers.getOrDefault(node.name, 0) - 1, Integer::sum);
          continue;
        }
        nodes.add(node);
      }
      String out = redirect.getOrDefault(outNode, outNode);
      // a batch norm folds into the conv it reads when nothing else reads that conv
      for (Ir node : nodes) {
        if (node.layer instanceof BatchNorm bn) {
          Ir p = irByName.get(node.inputs.get(0));
          if (p != null && p.layer instanceof ConvLayer c && !c.bnFolded()
              && consumers.getOrDefault(p.name, 0) == 1) {
            p.layer = c.withFoldedBn();
            node.layer = new BatchNorm(bn.channels(), p.name, bn.eps());
          }
        }
      }
      NetworkBuilder b = Network.builder(netName, nativeInput);
      for (Ir node : nodes) {
        try {
          b.layer(node.name, node.layer, node.inputs.toArray(new String[0]));
        } catch (IllegalArgumentException e) {
          throw fail(node.origin, e.getMessage());
        }
      }
      if (!b.current().equals(out)) {
        throw new OnnxImportException(netName + ": the graph output's layer '" + out
            + "' is not the last one"); // cannot happen: every kept layer feeds the output
      }
      Network net = b.build();
      NetworkWeights w = NetworkWeights.load(net, (key, shape) -> {
        float[] a = weights.get(key);
        if (a == null) {
          throw new OnnxImportException(netName + ": no weight for " + key);
        }
        return a;
      }, ParamNaming.NATIVE);
      return new Imported(net, w);
    }

    /** Folds a per-channel constant add into the bias of the layer {@code p} that it reads. */
    private void foldBias(ConstAdd ca, String p, int readers) {
      Ir prod = irByName.get(p);
      String what = prod == null ? "the graph input" : prod.layer.type() + " layer '" + p + "'";
      boolean foldable = prod != null && (prod.layer instanceof ConvLayer
          || prod.layer instanceof Linear || prod.layer instanceof BatchNorm
          || prod.layer instanceof LayerNorm);
      if (!foldable || readers != 1) {
        throw fail(ca.origin, "a constant added to the output of " + what
            + (foldable ? ", which " + readers + " layers read" : "")
            + "; convkit folds it only into the bias of the Conv, Gemm/MatMul or"
            + " BatchNormalization that produces the tensor, read by nothing else");
      }
      String key = p + ".bias";
      float[] old = weights.get(key);
      if (prod.layer instanceof ConvLayer c && !c.spec().hasBias()) {
        ConvLayer nc = new ConvLayer(Specs.withBias(c.spec(), true));
        prod.layer = c.bnFolded() ? nc.withFoldedBn() : nc;
      } else if (prod.layer instanceof Linear l && !l.hasBias()) {
        prod.layer = new Linear(l.in(), l.out(), true);
      }
      float[] nb = new float[ca.perChannel.length];
      for (int i = 0; i < nb.length; i++) {
        nb[i] = (float) ((old == null ? 0.0 : old[i]) + ca.perChannel[i]);
      }
      weights.put(key, nb);
    }

    private static String dims(long[] d) {
      StringBuilder s = new StringBuilder("[");
      for (int i = 0; i < d.length; i++) {
        s.append(i == 0 ? "" : ", ").append(d[i] == BATCH ? "N" : String.valueOf(d[i]));
      }
      return s.append(']').toString();
    }
  }
}
