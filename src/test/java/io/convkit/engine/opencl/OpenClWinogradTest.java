package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.Precision;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.OpenClOrSkip;
import io.convkit.testing.Tolerance;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL engine's Winograd path (winograd.cl around the grouped GEMM) with both GEMM kernels:
 * against the reference within the derived bound, on shapes that hit the tile and channel tails,
 * batches and padding; non-finite inputs where the direct sum puts them; EXACT never runs it.
 */
class OpenClWinogradTest {
  private static List<OpenClEngine> engines(ClDevice d, Precision p) {
    Tuning t = Tuning.forDevice(d.name(), d.type().name());
    return List.of(OpenClEngine.open(d, OpenClTests.packed(t), p),
        OpenClEngine.open(d, OpenClTests.tiled(t), p));
  }

  @Test
  void winogradMatchesTheReferenceWithinTheDerivedBound() {
    ClDevice d = OpenClOrSkip.device();
    // C, K, H, W, pads (t, l, b, r), batch: F(4x4) from 8x8 outputs, F(2x2) below.
    int[][] shapes = {{16, 16, 8, 8, 1, 1, 1, 1, 1}, {19, 23, 13, 11, 1, 1, 1, 1, 2},
        {16, 17, 5, 7, 0, 2, 1, 0, 1}, {24, 16, 17, 9, 2, 0, 0, 2, 2}, {33, 40, 3, 3, 1, 1, 1, 1, 1}};
    int ran = 0;
    try (Engine ref = Engines.reference()) {
      for (OpenClEngine e : engines(d, Precision.FAST)) {
        try (e) {
          for (int[] sh : shapes) {
            ConvSpec spec = ConvSpec.builder(sh[0], sh[1], 3, 3).padding(sh[4], sh[5], sh[6], sh[7])
                .bias(true).activation(ran % 2 == 0 ? Activation.RELU : Activation.SWISH).build();
            Shape in = Shape.of(sh[8], sh[0], sh[2], sh[3]);
            float[] w = ConvCases.data(ran, spec.denseWeightCount());
            float[] b = ConvCases.data(ran + 1, sh[1]);
            float[] x = ConvCases.data(ran + 2, in.elements());
            try (Conv2d conv = new Conv2d(spec, w, b); Tensor xn = Tensor.of(x, in.dims());
                Tensor yr = conv.forward(xn, ref); Tensor y = conv.forward(xn, e)) {
              ConvPlan plan = conv.plan(in);
              String impl = e.implementation(plan, Layout.NCHW);
              assertTrue(Tolerance.winogradTile(impl) == (sh[2] >= 8 && sh[3] >= 8 ? 4 : 2),
                  impl);
              Tolerance.assertClose(spec + " " + in + " on " + e.name(), e, Layout.NCHW, plan,
                  conv.weights(), x, yr.toArray(), y.toArray());
            }
            ran++;
          }
        }
      }
    }
    assertTrue(ran == 2 * shapes.length);
  }

  @Test
  void nonFiniteInputsLandWhereTheDirectKernelPutsThem() {
    ClDevice d = OpenClOrSkip.device();
    ConvSpec spec = ConvSpec.builder(16, 16, 3, 3).padding(1).bias(true).build();
    Shape in = Shape.of(1, 16, 10, 9);
    float[] w = ConvCases.data(71, spec.denseWeightCount());
    float[] x = ConvCases.data(72, in.elements());
    x[3 * 90 + 4 * 9 + 4] = Float.NaN;
    x[9 * 90 + 9 * 9 + 8] = Float.POSITIVE_INFINITY;
    try (Conv2d conv = new Conv2d(spec, w, ConvCases.data(73, 16));
        Engine exact = OpenClEngine.open(d, Tuning.forDevice(d.name(), d.type().name()),
            Precision.EXACT);
        Engine fast = OpenClEngine.open(d, Tuning.forDevice(d.name(), d.type().name()),
            Precision.FAST);
        Tensor xn = Tensor.of(x, in.dims()); Tensor ye = conv.forward(xn, exact);
        Tensor yf = conv.forward(xn, fast)) {
      ConvPlan plan = conv.plan(in);
      assertTrue(Tolerance.winogradTile(exact.implementation(plan, Layout.NCHW)) == 0);
      assertTrue(Tolerance.winogradTile(fast.implementation(plan, Layout.NCHW)) == 4);
      float[] want = ye.toArray();
      float[] got = yf.toArray();
      int nonFinite = 0;
      for (float v : want) {
        nonFinite += Float.isFinite(v) ? 0 : 1;
      }
      Tolerance.assertSameNonFinite(fast.name(), want, got);
      assertTrue(nonFinite >= 16 * 9, "non-finite outputs " + nonFinite);
    }
  }
}
