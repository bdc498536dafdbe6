package io.convkit.conv;

/** Activation fused into a convolution's epilogue. {@link #code()} is the value the kernels take. */
public enum Activation {
  NONE(0),
  RELU(1),
  RELU6(2);

  private final int code;

  Activation(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  public double apply(double v) {
    return switch (this) {
      case NONE -> v;
      case RELU -> v > 0 ? v : 0;
      case RELU6 -> v > 0 ? (v < 6 ? v : 6) : 0;
    };
  }
}
