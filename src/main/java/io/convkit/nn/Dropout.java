package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/** Dropout: identity at inference. */
public final class Dropout implements Layer {
  private final double p;

  public Dropout(double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
    }
    this.p = p;
  }

  public double p() {
    return p;
  }

  @Override
  public String type() {
    return "dropout";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return Layer.single("dropout", inputs);
  }

  @Override
  public String describe() {
    return "dropout(" + p + ", identity at inference)";
  }
}
