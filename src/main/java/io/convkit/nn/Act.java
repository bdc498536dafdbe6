package io.convkit.nn;

import io.convkit.conv.Activation;
import io.convkit.tensor.Shape;
import java.util.List;

/**
 * An element-wise activation. All but hard-swish can fuse into the preceding conv's (or add's)
 * epilogue; hard-swish runs as a host step.
 */
public final class Act implements Layer {
  /** The activation functions the networks use. */
  public enum Kind {
    RELU, RELU6, SIGMOID, TANH, SWISH, GELU,
    /**
     * Hard-swish (MobileNetV3; ONNX HardSwish, PyTorch's nn.Hardswish):
     * {@code x * max(0, min(1, x / 6 + 1/2))}. NaN gives NaN, +Inf gives +Inf, -Inf gives NaN
     * ({@code -Inf * 0}, as PyTorch's), -0 gives -0.
     */
    HARD_SWISH;

    /** The conv-epilogue activation this fuses into, or null if the engines have none. */
    public Activation fused() {
      return switch (this) {
        case RELU -> Activation.RELU;
        case RELU6 -> Activation.RELU6;
        case SIGMOID -> Activation.SIGMOID;
        case SWISH -> Activation.SWISH;
        case GELU -> Activation.GELU;
        case TANH -> Activation.TANH;
        case HARD_SWISH -> null;
      };
    }
  }

  private final Kind kind;

  public Act(Kind kind) {
    if (kind == null) {
      throw new IllegalArgumentException("activation: kind is null");
    }
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public String type() {
    return kind.name().toLowerCase();
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return Layer.single(type(), inputs);
  }
}
