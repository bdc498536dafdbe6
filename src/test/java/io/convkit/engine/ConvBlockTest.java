package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.nn.Conv2d;
import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import io.convkit.tensor.Device;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.ConvCheck;
import io.convkit.testing.CpuPasses;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Engine#convolveBlock} (MobileNet v2's inverted-residual block): the CPU engine's fused
 * band kernel gives bit for bit what its three convolutions give one after the other (the same
 * kernels run on band-sized geometries), with and without expand and residual, strides 1 and 2,
 * dilation, batch 2, on 1 and 2 threads; engines without the kernel (the reference) run the
 * convolutions in turn; bad arguments are refused by name; a forward pass fuses MobileNet v2's
 * wide blocks and EfficientNet's wide expand + depthwise pairs and gives the bits of the
 * unfused pass.
 */
class ConvBlockTest {
  /**
   * One block: expand (ce 0: none), depthwise, project (cout 0: none); input n x cin x h x w.
   */
  record Block(int n, int cin, int h, int w, int ce, int k, int stride, int dil, int cout,
      Activation ae, Activation ad, boolean residual, Activation act) {}

  static final List<Block> BLOCKS = List.of(
      // MobileNet v2's block 2 (stride 2) and block 3 (residual) at 224x224 input.
      new Block(1, 16, 112, 112, 96, 3, 2, 1, 24, Activation.RELU6, Activation.RELU6, false,
          Activation.NONE),
      new Block(1, 24, 56, 56, 144, 3, 1, 1, 24, Activation.RELU6, Activation.RELU6, true,
          Activation.NONE),
      // No expand (MobileNet v2's block 1 shape), 5x5 swish, a residual with ReLU after it.
      new Block(1, 64, 64, 64, 0, 5, 1, 1, 64, Activation.NONE, Activation.SWISH, true,
          Activation.RELU),
      // EfficientNet-B0's block 2 up to its squeeze-excitation: expand + depthwise, swish.
      new Block(1, 16, 112, 112, 96, 3, 2, 1, 0, Activation.SWISH, Activation.SWISH, false,
          Activation.NONE),
      // Batch 2, dilated depthwise, channel tails everywhere, odd sizes.
      new Block(2, 13, 41, 37, 211, 3, 1, 2, 29, Activation.GELU, Activation.RELU, false,
          Activation.NONE));

  private static ConvSpec dwSpec(Block b, int c) {
    int pad = (b.k() - 1) / 2 * b.dil();
    return ConvSpec.builder(c, c, b.k(), b.k()).groups(c).stride(b.stride()).padding(pad)
        .dilation(b.dil()).activation(b.ad()).bias(true).build();
  }

  @Test
  void cpuFusedBlockEqualsItsConvolutionsInTurn() {
    for (int threads : new int[] {1, 2}) {
      try (Engine cpu = Engines.cpu(threads)) {
        for (Block b : BLOCKS) {
          check(cpu, b);
        }
      }
    }
  }

