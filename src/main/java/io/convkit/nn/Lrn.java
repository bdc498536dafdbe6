package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3):
 * {@code b = a / (k + alpha/size * sum a^2)^beta} over {@code size} neighbouring channels.
 * No parameters.
 */
public final class Lrn implements Layer {
  private final int size;
  private final double alpha;
  private final double beta;
  private final double k;

  public Lrn(int size, double alpha, double beta, double k) {
    this.size = size;
    this.alpha = alpha;
    this.beta = beta;
    this.k = k;
  }

  /** AlexNet's values: size 5, alpha 1e-4, beta 0.75, k 2. */
  public static Lrn alexnet() {
    return new Lrn(5, 1e-4, 0.75, 2);
  }

  public int size() {
    return size;
  }

  public double alpha() {
    return alpha;
  }

  public double beta() {
    return beta;
  }

  public double k() {
    return k;
  }

  @Override
  public String type() {
    return "lrn";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return Layer.nchw("lrn", inputs);
  }

  @Override
  public String describe() {
    return "lrn(size " + size + ", alpha " + alpha + ", beta " + beta + ", k " + k + ")";
  }
}
