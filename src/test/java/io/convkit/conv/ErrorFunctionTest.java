package io.convkit.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The double-precision erf/erfc and the float64 activation definitions built on them. */
class ErrorFunctionTest {
  /** x, erf(x), erfc(x): tabulated values (A&S table 7.1 and higher-precision tables), rounded. */
  private static final double[][] KNOWN = {
    {0.1, 0.1124629160182849, 0.8875370839817151},
    {0.5, 0.5204998778130465, 0.4795001221869535},
    {1.0, 0.8427007929497149, 0.1572992070502851},
    {1.5, 0.9661051464753108, 0.033894853524689274},
    {2.0, 0.9953222650189527, 0.004677734981047266},
    {3.0, 0.9999779095030014, 2.209049699858544e-05},
    {5.0, 0.9999999999984626, 1.5374597944280349e-12},
    {10.0, 1.0, 2.088487583762545e-45},
  };

  @Test
  void matchesTabulatedValues() {
    for (double[] k : KNOWN) {
      double x = k[0];
      assertEquals(k[1], ErrorFunction.erf(x), 2e-16, "erf(" + x + ")");
      assertEquals(-k[1], ErrorFunction.erf(-x), 2e-16, "erf(-" + x + ")");
      // erfc relative: the tail's digits are what GELU's negative side uses.
      assertEquals(k[2], ErrorFunction.erfc(x), 1e-14 * k[2], "erfc(" + x + ")");
      assertEquals(2 - k[2], ErrorFunction.erfc(-x), 4e-16, "erfc(-" + x + ")");
    }
  }

  @Test
  void seriesAndContinuedFractionMeetAtTheSwitch() {
    // Just below 2 the series, from 2 the fraction: erfc must not jump there.
    double below = ErrorFunction.erfc(Math.nextDown(2.0));
    double at = ErrorFunction.erfc(2.0);
    double slope = 2 / Math.sqrt(Math.PI) * Math.exp(-4) * Math.ulp(2.0);
    assertEquals(at + slope, below, 1e-13 * at);
  }

  @Test
  void limitsAndOddness() {
    assertEquals(0.0, ErrorFunction.erf(0.0));
    assertEquals(1.0, ErrorFunction.erf(40));
    assertEquals(-1.0, ErrorFunction.erf(Double.NEGATIVE_INFINITY));
    assertEquals(0.0, ErrorFunction.erfc(Double.POSITIVE_INFINITY));
    assertEquals(2.0, ErrorFunction.erfc(-40));
    assertTrue(Double.isNaN(ErrorFunction.erf(Double.NaN)));
    for (double x = 0.01; x < 6; x += 0.37) {
      assertEquals(1.0, ErrorFunction.erf(x) + ErrorFunction.erfc(x), 4e-16, "erf + erfc at " + x);
    }
  }

  @Test
  void activationDefinitions() {
    assertEquals(0.5, Activation.SIGMOID.apply(0));
    assertEquals(1 / (1 + Math.exp(-3)), Activation.SIGMOID.apply(3), 1e-16);
    assertEquals(Math.exp(-800) / (1 + Math.exp(-800)), Activation.SIGMOID.apply(-800));
    assertEquals(0.0, Activation.SIGMOID.apply(-1e6));
    assertEquals(1.0, Activation.SIGMOID.apply(1e6));
    assertEquals(2 / (1 + Math.exp(-2)), Activation.SWISH.apply(2), 1e-15);
    assertEquals(-0.0, Activation.SWISH.apply(-1e6), 0.0);
    // GELU(1) = Phi(1) = 0.8413447460685429; GELU(-1) = -(1 - Phi(1)).
    assertEquals(0.8413447460685429, Activation.GELU.apply(1), 1e-15);
    assertEquals(-0.15865525393145705, Activation.GELU.apply(-1), 1e-15);
    assertEquals(0.0, Activation.GELU.apply(0));
    // GELU(-10) = -10 * erfc(10 / sqrt 2) / 2 = -7.619853024160527e-23: tail digits kept.
    assertEquals(-7.619853024160527e-23, Activation.GELU.apply(-10), 1e-13 * 7.6e-23);
    assertEquals(10.0, Activation.GELU.apply(10), 1e-14);
  }
}
