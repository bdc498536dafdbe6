package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/** Softmax over the features of each sample. */
public final class Softmax implements Layer {
  @Override
  public String type() {
    return "softmax";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return Layer.single("softmax", inputs);
  }
}
