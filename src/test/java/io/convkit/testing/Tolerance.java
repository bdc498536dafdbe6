package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.Engine;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.tensor.Layout;
import java.util.function.IntToDoubleFunction;

/**
 * Compares an engine's float32 output with the float64 reference, with a bound derived from the
 * reduction, not tuned: a float32 sum of K products (plus the bias) in any order and blocking,
 * with or without FMA, is off from the exact value by at most gamma(K+1) * m, m = sum|terms|,
 * where gamma(n) = n*u/(1 - n*u) and u = 2^-24 (Higham, Accuracy and Stability, section 3.1).
 *
 * <p>The activation f then adds two things:
 * <ul>
 *   <li>The sum's error passes through f scaled by at most max|f'| ({@link Activation#lipschitz}):
 *       1 for ReLU, ReLU6 and tanh, 1/4 for sigmoid, 1.1 for swish, 1.13 for GELU.</li>
 *   <li>The reference rounds f(exact) once to float32: u * |f(y)|. |f(y)| <= |y| <= m for every
 *       activation but sigmoid, whose |f| <= 1; so u * (m + 1) covers all (u * m for the exact
 *       ones, ReLU and ReLU6, which are then exact on the engines' side too).</li>
 *   <li>Sigmoid, swish, GELU and tanh are evaluated approximately by the engines, with an error of at
 *       most {@link #EVAL_ULPS} u * (|y| + 1) <= EVAL_ULPS u * (m + 1): the budget is OpenCL's
 *       allowance for erfc (16 ulp, for exp 3 ulp) plus the few roundings around it; the CPU
 *       kernels' measured errors are far inside it (NativeActivationTest holds them to theirs).</li>
 * </ul>
 * The bound per output is therefore L * gamma(K+1) * m + u * (m [+ 1]) (+ the evaluation budget),
 * plus the smallest normal float for underflow.
 */
public final class Tolerance {
  private static final double U = Math.scalb(1.0, -24);

  /** The engines' evaluation error budget for sigmoid, swish, GELU and tanh, in units of u. */
  public static final double EVAL_ULPS = 20;

  private Tolerance() {}

  /** The bound for reduction length k (terms per output) and magnitude sum m, no activation. */
  public static double bound(int k, double m) {
    return bound(k, m, Activation.NONE);
  }

  /** The bound for reduction length k, magnitude sum m and activation act. */
  public static double bound(int k, double m, Activation act) {
    return boundForRoundings(k + 1, m, act);
  }

