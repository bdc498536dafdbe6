package io.convkit.nn;

import io.convkit.conv.ConvSpec;
import io.convkit.tensor.Shape;
import java.util.List;

/**
 * A convolution (dense, grouped, depthwise or with a connection table) described by a
 * {@link ConvSpec}, so the forward pass can hand {@link #spec()} (or {@link #deployedSpec()})
 * straight to the engine. When a batch norm follows it, the builder marks it
 * {@linkplain #bnFolded() BN-folded}: for inference the BN's scale goes into the weights and its
 * shift into a bias, so the deployed layer is {@link #deployedSpec()} (this spec with a bias).
 */
public final class ConvLayer implements Layer {
  private final ConvSpec spec;
  private final boolean bnFolded;

  public ConvLayer(ConvSpec spec) {
    this(spec, false);
  }

  private ConvLayer(ConvSpec spec, boolean bnFolded) {
    if (spec == null) {
      throw new IllegalArgumentException("conv layer: spec is null");
    }
    this.spec = spec;
    this.bnFolded = bnFolded;
  }

  public ConvSpec spec() {
    return spec;
  }

  public boolean bnFolded() {
    return bnFolded;
  }

  /** This conv with the following batch norm folded into it. */
  public ConvLayer withFoldedBn() {
    return new ConvLayer(spec, true);
  }

  /** The spec the inference forward pass runs: with a bias when a batch norm was folded in. */
  public ConvSpec deployedSpec() {
    return bnFolded && !spec.hasBias() ? Specs.withBias(spec, true) : spec;
  }

  @Override
  public String type() {
    if (spec.hasConnections()) {
      return "conv_table";
    }
    if (spec.groups() > 1 && spec.groups() == spec.inChannels()) {
      return "conv_dw";
    }
    return spec.groups() > 1 ? "conv_g" + spec.groups() : "conv";
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return spec.outputShape(Layer.nchw(spec.name(), inputs));
  }

  @Override
  public long paramsTrained() {
    return spec.parameterCount();
  }

  @Override
  public long paramsDeployed() {
    return deployedSpec().parameterCount();
  }

  @Override
  public long macs(List<Shape> inputs) {
    return spec.macs(Layer.nchw(spec.name(), inputs));
  }

  /** Weights only (no bias), as per-layer tables such as CS231n's VGG-16 list count them. */
  public long weights() {
    return spec.weightCount();
  }

  @Override
  public String describe() {
    return spec.toString();
  }
}
