package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.reference.ReferenceEngine;

/**
 * Compares an engine's float32 output with the float64 reference, with a bound derived from the
 * reduction, not tuned: a float32 sum of K products (plus the bias) in any order and blocking,
 * with or without FMA, is off from the exact value by at most gamma(K+1) * sum|terms|, where
 * gamma(n) = n*u/(1 - n*u) and u = 2^-24 (Higham, Accuracy and Stability, section 3.1). The
 * reference rounds its float64 sum once to float32 (half an ulp, at most u*|y| <= u * sum|terms|),
 * and ReLU/ReLU6 are 1-Lipschitz, so they do not increase the difference. The bound per output is
 * therefore (gamma(K+1) + u) * (|b| + sum |w||x|), plus the smallest normal float for underflow.
 */
public final class Tolerance {
  private static final double U = Math.scalb(1.0, -24);

  private Tolerance() {}

  /** The bound for reduction length k (terms per output) and magnitude sum m. */
  public static double bound(int k, double m) {
    double n = k + 1;
    double gamma = n * U / (1 - n * U);
    return (gamma + U) * m + Float.MIN_NORMAL;
  }

  /** Fails with the first offending output's index, values and bound. */
  public static void assertClose(String what, ConvPlan plan, ConvWeights w, float[] x,
      float[] expected, float[] actual) {
    if (expected.length != actual.length) {
      fail(what + ": output length " + actual.length + ", expected " + expected.length);
    }
    float[] mag = ReferenceEngine.magnitudes(plan, w, x);
    int k = plan.gemmK();
    for (int i = 0; i < expected.length; i++) {
      double diff = Math.abs((double) expected[i] - actual[i]);
      double tol = bound(k, mag[i]);
      if (!(diff <= tol)) {
        fail(String.format("%s: output %d is %s, reference %s, |diff| %.3g > bound %.3g (K=%d)",
            what, i, actual[i], expected[i], diff, tol, k));
      }
    }
  }
}
