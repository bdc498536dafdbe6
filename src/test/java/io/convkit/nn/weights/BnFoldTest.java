package io.convkit.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.BatchNorm;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import org.junit.jupiter.api.Test;

class BnFoldTest {
  @Test
  void foldByHand() {
    // one channel: w = [1, 2], b = 1; gamma 2, beta 3, mean 1, var 0.25, eps 0:
    // s = 2 / sqrt(0.25) = 4; w' = [4, 8]; b' = 3 + 4 * (1 - 1) = 3
    BnFold.Folded f = BnFold.fold(new float[] {1, 2}, new float[] {1}, new float[] {2},
        new float[] {3}, new float[] {1}, new float[] {0.25f}, 0);
    assertArrayEquals(new float[] {4, 8}, f.weight());
    assertArrayEquals(new float[] {3}, f.bias());
    // no conv bias: b' = beta - s * mean = 3 - 4 = -1
    assertArrayEquals(new float[] {-1}, BnFold.fold(new float[] {1, 2}, null, new float[] {2},
        new float[] {3}, new float[] {1}, new float[] {0.25f}, 0).bias());
  }

  /** A folded conv equals conv-then-BN computed apart, on the reference engine (float64). */
  @Test
  void foldedConvMatchesConvThenBatchNorm() {
    int in = 3;
    int out = 5;
    ConvSpec plain = ConvSpec.builder(in, out, 3, 3).padding(1).name("c").build();
    ConvSpec biased = ConvSpec.builder(in, out, 3, 3).padding(1).bias(true).name("c").build();
    float[] w = ConvCases.data(1, plain.denseWeightCount());
    float[] gamma = ConvCases.data(2, out);
    float[] beta = ConvCases.data(3, out);
    float[] mean = ConvCases.data(4, out);
    float[] var = ConvCases.data(5, out);
    for (int i = 0; i < out; i++) {
      var[i] = 0.5f + var[i] * var[i];
    }
    float[] x = ConvCases.data(6, in * 6 * 6);
    BnFold.Folded f = BnFold.fold(w, null, gamma, beta, mean, var, BatchNorm.DEFAULT_EPS);
    try (Engine ref = Engines.reference();
        Tensor xt = Tensor.of(x, 1, in, 6, 6);
        Conv2d unfolded = new Conv2d(plain, w, null);
        Conv2d folded = new Conv2d(biased, f.weight(), f.bias());
        Tensor z = unfolded.forward(xt, ref);
        Tensor y = folded.forward(xt, ref)) {
      float[] zs = z.toArray();
      float[] ys = y.toArray();
      for (int o = 0; o < out; o++) {
        for (int p = 0; p < 36; p++) {
          double bn = gamma[o] * (zs[o * 36 + p] - mean[o]) / Math.sqrt(var[o] + BatchNorm.DEFAULT_EPS)
              + beta[o];
          // both sides rounded a few times in float: a few ulps of the terms' scale
          assertEquals(bn, ys[o * 36 + p], 1e-5 * (1 + Math.abs(bn)), "channel " + o);
        }
      }
    }
  }

  @Test
  void badStatisticsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> BnFold.fold(new float[] {1},
        null, new float[] {1}, new float[] {0}, new float[] {0}, new float[] {-1}, 1e-5));
    assertThrows(IllegalArgumentException.class, () -> BnFold.fold(new float[] {1, 2, 3},
        null, new float[] {1, 1}, new float[] {0, 0}, new float[] {0, 0}, new float[] {1, 1}, 0));
  }
}
