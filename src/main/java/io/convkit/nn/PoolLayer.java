package io.convkit.nn;

import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import java.util.List;

/** Max, average or global pooling, described by a {@link PoolSpec}. No parameters, no MACs. */
public final class PoolLayer implements Layer {
  private final PoolSpec spec;

  public PoolLayer(PoolSpec spec) {
    if (spec == null) {
      throw new IllegalArgumentException("pool layer: spec is null");
    }
    this.spec = spec;
  }

  public PoolSpec spec() {
    return spec;
  }

  @Override
  public String type() {
    return (spec.isGlobal() ? "global_" : "") + (spec.kind() == PoolKind.MAX ? "maxpool" : "avgpool");
  }

  @Override
  public Shape outputShape(List<Shape> inputs) {
    return spec.outputShape(Layer.nchw(spec.name(), inputs));
  }

  @Override
  public String describe() {
    return spec.toString();
  }
}
