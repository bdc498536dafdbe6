package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/** Concatenation along channels (inception): N, H and W must agree. */
public final class Concat implements Layer {
  @Override
  public String type() {
    return "concat";
  }

  @Override
  public int arity() {
    return -1;
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    if (inputs.size() < 2) {
      throw new IllegalArgumentException("concat: expected 2 or more inputs, got " + inputs.size());
    }
    Shape f = inputs.get(0);
    int c = 0;
    for (Shape s : inputs) {
      if (s.rank() != 4 || s.n() != f.n() || s.h() != f.h() || s.w() != f.w()) {
        throw new IllegalArgumentException("concat: inputs differ in N, H or W: " + inputs);
      }
      c += s.c();
    }
    return Shape.of(f.n(), c, f.h(), f.w());
  }
}
