package io.convkit.conv;

import io.convkit.tensor.Lifetime;
import io.convkit.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * The weights and bias of one convolution, validated against its spec and held both on the heap
 * (for the reference engine) and off-heap (for the native kernels).
 *
 * <p>Weights are dense {@code [out][in/groups][kh][kw]}. With a connection table they may be
 * dense {@code [out][in][kh][kw]} (every unconnected weight must then be zero, so a table never
 * silently drops a trained weight) or packed: the connected {@code kh*kw} blocks only, output by
 * output, inputs ascending. For a table the sparse form the kernel reads (per output: rows of the
 * unfolded input and their weights) is built once here.
 */
public final class ConvWeights implements AutoCloseable {
  private final ConvSpec spec;
  private final float[] dense;
  private final float[] bias;
  private final Tensor denseTensor;
  private final Tensor biasTensor;
  private final boolean allFinite;
  private IntPointer sparseStart;
  private IntPointer sparseRow;
  private FloatPointer sparseWeight;
  private final Lifetime lifetime;
  // Engine-specific forms of these weights (packed for a kernel), made once, freed with them.
  private final Map<String, AutoCloseable> derived = new HashMap<>();

  public ConvWeights(ConvSpec spec, float[] weights, float[] bias) {
    this.spec = spec;
    String name = spec.name();
    if (weights == null) {
      throw new IllegalArgumentException(name + ": weights are null");
    }
    long denseCount = spec.denseWeightCount();
    if (spec.hasConnections()) {
      long packed = spec.weightCount();
      if (weights.length == denseCount) {
        this.dense = weights.clone();
        checkUnconnectedZero(spec, dense);
      } else if (weights.length == packed) {
        this.dense = unpack(spec, weights);
      } else {
        throw new IllegalArgumentException(name + ": expected " + packed
            + " connected weights (or " + denseCount + " dense), got " + weights.length);
      }
    } else {
      if (weights.length != denseCount) {
        throw new IllegalArgumentException(name + ": expected " + denseCount + " weights ["
            + spec.outChannels() + "][" + spec.inChannelsPerGroup() + "][" + spec.kernelH() + "]["
            + spec.kernelW() + "], got " + weights.length);
      }
      this.dense = weights.clone();
    }
    if (spec.hasBias()) {
      if (bias == null || bias.length != spec.outChannels()) {
        throw new IllegalArgumentException(name + ": expected " + spec.outChannels()
            + " bias values, got " + (bias == null ? "none" : String.valueOf(bias.length)));
      }
      this.bias = bias.clone();
    } else {
      if (bias != null) {
        throw new IllegalArgumentException(name + ": spec has no bias, got " + bias.length
            + " bias values");
      }
      this.bias = null;
    }
    this.allFinite = finite(dense) && (this.bias == null || finite(this.bias));
    this.denseTensor = Tensor.of(dense, dense.length);
    this.biasTensor = this.bias == null ? null : Tensor.of(this.bias, this.bias.length);
    if (spec.hasConnections()) {
      buildSparse();
    }
    Tensor w = denseTensor;
    Tensor b = biasTensor;
    IntPointer start = sparseStart;
    IntPointer row = sparseRow;
    FloatPointer sw = sparseWeight;
    Map<String, AutoCloseable> derived = this.derived;
    // Frees exactly what was allocated here, without referring to this object.
    this.lifetime = new Lifetime("weights of " + name, () -> {
      closeDerived(derived);
      w.close();
      if (b != null) {
        b.close();
      }
      if (start != null) {
        start.close();
        row.close();
        sw.close();
      }
    });
  }

  /**
   * The form of these weights that {@code key} names (an engine's packed copy for one kernel),
   * made by {@code make} on first use and freed when these weights are (after {@link #close()}
   * and the last call using them). Call it while holding a use of {@link #lifetime()}.
   */
  public <T extends AutoCloseable> T derived(String key, Supplier<T> make) {
    synchronized (derived) {
      if (lifetime.isClosed()) {
        throw new IllegalStateException("weights of " + spec.name() + " are closed");
      }
      @SuppressWarnings("unchecked")
      T t = (T) derived.get(key);
      if (t == null) {
        t = make.get();
        derived.put(key, t);
      }
      return t;
    }
  }

