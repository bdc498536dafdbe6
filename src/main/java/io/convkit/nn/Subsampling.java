package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * LeNet-5's trainable subsampling (LeCun et al. 1998, S2 and S4): per channel, the sum of each
 * non-overlapping {@code window x window} block times a learned coefficient plus a learned bias.
 * Parameters: 2 per channel. MACs: it is neither a conv nor an FC, so 0 under the counting
 * convention; {@link #connections(Shape)} gives LeCun's "connections" (window^2 + 1 per output).
 */
public final class Subsampling implements Layer {
  private final int channels;
  private final int window;

  public Subsampling(int channels, int window) {
    this.channels = channels;
    this.window = window;
  }

  public int channels() {
    return channels;
  }

  public int window() {
    return window;
  }

  @Override
  public String type() {
    return "subsample";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.nchw("subsample", inputs);
    if (s.c() != channels || s.h() < window || s.w() < window) {
      throw new IllegalArgumentException("subsample: expected " + channels
          + " channels at least " + window + "x" + window + ", got " + s);
    }
    return Shape.of(s.n(), s.c(), s.h() / window, s.w() / window);
  }

  @Override
  public long paramsTrained() {
    return 2L * channels;
  }

  /** LeCun's connection count: (window^2 inputs + bias) per output element. */
  public long connections(Shape output) {
    return output.elements() * (window * window + 1L);
  }

  @Override
  public String describe() {
    return "subsample(" + channels + " ch, " + window + "x" + window
        + " sum x coefficient + bias)";
  }
}
