package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.Tolerance;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CPU engine's implementation list: the choice, the misfit reasons, forcing by name. */
class CpuImplementationsTest {
  private static final ConvSpec DENSE = ConvSpec.builder(5, 7, 3, 3).padding(1, 1, 1, 1)
      .bias(true).build();
  private static final ConvSpec DEPTHWISE = ConvSpec.builder(6, 6, 3, 3).stride(2, 2)
      .padding(1, 1, 1, 1).groups(6).build();
  private static final ConvSpec GROUPED = ConvSpec.builder(8, 8, 3, 3).padding(1, 1, 1, 1)
      .groups(2).build();
  private static final ConvSpec GROUPED16 = ConvSpec.builder(32, 32, 3, 3).padding(1, 1, 1, 1)
      .groups(2).build();

  @Test
  void theFirstImplementationThatFitsRunsAndEveryOtherSaysWhyNot() {
    Shape in = Shape.of(1, 5, 9, 11);
    ConvPlan p = new Conv2d(DENSE, new float[315], new float[7]).plan(in);
    String nhwc = CpuEngine.misfits(p, Layout.NHWC);
    // 5 -> 7 channels on 9x11: Winograd fits but the estimates prefer the direct kernel.
    assertTrue(nhwc.startsWith("nhwc_winograd_f4: estimated "), nhwc);
    assertTrue(nhwc.contains("; nhwc_dense: fits"), nhwc);
    assertTrue(nhwc.contains("nchw_im2col_sgemm: runs NCHW tensors"), nhwc);
    String nchw = CpuEngine.misfits(p, Layout.NCHW);
    assertTrue(nchw.contains("nhwc_dense: runs NHWC tensors"), nchw);
    assertTrue(nchw.contains("nchw_im2col_sgemm: fits"), nchw);
    ConvPlan g = new Conv2d(GROUPED, new float[288], null).plan(Shape.of(1, 8, 6, 6));
    assertTrue(CpuEngine.misfits(g, Layout.NHWC).contains("nhwc_dense: grouped (2 groups)"));
    assertTrue(CpuEngine.misfits(g, Layout.NHWC).contains("nhwc_grouped_narrow: fits"),
        CpuEngine.misfits(g, Layout.NHWC));
    assertTrue(CpuEngine.misfits(g, Layout.NHWC).contains("nhwc_grouped: 4 outputs per group"
        + " (fewer than 8)"), CpuEngine.misfits(g, Layout.NHWC));
    ConvPlan g16 = new Conv2d(GROUPED16, new float[4608], null).plan(Shape.of(1, 32, 6, 6));
    assertTrue(CpuEngine.misfits(g16, Layout.NHWC).contains(
        "nhwc_grouped_narrow: not 4 or 8 inputs and as many outputs per group"));
    assertTrue(CpuEngine.misfits(g16, Layout.NHWC).contains("nhwc_grouped: fits"));
    ConvPlan d = new Conv2d(DEPTHWISE, new float[54], null).plan(Shape.of(1, 6, 9, 9));
    assertTrue(CpuEngine.misfits(d, Layout.NHWC).contains("nhwc_depthwise: fits"));
    assertTrue(CpuEngine.misfits(d, Layout.NHWC).contains(
        "nhwc_grouped: depthwise (nhwc_depthwise runs it)"));
    try (Engine cpu = new CpuEngine(1, Isa.PORTABLE)) {
      assertTrue(cpu.runsNhwc(p));
      assertTrue(cpu.runsNhwc(d));
      assertTrue(cpu.implementation(g, Layout.NHWC).startsWith(
          "nhwc_grouped_narrow (gconv_nhwc_c4k4_2px8c_portable)"), cpu.implementation(g,
          Layout.NHWC));
      assertTrue(cpu.fusesResidual(g, Layout.NHWC));
      assertTrue(cpu.runsNhwc(g16));
      assertTrue(cpu.implementation(g16, Layout.NHWC).startsWith("nhwc_grouped (f32_conv_nhwc_"),
          cpu.implementation(g16, Layout.NHWC));
      // The portable kernels' multiply is so slow that Winograd's saving wins even here (0.22
      // against 0.42 ms on 13 -> 19 channels, 13x11: winograd_bench.c with CK_BENCH_ISA=0).
      assertTrue(cpu.implementation(p, Layout.NHWC).startsWith("nhwc_winograd_f4 ("),
          cpu.implementation(p, Layout.NHWC));
      assertTrue(cpu.implementation(d, Layout.NHWC).startsWith("nhwc_depthwise ("));
      assertTrue(!cpu.fusesResidual(p, Layout.NCHW));
    }
    try (Engine cpu = new CpuEngine(1, Isa.best())) {
      assertTrue(cpu.implementation(p, Layout.NHWC).startsWith("nhwc_dense (f32_conv_nhwc_"),
          cpu.implementation(p, Layout.NHWC));
      assertTrue(cpu.fusesResidual(p, Layout.NHWC));
    }
    assertEquals(List.of("nhwc_winograd_f4", "nhwc_winograd_f2", "nhwc_dense"),
        CpuEngine.implementations().subList(0, 3));
  }

