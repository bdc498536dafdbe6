package io.convkit.conv;

/**
 * Activation fused into a convolution's epilogue (and the residual add). {@link #code()} is the
 * value the kernels take (native/convkit.h, kernels-cl/activation.cl). {@link #apply(double)} is
 * the float64 definition the reference engine uses; the float32 kernels approximate it.
 *
 * <p><b>Special values</b>, the same on every engine (NanSemanticsTest checks them bit for bit,
 * NaN payloads aside). NaN in gives NaN out, as in PyTorch and oneDNN: no activation (and no max
 * pooling) turns a NaN into a number. The infinities follow the IEEE evaluation of the formula
 * PyTorch uses ({@code x * sigmoid(x)} for SiLU, {@code x * 0.5 * (1 + erf(x / sqrt 2))} for
 * GELU), so where that multiplies an infinity by an exact zero the result is NaN, as PyTorch's:
 *
 * <table>
 *   <caption>f(x) at the special values</caption>
 *   <tr><th>f</th><th>NaN</th><th>-Inf</th><th>+Inf</th><th>-0</th></tr>
 *   <tr><td>NONE</td><td>NaN</td><td>-Inf</td><td>+Inf</td><td>-0</td></tr>
 *   <tr><td>RELU</td><td>NaN</td><td>+0</td><td>+Inf</td><td>+0</td></tr>
 *   <tr><td>RELU6</td><td>NaN</td><td>+0</td><td>6</td><td>+0</td></tr>
 *   <tr><td>SIGMOID</td><td>NaN</td><td>+0</td><td>1</td><td>0.5</td></tr>
 *   <tr><td>SWISH</td><td>NaN</td><td>NaN (-Inf * 0)</td><td>+Inf</td><td>-0</td></tr>
 *   <tr><td>GELU</td><td>NaN</td><td>NaN (-Inf * 0)</td><td>+Inf</td><td>-0</td></tr>
 *   <tr><td>TANH</td><td>NaN</td><td>-1</td><td>1</td><td>-0</td></tr>
 * </table>
 *
 * <p>Convolution: padded taps contribute nothing (oneDNN's and PyTorch's definition), so an
 * infinite weight gives an infinite output at the border too, not {@code Inf * 0 = NaN} from a
 * materialised zero; engines whose kernels multiply padding (im2col + GEMM, the direct kernels'
 * zero rows) recompute the border outputs of non-finite weights ({@code ConvWeights#allFinite}).
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
  GELU(5),
  /** tanh(x) (LeNet-5's squashing function; ONNX Tanh). */
  TANH(6);

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
      case NONE, RELU, RELU6, TANH -> 1;
      case SIGMOID -> 0.25;
      case SWISH -> 1.1;
      case GELU -> 1.13;
    };
  }

  public double apply(double v) {
    return switch (this) {
      case NONE -> v;
      // Compares, not Math.max: a NaN fails v > 0 and must still come out NaN.
      case RELU -> v > 0 || Double.isNaN(v) ? v : 0;
      case RELU6 -> v > 6 ? 6 : (v > 0 || Double.isNaN(v) ? v : 0);
      case SIGMOID -> sigmoid(v);
      case SWISH -> v * sigmoid(v);
      // Phi(v) = erfc(-v / sqrt 2) / 2: for negative v that keeps the tiny tail's digits.
      case GELU -> v * 0.5 * ErrorFunction.erfc(-v * SQRT_HALF);
      case TANH -> Math.tanh(v);
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
