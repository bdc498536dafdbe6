package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/** (N, C, H, W) to (N, C*H*W). */
public final class Flatten implements Layer {
  @Override
  public String type() {
    return "flatten";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("flatten", inputs);
    long per = s.elements() / s.dim(0);
    if (per > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("flatten: " + per + " features per sample is too many");
    }
    return Shape.of(s.dim(0), (int) per);
  }
}
