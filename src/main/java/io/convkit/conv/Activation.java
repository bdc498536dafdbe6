package io.convkit.conv;

/**
 * Activation fused into a convolution's epilogue (and the residual add). {@link #code()} is the
 * value the kernels take (native/convkit.h, kernels-cl/activation.cl). {@link #apply(double)} is
 * the float64 definition the reference engine uses; the float32 kernels approximate it.
 */
public enum Activation {
  NONE(0),
  RELU(1),
  RELU6(2),
  /** 1 / (1 + e^-x). */
  SIGMOID(3),
  /** Swish / SiLU, x * sigmoid(x). */
  SWISH(4),
  /** GELU in its exact erf form, x * (1 + erf(x / sqrt 2)) / 2 (PyTorch's nn.GELU default). */
  GELU(5);

  private static final double SQRT_HALF = 0.7071067811865476;

  private final int code;

  Activation(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /**
   * The largest |f'(x)| over all x: how much an error in the pre-activation sum can grow through
   * the function (sigmoid 1/4; swish about 1.0998 near x = 2.4; GELU about 1.1289 near x = 2.1;
   * rounded up here).
   */
  public double lipschitz() {
    return switch (this) {
      case NONE, RELU, RELU6 -> 1;
      case SIGMOID -> 0.25;
      case SWISH -> 1.1;
      case GELU -> 1.13;
    };
  }

  public double apply(double v) {
    return switch (this) {
      case NONE -> v;
      case RELU -> v > 0 ? v : 0;
      case RELU6 -> v > 0 ? (v < 6 ? v : 6) : 0;
      case SIGMOID -> sigmoid(v);
      case SWISH -> v * sigmoid(v);
      // Phi(v) = erfc(-v / sqrt 2) / 2: for negative v that keeps the tiny tail's digits.
      case GELU -> v * 0.5 * ErrorFunction.erfc(-v * SQRT_HALF);
    };
  }

  private static double sigmoid(double v) {
    // Both branches exponentiate a non-positive number: no overflow, full relative accuracy.
    if (v >= 0) {
      return 1 / (1 + Math.exp(-v));
    }
    double e = Math.exp(v);
    return e / (1 + e);
  }
}
