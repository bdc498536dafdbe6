package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCases.Case;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.OpenClOrSkip;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Engine#convolveAdd}: y = act(conv(x) + residual), fused into one kernel where the engine
 * says so, against the float64 reference conv plus the residual. The residual is one more term
 * of the sum: the bound is {@link Tolerance#bound} for K + 1 terms and magnitude m + |r|.
 */
class ConvResidualTest {
  private static Engine reference;
  private static List<Engine> engines;

  @BeforeAll
  static void open() {
    reference = Engines.reference();
    engines = new ArrayList<>(CpuVariants.open());
    engines.add(reference);
  }

  @AfterAll
  static void close() {
    engines.forEach(Engine::close);
  }

  @Test
  void convPlusResidualMatchesTheReferenceInBothLayouts() {
    List<Case> cases = new ArrayList<>(ConvCases.fixed());
    cases.addAll(ConvCases.random(ConvCases.RANDOM_SEED + 5, 120));
    int fused = 0;
    int ran = 0;
    for (Case c : cases) {
      if (c.spec().activation() != Activation.NONE || c.input().rank() != 4) {
        continue;
      }
      Activation act = (c.seed() & 1) == 0 ? Activation.RELU : Activation.NONE;
      float[] w = ConvCases.data(c.seed(), c.spec().hasConnections() ? c.spec().weightCount()
          : c.spec().denseWeightCount());
      float[] b = c.spec().hasBias() ? ConvCases.data(c.seed() + 1, c.spec().outChannels()) : null;
      float[] x = ConvCases.data(c.seed() + 2, c.input().elements());
      try (Conv2d conv = new Conv2d(c.spec(), w, b); Tensor in = Tensor.of(x, c.input().dims())) {
        ConvPlan plan = conv.plan(c.input());
        float[] r = ConvCases.data(c.seed() + 3, plan.output().elements());
        float[] conv0;
        try (Tensor y = conv.forward(in, reference)) {
          conv0 = y.toArray();
        }
        float[] mag = ReferenceEngine.magnitudes(plan, conv.weights(), x);
        for (Engine e : engines) {
          for (Layout l : List.of(Layout.NCHW, Layout.NHWC)) {
            if (l == Layout.NHWC && !e.runsNhwc(plan)) {
              continue;
            }
            try (Tensor xi = l == Layout.NHWC ? ConvCheck.nhwc(x, c.input().dims())
                    : Tensor.of(x, c.input().dims());
                Tensor ri = l == Layout.NHWC ? ConvCheck.nhwc(r, plan.output().dims())
                    : Tensor.of(r, plan.output().dims());
                Tensor y = Tensor.allocate(plan.output(), Device.HOST, l)) {
              e.convolveAdd(plan, conv.weights(), xi, ri, y, act);
              float[] got = y.toArray();
              // in place (the residual is the output, as a network pass runs ResNet's adds):
              // the same bits, fused or not
              try (Tensor yr = l == Layout.NHWC ? ConvCheck.nhwc(r, plan.output().dims())
                  : Tensor.of(r, plan.output().dims())) {
                e.convolveAdd(plan, conv.weights(), xi, yr, yr, act);
                assertArrayEquals(got, yr.toArray(), c + " " + l + " on " + e.name()
                    + ": in place");
              }
              fused += e.fusesResidual(plan, l) ? 1 : 0;
              ran++;
              for (int i = 0; i < got.length; i++) {
                double want = act.apply((double) conv0[i] + r[i]);
                double tol = Tolerance.bound(plan.gemmK() + 1, mag[i] + Math.abs(r[i]), act);
                if (!(Math.abs(want - got[i]) <= tol)) {
                  fail(String.format("%s %s %s on %s: output %d is %s, want %s, bound %.3g", c,
                      l, act, e.name(), i, got[i], want, tol));
                }
              }
            }
          }
        }
      }
    }
    assertTrue(ran > 100, "ran " + ran);
    assertTrue(fused > 20, "fused kernels ran " + fused + " times");
  }

  /**
   * The OpenCL engine has no fused kernel: convolveAdd convolves, then adds, so in place it must
   * keep a copy of the residual that the convolution would overwrite.
   */
  @Test
  void inPlaceOnAnEngineThatConvolvesThenAdds() {
    try (Engine cl = io.convkit.engine.opencl.OpenClEngine.open(OpenClOrSkip.device())) {
      ConvSpec spec = ConvSpec.builder(5, 6, 3, 3).padding(1, 1, 1, 1).bias(true).build();
      float[] w = ConvCases.data(31, spec.denseWeightCount());
      float[] b = ConvCases.data(32, 6);
      float[] x = ConvCases.data(33, 2 * 5 * 7 * 9);
      float[] r = ConvCases.data(34, 2 * 6 * 7 * 9);
      try (Conv2d conv = new Conv2d(spec, w, b); Tensor xi = Tensor.of(x, 2, 5, 7, 9);
          Tensor ri = Tensor.of(r, 2, 6, 7, 9); Tensor y = Tensor.zeros(2, 6, 7, 9);
          Tensor yr = Tensor.of(r, 2, 6, 7, 9)) {
        ConvPlan plan = conv.plan(xi.shape());
        assertTrue(!cl.fusesResidual(plan, Layout.NCHW), "OpenCL fuses no residual");
        cl.convolveAdd(plan, conv.weights(), xi, ri, y, Activation.RELU);
        cl.convolveAdd(plan, conv.weights(), xi, yr, yr, Activation.RELU);
        assertArrayEquals(y.toArray(), yr.toArray(), "in place on " + cl.name());
        float[] want = new float[r.length];
        try (Tensor c0 = conv.forward(xi, reference)) {
          float[] c = c0.toArray();
          for (int i = 0; i < want.length; i++) {
            want[i] = Math.max(0f, c[i] + r[i]);
          }
        }
        float[] got = yr.toArray();
        float[] mag = ReferenceEngine.magnitudes(plan, conv.weights(), x);
        for (int i = 0; i < got.length; i++) { // the residual was added once, not twice
          double tol = Tolerance.bound(plan.gemmK() + 1, mag[i] + Math.abs(r[i]), Activation.RELU);
          assertTrue(Math.abs(got[i] - want[i]) <= tol,
              "output " + i + ": " + got[i] + ", want " + want[i] + ", bound " + tol);
        }
      }
    }
  }

  @Test
  void badResidualsAreRefused() {
    ConvSpec spec = ConvSpec.builder(3, 4, 3, 3).padding(1, 1, 1, 1).build();
    ConvSpec relu = ConvSpec.builder(3, 4, 3, 3).padding(1, 1, 1, 1)
        .activation(Activation.RELU).build();
    for (Engine e : engines) {
      try (Conv2d conv = new Conv2d(spec, new float[108], null);
          Conv2d withAct = new Conv2d(relu, new float[108], null);
          Tensor x = Tensor.zeros(1, 3, 5, 5); Tensor y = Tensor.zeros(1, 4, 5, 5);
          Tensor small = Tensor.zeros(1, 4, 5, 4)) {
        ConvPlan p = conv.plan(x.shape());
        assertThrows(IllegalArgumentException.class,
            () -> e.convolveAdd(p, conv.weights(), x, small, y, Activation.RELU));
        assertThrows(IllegalArgumentException.class,
            () -> e.convolveAdd(p, conv.weights(), x, null, y, Activation.RELU));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> e.convolveAdd(withAct.plan(x.shape()), withAct.weights(), x, small, y,
                Activation.NONE));
        assertTrue(ex.getMessage().contains("RELU"), ex.getMessage());
      }
    }
  }
}