  private static void closeDerived(Map<String, AutoCloseable> derived) {
    synchronized (derived) {
      for (AutoCloseable c : derived.values()) {
        try {
          c.close();
        } catch (Exception e) {
          throw new IllegalStateException("freeing packed weights: " + e.getMessage(), e);
        }
      }
      derived.clear();
    }
  }

  /**
   * The use count engines hold while a call reads these weights: {@link #close()} during a call
   * frees them only when the call returns.
   */
  public Lifetime lifetime() {
    return lifetime;
  }

  public ConvSpec spec() {
    return spec;
  }

  /** Dense weights [out][in/groups][kh][kw] (zeros where a table disconnects). Do not modify. */
  public float[] denseArray() {
    return dense;
  }

  /**
   * True when every weight and bias value is finite (recorded once, at construction). Engines
   * whose kernels multiply materialised padding zeros by the weights recompute the border outputs
   * of non-finite weights, where {@code Inf * 0} would give NaN for a tap that should contribute
   * nothing (io.convkit.engine.PaddedBorder).
   */
  public boolean allFinite() {
    return allFinite;
  }

  private static boolean finite(float[] a) {
    for (float v : a) {
      if (!Float.isFinite(v)) {
        return false;
      }
    }
    return true;
  }

  /** Bias, or null. Do not modify. */
  public float[] biasArray() {
    return bias;
  }

  public Tensor weights() {
    return denseTensor;
  }

  /** Bias tensor, or null when the spec has no bias. */
  public Tensor bias() {
    return biasTensor;
  }

  /** Per output o: entries [start[o], start[o+1]) of {@link #sparseRow()} and {@link #sparseWeight()}. */
  public IntPointer sparseStart() {
    return sparseStart;
  }

  /** Row of the unfolded input [in*kh*kw][...] each connected weight multiplies. */
  public IntPointer sparseRow() {
    return sparseRow;
  }

  public FloatPointer sparseWeight() {
    return sparseWeight;
  }

  private void buildSparse() {
    int out = spec.outChannels();
    int in = spec.inChannels();
    int rs = spec.kernelH() * spec.kernelW();
    int n = (int) spec.weightCount();
    int[] start = new int[out + 1];
    int[] row = new int[n];
    float[] w = new float[n];
    int j = 0;
    for (int o = 0; o < out; o++) {
      start[o] = j;
      for (int i = 0; i < in; i++) {
        if (spec.connected(o, i)) {
          for (int k = 0; k < rs; k++) {
            row[j] = i * rs + k;
            w[j++] = dense[(o * in + i) * rs + k];
          }
        }
      }
    }
    start[out] = j;
    sparseStart = new IntPointer(start);
    sparseRow = new IntPointer(row);
    sparseWeight = new FloatPointer(w);
  }

  private static void checkUnconnectedZero(ConvSpec spec, float[] dense) {
    int in = spec.inChannels();
    int rs = spec.kernelH() * spec.kernelW();
    for (int o = 0; o < spec.outChannels(); o++) {
      for (int i = 0; i < in; i++) {
        if (!spec.connected(o, i)) {
          for (int k = 0; k < rs; k++) {
            if (dense[(o * in + i) * rs + k] != 0f) {
              throw new IllegalArgumentException(spec.name() + ": dense weight [" + o + "][" + i
                  + "] is non-zero but the connection table disconnects output " + o
                  + " from input " + i);
            }
          }
        }
      }
    }
  }

  private static float[] unpack(ConvSpec spec, float[] packed) {
    int in = spec.inChannels();
    int rs = spec.kernelH() * spec.kernelW();
    float[] dense = new float[(int) spec.denseWeightCount()];
    int j = 0;
    for (int o = 0; o < spec.outChannels(); o++) {
      for (int i = 0; i < in; i++) {
        if (spec.connected(o, i)) {
          System.arraycopy(packed, j, dense, (o * in + i) * rs, rs);
          j += rs;
        }
      }
    }
    return dense;
  }

  /** True once {@link #close()} has run (engines drop their device copies of closed weights). */
  public boolean isClosed() {
    return lifetime.isClosed();
  }

  /**
   * Frees the off-heap copies now, or when the last engine call using them returns; later calls
   * with these weights throw {@link IllegalStateException}.
   */
  @Override
  public void close() {
    lifetime.close();
  }
}