  /** The bound for a sum whose every term passes at most n roundings, magnitude m, then act. */
  public static double boundForRoundings(int n, double m, Activation act) {
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

  /** gamma(n) = n*u / (1 - n*u), Higham's bound on n roundings. */
  public static double gamma(int n) {
    return n * U / (1 - n * U);
  }

  /**
   * The bound on one LRN output y = x / d^beta, d = k + (alpha/size) * S, S the sum of the n
   * squares in the window (n <= size, clipped to the channels), for an engine that works in
   * float32. All terms of d are >= 0, so d's relative error is at most gamma(n + 3): n roundings
   * for the squares and the sum, one each for alpha/size, the product and the + k. d^beta carries
   * |beta| times that, to first order. The rest is a fixed number of operations: OpenCL allows
   * pow 16 ulp, sqrt 3 ulp and division 2.5 ulp (an ulp is at most 2u relative), so 48u covers
   * either form of the power, the division, and the reference's final rounding (u).
   */
  public static double lrnBound(int n, double beta, double reference) {
    return (Math.abs(beta) * gamma(n + 3) + gamma(48)) * Math.abs(reference) + Float.MIN_NORMAL;
  }

  /**
   * The bound on the outputs y[c] = (x[c] - m) / sqrt(v + eps) * g[c] + b[c] of one pixel's layer
   * norm over C channels {@code x} (m the mean, v the biased variance), for a float32 engine that
   * takes two passes, to first order plus 10% for the neglected second-order terms:
   * <ul>
   *   <li>the mean: a sum of C floats and a division, off by dm <= gamma(C + 1) * mean|x|;</li>
   *   <li>each deviation d = x - m: dm plus its own rounding u|d|;</li>
   *   <li>the sum of squares q: 2 dm sum|d| + 2u sum d^2 from the deviations, gamma(C) sum d^2
   *       from its own sum; then / C, + eps (one rounding each) give r, the relative error of
   *       v + eps;</li>
   *   <li>1 / sqrt: r / 2, plus 12u (OpenCL allows 3 ulp for sqrt and 2.5 for division);</li>
   *   <li>the normalised value: the deviation's error / s, plus its relative error (r/2 + 13u);
   *       then * g + b with two roundings and the reference's final one (u |g xhat| + u |b|
   *       each).</li>
   * </ul>
   */
  public static double[] layerNormBounds(float[] x, float[] g, float[] b, double eps) {
    int c = x.length;
    double sum = 0;
    double abs = 0;
    for (float v : x) {
      sum += v;
      abs += Math.abs(v);
    }
    double mean = sum / c;
    double sumAbsDev = 0;
    double sumSqDev = 0;
    for (float v : x) {
      sumAbsDev += Math.abs(v - mean);
      sumSqDev += (v - mean) * (v - mean);
    }
    double var = sumSqDev / c;
    double s = Math.sqrt(var + eps);
    double dm = gamma(c + 1) * abs / c;
    double dq = 2 * dm * sumAbsDev + (2 * U + gamma(c)) * sumSqDev;
    double r = (dq / c + U * var + U * (var + eps)) / (var + eps);
    double[] bound = new double[c];
    for (int i = 0; i < c; i++) {
      double dev = Math.abs(x[i] - mean);
      double xhat = dev / s;
      double dxhat = (dm + U * dev) / s + xhat * (r / 2 + 13 * U);
      bound[i] = 1.1 * (Math.abs(g[i]) * dxhat + 3 * U * (Math.abs(g[i]) * xhat + Math.abs(b[i])))
          + Float.MIN_NORMAL;
    }
    return bound;
  }

  /**
   * Roundings along each term of a Winograd F(m x m, 3 x 3) output of C input channels, the CPU
   * engine's nhwc_winograd_f2/f4: y = A^T [sum_c (G g_c G^T) .* (B^T d_c B)] A + b. Expanded, y
   * is |b| plus a sum of elementary terms a_pi a_qj G_ir G_js g_rs B_ki B_lj d_kl, and each passes
   * at most 1 rounding for its transformed weight (computed in double, rounded once), 8 for the
   * input transform (two passes of at most four), 1 for the product, C - 1 for the sum over the
   * channels, 10 for the output transform (two passes of at most five) and 1 for the bias: C + 20.
   * The error is then at most gamma(C + 20) * Mw, Mw the sum of the terms' magnitudes
   * ({@link #winogradMagnitudes}); a tile the engine recomputes directly (its Winograd result was
   * not finite) meets the direct bound instead, so the bound is the larger of the two.
   */
  public static int winogradRoundings(int c) {
    return c + 20;
  }

  /**
   * The Winograd tile m an engine's implementation says it runs (the CPU engine's
   * nhwc_winograd_f4/f2, the OpenCL engine's "winograd F(4x4)"/"F(2x2)"), or 0 (no Winograd).
   */
  public static int winogradTile(String implementation) {
    return implementation.startsWith("nhwc_winograd_f4")
        || implementation.startsWith("winograd F(4x4)") ? 4
        : implementation.startsWith("nhwc_winograd_f2")
        || implementation.startsWith("winograd F(2x2)") ? 2 : 0;
  }

  // F(2x2, 3x3) and F(4x4, 3x3): B^T, G, A^T (Lavin and Gray's points), written out here
  // independently of the native code.
  private static final double[][] BT2 = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  private static final double[][] G2 = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  private static final double[][] AT2 = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  private static final double[][] BT4 = {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0},
      {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  private static final double[][] G4 = {{.25, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0},
      {-1 / 6.0, 1 / 6.0, -1 / 6.0}, {1 / 24.0, 1 / 12.0, 1 / 6.0}, {1 / 24.0, -1 / 12.0, 1 / 6.0},
      {0, 0, 1}};
  private static final double[][] AT4 = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0},
      {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

  /**
   * Mw per output (NCHW order) of F(m x m, 3 x 3) on plan: |b| + sum over channels, taps (r, s)
   * and window positions (y, x) of |g_rs| |d_yx| W_p(r, y) W_q(s, x), with the one-dimensional
   * weights W_p(r, y) = sum_i |A^T_pi| |G_ir| |B^T_iy| for output p of its tile. Tiles start at
   * output (0, 0) and step by m; window positions outside the input hold zeros.
   */
  public static double[] winogradMagnitudes(int m, ConvPlan plan, ConvWeights w, float[] x) {
    double[][] bt = m == 4 ? BT4 : BT2;
    double[][] g = m == 4 ? G4 : G2;
    double[][] at = m == 4 ? AT4 : AT2;
    int a = m + 2;
    double[][][] w1 = new double[m][3][a];
    for (int p = 0; p < m; p++) {
      for (int r = 0; r < 3; r++) {
        for (int y = 0; y < a; y++) {
          for (int i = 0; i < a; i++) {
            w1[p][r][y] += Math.abs(at[p][i]) * Math.abs(g[i][r]) * Math.abs(bt[i][y]);
          }
        }
      }
    }
    ConvSpec s = plan.spec();
    int n = plan.input().n(), c = plan.input().c(), h = plan.input().h(), wd = plan.input().w();
    int k = plan.output().c(), oh = plan.output().h(), ow = plan.output().w();
    int tw = (ow + m - 1) / m;
    float[] wt = w.denseArray();
    float[] b = w.biasArray();
    double[] mag = new double[n * k * oh * ow];
    // Separable: row[iy][tx][q][t] = sum over window column xx of W_q(t, xx) |d(iy, ix0 + xx)|
    // for one image and channel, then each output sums |g_rt| W_p(r, y) row[iy0 + y][tx][q][t].
    double[][][][] row = new double[h][tw][m][3];
    for (int img = 0; img < n; img++) {
      for (int ch = 0; ch < c; ch++) {
        for (int iy = 0; iy < h; iy++) {
          for (int tx = 0; tx < tw; tx++) {
            int ix0 = tx * m - s.padLeft();
            for (int q = 0; q < m; q++) {
              for (int t = 0; t < 3; t++) {
                double sum = 0;
                for (int xx = 0; xx < a; xx++) {
                  int ix = ix0 + xx;
                  if (ix >= 0 && ix < wd) {
                    sum += w1[q][t][xx] * Math.abs(x[((img * c + ch) * h + iy) * wd + ix]);
                  }
                }
                row[iy][tx][q][t] = sum;
              }
            }
          }
        }
        for (int o = 0; o < k; o++) {
          for (int oy = 0; oy < oh; oy++) {
            int p = oy % m;
            int iy0 = oy - p - s.padTop();
            for (int ox = 0; ox < ow; ox++) {
              int q = ox % m;
              int tx = ox / m;
              double sum = 0;
              for (int r = 0; r < 3; r++) {
                for (int y = 0; y < a; y++) {
                  int iy = iy0 + y;
                  if (iy < 0 || iy >= h || w1[p][r][y] == 0) {
                    continue;
                  }
                  double[] rq = row[iy][tx][q];
                  int wi = ((o * c + ch) * 3 + r) * 3;
                  sum += w1[p][r][y] * (Math.abs(wt[wi]) * rq[0] + Math.abs(wt[wi + 1]) * rq[1]
                      + Math.abs(wt[wi + 2]) * rq[2]);
                }
              }
              mag[((img * k + o) * oh + oy) * ow + ox] += sum;
            }
          }
        }
      }
      for (int o = 0; o < k; o++) {
        for (int i = 0; i < oh * ow; i++) {
          mag[(img * k + o) * oh * ow + i] += b == null ? 0 : Math.abs(b[o]);
        }
      }
    }
    return mag;
  }

  /**
   * {@link #assertClose(String, ConvPlan, ConvWeights, float[], float[], float[])} for the
   * output of engine e in layout: where e runs Winograd on plan, each output's bound is the
   * larger of the direct one and gamma(C + 20) * Mw (with the activation's terms as in
   * {@link #bound}).
   */
  public static void assertClose(String what, Engine e, Layout layout, ConvPlan plan,
      ConvWeights w, float[] x, float[] expected, float[] actual) {
    int m = winogradTile(e.implementation(plan, layout));
    if (m == 0) {
      assertClose(what, plan, w, x, expected, actual);
      return;
    }
    float[] mag = ReferenceEngine.magnitudes(plan, w, x);
    double[] mw = winogradMagnitudes(m, plan, w, x);
    int k = plan.gemmK();
    int n = winogradRoundings(plan.input().c());
    Activation act = plan.spec().activation();
    assertWithin(what, expected, actual,
        i -> Math.max(bound(k, mag[i], act), boundForRoundings(n, mw[i], act)),
        "Winograd F(" + m + "x" + m + ") bound", "C=" + plan.input().c());
  }

  /** Fails with the first offending output's index, values and bound. */
  public static void assertClose(String what, ConvPlan plan, ConvWeights w, float[] x,
      float[] expected, float[] actual) {
    float[] mag = ReferenceEngine.magnitudes(plan, w, x);
    int k = plan.gemmK();
    Activation act = plan.spec().activation();
    assertWithin(what, expected, actual, i -> bound(k, mag[i], act), "bound", "K=" + k);
  }

  /**
   * Fails unless every |expected[i] - actual[i]| <= tol(i), naming the first offending output,
   * its values and its bound ({@code label}, {@code detail} in the message).
   */
  private static void assertWithin(String what, float[] expected, float[] actual,
      IntToDoubleFunction tol, String label, String detail) {
    if (expected.length != actual.length) {
      fail(what + ": output length " + actual.length + ", expected " + expected.length);
    }
    for (int i = 0; i < expected.length; i++) {
      double diff = Math.abs((double) expected[i] - actual[i]);
      double t = tol.applyAsDouble(i);
      if (!(diff <= t)) {
        fail(String.format("%s: output %d is %s, reference %s, |diff| %.3g > %s %.3g (%s)", what,
            i, actual[i], expected[i], diff, label, t, detail));
      }
    }
  }

  /**
   * Winograd's non-finite outputs against the direct kernels' {@code want}: NaN where it is NaN,
   * the same infinity where it is infinite, and elsewhere finite and within 1e-3 (1 + |want|)
   * (the finite outputs' own bound is checked by the shape tests).
   */
  public static void assertSameNonFinite(String what, float[] want, float[] got) {
    for (int i = 0; i < got.length; i++) {
      boolean same = Float.isNaN(want[i]) ? Float.isNaN(got[i])
          : Float.isInfinite(want[i]) ? got[i] == want[i]
          : Float.isFinite(got[i]) && Math.abs(got[i] - want[i]) <= 1e-3 * (1 + Math.abs(want[i]));
      if (!same) {
        fail(what + ": output " + i + " is " + got[i] + ", the direct kernels give " + want[i]);
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
