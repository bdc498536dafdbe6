package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Batch normalisation over channels. Trained: gamma and beta (2 x channels; the running mean and
 * variance are statistics, not parameters). Deployed: folded into the preceding convolution
 * ({@link #foldedInto()} names it) it stores nothing of its own; unfolded it is a per-channel
 * scale and shift (2 x channels).
 */
public final class BatchNorm implements Layer {
  /** PyTorch's default epsilon. */
  public static final double DEFAULT_EPS = 1e-5;

  private final int channels;
  private final String foldedInto;
  private final double eps;

  public BatchNorm(int channels, String foldedInto) {
    this(channels, foldedInto, DEFAULT_EPS);
  }

  /**
   * {@code eps} is added to the running variance: it is part of the trained function, so a
   * model ported from a framework keeps that framework's value (torchvision's GoogLeNet: 1e-3).
   */
  public BatchNorm(int channels, String foldedInto, double eps) {
    if (channels < 1) {
      throw new IllegalArgumentException("batch norm: channels must be >= 1, got " + channels);
    }
    if (!(eps > 0) || Double.isInfinite(eps)) {
      throw new IllegalArgumentException("batch norm: eps must be > 0, got " + eps);
    }
    this.channels = channels;
    this.foldedInto = foldedInto;
    this.eps = eps;
  }

  /** The epsilon added to the running variance. */
  public double eps() {
    return eps;
  }

  public int channels() {
    return channels;
  }

  /** The conv this BN is folded into for inference, or null. */
  public String foldedInto() {
    return foldedInto;
  }

  @Override
  public String type() {
    return "batchnorm";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("batchnorm", inputs);
    if (s.rank() < 2 || s.dim(1) != channels) {
      throw new IllegalArgumentException("batchnorm: expected " + channels + " channels, got " + s);
    }
    return s;
  }

  @Override
  public long paramsTrained() {
    return 2L * channels;
  }

  @Override
  public long paramsDeployed() {
    return foldedInto != null ? 0 : 2L * channels;
  }

  @Override
  public String describe() {
    return "batchnorm(" + channels + (eps != DEFAULT_EPS ? ", eps " + eps : "")
        + (foldedInto != null ? ", folded into " + foldedInto : "") + ")";
  }
}
