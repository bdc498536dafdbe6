package io.convkit.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.tensor.Shape;
import io.convkit.testing.ConvCases;
import org.junit.jupiter.api.Test;

/** The planner's choices and the counts of SOURCE_TABLES T6 and T10. */
class PlannerTest {
  @Test
  void choosesTheAlgorithmForEachKindOfSpec() {
    assertEquals(Algorithm.POINTWISE_GEMM, Planner.choose(ConvSpec.builder(8, 16, 1, 1).build()));
    assertEquals(Algorithm.IM2COL_GEMM,
        Planner.choose(ConvSpec.builder(8, 16, 1, 1).stride(2).build()));
    assertEquals(Algorithm.IM2COL_GEMM, Planner.choose(ConvSpec.builder(8, 16, 3, 3).build()));
    assertEquals(Algorithm.DEPTHWISE_DIRECT,
        Planner.choose(ConvSpec.builder(8, 16, 3, 3).groups(8).build()));
    assertEquals(Algorithm.GROUPED_GEMM,
        Planner.choose(ConvSpec.builder(8, 16, 3, 3).groups(2).build()));
    assertEquals(Algorithm.CONNECTION_TABLE, Planner.choose(ConvSpec.builder(6, 16, 5, 5)
        .connections(ConvCases.lenetC3()).build()));
  }

  @Test
  void groupedPlansUseTilesOnlyForFewChannelsPerGroup() {
    Shape in = Shape.of(1, 128, 56, 56);
    ConvPlan resnext = Planner.plan(ConvSpec.builder(128, 128, 3, 3).padding(1).groups(32).build(), in);
    assertTrue(resnext.smallMTiles());
    assertTrue(resnext.scratchBytesPerThread() > 0);
    ConvPlan alexnet = Planner.plan(ConvSpec.builder(96, 256, 5, 5).padding(2).groups(2).build(),
        Shape.of(1, 96, 27, 27));
    assertFalse(alexnet.smallMTiles());
    // Blocked im2col: each thread unfolds K_g x (rows per block * OW) at a time; here the whole
    // 27-row plane of one group fits in a block.
    assertEquals(27, alexnet.rowsPerBlock());
    assertEquals(4L * 48 * 25 * 27 * 27, alexnet.scratchBytesPerThread());
    assertEquals(0, alexnet.workspaceBytes());
  }

  @Test
  void t6DepthwiseSeparableVersusStandardMultiplications() {
    Shape in = Shape.of(1, 3, 7, 7);
    ConvSpec dw = ConvSpec.builder(3, 3, 3, 3).groups(3).build();
    ConvSpec pw = ConvSpec.builder(3, 128, 1, 1).build();
    ConvSpec std = ConvSpec.builder(3, 128, 3, 3).build();
    assertEquals(Shape.of(1, 3, 5, 5), dw.outputShape(in));
    assertEquals(675, Planner.plan(dw, in).macs());
    assertEquals(9_600, Planner.plan(pw, Shape.of(1, 3, 5, 5)).macs());
    assertEquals(86_400, Planner.plan(std, in).macs());
  }

  @Test
  void t10OutputSizes() {
    Shape in = Shape.of(1, 1, 7, 7);
    assertEquals(5, ConvSpec.builder(1, 1, 3, 3).build().outputShape(in).h());
    assertEquals(3, ConvSpec.builder(1, 1, 3, 3).stride(2).build().outputShape(in).h());
    assertEquals(2, ConvSpec.builder(1, 1, 3, 3).stride(3).build().outputShape(in).h());
    assertEquals(7, ConvSpec.builder(1, 1, 3, 3).padding(1).build().outputShape(in).h());
  }

  @Test
  void lenetC3CountsOnlyConnectedWeights() {
    // LeCun 1998: C3 has 1,516 trainable parameters and 151,600 connections.
    ConvSpec c3 = ConvSpec.builder(6, 16, 5, 5).connections(ConvCases.lenetC3()).bias(true).build();
    assertEquals(1_516, c3.parameterCount());
    assertEquals(151_600, c3.parameterCount() * 100);
    assertEquals(1_500 * 100, c3.macs(Shape.of(1, 6, 14, 14)));
  }

  @Test
  void asymmetricPaddingAndDilationShapeTheOutput() {
    ConvSpec s = ConvSpec.builder(2, 3, 3, 2).padding(0, 1, 2, 3).dilation(2, 3).stride(1, 2).build();
    // height: (10 + 0 + 2 - 5) / 1 + 1 = 8; width: (9 + 1 + 3 - 4) / 2 + 1 = 5
    assertEquals(Shape.of(1, 3, 8, 5), s.outputShape(Shape.of(1, 2, 10, 9)));
  }
}
