package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Hard-sigmoid, {@code y = max(0, min(1, alpha * x + beta))} element-wise (ONNX HardSigmoid:
 * alpha 0.2 and beta 0.5 by default, as Keras's; PyTorch's nn.Hardsigmoid is alpha 1/6). Its
 * own layer rather than an {@link Act} kind because it carries alpha and beta; no engine has an
 * epilogue code for it, so it runs as a host step. NaN gives NaN; with alpha > 0, -Inf gives 0
 * and +Inf gives 1. No parameters.
 */
public final class HardSigmoid implements Layer {
  private final double alpha;
  private final double beta;

  public HardSigmoid(double alpha, double beta) {
    if (!Double.isFinite(alpha) || !Double.isFinite(beta)) {
      throw new IllegalArgumentException("hardsigmoid: alpha " + alpha + " and beta " + beta
          + " must be finite");
    }
    this.alpha = alpha;
    this.beta = beta;
  }

  /** PyTorch's nn.Hardsigmoid: alpha 1/6, beta 1/2. */
  public static HardSigmoid pytorch() {
    return new HardSigmoid(1.0 / 6, 0.5);
  }

  public double alpha() {
    return alpha;
  }

  public double beta() {
    return beta;
  }

  @Override
  public String type() {
    return "hardsigmoid";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return Layer.single(type(), inputs);
  }

  @Override
  public String describe() {
    return "hardsigmoid(alpha " + alpha + ", beta " + beta + ")";
  }
}