  @Test
  void aForcedImplementationRunsOrSaysWhyItDoesNotFit() {
    Shape in = Shape.of(2, 5, 9, 11);
    float[] w = ConvCases.data(3, 315);
    float[] b = ConvCases.data(4, 7);
    float[] x = ConvCases.data(5, in.elements());
    try (Conv2d conv = new Conv2d(DENSE, w, b); Engine ref = Engines.reference();
        Tensor xn = Tensor.of(x, in.dims()); Tensor xh = ConvCheck.nhwc(x, in.dims())) {
      ConvPlan p = conv.plan(in);
      float[] want;
      try (Tensor y = conv.forward(xn, ref)) {
        want = y.toArray();
      }
      for (String name : List.of("nhwc_dense", "nchw_im2col_sgemm")) { // grouped: ConvCheck
        Layout l = name.startsWith("nhwc") ? Layout.NHWC : Layout.NCHW;
        try (Engine cpu = new CpuEngine(2, Isa.best(), Layout.NHWC, name);
            Tensor y = conv.forward(l == Layout.NHWC ? xh : xn, cpu)) {
          assertTrue(cpu.name().contains(name), cpu.name());
          Tolerance.assertClose(name, p, conv.weights(), x, want, y.toArray());
        }
      }
      try (Engine cpu = new CpuEngine(1, Isa.best(), Layout.NHWC, "nhwc_depthwise")) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> conv.forward(xh, cpu));
        assertTrue(e.getMessage().contains("nhwc_depthwise does not fit"),
            e.getMessage());
        assertTrue(!cpu.runsNhwc(p), "a forced implementation that does not fit runs nothing");
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CpuEngine(1, Isa.PORTABLE, Layout.NHWC, "winograd"));
    assertTrue(e.getMessage().contains("nhwc_dense"), e.getMessage());
  }

  /**
   * nhwc_grouped_narrow forced through the public API, on every ISA, against the float64
   * reference: groups of 4 and of 8 channels, stride 1 and 2, bias, ReLU, a channel tail (12 =
   * one and a half vectors), and the residual add in place as a network runs it.
   */
  @Test
  void theNarrowGroupedKernelMatchesTheReference() {
    ConvSpec[] specs = {
      ConvSpec.builder(12, 12, 3, 3).padding(1, 1, 1, 1).groups(3).bias(true)
          .activation(Activation.RELU).build(),
      ConvSpec.builder(24, 24, 3, 3).stride(2, 2).padding(1, 1, 1, 1).groups(3).build(),
    };
    Shape[] inputs = {Shape.of(2, 12, 9, 23), Shape.of(1, 24, 11, 14)};
    for (int i = 0; i < specs.length; i++) {
      ConvSpec spec = specs[i];
      Shape in = inputs[i];
      float[] w = ConvCases.data(7 + i, spec.denseWeightCount());
      float[] b = spec.hasBias() ? ConvCases.data(8 + i, spec.outChannels()) : null;
      float[] x = ConvCases.data(9 + i, in.elements());
      try (Conv2d conv = new Conv2d(spec, w, b); Engine ref = Engines.reference();
          Tensor xn = Tensor.of(x, in.dims()); Tensor xh = ConvCheck.nhwc(x, in.dims())) {
        ConvPlan p = conv.plan(in);
        float[] want;
        try (Tensor y = conv.forward(xn, ref)) {
          want = y.toArray();
        }
        for (Isa isa : Isa.values()) {
          if (isa.code() > Isa.best().code()) {
            continue;
          }
          try (Engine cpu = new CpuEngine(2, isa, Layout.NHWC, "nhwc_grouped_narrow");
              Tensor y = conv.forward(xh, cpu)) {
            assertTrue(cpu.implementation(p, Layout.NHWC).startsWith("nhwc_grouped_narrow (gconv_"
                + (spec.inChannels() / spec.groups() == 4 ? "nhwc_c4k4" : "nhwc_c8k8")),
                cpu.implementation(p, Layout.NHWC));
            Tolerance.assertClose(spec + " on " + cpu.name(), p, conv.weights(), x, want,
                y.toArray());
            if (spec.activation() != Activation.NONE) {
              continue; // convolveAdd takes the activation as its argument
            }
            // The residual fused: conv(x) + r against the reference conv plus r; then in place
            // (the residual is the output, as a network pass runs it) to the same bits.
            float[] r = ConvCases.data(10 + i, p.output().elements());
            float[] mag = ReferenceEngine.magnitudes(p,
                conv.weights(), x);
            assertTrue(cpu.fusesResidual(p, Layout.NHWC));
            try (Tensor rh = ConvCheck.nhwc(r, p.output().dims());
                Tensor yr = Tensor.allocate(p.output(), Device.HOST, Layout.NHWC);
                Tensor inPlace = ConvCheck.nhwc(r, p.output().dims())) {
              cpu.convolveAdd(p, conv.weights(), xh, rh, yr, Activation.NONE);
              float[] got = yr.toArray();
              for (int k = 0; k < got.length; k++) {
                double tol = Tolerance.bound(p.gemmK() + 1, mag[k] + Math.abs(r[k]));
                assertTrue(Math.abs((double) want[k] + r[k] - got[k]) <= tol, spec + " on "
                    + cpu.name() + " + residual: output " + k + " is " + got[k] + ", want "
                    + ((double) want[k] + r[k]));
              }
              cpu.convolveAdd(p, conv.weights(), xh, inPlace, inPlace,
                  Activation.NONE);
              assertArrayEquals(got, inPlace.toArray(),
                  spec + " on " + cpu.name() + ": in place");
            }
          }
        }
      }
    }
  }

  @Test
  void theNchwPreferringEngineKeepsTheFirstEnginesPaths() {
    try (Engine v1 = Engines.cpu(1, Layout.NCHW)) {
      assertEquals(Layout.NCHW, v1.preferredLayout());
      assertTrue(v1.name().contains("nchw"), v1.name());
    }
  }
}