  private static void check(Engine cpu, Block b) {
    int c = b.ce() > 0 ? b.ce() : b.cin();
    ConvSpec es = b.ce() > 0 ? ConvSpec.builder(b.cin(), c, 1, 1).activation(b.ae()).bias(true).build()
        : null;
    ConvSpec ds = dwSpec(b, c);
    ConvSpec ps = b.cout() > 0 ? ConvSpec.builder(c, b.cout(), 1, 1).bias(true).build() : null;
    long seed = b.hashCode();
    Shape in = Shape.of(b.n(), b.cin(), b.h(), b.w());
    float[] x = ConvCases.data(seed, in.elements());
    try (Conv2d e = es == null ? null : new Conv2d(es, ConvCases.data(seed + 1,
            es.denseWeightCount()), ConvCases.data(seed + 2, c));
        Conv2d d = new Conv2d(ds, ConvCases.data(seed + 3, ds.denseWeightCount()),
            ConvCases.data(seed + 4, c));
        Conv2d p = ps == null ? null : new Conv2d(ps, ConvCases.data(seed + 5,
            ps.denseWeightCount()), ConvCases.data(seed + 6, b.cout()));
        Tensor xi = ConvCheck.nhwc(x, in.dims())) {
      ConvPlan ep = e == null ? null : e.plan(in);
      ConvPlan dp = d.plan(ep == null ? in : ep.output());
      ConvPlan pp = p == null ? null : p.plan(dp.output());
      ConvPlan last = pp != null ? pp : dp;
      assertTrue(cpu.fusesBlock(ep, dp, pp, Layout.NHWC), b + ": "
          + ((CpuEngine) cpu).blockMisfit(ep, dp, pp, Layout.NHWC));
      float[] r = b.residual() ? ConvCases.data(seed + 7, last.output().elements()) : null;
      try (Tensor ri = r == null ? null : ConvCheck.nhwc(r, last.output().dims());
          Tensor fused = Tensor.allocate(last.output(), Device.HOST, Layout.NHWC);
          Tensor want = Tensor.allocate(last.output(), Device.HOST, Layout.NHWC);
          Tensor ev = ep == null ? null : Tensor.allocate(ep.output(), Device.HOST, Layout.NHWC);
          Tensor dv = Tensor.allocate(dp.output(), Device.HOST, Layout.NHWC)) {
        cpu.convolveBlock(ep, e == null ? null : e.weights(), dp, d.weights(), pp,
            p == null ? null : p.weights(), xi, ri, fused, b.act());
        if (ev != null) {
          cpu.convolve(ep, e.weights(), xi, ev);
        }
        cpu.convolve(dp, d.weights(), ev != null ? ev : xi, pp == null ? want : dv);
        if (pp != null && ri != null) {
          cpu.convolveAdd(pp, p.weights(), dv, ri, want, b.act());
        } else if (pp != null) {
          cpu.convolve(pp, p.weights(), dv, want);
        }
        float[] got = fused.toArray();
        float[] exp = want.toArray();
        for (int i = 0; i < got.length; i++) {
          if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(exp[i])) {
            fail(String.format("%s on %s: output %d is %s, unfused %s", b, cpu.name(), i,
                got[i], exp[i]));
          }
        }
      }
    }
  }

  @Test
  void referenceRunsTheBlockAsItsConvolutions() {
    Block b = new Block(1, 3, 9, 7, 10, 3, 2, 1, 4, Activation.RELU6, Activation.RELU, true,
        Activation.RELU);
    try (Engine ref = Engines.reference();
        Conv2d e = new Conv2d(ConvSpec.builder(3, 10, 1, 1).activation(b.ae()).build(),
            ConvCases.data(1, 30), null);
        Conv2d d = new Conv2d(dwSpec(b, 10), ConvCases.data(2, 90), ConvCases.data(3, 10));
        Conv2d p = new Conv2d(ConvSpec.builder(10, 4, 1, 1).build(), ConvCases.data(4, 40),
            null);
        Tensor x = Tensor.of(ConvCases.data(5, 189), 1, 3, 9, 7)) {
      ConvPlan ep = e.plan(x.shape());
      ConvPlan dp = d.plan(ep.output());
      ConvPlan pp = p.plan(dp.output());
      assertFalse(ref.fusesBlock(ep, dp, pp, Layout.NCHW));
      try (Tensor r = Tensor.of(ConvCases.data(6, pp.output().elements()), pp.output().dims());
          Tensor y = Tensor.zeros(pp.output().dims()); Tensor ev = Tensor.zeros(ep.output().dims());
          Tensor dv = Tensor.zeros(dp.output().dims());
          Tensor want = Tensor.zeros(pp.output().dims())) {
        ref.convolveBlock(ep, e.weights(), dp, d.weights(), pp, p.weights(), x, r, y,
            Activation.RELU);
        ref.convolve(ep, e.weights(), x, ev);
        ref.convolve(dp, d.weights(), ev, dv);
        ref.convolveAdd(pp, p.weights(), dv, r, want, Activation.RELU);
        float[] got = y.toArray();
        float[] exp = want.toArray();
        for (int i = 0; i < got.length; i++) {
          assertEquals(Float.floatToIntBits(exp[i]), Float.floatToIntBits(got[i]), "output " + i);
        }
      }
    }
  }

  @Test
  void badBlocksAreRefusedAndMisfitsSayWhy() {
    try (CpuEngine cpu = (CpuEngine) Engines.cpu(1);
        Conv2d e = new Conv2d(ConvSpec.builder(4, 8, 1, 1).build(), new float[32], null);
        Conv2d d = new Conv2d(ConvSpec.builder(8, 8, 3, 3).groups(8).padding(1).build(),
            new float[72], null);
        Conv2d p = new Conv2d(ConvSpec.builder(8, 4, 1, 1).build(), new float[32], null);
        Conv2d pRelu = new Conv2d(ConvSpec.builder(8, 4, 1, 1).activation(Activation.RELU)
            .build(), new float[32], null);
        Tensor x = Tensor.zeros(1, 4, 6, 6); Tensor y = Tensor.zeros(1, 4, 6, 6);
        Tensor r = Tensor.zeros(1, 4, 6, 6); Tensor other = Tensor.zeros(1, 4, 6, 5)) {
      ConvPlan ep = e.plan(x.shape());
      ConvPlan dp = d.plan(ep.output());
      ConvPlan pp = p.plan(dp.output());
      // A residual of the wrong shape, one sharing the output, an activation without one, a
      // project with its own activation under a residual, a broken chain, missing weights.
      assertThrows(IllegalArgumentException.class, () -> cpu.convolveBlock(ep, e.weights(), dp,
          d.weights(), pp, p.weights(), x, other, y, Activation.NONE));
      assertThrows(IllegalArgumentException.class, () -> cpu.convolveBlock(ep, e.weights(), dp,
          d.weights(), pp, p.weights(), x, y, y, Activation.NONE));
      IllegalArgumentException noRes = assertThrows(IllegalArgumentException.class,
          () -> cpu.convolveBlock(ep, e.weights(), dp, d.weights(), pp, p.weights(), x, null, y,
              Activation.RELU));
      assertTrue(noRes.getMessage().contains("RELU"), noRes.getMessage());
      IllegalArgumentException own = assertThrows(IllegalArgumentException.class,
          () -> cpu.convolveBlock(ep, e.weights(), dp, d.weights(), pRelu.plan(dp.output()),
              pRelu.weights(), x, r, y, Activation.NONE));
      assertTrue(own.getMessage().contains("activation of its own"), own.getMessage());
      IllegalArgumentException chain = assertThrows(IllegalArgumentException.class,
          () -> cpu.convolveBlock(null, null, dp, d.weights(), pp, p.weights(), x, null, y,
              Activation.NONE));
      assertTrue(chain.getMessage().contains("expect input"), chain.getMessage());
      assertThrows(IllegalArgumentException.class, () -> cpu.convolveBlock(ep, null, dp,
          d.weights(), pp, p.weights(), x, null, y, Activation.NONE));
      // Small tensors stay unfused (and say why); NCHW is not the kernel's layout.
      String small = cpu.blockMisfit(ep, dp, pp, Layout.NHWC);
      assertNotNull(small);
      assertTrue(small.contains("stays in cache"), small);
      assertTrue(cpu.blockMisfit(ep, dp, pp, Layout.NCHW).contains("NHWC"));
    }
  }

  @Test
  void forwardPassFusesMobileNetV2sWideBlocksWithTheUnfusedBits() {
    fusedForwardEqualsUnfused(Models.create("mobilenet_v2", Map.of("alpha", "0.5")),
        "block2_expand -> block2_dw -> block2_project");
  }

  @Test
  void forwardPassFusesEfficientNetsExpandAndDepthwiseWithTheUnfusedBits() {
    fusedForwardEqualsUnfused(Models.create("efficientnet_b0"), "block2_expand -> block2_dw");
  }

  @Test
  void forwardPassFusesMobileNetV1sPointwiseIntoTheNextDepthwiseWithTheUnfusedBits() {
    // pw1's 64 x 112 x 112 output stays inside pw1 -> dw2 -> pw2; dw1 runs alone (its block
    // with pw1 would keep only the smaller 32 x 112 x 112)
    List<String> blocks = fusedForwardEqualsUnfused(Models.create("mobilenet_v1"),
        "conv_pw_1 -> conv_dw_2 -> conv_pw_2");
    assertTrue(blocks.stream().noneMatch(b -> b.startsWith("conv_dw_1")), "fused: " + blocks);
    assertTrue(blocks.contains("conv_dw_3 -> conv_pw_3"), "fused: " + blocks);
  }

  private static List<String> fusedForwardEqualsUnfused(Network net, String wantBlock) {
    Shape input = Shape.of(1, 3, 224, 224);
    return CpuPasses.run(net, 3, input, (pass, x) -> {
      List<String> blocks = pass.fusedBlocks(input);
      assertTrue(blocks.size() >= 3, "fused blocks: " + blocks);
      assertTrue(blocks.contains(wantBlock), "fused blocks: " + blocks);
      float[] fused = pass.forward(x).toArray();
      float[] unfused = CpuPasses.unfused(pass, x);
      assertEquals(unfused.length, fused.length);
      for (int i = 0; i < fused.length; i++) {
        assertEquals(Float.floatToIntBits(unfused[i]), Float.floatToIntBits(fused[i]),
            "output " + i + ": " + fused[i] + " vs unfused " + unfused[i]);
      }
      return blocks;
    });
  }
}
