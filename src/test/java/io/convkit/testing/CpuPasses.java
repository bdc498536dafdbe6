package io.convkit.testing;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.function.BiFunction;

/** Forward passes on the CPU engine for the tests that compare a pass fused and unfused. */
public final class CpuPasses {
  private CpuPasses() {}

  /**
   * {@code check} on a 2-thread CPU pass of {@code net} (weights seeded {@code weightSeed}) and
   * an input of shape {@code input} (data seeded 9); everything is closed after it returns.
   */
  public static <T> T run(Network net, int weightSeed, Shape input,
      BiFunction<ForwardPass, Tensor, T> check) {
    try (Engine cpu = Engines.cpu(2);
        ForwardPlan plan = new ForwardPlan(net, NetworkWeights.random(net, weightSeed));
        ForwardPass pass = new ForwardPass(plan, cpu);
        Tensor x = Tensor.of(ConvCases.data(9, input.elements()), input.dims())) {
      return check.apply(pass, x);
    }
  }

  /** The pass's output with every step run alone: an observer turns fusion off. */
  public static float[] unfused(ForwardPass pass, Tensor x) {
    return pass.forward(x, (i, t) -> { }).toArray();
  }
}
