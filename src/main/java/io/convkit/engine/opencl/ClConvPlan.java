package io.convkit.engine.opencl;

import io.convkit.conv.ConvPlan;

/**
 * How the OpenCL engine runs one {@link ConvPlan}: which kernels, built with which options, and
 * the device workspace they need. Made by {@link ClPlanner}.
 *
 * @param kind the kernel family
 * @param unfold GEMM: im2col first (false for pointwise, whose input is already the GEMM's B)
 * @param gemm GEMM: which kernel
 * @param mr GEMM_PACKED: rows per work-item (also the weights' packing)
 * @param gemmOptions GEMM: build options of the GEMM program
 * @param im2colOptions GEMM with unfold: build options of the im2col program
 * @param directOptions DEPTHWISE: build options (empty: the generic window-from-arguments kernel);
 *     WINOGRAD: the tile option of winograd.cl
 * @param workspaceFloats device scratch: one unfolded image (WINOGRAD: one image's transformed
 *     input)
 * @param description what runs, for benchmarks and logs
 */
public record ClConvPlan(ConvPlan plan, Kind kind, boolean unfold, Tuning.Gemm gemm, int mr,
    String gemmOptions, String im2colOptions, String directOptions, long workspaceFloats,
    String description) {

  /** WINOGRAD: the output tile m of F(m x m, 3 x 3), as the build option -DWM says. */
  public int winogradTile() {
    return directOptions.equals("-DWM=4") ? 4 : 2;
  }

  /** The kernel families. */
  public enum Kind {
    /** im2col (unless pointwise) + gemm_packed or gemm_tiled, per image, groups in one launch. */
    GEMM,
    /** depthwise.cl, the whole batch in one launch. */
    DEPTHWISE,
    /** conv_table.cl, the whole batch in one launch. */
    CONNECTION_TABLE,
    /**
     * winograd.cl's input transform, the GEMM with a group per transformed position, the output
     * transform; per image.
     */
    WINOGRAD
  }
}
