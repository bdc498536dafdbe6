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
  private final int channels;
  private final String foldedInto;

  public BatchNorm(int channels, String foldedInto) {
    if (channels < 1) {
      throw new IllegalArgumentException("batch norm: channels must be >= 1, got " + channels);
    }
    this.channels = channels;
    this.foldedInto = foldedInto;
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
    return "batchnorm(" + channels + (foldedInto != null ? ", folded into " + foldedInto : "") + ")";
  }
}
