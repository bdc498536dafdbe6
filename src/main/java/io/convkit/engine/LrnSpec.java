package io.convkit.engine;

/**
 * Cross-channel local response normalisation (Krizhevsky et al. 2012, section 3.3; Caffe's
 * ACROSS_CHANNELS): {@code y = x / (k + alpha/size * sum x^2)^beta}, the sum over the channels
 * {@code c - (size-1)/2 .. c + size/2} clipped to the tensor (alpha is divided by the window size,
 * as Caffe and PyTorch do).
 */
public record LrnSpec(int size, double alpha, double beta, double k) {
  public LrnSpec {
    if (size < 1) {
      throw new IllegalArgumentException("lrn: size must be >= 1, got " + size);
    }
    if (!Double.isFinite(alpha) || alpha < 0) {
      throw new IllegalArgumentException("lrn: alpha must be finite and >= 0, got " + alpha);
    }
    if (!Double.isFinite(beta)) {
      throw new IllegalArgumentException("lrn: beta must be finite, got " + beta);
    }
    // k > 0 keeps the base of the power positive (the sum of squares is >= 0).
    if (!Double.isFinite(k) || k <= 0) {
      throw new IllegalArgumentException("lrn: k must be finite and > 0, got " + k);
    }
  }

  /** Channels the window reaches below c. */
  public int before() {
    return (size - 1) / 2;
  }

  /** Channels the window reaches above c. */
  public int after() {
    return size / 2;
  }

  @Override
  public String toString() {
    return "lrn(size " + size + ", alpha " + alpha + ", beta " + beta + ", k " + k + ")";
  }
}
