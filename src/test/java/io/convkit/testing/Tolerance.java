package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.reference.ReferenceEngine;

/**
 * Compares an engine's float32 output with the float64 reference, with a bound derived from the
 * reduction, not tuned: a float32 sum of K products (plus the bias) in any order and blocking,
 * with or without FMA, is off from the exact value by at most gamma(K+1) * m, m = sum|terms|,
 * where gamma(n) = n*u/(1 - n*u) and u = 2^-24 (Higham, Accuracy and Stability, section 3.1).
 *
 * <p>The activation f then adds two things:
 * <ul>
 *   <li>The sum's error passes through f scaled by at most max|f'| ({@link Activation#lipschitz}):
 *       1 for ReLU and ReLU6, 1/4 for sigmoid, 1.1 for swish, 1.13 for GELU.</li>
 *   <li>The reference rounds f(exact) once to float32: u * |f(y)|. |f(y)| <= |y| <= m for every
 *       activation but sigmoid, whose |f| <= 1; so u * (m + 1) covers all (u * m for the exact
 *       ones, ReLU and ReLU6, which are then exact on the engines' side too).</li>
 *   <li>Sigmoid, swish and GELU are evaluated approximately by the engines, with an error of at
 *       most {@link #EVAL_ULPS} u * (|y| + 1) <= EVAL_ULPS u * (m + 1): the budget is OpenCL's
 *       allowance for erfc (16 ulp, for exp 3 ulp) plus the few roundings around it; the CPU
 *       kernels' measured errors are far inside it (NativeActivationTest holds them to theirs).</li>
 * </ul>
 * The bound per output is therefore L * gamma(K+1) * m + u * (m [+ 1]) (+ the evaluation budget),
 * plus the smallest normal float for underflow.
 */
public final class Tolerance {
  private static final double U = Math.scalb(1.0, -24);

  /** The engines' evaluation error budget for sigmoid, swish and GELU, in units of u. */
  public static final double EVAL_ULPS = 20;

  private Tolerance() {}

  /** The bound for reduction length k (terms per output) and magnitude sum m, no activation. */
  public static double bound(int k, double m) {
    return bound(k, m, Activation.NONE);
  }

  /** The bound for reduction length k, magnitude sum m and activation act. */
  public static double bound(int k, double m, Activation act) {
    double n = k + 1;
    double gamma = n * U / (1 - n * U);
    double sum = act.lipschitz() * gamma * m;
    if (exact(act)) {
      return sum + U * m + Float.MIN_NORMAL;
    }
    return sum + (EVAL_ULPS + 1) * U * (m + 1) + Float.MIN_NORMAL;
  }

  /** ReLU and ReLU6 (and none) are exact in float: no evaluation error of their own. */
  public static boolean exact(Activation act) {
    return act == Activation.NONE || act == Activation.RELU || act == Activation.RELU6;
  }

  /** Fails with the first offending output's index, values and bound. */
  public static void assertClose(String what, ConvPlan plan, ConvWeights w, float[] x,
      float[] expected, float[] actual) {
    if (expected.length != actual.length) {
      fail(what + ": output length " + actual.length + ", expected " + expected.length);
    }
    float[] mag = ReferenceEngine.magnitudes(plan, w, x);
    int k = plan.gemmK();
    Activation act = plan.spec().activation();
    for (int i = 0; i < expected.length; i++) {
      double diff = Math.abs((double) expected[i] - actual[i]);
      double tol = bound(k, mag[i], act);
      if (!(diff <= tol)) {
        fail(String.format("%s: output %d is %s, reference %s, |diff| %.3g > bound %.3g (K=%d)",
            what, i, actual[i], expected[i], diff, tol, k));
      }
    }
  }

  /**
   * The residual add y = act(a + b) against the reference. One float addition is correctly
   * rounded and so is the reference's, so with an exact activation every engine must match bit
   * for bit; otherwise within the evaluation budget (the sum itself is the same: K = 0 terms of
   * error, m = |a + b|).
   */
  public static void assertAddClose(String what, Activation act, float[] a, float[] b,
      float[] expected, float[] actual) {
    if (exact(act)) {
      assertArrayEquals(expected, actual, what);
      return;
    }
    if (expected.length != actual.length) {
      fail(what + ": output length " + actual.length + ", expected " + expected.length);
    }
    for (int i = 0; i < expected.length; i++) {
      double m = Math.abs((double) a[i] + b[i]);
      double tol = (EVAL_ULPS + 1) * U * (m + 1) + Float.MIN_NORMAL;
      double diff = Math.abs((double) expected[i] - actual[i]);
      if (!(diff <= tol)) {
        fail(String.format("%s: output %d is %s, reference %s (a + b = %s), |diff| %.3g > %.3g",
            what, i, actual[i], expected[i], a[i] + b[i], diff, tol));
      }
    }
  }
}
