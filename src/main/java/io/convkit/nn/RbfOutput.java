package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * LeNet-5's output layer (LeCun et al. 1998, eq. 7): one Euclidean radial basis function unit per
 * class, {@code y_i = sum_j (x_j - w_ij)^2}. Its {@code in x out} parameter vectors "were chosen
 * by hand and kept fixed" (stylised 7x12 bitmaps), so they are stored (deployed) but not
 * trained. MACs: one (difference, square, accumulate) per weight, {@code in x out} per sample.
 */
public final class RbfOutput implements Layer {
  private final int in;
  private final int out;

  public RbfOutput(int in, int out) {
    this.in = in;
    this.out = out;
  }

  public int in() {
    return in;
  }

  public int out() {
    return out;
  }

  @Override
  public String type() {
    return "rbf";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("rbf", inputs);
    if (s.elements() / s.dim(0) != in) {
      throw new IllegalArgumentException("rbf: expected " + in + " features, got " + s);
    }
    return Shape.of(s.dim(0), out);
  }

  @Override
  public long paramsTrained() {
    return 0;
  }

  @Override
  public long paramsDeployed() {
    return (long) in * out;
  }

  @Override
  public long macs(List<Shape> inputs) {
    Shape s = Layer.single("rbf", inputs);
    try {
      return Math.multiplyExact((long) s.dim(0), (long) in * out);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("rbf: the multiply-adds for input " + s
          + " overflow a 64-bit count");
    }
  }

  @Override
  public String describe() {
    return "rbf(" + in + "->" + out + ", fixed hand-chosen centres)";
  }
}
