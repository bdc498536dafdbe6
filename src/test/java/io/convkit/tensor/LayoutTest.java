package io.convkit.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.LrnSpec;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.nn.Conv2d;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.OpenClOrSkip;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Layouts: what a tensor's layout means to its readers, and the reorder op on every engine. */
class LayoutTest {
  private static final int[][] SHAPES = {
      {2, 3, 4, 5}, {1, 17, 7, 9}, {3, 8, 1, 13}, {1, 1, 6, 6}, {2, 9, 1, 1}, {1, 33, 14, 14}};

  @Test
  void nhwcDataReadsBackAsNchw() {
    // element (n, c, y, x) = 1000n + 100c + 10y + x, so a misplaced element shows in the value
    Shape s = Shape.of(2, 3, 4, 5);
    float[] nhwc = new float[(int) s.elements()];
    float[] nchw = new float[nhwc.length];
    for (int n = 0; n < 2; n++) {
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 4; y++) {
          for (int x = 0; x < 5; x++) {
            float v = 1000 * n + 100 * c + 10 * y + x;
            nhwc[(int) Layout.NHWC.offset(s, n, c, y, x)] = v;
            nchw[(int) Layout.NCHW.offset(s, n, c, y, x)] = v;
          }
        }
      }
    }
    try (Tensor t = Tensor.ofNhwc(nhwc, 2, 3, 4, 5)) {
      assertEquals(Layout.NHWC, t.layout());
      assertArrayEquals(nchw, t.toArray());
      float[] raw = new float[nhwc.length];
      t.copyRawTo(raw);
      assertArrayEquals(nhwc, raw);
      t.copyFrom(new float[nchw.length]);
      t.copyFrom(nchw);
      t.copyRawTo(raw);
      assertArrayEquals(nhwc, raw, "copyFrom takes NCHW and stores NHWC");
      assertArrayEquals(nchw, Layout.convert(nhwc, s, Layout.NHWC, Layout.NCHW));
    }
  }

  @Test
  void anNhwcTensorIsNotReshapedButOnePixelIsRelabelled() {
    try (Tensor t = Tensor.allocate(Shape.of(2, 3, 4, 5), Device.HOST, Layout.NHWC);
        Tensor p = Tensor.allocate(Shape.of(2, 3, 1, 1), Device.HOST, Layout.NHWC)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> t.view(Shape.of(2, 60, 1, 1)));
      assertTrue(e.getMessage().contains("NHWC"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> t.asLayout(Layout.NCHW));
      assertEquals(Layout.NCHW, p.view(Shape.of(2, 3)).layout());
      assertEquals(Layout.NCHW, p.asLayout(Layout.NCHW).layout());
      assertSame(t, t.asLayout(Layout.NHWC));
    }
    assertThrows(IllegalArgumentException.class,
        () -> Tensor.allocate(Shape.of(2, 3), Device.HOST, Layout.NHWC));
  }

  @Test
  void reorderRoundTripsExactlyOnEveryEngine() {
    List<Engine> engines = new ArrayList<>(CpuVariants.open());
    engines.add(Engines.reference());
    try {
      for (Engine e : engines) {
        roundTrip(e);
      }
    } finally {
      engines.forEach(Engine::close);
    }
  }

  @Test
  void reorderRoundTripsExactlyOnOpenCl() {
    try (OpenClEngine cl = OpenClEngine.open(OpenClOrSkip.device())) {
      roundTrip(cl);
    }
  }

  private static void roundTrip(Engine e) {
    for (int[] d : SHAPES) {
      Shape s = Shape.of(d);
      float[] x = ConvCases.data(d[1] * 31 + d[2], s.elements());
      x[0] = Float.NaN;
      x[x.length - 1] = Float.NEGATIVE_INFINITY;
      try (Tensor host = Tensor.of(x, d); Tensor a = host.to(e);
          Tensor b = Tensor.allocate(s, e, Layout.NHWC);
          Tensor c = Tensor.allocate(s, e, Layout.NCHW)) {
        e.reorder(a, b);
        float[] raw = new float[x.length];
        b.copyRawTo(raw);
        assertArrayEquals(Layout.convert(x, s, Layout.NCHW, Layout.NHWC), raw,
            e.name() + " " + s + " to NHWC");
        e.reorder(b, c);
        assertArrayEquals(x, c.toArray(), e.name() + " " + s + " back to NCHW");
        assertThrows(IllegalArgumentException.class, () -> e.reorder(a, a));
      }
    }
    try (Tensor a = Tensor.allocate(Shape.of(1, 2, 3, 4), e, Layout.NCHW);
        Tensor b = Tensor.allocate(Shape.of(1, 2, 4, 3), e, Layout.NHWC)) {
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
          () -> e.reorder(a, b));
      assertTrue(ex.getMessage().contains("1x2x3x4"), ex.getMessage());
    }
  }

  @Test
  void anEngineRefusesLayoutsItDoesNotRunAndMixedLayouts() {
    ConvSpec spec = ConvSpec.builder(4, 4, 3, 3).padding(1, 1, 1, 1).build();
    try (Engine ref = Engines.reference(); Conv2d conv = new Conv2d(spec, new float[144], null);
        Tensor x = Tensor.allocate(Shape.of(1, 4, 5, 5), Device.HOST, Layout.NHWC);
        Tensor y = Tensor.allocate(Shape.of(1, 4, 5, 5), Device.HOST, Layout.NHWC);
        Tensor yNchw = Tensor.allocate(Shape.of(1, 4, 5, 5), Device.HOST, Layout.NCHW)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ref.convolve(conv.plan(x.shape()), conv.weights(), x, y));
      assertTrue(e.getMessage().contains("NHWC"), e.getMessage());
      for (Engine cpu : CpuVariants.open()) {
        try (cpu) {
          e = assertThrows(IllegalArgumentException.class,
              () -> cpu.convolve(conv.plan(x.shape()), conv.weights(), x, yNchw));
          assertTrue(e.getMessage().contains("different layouts"), e.getMessage());
          e = assertThrows(IllegalArgumentException.class,
              () -> cpu.lrn(new LrnSpec(3, 1e-4, 0.75, 2), x, y));
          assertTrue(e.getMessage().contains("NCHW only"), e.getMessage());
        }
      }
      // Conv2d.forward reorders around an engine that runs NCHW only, and keeps x's layout.
      try (Tensor out = conv.forward(x, ref)) {
        assertEquals(Layout.NHWC, out.layout());
      }
    }
  }
}
