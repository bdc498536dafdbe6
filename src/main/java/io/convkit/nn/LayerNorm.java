package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Layer norm over the channels at each position (ConvNeXt's channels-first LayerNorm; on an
 * (N, C) input, over C). Parameters: a weight and a bias per channel. It is not folded.
 */
public final class LayerNorm implements Layer {
  private final int channels;

  public LayerNorm(int channels) {
    if (channels < 1) {
      throw new IllegalArgumentException("layernorm: channels must be >= 1, got " + channels);
    }
    this.channels = channels;
  }

  public int channels() {
    return channels;
  }

  @Override
  public String type() {
    return "layernorm";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("layernorm", inputs);
    if (s.rank() < 2 || s.dim(1) != channels) {
      throw new IllegalArgumentException("layernorm: expected " + channels + " channels, got " + s);
    }
    return s;
  }

  @Override
  public long paramsTrained() {
    return 2L * channels;
  }
}
