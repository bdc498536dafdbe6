package io.convkit.nn.forward;

import io.convkit.nn.Act;

/**
 * The network operations no engine has a kernel for, as plain Java loops on host arrays (NCHW,
 * batch first): standalone activations (hard-swish, hard-sigmoid, or one with no conv or add to
 * fuse into), softmax, per-channel affine (a layer scale that does not fold, an unfolded batch
 * norm), LeNet-5's RBF output, and a scalar scale. The networks' heavy work (convolutions with
 * their activations, pooling, adds, LRN, layer norm, concatenation, SE's channel scaling) runs
 * on the engines.
 *
 * <p>Every sum is accumulated in float64 and each result rounded once to float32, on every
 * engine (the reference engine needs float64 sums; using them everywhere costs nothing that
 * matters here and makes these ops give bit-identical results on every engine for the same
 * input, so engine agreement is decided by the engines' own kernels). Transcendentals are
 * computed in double and rounded once.
 *
 * <p>On the OpenCL engine each of these ops costs a round trip (the inputs are read back to the
 * host, the output written to the device); kernels for them are future work.
 */
public final class HostOps {
  private HostOps() {}

  /** {@code y = act(x)} elementwise; {@code y} may be {@code x}. */
  public static void activation(Act.Kind kind, float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) {
      y[i] = (float) activation(kind, x[i]);
    }
  }

  /**
   * One activation value, in double: the conv epilogue's float64 definition
   * ({@link io.convkit.conv.Activation#apply}) for every kind that fuses, so a host activation and
   * a fused one mean the same function; hard-swish has no epilogue code.
   */
  public static double activation(Act.Kind kind, double v) {
    return switch (kind) {
      case TANH -> Math.tanh(v);
      // x * hardsigmoid(x) as PyTorch evaluates it: -Inf * 0 is NaN, -3 * 0 is -0
      case HARD_SWISH -> v * clamp01(v / 6 + 0.5);
      default -> kind.fused().apply(v);
    };
  }

  /** {@code y = max(0, min(1, alpha * x + beta))} elementwise; {@code y} may be {@code x}. */
  public static void hardSigmoid(double alpha, double beta, float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) {
      y[i] = (float) hardSigmoid(alpha, beta, x[i]);
    }
  }

  /** One hard-sigmoid value, in double: {@code max(0, min(1, alpha * v + beta))}, NaN kept. */
  public static double hardSigmoid(double alpha, double beta, double v) {
    return clamp01(alpha * v + beta);
  }

  private static double clamp01(double t) {
    // Compares, not Math.max/min: a NaN fails both and must come out NaN; -0 clamps to +0.
    return t > 1 ? 1 : (t > 0 || Double.isNaN(t) ? t : 0);
  }

  /** Softmax over each sample's {@code features} values (the largest subtracted first). */
  public static void softmax(float[] x, int n, int features, float[] y) {
    double[] e = new double[features];
    for (int b = 0; b < n; b++) {
      int base = b * features;
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < features; i++) {
        max = Math.max(max, x[base + i]);
      }
      // each exponential once (y may be x: x[i] is read before y[i] is written)
      double sum = 0;
      for (int i = 0; i < features; i++) {
        e[i] = Math.exp(x[base + i] - max);
        sum += e[i];
      }
      for (int i = 0; i < features; i++) {
        y[base + i] = (float) (e[i] / sum);
      }
    }
  }

  /** {@code y = x * scale[c] + shift[c]} per channel ({@code shift} may be null). */
  public static void channelAffine(float[] x, int n, int c, int hw, float[] scale, float[] shift,
      float[] y) {
    for (int b = 0; b < n; b++) {
      for (int ch = 0; ch < c; ch++) {
        double s = scale[ch];
        double t = shift == null ? 0 : shift[ch];
        int base = (b * c + ch) * hw;
        for (int p = 0; p < hw; p++) {
          y[base + p] = (float) (x[base + p] * s + t);
        }
      }
    }
  }

  /**
   * LeNet-5's Euclidean RBF output (eq. 7): {@code y[b][i] = sum_j (x[b][j] - centres[i][j])^2}.
   */
  public static void rbf(float[] x, int n, int in, float[] centres, int out, float[] y) {
    for (int b = 0; b < n; b++) {
      for (int i = 0; i < out; i++) {
        double sum = 0;
        for (int j = 0; j < in; j++) {
          double d = (double) x[b * in + j] - centres[i * in + j];
          sum += d * d;
        }
        y[b * out + i] = (float) sum;
      }
    }
  }

  /** {@code y = s * x}. */
  public static void scale(float[] x, double s, float[] y) {
    for (int i = 0; i < x.length; i++) {
      y[i] = (float) (x[i] * s);
    }
  }
}
