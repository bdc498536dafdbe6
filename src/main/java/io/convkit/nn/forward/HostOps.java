package io.convkit.nn.forward;

import io.convkit.nn.Act;

/**
 * The network operations the forward pass runs on the host, as plain Java loops on host arrays
 * (NCHW, batch first): standalone activations, squeeze-and-excitation's sigmoid and channel
 * scaling, softmax, per-channel affine (layer scale, an unfolded batch norm), LeNet-5's
 * subsampling and RBF output, and a scalar scale. (LRN, layer norm and concatenation are engine
 * operations.)
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

  /** One activation value, in double. */
  public static double activation(Act.Kind kind, double v) {
    return switch (kind) {
      case RELU -> v > 0 ? v : 0;
      case RELU6 -> v > 0 ? (v < 6 ? v : 6) : 0;
      case SIGMOID -> sigmoid(v);
      case TANH -> Math.tanh(v);
      case SWISH -> v * sigmoid(v);
      case GELU -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
    };
  }

  static double sigmoid(double v) {
    return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
  }

  /**
   * The error function through Numerical Recipes' Chebyshev fit of erfc (fractional error below
   * 1.2e-7, i.e. about one float32 ulp): GELU's exact (erf) form, as ConvNeXt uses it.
   */
  static double erf(double x) {
    double z = Math.abs(x);
    double t = 1 / (1 + 0.5 * z);
    double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196
        + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398
        + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? 1 - r : r - 1;
  }

  /**
   * Squeeze-and-excitation's rescale: {@code y[n][c][p] = x[n][c][p] * sigmoid(e[n][c])}, where
   * {@code e} is the excitation FC's output (before its sigmoid).
   */
  public static void seScale(float[] x, float[] e, int n, int c, int hw, float[] y) {
    for (int b = 0; b < n; b++) {
      for (int ch = 0; ch < c; ch++) {
        double s = sigmoid(e[b * c + ch]);
        int base = (b * c + ch) * hw;
        for (int p = 0; p < hw; p++) {
          y[base + p] = (float) (x[base + p] * s);
        }
      }
    }
  }

  /** Softmax over each sample's {@code features} values (the largest subtracted first). */
  public static void softmax(float[] x, int n, int features, float[] y) {
    for (int b = 0; b < n; b++) {
      int base = b * features;
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < features; i++) {
        max = Math.max(max, x[base + i]);
      }
      double sum = 0;
      for (int i = 0; i < features; i++) {
        sum += Math.exp(x[base + i] - max);
      }
      for (int i = 0; i < features; i++) {
        y[base + i] = (float) (Math.exp(x[base + i] - max) / sum);
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
   * LeNet-5's subsampling (S2, S4): per channel, the sum of each non-overlapping
   * {@code window x window} block times {@code coeff[c]} plus {@code bias[c]}; the output is
   * {@code h/window x w/window} (a remainder row or column is dropped).
   */
  public static void subsample(float[] x, int n, int c, int h, int w, int window, float[] coeff,
      float[] bias, float[] y) {
    int oh = h / window;
    int ow = w / window;
    for (int plane = 0; plane < n * c; plane++) {
      int ch = plane % c;
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          double sum = 0;
          for (int ky = 0; ky < window; ky++) {
            for (int kx = 0; kx < window; kx++) {
              sum += x[(plane * h + oy * window + ky) * w + ox * window + kx];
            }
          }
          y[(plane * oh + oy) * ow + ox] = (float) (sum * coeff[ch] + bias[ch]);
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
