package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ChannelOpsCheck;
import io.convkit.testing.ConvCases;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * LRN, layer norm, concatenation and channel scaling on the OpenCL engine against the reference
 * engine ({@link ChannelOpsCheck}'s cases and bounds), on host tensors and on device tensors,
 * and a chain of the four on device tensors that makes no host transfer.
 */
class OpenClChannelOpsTest {
  private static Engine reference;
  private static OpenClEngine engine;

  private static final OpenClTests.SharedEngines shared = new OpenClTests.SharedEngines();

  @BeforeEach
  void engine() {
    shared.open();
    reference = shared.reference;
    engine = shared.engine;
  }

  @AfterAll
  static void close() {
    shared.close();
  }

  @TestFactory
  Stream<DynamicTest> lrnMatchesTheReference() {
    return ChannelOpsCheck.lrnCases().stream().map(c -> DynamicTest.dynamicTest(c.toString(),
        () -> {
          ChannelOpsCheck.checkLrn(c, reference, List.of(engine));
          // The same on device tensors.
          float[] x = c.data();
          float[] expected = ChannelOpsCheck.lrn(reference, c, x);
          try (Tensor hx = Tensor.of(x, c.shape().dims()); Tensor dx = hx.to(engine);
              Tensor dy = Tensor.allocate(c.shape(), engine)) {
            engine.lrn(c.spec(), dx, dy);
            ChannelOpsCheck.checkLrn("device tensors", c, expected, dy.toArray());
          }
        }));
  }

  @TestFactory
  Stream<DynamicTest> layerNormMatchesTheReference() {
    return ChannelOpsCheck.layerNormCases().stream().map(c -> DynamicTest.dynamicTest(
        c.toString(), () -> {
          ChannelOpsCheck.checkLayerNorm(c, reference, List.of(engine));
          // Device tensors, in place.
          float[] x = c.data();
          float[] expected = ChannelOpsCheck.layerNorm(reference, c, x);
          int ch = c.shape().c();
          try (Tensor hx = Tensor.of(x, c.shape().dims()); Tensor dx = hx.to(engine);
              Tensor g = Tensor.of(c.gamma(), ch).to(engine);
              Tensor b = Tensor.of(c.beta(), ch).to(engine)) {
            engine.layerNorm(dx, g, b, c.eps(), dx);
            ChannelOpsCheck.checkLayerNorm("device tensors in place", c.shape(), x, c.gamma(),
                c.beta(), c.eps(), expected, dx.toArray());
          }
        }));
  }

  @Test
  void concatCopiesExactly() {
    ChannelOpsCheck.checkConcat(reference, List.of(engine));
  }

  @Test
  void concatMixesHostAndDeviceTensors() {
    float[] a = ConvCases.data(1, 2 * 2 * 9);
    float[] b = ConvCases.data(2, 2 * 3 * 9);
    try (Tensor ha = Tensor.of(a, 2, 2, 3, 3); Tensor hb = Tensor.of(b, 2, 3, 3, 3);
        Tensor expected = Tensor.zeros(2, 5, 3, 3); Tensor da = ha.to(engine);
        Tensor db = hb.to(engine); Tensor dy = Tensor.allocate(Shape.of(2, 5, 3, 3), engine);
        Tensor hy = ChannelOpsCheck.nans(Shape.of(2, 5, 3, 3))) {
      reference.concat(List.of(ha, hb), expected);
      engine.concat(List.of(ha, db), dy); // host input into a device output
      assertArrayEquals(expected.toArray(), dy.toArray(), "host + device -> device");
      engine.concat(List.of(da, hb), hy); // device input into a host output
      assertArrayEquals(expected.toArray(), hy.toArray(), "device + host -> host");
    }
  }

  @Test
  void scaleChannelsMultipliesExactly() {
    ChannelOpsCheck.checkScaleChannels(reference, List.of(engine));
  }

  /**
   * LRN, then layer norm, concatenation of both, and channel scaling, all on device tensors:
   * after the operands are uploaded, no transfer until the result is read back; the result
   * matches the reference's chain within the two ops' bounds (checked op by op).
   */
  @Test
  void deviceChainMakesNoTransfers() {
    Shape shape = Shape.of(2, 6, 5, 3);
    LrnSpec spec = new LrnSpec(3, 1, 0.75, 1);
    float[] x = ConvCases.data(9, shape.elements());
    float[] g = ConvCases.data(10, 6);
    float[] be = ConvCases.data(11, 6);
    float[] s = ConvCases.data(12, 2 * 12);
    Shape both = Shape.of(2, 12, 5, 3);
    float[] lrnRef;
    float[] lnRef;
    float[] catRef;
    float[] outRef;
    try (Tensor hx = Tensor.of(x, shape.dims()); Tensor hg = Tensor.of(g, 6);
        Tensor hb = Tensor.of(be, 6); Tensor hs = Tensor.of(s, 2, 12, 1, 1);
        Tensor r1 = Tensor.zeros(shape); Tensor r2 = Tensor.zeros(shape);
        Tensor r3 = Tensor.zeros(both); Tensor r4 = Tensor.zeros(both)) {
      reference.lrn(spec, hx, r1);
      reference.layerNorm(r1, hg, hb, 1e-6, r2);
      reference.concat(List.of(r1, r2), r3);
      reference.scaleChannels(r3, hs, r4);
      lrnRef = r1.toArray();
      lnRef = r2.toArray();
      catRef = r3.toArray();
      outRef = r4.toArray();
      try (Tensor dx = hx.to(engine); Tensor dg = hg.to(engine); Tensor db = hb.to(engine);
          Tensor ds = hs.to(engine); Tensor d1 = Tensor.allocate(shape, engine);
          Tensor d2 = Tensor.allocate(shape, engine); Tensor d3 = Tensor.allocate(both, engine);
          Tensor d4 = Tensor.allocate(both, engine)) {
        OpenClEngine.Stats before = engine.stats();
        engine.lrn(spec, dx, d1);
        engine.layerNorm(d1, dg, db, 1e-6, d2);
        engine.concat(List.of(d1, d2), d3);
        engine.scaleChannels(d3, ds, d4);
        engine.finish();
        OpenClEngine.Stats after = engine.stats();
        assertEquals(before.uploads(), after.uploads(), "uploads during the chain");
        assertEquals(before.downloads(), after.downloads(), "downloads during the chain");
        assertEquals(before.launches() + 3, after.launches(), "kernel launches (concat copies)");
        float[] lrn = d1.toArray();
        ChannelOpsCheck.LrnCase c = new ChannelOpsCheck.LrnCase(shape, spec, 1);
        ChannelOpsCheck.checkLrn("device chain", c, lrnRef, lrn);
        // Layer norm of the engine's own LRN output, against the reference's of the same input.
        try (Tensor own = Tensor.of(lrn, shape.dims()); Tensor ref = Tensor.zeros(shape)) {
          reference.layerNorm(own, hg, hb, 1e-6, ref);
          float[] ln = d2.toArray();
          ChannelOpsCheck.checkLayerNorm("device chain", shape, lrn, g, be, 1e-6, ref.toArray(),
              ln);
          float[] cat = d3.toArray();
          for (int n = 0; n < 2; n++) {
            for (int i = 0; i < 90; i++) {
              assertEquals(lrn[n * 90 + i], cat[n * 180 + i], "concat, image " + n);
              assertEquals(ln[n * 90 + i], cat[n * 180 + 90 + i], "concat, image " + n);
            }
          }
          float[] out = d4.toArray();
          for (int i = 0; i < out.length; i++) {
            assertEquals(cat[i] * s[i / 15], out[i], "scaled " + i);
          }
        }
        assertTrue(lnRef.length == 180 && catRef.length == 360 && outRef.length == 360);
      }
    }
  }

  @Test
  void badArgumentsNameTheOpAndTheValue() {
    io.convkit.engine.ChannelOpsTestAccess.badArguments(engine);
  }

  @Test
  void aTensorOfAnotherDeviceIsRefused() {
    try (OpenClEngine other = OpenClEngine.open(engine.device());
        Tensor x = Tensor.zeros(1, 2, 2, 2).to(other); Tensor y = Tensor.zeros(1, 2, 2, 2)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> engine.lrn(new LrnSpec(3, 1, 0.75, 1), x, y));
      assertTrue(e.getMessage().contains("tensor.to(engine)"), e.getMessage());
    }
  }
}
