package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.Planner;
import io.convkit.engine.Engine;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases.Case;
import java.util.List;

/**
 * Runs one {@link ConvCases} case with every algorithm that fits it on each engine and compares
 * with the reference engine within {@link Tolerance}; shared by every engine's correctness test.
 */
public final class ConvCheck {
  private ConvCheck() {}

  /** An NHWC host tensor holding the NCHW array {@code x} of shape {@code dims}. */
  public static Tensor nhwc(float[] x, int... dims) {
    Shape s = Shape.of(dims);
    return Tensor.ofNhwc(Layout.convert(x, s, Layout.NCHW, Layout.NHWC), s.n(), s.c(), s.h(),
        s.w());
  }

  public static void check(Case c, Engine reference, List<? extends Engine> engines) {
    float[] w = ConvCases.data(c.seed(), c.spec().hasConnections() ? c.spec().weightCount()
        : c.spec().denseWeightCount());
    float[] b = c.spec().hasBias() ? ConvCases.data(c.seed() + 1, c.spec().outChannels()) : null;
    float[] x = ConvCases.data(c.seed() + 2, c.input().elements());
    int ran = 0;
    try (Conv2d conv = new Conv2d(c.spec(), w, b);
        Tensor in = Tensor.of(x, c.input().dims())) {
      float[] expected;
      try (Tensor y = conv.forward(in, reference)) {
        expected = y.toArray();
      }
      for (Algorithm a : Algorithm.values()) {
        if (Planner.misfit(a, c.spec()) != null) {
          continue;
        }
        ConvPlan plan = conv.plan(c.input(), a);
        for (Engine e : engines) {
          try (Tensor y = conv.forward(in, e, a)) {
            Tolerance.assertClose(c + " with " + a + " on " + e.name(), e, Layout.NCHW, plan,
                conv.weights(), x,
                expected, y.toArray());
          }
          ran++;
        }
      }
      // Engines with NHWC implementations: the same case on NHWC tensors (toArray gives NCHW).
      ConvPlan plan = conv.plan(c.input());
      if (c.input().rank() == 4) {
        try (Tensor in4 = nhwc(x, c.input().dims())) {
          for (Engine e : engines) {
            if (!e.runsNhwc(plan)) {
              continue;
            }
            try (Tensor y = conv.forward(in4, e)) {
              assertTrue(y.layout() == Layout.NHWC, "output layout " + y.layout());
              Tolerance.assertClose(c + " in NHWC with " + e.implementation(plan, Layout.NHWC)
                  + " on " + e.name(), e, Layout.NHWC, plan, conv.weights(), x, expected,
                  y.toArray());
            }
            ran++;
          }
        }
      }
    }
    assertTrue(ran >= engines.size(), "no algorithm ran " + c);
  }
}
