package io.convkit.nn;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;

/** Small helpers for building {@link ConvSpec}s in model definitions. */
public final class Specs {
  private Specs() {}

  /** A square conv: {@code k x k}, stride {@code s}, padding {@code p} on every side. */
  public static ConvSpec conv(String name, int in, int out, int k, int s, int p, int groups,
      boolean bias) {
    return ConvSpec.builder(in, out, k, k).name(name).stride(s).padding(p).groups(groups)
        .bias(bias).build();
  }

  /** A copy of {@code spec} with the bias switched on or off. */
  public static ConvSpec withBias(ConvSpec spec, boolean bias) {
    return copy(spec).bias(bias).build();
  }

  /** A copy of {@code spec} with a fused activation. */
  public static ConvSpec withActivation(ConvSpec spec, Activation a) {
    return copy(spec).activation(a).build();
  }

  private static ConvSpec.Builder copy(ConvSpec s) {
    ConvSpec.Builder b = ConvSpec.builder(s.inChannels(), s.outChannels(), s.kernelH(),
            s.kernelW()).name(s.name()).stride(s.strideH(), s.strideW())
        .padding(s.padTop(), s.padLeft(), s.padBottom(), s.padRight())
        .dilation(s.dilationH(), s.dilationW()).bias(s.hasBias()).activation(s.activation())
        .strict(s.strict());
    return s.hasConnections() ? b.connections(s.connections()) : b.groups(s.groups());
  }
}
