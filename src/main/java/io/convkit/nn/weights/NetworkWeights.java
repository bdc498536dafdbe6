package io.convkit.nn.weights;

import io.convkit.conv.ConvSpec;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.ConvLayer;
import io.convkit.nn.Layer;
import io.convkit.nn.LayerNorm;
import io.convkit.nn.LayerScale;
import io.convkit.nn.Linear;
import io.convkit.nn.Network;
import io.convkit.nn.RbfOutput;
import io.convkit.nn.SqueezeExcite;
import io.convkit.nn.Subsampling;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Every parameter a network's forward pass reads, as float arrays keyed by node and parameter
 * name ({@link #params(Network)} lists them with their shapes): seeded random ({@link #random})
 * or from a {@link WeightSource} ({@link #load}). Trained form: batch norms keep gamma, beta and
 * running statistics here; the forward pass folds them into their convs ({@link BnFold}).
 *
 * <p>Parameters per layer: conv {@code weight [out][in/groups][kh][kw]} (a connection table's
 * unconnected weights are zero) and {@code bias [out]} if the spec has one; batch norm
 * {@code weight} (gamma), {@code bias} (beta), {@code running_mean}, {@code running_var};
 * linear {@code weight [out][in]}, {@code bias [out]}; layer norm {@code weight}, {@code bias};
 * layer scale {@code weight}; squeeze-excitation {@code reduce.weight}, {@code reduce.bias},
 * {@code expand.weight}, {@code expand.bias}; LeNet-5's subsampling {@code weight} (the
 * coefficient) and {@code bias}, RBF output {@code weight [out][in]} (the centres).
 */
public final class NetworkWeights {
  /** How {@link #random} draws a parameter. */
  public enum Init {
    /** He et al. 2015: normal, std sqrt(2 / fan_in). */
    HE,
    /** Small: normal, std 0.01. */
    BIAS,
    /** Batch/layer norm gamma: 1 + normal(0, 0.05). */
    GAMMA,
    /**
     * The gamma of a batch norm that ends a residual branch (it feeds an add, directly or through
     * squeeze-excitation, as the residual): 0.2 x (1 + normal(0, 0.05)). With running statistics
     * near (0, 1) a BN does not normalise, so gamma near 1 would double the residual stream's
     * variance at every block (2^50 over ResNet-152's 50 blocks, where float32 rounding then
     * decides SE's sigmoids); 0.2 keeps it within 10x. Trained nets learn small values there
     * too (Goyal et al. 2017 initialise it to zero).
     */
    RESIDUAL_GAMMA,
    /** Beta and running mean: normal(0, 0.05). */
    SHIFT,
    /** Running variance: exp(normal(0, 0.1)), about 1 and positive. */
    VARIANCE,
    /** ConvNeXt's layer scale: 0.1 x (1 + normal(0, 0.05)) (the paper starts at 1e-6). */
    LAYER_SCALE,
    /** LeNet-5's RBF centres: +1 or -1 (the paper's bitmaps are +-1 too). */
    SIGN
  }

  /** One parameter: its node, name, shape and (for random weights) initialisation. */
  public record Param(String node, String name, int[] shape, Init init, int fanIn) {
    public String key() {
      return node + "." + name;
    }

    /** The number of values; IllegalArgumentException naming it past what an array holds. */
    public int size() {
      long n = 1;
      for (int d : shape) {
        n *= d;
        if (n > Integer.MAX_VALUE - 8) { // HotSpot's largest array; checked per factor, no overflow
          throw new IllegalArgumentException("parameter " + key() + " of shape "
              + Arrays.toString(shape) + " has more values than a Java array holds");
        }
      }
      return (int) n;
    }

    /** Bytes as float32, without the array limit (for estimates before allocating). */
    public long bytes() {
      long n = 4;
      for (int d : shape) {
        n = n > Long.MAX_VALUE / Math.max(1, d) ? Long.MAX_VALUE : n * d;
      }
      return n;
    }
  }

  private final String model;
  private final Map<String, float[]> values;

  private NetworkWeights(String model, Map<String, float[]> values) {
    this.model = model;
    this.values = values;
  }

  /** The parameters {@code net}'s forward pass reads, in node order. */
  public static List<Param> params(Network net) {
    List<Param> out = new ArrayList<>();
    java.util.Set<String> residual = residualEnds(net);
    for (Network.Node n : net.nodes()) {
      String name = n.name();
      Layer l = n.layer();
      if (l instanceof ConvLayer c) {
        conv(out, name, "", c.spec());
      } else if (l instanceof BatchNorm bn) {
        int ch = bn.channels();
        out.add(new Param(name, "weight", new int[] {ch},
            residual.contains(name) ? Init.RESIDUAL_GAMMA : Init.GAMMA, 0));
        out.add(new Param(name, "bias", new int[] {ch}, Init.SHIFT, 0));
        out.add(new Param(name, "running_mean", new int[] {ch}, Init.SHIFT, 0));
        out.add(new Param(name, "running_var", new int[] {ch}, Init.VARIANCE, 0));
      } else if (l instanceof Linear fc) {
        out.add(new Param(name, "weight", new int[] {fc.out(), fc.in()}, Init.HE, fc.in()));
        if (fc.hasBias()) {
          out.add(new Param(name, "bias", new int[] {fc.out()}, Init.BIAS, 0));
        }
      } else if (l instanceof LayerNorm ln) {
        out.add(new Param(name, "weight", new int[] {ln.channels()}, Init.GAMMA, 0));
        out.add(new Param(name, "bias", new int[] {ln.channels()}, Init.SHIFT, 0));
      } else if (l instanceof LayerScale ls) {
        out.add(new Param(name, "weight", new int[] {ls.channels()}, Init.LAYER_SCALE, 0));
      } else if (l instanceof SqueezeExcite se) {
        conv(out, name, "reduce.", se.reduce());
        conv(out, name, "expand.", se.expand());
      } else if (l instanceof Subsampling s) {
        int w = s.window();
        out.add(new Param(name, "weight", new int[] {s.channels()}, Init.HE, w * w));
        out.add(new Param(name, "bias", new int[] {s.channels()}, Init.BIAS, 0));
      } else if (l instanceof RbfOutput r) {
        out.add(new Param(name, "weight", new int[] {r.out(), r.in()}, Init.SIGN, 0));
      }
    }
    return out;
  }

  /**
   * The heap bytes {@link #random} or {@link #load} will hold for {@code net} (float32 arrays),
   * computed from the shapes alone so a caller can check it against the heap first.
   */
  public static long bytes(Network net) {
    long n = 0;
    for (Param p : params(net)) {
      long b = p.bytes();
      n = b > Long.MAX_VALUE / 2 - n ? Long.MAX_VALUE / 2 : n + b; // saturates: only compared
    }
    return n;
  }

  /** The nodes an add reads as a residual (not its first input), and those feeding them via SE. */
  private static java.util.Set<String> residualEnds(Network net) {
    java.util.Set<String> ends = new java.util.HashSet<>();
    for (Network.Node n : net.nodes()) {
      if (n.layer() instanceof io.convkit.nn.Add) {
        for (String in : n.inputs().subList(1, n.inputs().size())) {
          ends.add(in);
          if (in.equals(Network.INPUT)) {
            continue; // the graph input (an imported x + x): no layer behind it
          }
          Network.Node src = net.node(in);
          if (src.layer() instanceof SqueezeExcite) {
            ends.add(src.inputs().get(0));
          }
        }
      }
    }
    return ends;
  }

  private static void conv(List<Param> out, String node, String prefix, ConvSpec s) {
    int fanIn = (int) Math.max(1, s.weightCount() / s.outChannels());
    out.add(new Param(node, prefix + "weight", new int[] {s.outChannels(),
        s.inChannelsPerGroup(), s.kernelH(), s.kernelW()}, Init.HE, fanIn));
    if (s.hasBias()) {
      out.add(new Param(node, prefix + "bias", new int[] {s.outChannels()}, Init.BIAS, 0));
    }
  }

  /**
   * Seeded random weights for every parameter. Each parameter's stream depends on the seed and
   * its key only, so adding a layer does not change the others.
   */
  public static NetworkWeights random(Network net, long seed) {
    Map<String, float[]> v = new HashMap<>();
    for (Param p : params(net)) {
      float[] a = draw(p, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p.key().hashCode()));
      if (p.init() == Init.HE && net.node(p.node()).layer() instanceof ConvLayer c
          && c.spec().hasConnections()) {
        zeroUnconnected(c.spec(), a);
      }
      v.put(p.key(), a);
    }
    return new NetworkWeights(net.name(), v);
  }

  /**
   * Every parameter from {@code source}, under the keys {@code naming} gives (shapes checked by
   * the source). Extra tensors in the source are the source's business (a state dict's
   * {@code requireAllUsed}).
   */
  public static NetworkWeights load(Network net, WeightSource source, ParamNaming naming) {
    Map<String, float[]> v = new HashMap<>();
    for (Param p : params(net)) {
      String key = naming.key(p.node(), p.name());
      float[] a = source.take(key, p.shape());
      if (a == null || a.length != p.size()) {
        throw new IllegalArgumentException(net.name() + ": weight '" + key + "' for "
            + p.key() + " has " + (a == null ? "no" : String.valueOf(a.length)) + " values, expected "
            + p.size() + " " + Arrays.toString(p.shape()));
      }
      v.put(p.key(), a);
    }
    return new NetworkWeights(net.name(), v);
  }

  /** The values of {@code node}'s parameter {@code name}; throws naming it if there is none. */
  public float[] get(String node, String name) {
    float[] a = values.get(node + "." + name);
    if (a == null) {
      throw new IllegalArgumentException(model + ": no weights for " + node + "." + name);
    }
    return a;
  }

  /** The number of values held. */
  public long count() {
    long n = 0;
    for (float[] a : values.values()) {
      n += a.length;
    }
    return n;
  }

  private static float[] draw(Param p, SplittableRandom r) {
    float[] a = new float[p.size()];
    double std = p.init() == Init.HE ? Math.sqrt(2.0 / p.fanIn()) : 0;
    for (int i = 0; i < a.length; i += 2) {
      // Box-Muller: two standard normals per pair of uniforms.
      double u = 1.0 - r.nextDouble();
      double rad = Math.sqrt(-2 * Math.log(u));
      double t = 2 * Math.PI * r.nextDouble();
      a[i] = value(p.init(), rad * Math.cos(t), std);
      if (i + 1 < a.length) {
        a[i + 1] = value(p.init(), rad * Math.sin(t), std);
      }
    }
    return a;
  }

  private static float value(Init init, double z, double std) {
    return (float) switch (init) {
      case HE -> std * z;
      case BIAS -> 0.01 * z;
      case GAMMA -> 1 + 0.05 * z;
      case RESIDUAL_GAMMA -> 0.2 * (1 + 0.05 * z);
      case SHIFT -> 0.05 * z;
      case VARIANCE -> Math.exp(0.1 * z);
      case LAYER_SCALE -> 0.1 * (1 + 0.05 * z);
      case SIGN -> z >= 0 ? 1 : -1;
    };
  }

  private static void zeroUnconnected(ConvSpec s, float[] w) {
    int in = s.inChannels();
    int rs = s.kernelH() * s.kernelW();
    for (int o = 0; o < s.outChannels(); o++) {
      for (int i = 0; i < in; i++) {
        if (!s.connected(o, i)) {
          Arrays.fill(w, (o * in + i) * rs, (o * in + i + 1) * rs, 0f);
        }
      }
    }
  }
}
