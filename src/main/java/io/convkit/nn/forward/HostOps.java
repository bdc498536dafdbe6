package io.convkit.nn.forward;

import io.convkit.nn.Act;

/**
 * The network operations no engine has a kernel for, as plain Java loops on host arrays (NCHW,
 * batch first): standalone activations, LRN, channel concatenation, squeeze-and-excitation's
 * channel multiply, softmax, layer norm, per-channel affine (layer scale, an unfolded batch norm),
 * LeNet-5's subsampling and RBF output, and a scalar scale.
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
   * a fused one mean the same function; tanh has no epilogue code.
   */
  public static double activation(Act.Kind kind, double v) {
    return kind == Act.Kind.TANH ? Math.tanh(v) : kind.fused().apply(v);
  }

  /**
   * Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3, Caffe's
   * ACROSS_CHANNELS): {@code y = x / (k + alpha/size * sum x^2)^beta}, the sum over channels
   * {@code c - (size-1)/2 .. c + size/2} clipped to the tensor.
   */
  public static void lrn(float[] x, int n, int c, int hw, int size, double alpha, double beta,
      double k, float[] y) {
    int before = (size - 1) / 2;
    int after = size / 2;
    for (int b = 0; b < n; b++) {
      for (int ch = 0; ch < c; ch++) {
        int lo = Math.max(0, ch - before);
        int hi = Math.min(c - 1, ch + after);
        for (int p = 0; p < hw; p++) {
          double sum = 0;
          for (int j = lo; j <= hi; j++) {
            double v = x[(b * c + j) * hw + p];
            sum += v * v;
          }
          int i = (b * c + ch) * hw + p;
          y[i] = (float) (x[i] / Math.pow(k + alpha / size * sum, beta));
        }
      }
    }
  }

  /** Concatenation along channels: {@code inputs[j]} has {@code channels[j]} channels. */
  public static void concat(float[][] inputs, int[] channels, int n, int hw, float[] y) {
    int total = 0;
    for (int ch : channels) {
      total += ch;
    }
    for (int b = 0; b < n; b++) {
      int at = b * total * hw;
      for (int j = 0; j < inputs.length; j++) {
        int len = channels[j] * hw;
        System.arraycopy(inputs[j], b * len, y, at, len);
        at += len;
      }
    }
  }

  /**
   * Squeeze-and-excitation's rescale: {@code y[n][c][p] = x[n][c][p] * gate[n][c]}, where
   * {@code gate} is the excitation FC's output with its sigmoid already applied (fused into that
   * FC's epilogue).
   */
  public static void seMultiply(float[] x, float[] gate, int n, int c, int hw, float[] y) {
    for (int b = 0; b < n; b++) {
      for (int ch = 0; ch < c; ch++) {
        float g = gate[b * c + ch];
        int base = (b * c + ch) * hw;
        for (int p = 0; p < hw; p++) {
          y[base + p] = x[base + p] * g;
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

  /**
   * Layer norm over the channels at each position (ConvNeXt's channels-first LayerNorm):
   * {@code y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]}, with the biased variance.
   */
  public static void layerNorm(float[] x, int n, int c, int hw, float[] weight, float[] bias,
      double eps, float[] y) {
    for (int b = 0; b < n; b++) {
      for (int p = 0; p < hw; p++) {
        double sum = 0;
        for (int ch = 0; ch < c; ch++) {
          sum += x[(b * c + ch) * hw + p];
        }
        double mean = sum / c;
        double sq = 0;
        for (int ch = 0; ch < c; ch++) {
          double d = x[(b * c + ch) * hw + p] - mean;
          sq += d * d;
        }
        double inv = 1 / Math.sqrt(sq / c + eps);
        for (int ch = 0; ch < c; ch++) {
          int i = (b * c + ch) * hw + p;
          y[i] = (float) ((x[i] - mean) * inv * weight[ch] + bias[ch]);
        }
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
