package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.Planner;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Tensor;
import io.convkit.testing.CpuVariants;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The native sigmoid, swish, GELU and tanh (the AVX2 vector exp and erf approximation, and the portable
 * expf path) against their float64 definitions, point by point over [-100, 100] and at huge |x|,
 * through the engine API: a 1x1 identity convolution with the activation fused (weight 1, so the
 * pre-activation value is the input, exactly) on every algorithm that takes it, and add with 0.
 *
 * <p>The bounds are the implementations' own, tighter than the conv tests' budget: sigmoid and
 * swish within 6 ulp relative (exp's Taylor-7 rounding plus 1/(1+e), e*s and x*s), plus the
 * smallest normal float (times 1 + |x|) where e^-|x| is flushed to 0; GELU within
 * 2.5e-7 * |x| + 2 ulp: Phi = 1/2 + erf(x)/2 with erf(x) = x P(x^2) / Q(x^2), a degree-5 rational
 * fit within 2.4e-8 of erf, evaluated in float (ten Horner steps of positive terms, a product, a
 * quotient and the sum), times |x|, and the final product's rounding. On every float input
 * (bench/native/gelu_exhaustive.c) the largest error is 2.34e-7 |x| on AVX2 and 2.43e-7 |x| on
 * the portable build, whose multiply-adds round twice; tanh within 6 ulp relative: below |x| = 0.55 a float Horner sum of the
 * Maclaurin series to x^17 (truncation under 3e-9 relative), above it (1 - e)/(1 + e) with
 * e = e^-2|x| <= 1/3, which passes exp's error on scaled by at most 0.75 and cancels nothing.
 */
class NativeActivationTest {
  private static final double U = Math.scalb(1.0, -24);
  private static final Activation[] TRANSCENDENTAL = {
    Activation.SIGMOID, Activation.SWISH, Activation.GELU, Activation.TANH
  };

  private static List<Engine> engines;
  private static float worstAt;

  @BeforeAll
  static void open() {
    engines = CpuVariants.open();
  }

  @AfterAll
  static void close() {
    engines.forEach(Engine::close);
  }

  /** [-100, 100] in steps of 1/512 (exact floats), then huge and tiny magnitudes of both signs. */
  static float[] inputs() {
    List<Float> v = new ArrayList<>();
    for (int i = -51200; i <= 51200; i++) {
      v.add(i / 512f);
    }
    float[] extra = {1e-30f, 1e-6f, 0.3f, 87.3f, 87.7f, 88.4f, 88.8f, 89f, 90f, 104f, 1e4f, 1e10f,
        1e30f, Float.MAX_VALUE};
    for (float e : extra) {
      v.add(e);
      v.add(-e);
    }
    float[] a = new float[v.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = v.get(i);
    }
    return a;
  }

  static double allowed(Activation act, float x, double exact) {
    if (act == Activation.GELU) {
      // Phi's error times |x|, and the final product's rounding.
      return 2.5e-7 * Math.abs(x) + 2 * U * Math.abs(exact) + Float.MIN_NORMAL;
    }
    // e^-|x| is flushed to 0 below the smallest normal float: sigmoid may lose that much, and
    // swish |x| times it.
    return 6 * U * Math.abs(exact) + Float.MIN_NORMAL * (1 + Math.abs(x));
  }

  /**
   * Fails at the first point past its bound; else returns the largest error in the function's
   * own measure: for sigmoid and swish the relative error in ulps (2^-23 at 1) where the exact
   * value is a normal float, for GELU |error| / |x| (Phi's error; erf's is twice that).
   */
  static double check(String what, Activation act, float[] x, float[] y) {
    assertEquals(x.length, y.length, what);
    double worst = 0;
    worstAt = Float.NaN;
    for (int i = 0; i < x.length; i++) {
      double exact = act.apply(x[i]);
      if (!Float.isFinite(y[i])) {
        fail(what + ": " + act + "(" + x[i] + ") = " + y[i] + ", exact " + exact);
      }
      double ratio = Math.abs(y[i] - exact) / allowed(act, x[i], exact);
      if (!(ratio <= 1)) {
        fail(String.format("%s: %s(%s) = %s, exact %s, |error| %.3g > %.3g", what, act, x[i],
            y[i], exact, Math.abs(y[i] - exact), allowed(act, x[i], exact)));
      }
      double err = Math.abs(y[i] - exact);
      if (act == Activation.GELU) {
        if (x[i] != 0 && err / Math.abs(x[i]) > worst) {
          worstAt = x[i];
        }
        worst = x[i] == 0 ? worst : Math.max(worst, err / Math.abs(x[i]));
      } else if (Math.abs(x[i]) < 87 && exact != 0) { // e^-|x| normal: no flushing
        if (err / Math.abs(exact) / (2 * U) > worst) {
          worstAt = x[i];
        }
        worst = Math.max(worst, err / Math.abs(exact) / (2 * U));
      }
    }
    return worst;
  }

  @Test
  void identityConvolutionWithEachActivation() {
    float[] x = inputs();
    for (Activation act : TRANSCENDENTAL) {
      ConvSpec spec = ConvSpec.builder(1, 1, 1, 1).activation(act).name("identity").build();
      int ran = 0;
      try (Conv2d conv = new Conv2d(spec, new float[] {1f}, null);
          Tensor in = Tensor.of(x, 1, 1, 1, x.length)) {
        for (Algorithm a : Algorithm.values()) {
          if (Planner.misfit(a, spec) != null) {
            continue;
          }
          for (Engine e : engines) {
            try (Tensor y = conv.forward(in, e, a)) {
              double worst = check(e.name() + " " + a, act, x, y.toArray());
              System.out.printf("%s %s %s: max %s %.3g at x = %s%n", e.name(), a, act,
                  act == Activation.GELU ? "|error|/|x|" : "relative error, ulps", worst,
                  worstAt);
            }
            ran++;
          }
        }
      }
      assertTrue(ran >= 2 * engines.size(), "at least two algorithms for " + act);
    }
  }

  /**
   * The NHWC kernels apply the same functions, four vectors at a time where they can: the dense
   * tiles' epilogue (a 1x1 identity conv on 8 channels: six pixels' vectors per tile) and the
   * depthwise rows (a 1x1 identity depthwise conv on 64 channels: eight vectors per pixel). The
   * identity's other weights are 0 and the inputs finite, so the sums are exact.
   */
  @Test
  void nhwcKernelsApplyTheSameFunctions() {
    for (int c : new int[] {8, 64}) {
      float[] x = inputs();
      int pixels = (x.length + c - 1) / c;
      float[] nhwc = Arrays.copyOf(x, pixels * c); // pixel p, channel k at p * c + k
      float[] nchw = new float[nhwc.length];
      for (int p = 0; p < pixels; p++) {
        for (int k = 0; k < c; k++) {
          nchw[k * pixels + p] = nhwc[p * c + k];
        }
      }
      float[] identity = new float[c * c];
      for (int k = 0; k < c; k++) {
        identity[k * c + k] = 1f;
      }
      float[] ones = new float[c];
      Arrays.fill(ones, 1f);
      for (Activation act : TRANSCENDENTAL) {
        // c = 8: dense (nhwc_dense); c = 64: depthwise (nhwc_depthwise)
        ConvSpec spec = c == 8
            ? ConvSpec.builder(c, c, 1, 1).activation(act).name("identity").build()
            : ConvSpec.builder(c, c, 1, 1).groups(c).activation(act).name("identity_dw").build();
        for (Engine e : engines) {
          try (Conv2d conv = new Conv2d(spec, c == 8 ? identity : ones, null);
              Tensor in = Tensor.ofNhwc(nhwc, 1, c, 1, pixels);
              Tensor y = Tensor.allocate(in.shape(), Device.HOST, Layout.NHWC)) {
            String ran = e.implementation(conv.plan(in.shape()), Layout.NHWC);
            assertTrue(ran.startsWith(c == 8 ? "nhwc_dense" : "nhwc_depthwise"), ran);
            conv.forwardInto(in, e, y);
            check(e.name() + " " + ran, act, nchw, y.toArray());
          }
        }
      }
    }
  }

  @Test
  void addWithZeroAppliesTheSameFunctions() {
    float[] x = inputs();
    float[] zero = new float[x.length];
    for (Activation act : TRANSCENDENTAL) {
      for (Engine e : engines) {
        try (Tensor a = Tensor.of(x, x.length); Tensor b = Tensor.of(zero, x.length);
            Tensor y = Tensor.zeros(x.length)) {
          e.add(a, b, y, act);
          check(e.name() + " add", act, x, y.toArray());
        }
      }
    }
  }

  /** The far ends: saturate cleanly, never NaN or Inf, and tiny where the function is tiny. */
  @Test
  void farEnds() {
    float[] x = {-100f, 100f, -10f, 10f, -1e30f, 1e30f, -Float.MAX_VALUE, Float.MAX_VALUE};
    float[] zero = new float[x.length];
    for (Engine e : engines) {
      float[][] y = new float[TRANSCENDENTAL.length][];
      for (int i = 0; i < TRANSCENDENTAL.length; i++) {
        try (Tensor a = Tensor.of(x, x.length); Tensor b = Tensor.of(zero, x.length);
            Tensor out = Tensor.zeros(x.length)) {
          e.add(a, b, out, TRANSCENDENTAL[i]);
          y[i] = out.toArray();
        }
      }
      float[] sigmoid = y[0];
      float[] swish = y[1];
      float[] gelu = y[2];
      float[] tanh = y[3];
      String n = e.name();
      assertTrue(Math.abs(sigmoid[0]) < 1e-37, n + " sigmoid(-100) = " + sigmoid[0]);
      assertEquals(1f, sigmoid[1], n + " sigmoid(100)");
      assertTrue(Math.abs(swish[0]) < 1e-35, n + " swish(-100) = " + swish[0]);
      assertEquals(100f, swish[1], n + " swish(100)");
      assertTrue(Math.abs(gelu[2]) < 1e-20, n + " GELU(-10) = " + gelu[2]);
      assertEquals(10f, gelu[3], n + " GELU(10)");
      for (int i = 0; i < x.length; i++) {
        assertEquals(Math.signum(x[i]), tanh[i], 0f, n + " tanh(" + x[i] + ")");
      }
      for (int i = 4; i < x.length; i += 2) {
        assertEquals(0f, sigmoid[i], 0f, n + " sigmoid(" + x[i] + ")");
        assertEquals(0f, swish[i], 0f, n + " swish(" + x[i] + ")");
        assertEquals(0f, gelu[i], 0f, n + " GELU(" + x[i] + ")");
        assertEquals(1f, sigmoid[i + 1], n + " sigmoid(" + x[i + 1] + ")");
        assertEquals(x[i + 1], swish[i + 1], n + " swish(" + x[i + 1] + ")");
        assertEquals(x[i + 1], gelu[i + 1], n + " GELU(" + x[i + 1] + ")");
      }
    }
  }
}
