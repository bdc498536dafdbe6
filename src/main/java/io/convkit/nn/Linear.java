package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * A fully connected layer: {@code in -> out}, optional bias. The input is (N, in), or any shape
 * whose per-sample size is {@code in} (read as flattened); the output is (N, out).
 */
public final class Linear implements Layer {
  private final int in;
  private final int out;
  private final boolean bias;

  public Linear(int in, int out, boolean bias) {
    if (in < 1 || out < 1) {
      throw new IllegalArgumentException("linear: sizes must be >= 1, got " + in + "->" + out);
    }
    this.in = in;
    this.out = out;
    this.bias = bias;
  }

  public int in() {
    return in;
  }

  public int out() {
    return out;
  }

  public boolean hasBias() {
    return bias;
  }

  @Override
  public String type() {
    return "linear";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.single("linear", inputs);
    long per = s.elements() / s.dim(0);
    if (per != in) {
      throw new IllegalArgumentException("linear " + in + "->" + out + ": input " + s
          + " has " + per + " features per sample, expected " + in);
    }
    return Shape.of(s.dim(0), out);
  }

  @Override
  public long paramsTrained() {
    return (long) in * out + (bias ? out : 0);
  }

  /** Weights only, no bias. */
  public long weights() {
    return (long) in * out;
  }

  @Override
  public long macs(List<Shape> inputs) {
    Shape s = Layer.single("linear", inputs);
    try {
      return Math.multiplyExact((long) s.dim(0), (long) in * out);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("linear: the multiply-adds for input " + s
          + " overflow a 64-bit count");
    }
  }

  @Override
  public String describe() {
    return "linear(" + in + "->" + out + (bias ? ", bias" : "") + ")";
  }
}
