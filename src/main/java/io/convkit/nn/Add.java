package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Residual join: {@code inputs[0] + scale * (inputs[1] + ...)}. All inputs have one shape.
 * {@code scale} is 1 except in Inception-ResNet, which scales its residuals (0.1 to 0.3).
 */
public final class Add implements Layer {
  private final double scale;

  public Add(double scale) {
    this.scale = scale;
  }

  public double scale() {
    return scale;
  }

  @Override
  public String type() {
    return "add";
  }

  @Override
  public int arity() {
    return -1;
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    if (inputs.size() < 2) {
      throw new IllegalArgumentException("add: expected 2 or more inputs, got " + inputs.size());
    }
    for (Shape s : inputs) {
      if (!s.equals(inputs.get(0))) {
        throw new IllegalArgumentException("add: input shapes differ: " + inputs);
      }
    }
    return inputs.get(0);
  }

  @Override
  public String describe() {
    return scale == 1 ? "add" : "add(residual x " + scale + ")";
  }
}
