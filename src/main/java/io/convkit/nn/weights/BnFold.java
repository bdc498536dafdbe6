package io.convkit.nn.weights;

/**
 * Batch norm folded into the preceding convolution for inference, the one place this formula
 * lives. BN computes {@code gamma * (z - mean) / sqrt(var + eps) + beta} per output channel of
 * {@code z = w * x + b}, so with {@code s = gamma / sqrt(var + eps)}:
 * {@code w' = s * w} (every weight of the channel) and {@code b' = beta + s * (b - mean)}.
 * Computed in double, each result rounded once.
 */
public final class BnFold {
  private BnFold() {}

  /** A folded weight and bias. */
  public record Folded(float[] weight, float[] bias) {}

  /**
   * Folds BN ({@code gamma, beta, mean, var}, one value per output channel) into a conv's
   * weights ({@code [out][...]}, {@code weight.length / out} per channel) and bias (null: zero).
   */
  public static Folded fold(float[] weight, float[] bias, float[] gamma, float[] beta,
      float[] mean, float[] var, double eps) {
    int out = gamma.length;
    if (weight.length % out != 0 || beta.length != out || mean.length != out
        || var.length != out || (bias != null && bias.length != out)) {
      throw new IllegalArgumentException("batch norm fold: " + out + " channels do not match "
          + weight.length + " weights" + (bias == null ? "" : " and " + bias.length + " biases"));
    }
    int per = weight.length / out;
    float[] w = new float[weight.length];
    float[] b = new float[out];
    double[] s = scale(gamma, var, eps);
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < per; i++) {
        w[o * per + i] = (float) (s[o] * weight[o * per + i]);
      }
      b[o] = (float) (beta[o] + s[o] * ((bias == null ? 0.0 : bias[o]) - mean[o]));
    }
    return new Folded(w, b);
  }

  /**
   * An unfolded BN as a per-channel affine {@code y = scale * x + shift}: {@code weight()} holds
   * the scale, {@code bias()} the shift.
   */
  public static Folded affine(float[] gamma, float[] beta, float[] mean, float[] var, double eps) {
    float[] one = new float[gamma.length];
    java.util.Arrays.fill(one, 1f);
    return fold(one, null, gamma, beta, mean, var, eps);
  }

  private static double[] scale(float[] gamma, float[] var, double eps) {
    double[] s = new double[gamma.length];
    for (int o = 0; o < s.length; o++) {
      if (!(var[o] + eps > 0)) {
        throw new IllegalArgumentException("batch norm fold: running variance of channel " + o
            + " is " + var[o]);
      }
      s[o] = gamma[o] / Math.sqrt(var[o] + eps);
    }
    return s;
  }
}
