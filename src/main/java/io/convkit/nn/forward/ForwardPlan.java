package io.convkit.nn.forward;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.LrnSpec;
import io.convkit.nn.Act;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.Concat;
import io.convkit.nn.Conv2d;
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
import io.convkit.nn.Specs;
import io.convkit.nn.SqueezeExcite;
import io.convkit.nn.Subsampling;
import io.convkit.nn.weights.BnFold;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Lifetime;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A network compiled for inference with its weights: a list of {@link Step}s over numbered
 * values (value 0 is the network input), independent of engine and input size. Built once, run
 * by any number of {@link ForwardPass}es (one per engine); close it to free the weights.
 *
 * <p>What compiling does:
 * <ul>
 *   <li>A batch norm right after a conv is folded into it ({@link BnFold}); any other batch norm
 *       runs as a per-channel affine on the host.</li>
 *   <li>A ReLU, ReLU6, sigmoid, swish, GELU or tanh is fused into the conv, FC or add that
 *       produces its input, when that output feeds nothing else (through folded BNs and
 *       dropouts); hard-swish, hard-sigmoid, and any activation without such a producer, run on
 *       the host.</li>
 *   <li>LeNet-5's subsampling is a depthwise conv (every tap of a channel its coefficient).</li>
 *   <li>Inception-ResNet's scaled residual {@code x + s * r}: {@code s} is folded into the conv
 *       that produces {@code r} when {@code r} feeds only the add; otherwise a host scale.</li>
 *   <li>ConvNeXt's layer scale (gamma per channel) is folded into the weights and bias of the
 *       conv that produces its input (no activation, feeding nothing else); otherwise a host
 *       per-channel multiply.</li>
 *   <li>A fully connected layer is a 1x1 conv on the input viewed as {@code [N, C*H*W, 1, 1]}.</li>
 *   <li>Squeeze-and-excitation: global average pool and its two FCs on the engine (1x1 convs;
 *       the inner activation fused into the reduce FC, the sigmoid into the expand FC), then the
 *       channel multiply on the engine ({@link Step.ScaleChannels}).</li>
 *   <li>LRN, layer norm (gamma and beta put on the engine once per pass) and channel
 *       concatenation run on the engine ({@link Step.Lrn}, {@link Step.LayerNorm},
 *       {@link Step.Concat}). A concat copies its inputs: producers do not yet write straight
 *       into channel slices of its output.</li>
 *   <li>Flatten, dropout, folded BNs, fused activations and folded layer scales are aliases (no
 *       step).</li>
 *   <li>Everything else (softmax, unfolded batch norm, a layer scale that does not fold,
 *       standalone activations, LeNet-5's RBF, residual scales that do not fold)
 *       runs as {@link HostOps} on host arrays.</li>
 * </ul>
 */
public final class ForwardPlan implements AutoCloseable {
  /** ConvNeXt's LayerNorm epsilon. */
  static final double LN_EPS = 1e-6;

  private final Network net;
  private final List<Step> steps = new ArrayList<>();
  private final Map<String, Integer> valueOf = new HashMap<>();
  private final Map<String, Step> stepOf = new HashMap<>();
  private final Map<String, Integer> consumers = new HashMap<>();
  private final Map<String, String> bnOf = new HashMap<>();
  private final NetworkWeights weights;
  private int values = 1;
  private int output;
  // Forward passes hold it during a call, so close() frees the weights only after the call.
  private final Lifetime lifetime;

  public ForwardPlan(Network net, NetworkWeights weights) {
    this.net = net;
    this.weights = weights;
    this.lifetime = new Lifetime("forward plan of " + net.name(), this::freeWeights);
    for (Network.Node n : net.nodes()) {
      for (String in : n.inputs()) {
        consumers.merge(in, 1, Integer::sum);
      }
      if (n.layer() instanceof BatchNorm bn && bn.foldedInto() != null) {
        bnOf.put(bn.foldedInto(), n.name());
      }
    }
    List<Network.Node> nodes = net.nodes();
    consumers.merge(nodes.get(nodes.size() - 1).name(), 1, Integer::sum); // the output is read
    valueOf.put(Network.INPUT, 0);
    try {
      for (Network.Node n : nodes) {
        compile(n);
      }
      output = valueOf.get(nodes.get(nodes.size() - 1).name());
      for (Step s : steps) {
        build(s);
      }
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  public Network network() {
    return net;
  }

  public List<Step> steps() {
    return List.copyOf(steps);
  }

  /** The number of values (tensors): the input, then one per step. */
  public int valueCount() {
    return values;
  }

  /** The value holding the network's output. */
  public int output() {
    return output;
  }

  /** The value a network node's output lives in (aliases share their source's). */
  public int valueOf(String node) {
    Integer v = valueOf.get(node);
    if (v == null) {
      throw new IllegalArgumentException(net.name() + ": no layer named '" + node + "'");
    }
    return v;
  }

  private int in(Network.Node n, int i) {
    return valueOf.get(n.inputs().get(i));
  }

  private int newValue() {
    return values++;
  }

  private void add(Network.Node n, Step s) {
    steps.add(s);
    valueOf.put(n.name(), s.output());
    stepOf.put(n.name(), s);
  }

  private void alias(Network.Node n) {
    valueOf.put(n.name(), in(n, 0));
  }

  private void compile(Network.Node n) {
    String name = n.name();
    Layer l = n.layer();
    if (l instanceof ConvLayer c) {
      add(n, convStep(name, in(n, 0), c));
    } else if (l instanceof BatchNorm bn) {
      if (bn.foldedInto() != null) {
        alias(n);
      } else {
        BnFold.Folded f = BnFold.affine(w(name, "weight"), w(name, "bias"),
            w(name, "running_mean"), w(name, "running_var"), bn.eps());
        add(n, host(name, n, "batchnorm", same(), (x, s, y, ys) -> HostOps.channelAffine(x[0],
            s[0].dim(0), s[0].dim(1), s[0].plane(), f.weight(), f.bias(), y)));
      }
    } else if (l instanceof Dropout || l instanceof Flatten) {
      alias(n);
    } else if (l instanceof Act a) {
      Step p = fusableProducer(n.inputs().get(0));
      if (a.kind().fused() != null && p != null && activation(p) == Activation.NONE) {
        setActivation(p, a.kind().fused());
        alias(n);
      } else {
        Act.Kind k = a.kind();
        add(n, host(name, n, k.name().toLowerCase(), same(),
            (x, s, y, ys) -> HostOps.activation(k, x[0], y)));
      }
    } else if (l instanceof HardSigmoid hs) {
      double alpha = hs.alpha();
      double beta = hs.beta();
      add(n, host(name, n, "hardsigmoid", same(),
          (x, s, y, ys) -> HostOps.hardSigmoid(alpha, beta, x[0], y)));
    } else if (l instanceof PoolLayer p) {
      add(n, new Step.Pool(name, in(n, 0), newValue(), p.spec()));
    } else if (l instanceof io.convkit.nn.Add a) {
      int[] ins = new int[n.inputs().size()];
      for (int i = 0; i < ins.length; i++) {
        ins[i] = in(n, i);
      }
      if (a.scale() != 1) {
        scaleResiduals(n, a.scale(), ins);
      }
      add(n, new Step.Add(name, ins, newValue()));
    } else if (l instanceof Concat) {
      int[] ins = new int[n.inputs().size()];
      for (int i = 0; i < ins.length; i++) {
        ins[i] = in(n, i);
      }
      add(n, new Step.Concat(name, ins, newValue()));
    } else if (l instanceof Linear fc) {
      ConvSpec spec = Specs.conv(name, fc.in(), fc.out(), 1, 1, 0, 1, fc.hasBias());
      add(n, new Step.Fc(name, in(n, 0), newValue(), spec, w(name, "weight"),
          fc.hasBias() ? w(name, "bias") : null));
    } else if (l instanceof SqueezeExcite se) {
      squeezeExcite(n, se);
    } else if (l instanceof Lrn lrn) {
      add(n, new Step.Lrn(name, in(n, 0), newValue(),
          new LrnSpec(lrn.size(), lrn.alpha(), lrn.beta(), lrn.k())));
    } else if (l instanceof Softmax) {
      add(n, host(name, n, "softmax", same(), (x, s, y, ys) -> HostOps.softmax(x[0], s[0].dim(0),
          x[0].length / s[0].dim(0), y)));
    } else if (l instanceof LayerNorm) {
      add(n, new Step.LayerNorm(name, in(n, 0), newValue(), w(name, "weight"), w(name, "bias"),
          LN_EPS));
    } else if (l instanceof LayerScale) {
      float[] g = w(name, "weight");
      Step p = fusableProducer(n.inputs().get(0));
      if (p instanceof Step.ConvBacked c && activation(c) == Activation.NONE
          && c.channelScale == null && !c.base.hasConnections()
          && c.base.outChannels() == g.length) {
        c.channelScale = g;
        alias(n);
      } else {
        add(n, host(name, n, "layerscale", same(), (x, s, y, ys) -> HostOps.channelAffine(x[0],
            s[0].dim(0), s[0].dim(1), s[0].plane(), g, null, y)));
      }
    } else if (l instanceof Subsampling sub) {
      add(n, subsampleStep(name, in(n, 0), sub));
    } else if (l instanceof RbfOutput r) {
      float[] centres = w(name, "weight");
      add(n, host(name, n, "rbf", in -> Shape.of(in[0].dim(0), r.out()),
          (x, s, y, ys) -> HostOps.rbf(x[0], s[0].dim(0), r.in(), centres, r.out(), y)));
    } else {
      throw new IllegalArgumentException(net.name() + ": layer '" + name + "' ("
          + l.type() + ") has no forward implementation");
    }
  }

  private float[] w(String node, String param) {
    return weights.get(node, param);
  }

  private Step.Conv convStep(String name, int in, ConvLayer c) {
    ConvSpec spec = c.deployedSpec();
    float[] weight = w(name, "weight");
    float[] bias = c.spec().hasBias() ? w(name, "bias") : null;
    if (c.bnFolded()) {
      String bn = bnOf.get(name);
      double eps = ((BatchNorm) net.node(bn).layer()).eps();
      BnFold.Folded f = BnFold.fold(weight, bias, w(bn, "weight"), w(bn, "bias"),
          w(bn, "running_mean"), w(bn, "running_var"), eps);
      weight = f.weight();
      bias = f.bias();
    }
    return new Step.Conv(name, in, newValue(), spec, weight, bias);
  }

  /**
   * LeNet-5's subsampling as the engines' depthwise convolution it is: a window x window kernel
   * of stride window, no padding (a remainder row or column is dropped, as the layer's shape
   * says), every tap of channel c weighted coeff[c], plus bias[c]. On the engines its tanh fuses
   * and no value goes through the host (the host loop cost LeNet-5 most of its time).
   */
  private Step.Conv subsampleStep(String name, int in, Subsampling sub) {
    float[] coeff = w(name, "weight");
    int c = sub.channels();
    int k = sub.window();
    ConvSpec spec = Specs.conv(name, c, c, k, k, 0, c, true);
    float[] weight = new float[c * k * k];
    for (int ch = 0; ch < c; ch++) {
      Arrays.fill(weight, ch * k * k, (ch + 1) * k * k, coeff[ch]);
    }
    return new Step.Conv(name, in, newValue(), spec, weight, w(name, "bias"));
  }

  /**
   * SE on the engine where it can be: global average pool, the reduce FC (its inner activation
   * fused when it has an epilogue code, else on the host), the expand FC with the sigmoid fused,
   * then the channel multiply.
   */
  private void squeezeExcite(Network.Node n, SqueezeExcite se) {
    String name = n.name();
    int x = in(n, 0);
    Step.Pool pool = new Step.Pool(name + "/pool", x, newValue(), PoolSpec.global(PoolKind.AVG));
    steps.add(pool);
    Step.Conv reduce = new Step.Conv(name + "/reduce", pool.output(), newValue(), se.reduce(),
        w(name, "reduce.weight"), w(name, "reduce.bias"));
    steps.add(reduce);
    int r = reduce.output();
    if (se.inner().fused() != null) {
      reduce.act = se.inner().fused();
    } else {
      Act.Kind k = se.inner();
      Step act = new Step.Host(name + "/" + k.name().toLowerCase(), new int[] {r}, newValue(),
          k.name().toLowerCase(), in -> in[0], (a, s, y, ys) -> HostOps.activation(k, a[0], y));
      steps.add(act);
      r = act.output();
    }
    Step.Conv expand = new Step.Conv(name + "/expand", r, newValue(), se.expand(),
        w(name, "expand.weight"), w(name, "expand.bias"));
    expand.act = Activation.SIGMOID;
    steps.add(expand);
    add(n, new Step.ScaleChannels(name, x, expand.output(), newValue()));
  }

  /** {@code in0 + s * (in1 + ...)}: folds s into the residual's conv, or scales on the host. */
  private void scaleResiduals(Network.Node n, double scale, int[] ins) {
    for (int i = 1; i < ins.length; i++) {
      Step p = fusableProducer(n.inputs().get(i));
      if (p instanceof Step.Conv c && activation(c) == Activation.NONE) {
        c.scale = scale;
      } else {
        Step s = new Step.Host(n.name() + "/scale" + i, new int[] {ins[i]}, newValue(), "scale "
            + scale, in -> in[0], (a, sh, y, ys) -> HostOps.scale(a[0], scale, y));
        steps.add(s);
        ins[i] = s.output();
      }
    }
  }

  /**
   * The step whose output reaches {@code node} through folded BNs and dropouts only, each value
   * on the way read by nothing else; null if there is none (then nothing may be fused into it).
   */
  private Step fusableProducer(String node) {
    String at = node;
    while (true) {
      if (at.equals(Network.INPUT) || consumers.getOrDefault(at, 0) != 1) {
        return null;
      }
      Network.Node n = net.node(at);
      Layer l = n.layer();
      if ((l instanceof BatchNorm bn && bn.foldedInto() != null) || l instanceof Dropout) {
        at = n.inputs().get(0);
        continue;
      }
      return stepOf.get(at);
    }
  }

  /** The step's fused activation; null when nothing more may fuse (a scale is folded in). */
  private static Activation activation(Step s) {
    if (s instanceof Step.ConvBacked c) {
      return c.scale == 1 && c.channelScale == null ? c.act : null;
    } else if (s instanceof Step.Add a) {
      return a.act;
    }
    return null;
  }

  private static void setActivation(Step s, Activation act) {
    if (s instanceof Step.ConvBacked c) {
      c.act = act;
    } else if (s instanceof Step.Add a) {
      a.act = act;
    }
  }

  /** Builds the engine layers once the fusions are known; the raw arrays are dropped. */
  private static void build(Step s) {
    if (s instanceof Step.ConvBacked c) {
      float[] w = c.weight;
      float[] b = c.bias;
      if (c.scale != 1 || c.channelScale != null) {
        int out = c.base.outChannels();
        w = scaled(w, c.scale, c.channelScale, out);
        b = b == null ? null : scaled(b, c.scale, c.channelScale, out);
      }
      ConvSpec spec = c.base;
      if (b != null && !spec.hasBias()) {
        spec = Specs.withBias(spec, true);
      }
      c.conv = new Conv2d(Specs.withActivation(spec, c.act), w, b);
      c.weight = null;
      c.bias = null;
    }
  }

  /**
   * {@code a} (weights [out][...] or a bias [out]) with output channel o's values times
   * {@code s * perChannel[o]} (perChannel may be null), the product in double, rounded once.
   */
  private static float[] scaled(float[] a, double s, float[] perChannel, int out) {
    float[] r = new float[a.length];
    int per = a.length / out;
    for (int i = 0; i < a.length; i++) {
      double f = perChannel == null ? s : s * perChannel[i / per];
      r[i] = (float) (a[i] * f);
    }
    return r;
  }

  private Step host(String name, Network.Node n, String what, Step.Host.ShapeRule shape,
      Step.Host.Op op) {
    return new Step.Host(name, new int[] {in(n, 0)}, newValue(), what, shape, op);
  }

  private static Step.Host.ShapeRule same() {
    return in -> in[0];
  }

  /** Total multiply-adds of the engine steps for this input shape. */
  public long macs(Shape input) {
    Shape[] shapes = shapes(input);
    long m = 0;
    for (Step s : steps) {
      m += s.macs(inputShapes(s, shapes));
    }
    return m;
  }

  /** The tensor shape of every value for this input (checked against the network first). */
  Shape[] shapes(Shape input) {
    net.shapes(input); // the network's own checks, with its messages
    Shape[] shapes = new Shape[values];
    shapes[0] = input;
    for (Step s : steps) {
      shapes[s.output()] = s.outputShape(inputShapes(s, shapes));
    }
    return shapes;
  }

  static Shape[] inputShapes(Step s, Shape[] shapes) {
    Shape[] in = new Shape[s.inputCount()];
    for (int i = 0; i < in.length; i++) {
      in[i] = shapes[s.input(i)];
    }
    return in;
  }

  public boolean isClosed() {
    return lifetime.isClosed();
  }

  /** The use count a forward pass holds during a call. */
  Lifetime lifetime() {
    return lifetime;
  }

  /**
   * Frees the weights now, or when the last forward call using this plan (on any thread)
   * returns; later calls throw {@link IllegalStateException}.
   */
  @Override
  public void close() {
    lifetime.close();
  }

  private void freeWeights() {
    for (Step s : steps) {
      if (s instanceof Step.ConvBacked c && c.conv != null) {
        c.conv.close();
      }
    }
  }

  @Override
  public String toString() {
    return net.name() + " plan: " + steps.size() + " steps, " + values + " values";
  }
}
