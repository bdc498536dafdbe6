package io.convkit.nn;

import io.convkit.conv.ConvSpec;
import io.convkit.tensor.Shape;
import java.util.List;

/**
 * Squeeze-and-excitation (Hu et al. 2018): global average pool, FC {@code channels -> reduced}
 * with bias, {@code inner} activation, FC {@code reduced -> channels} with bias, sigmoid, and a
 * per-channel rescale of the input. The two FCs are 1x1 convs on a 1x1 map ({@link #reduce()},
 * {@link #expand()}), so the forward pass can run them on the engine. MACs: the two FCs,
 * {@code 2 x channels x reduced} per image (the pool's adds and the rescale's multiplies are
 * not multiply-adds of a conv or FC and are not counted).
 */
public final class SqueezeExcite implements Layer {
  private final ConvSpec reduce;
  private final ConvSpec expand;
  private final Act.Kind inner;

  public SqueezeExcite(String name, int channels, int reduced, Act.Kind inner) {
    this.reduce = Specs.conv(name + "_reduce", channels, reduced, 1, 1, 0, 1, true);
    this.expand = Specs.conv(name + "_expand", reduced, channels, 1, 1, 0, 1, true);
    this.inner = inner;
  }

  public ConvSpec reduce() {
    return reduce;
  }

  public ConvSpec expand() {
    return expand;
  }

  public Act.Kind inner() {
    return inner;
  }

  @Override
  public String type() {
    return "se";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    Shape s = Layer.nchw("se", inputs);
    if (s.c() != reduce.inChannels()) {
      throw new IllegalArgumentException("se: expected " + reduce.inChannels()
          + " channels, got " + s);
    }
    return s;
  }

  @Override
  public long paramsTrained() {
    return reduce.parameterCount() + expand.parameterCount();
  }

  @Override
  public long macs(List<Shape> inputs) {
    Shape s = Layer.nchw("se", inputs);
    try {
      return Math.multiplyExact((long) s.n(), reduce.weightCount() + expand.weightCount());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("se: the multiply-adds for input " + s
          + " overflow a 64-bit count");
    }
  }

  @Override
  public String describe() {
    return "se(" + reduce.inChannels() + "->" + reduce.outChannels() + "->"
        + expand.outChannels() + ", " + inner.name().toLowerCase() + ", sigmoid)";
  }
}
