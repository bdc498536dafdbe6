package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.engine.Engine;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Compares engines' pooling with the reference engine's on one {@link PoolCases} case; shared by
 * every engine's pooling test.
 */
public final class PoolCheck {
  private PoolCheck() {}

  /** A host tensor filled with NaN, so an output a kernel never writes fails the comparison. */
  public static Tensor nans(Shape shape) {
    float[] a = new float[Math.toIntExact(shape.elements())];
    Arrays.fill(a, Float.NaN);
    return Tensor.of(a, shape.dims());
  }

  /** The engine's pooling of {@code x}, through host tensors. */
  public static float[] run(Engine e, PoolSpec spec, float[] x, Shape input) {
    try (Tensor in = Tensor.of(x, input.dims()); Tensor y = nans(spec.outputShape(input))) {
      e.pool(spec, in, y);
      return y.toArray();
    }
  }

  /**
   * MAX picks one of the window's elements, so it is exact in any order: the outputs must equal
   * the reference's (numerically; the data holds no -0.0, so signed zeros cannot differ).
   *
   * <p>AVG: the engine's float sum s' of the n covered elements, in any order and blocking, is
   * off from the exact sum s by at most gamma(n-1) * sum|x| (Higham 3.1; padding adds exact
   * zeros), and its one division by the divisor d adds a relative u = 2^-24. The reference
   * rounds (float64 sum)/d once to float: u * |s|/d, plus a float64 error far below that. So per
   * output |engine - reference| <= (gamma(n-1) + 2u + u*gamma(n-1)) * sum|x|/d + tiny
   * <= (gamma(n+1) + u) * m, with m = sum|x|/d: that is Tolerance.bound(n, m). n is at most the
   * window's kh*kw (gamma grows with n), and m is the reference's average pool of |x| (same
   * window, same divisor).
   */
  public static void check(PoolCases.Case c, Engine reference, List<? extends Engine> engines) {
    float[] x = c.data();
    float[] expected = PoolCheck.run(reference, c.spec(), x, c.input());
    float[] bound = null;
    if (c.spec().kind() == PoolKind.AVG) {
      float[] ax = new float[x.length];
      for (int i = 0; i < x.length; i++) {
        ax[i] = Math.abs(x[i]);
      }
      float[] m = PoolCheck.run(reference, c.spec(), ax, c.input());
      int n = c.spec().kernelH(c.input()) * c.spec().kernelW(c.input());
      bound = new float[m.length];
      for (int i = 0; i < m.length; i++) {
        bound[i] = (float) Tolerance.bound(n, m[i]);
      }
    }
    for (Engine e : engines) {
      float[] actual = PoolCheck.run(e, c.spec(), x, c.input());
      String what = c + " on " + e.name();
      for (int i = 0; i < expected.length; i++) {
        if (bound == null) {
          if (!(actual[i] == expected[i])) {
            fail(what + ": MAX output " + i + " is " + actual[i] + ", reference " + expected[i]);
          }
        } else {
          double diff = Math.abs((double) actual[i] - expected[i]);
          if (!(diff <= bound[i])) {
            fail(String.format("%s: AVG output %d is %s, reference %s, |diff| %.3g > bound %.3g",
                what, i, actual[i], expected[i], diff, bound[i]));
          }
        }
      }
    }
  }

}
