package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * A learned per-channel scale (ConvNeXt's layer scale gamma). Deployed, it could fold into the
 * preceding 1x1 conv; it is counted where it is (one parameter per channel, both ways).
 */
public final class LayerScale implements Layer {
  private final int channels;

  public LayerScale(int channels) {
    this.channels = channels;
  }

  public int channels() {
    return channels;
  }

  @Override
  public String type() {
    return "layerscale";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("layerscale", inputs);
    if (s.rank() < 2 || s.dim(1) != channels) {
      throw new IllegalArgumentException("layerscale: expected " + channels + " channels, got " + s);
    }
    return s;
  }

  @Override
  public long paramsTrained() {
    return channels;
  }
}
