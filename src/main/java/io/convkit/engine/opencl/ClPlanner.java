package io.convkit.engine.opencl;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.Precision;

/**
 * The one place that chooses the OpenCL kernels and their tile sizes for a convolution, from the
 * algorithm {@link io.convkit.conv.Planner} chose and the device's {@link Tuning}.
 *
 * <ul>
 *   <li>IM2COL_GEMM and GROUPED_GEMM: im2col of one image (all groups), then one GEMM launch
 *       with the groups as its third dimension. POINTWISE_GEMM: the GEMM reads the input.
 *   <li>The GEMM kernel is the tuning's: packed register blocks (CPU devices) or local-memory
 *       tiles (GPUs). Packed blocks of {@code mr} rows shrink to 8, 4, 2 or 1 for groups with that
 *       few output channels (ResNeXt's 4 per group), so work-items compute few padding rows.
 *   <li>DEPTHWISE_DIRECT: the fixed-window program for 3x3 stride 1 and stride 2 (no dilation),
 *       the generic program otherwise.
 *   <li>CONNECTION_TABLE: the direct kernel over each output's connected inputs.
 *   <li>Winograd (engines of precision FAST): 3x3 stride-1 undilated dense convolutions with at
 *       least {@link #WINOGRAD_MIN_CHANNELS} input and output channels run winograd.cl's
 *       transforms around the GEMM (a group per transformed position, B plain rows):
 *       F(4x4, 3x3) where the output is at least 8x8, F(2x2, 3x3) below.
 * </ul>
 */
public final class ClPlanner {
  private ClPlanner() {}

  /** Fewer input or output channels leave the transforms costlier than the multiply they save. */
  public static final int WINOGRAD_MIN_CHANNELS = 16;

  public static ClConvPlan plan(ConvPlan p, Tuning t, Precision precision) {
    ConvSpec s = p.spec();
    int oh = p.output().h();
    int ow = p.output().w();
    long n = (long) oh * ow;
    if (precision == Precision.FAST && winogradFits(s)) {
      int m = oh >= 8 && ow >= 8 ? 4 : 2;
      long tiles = (long) ((oh + m - 1) / m) * ((ow + m - 1) / m);
      int a2 = (m + 2) * (m + 2);
      int k = s.outChannels();
      String what = "winograd F(" + m + "x" + m + ") + ";
      String wm = "-DWM=" + m;
      if (t.gemm() == Tuning.Gemm.PACKED) {
        int mr = t.mr();
        return new ClConvPlan(p, ClConvPlan.Kind.WINOGRAD, false, Tuning.Gemm.PACKED, mr,
            "-DMR=" + mr + " -DNV=" + t.nv() + " -DB_PACKED=0", "", wm,
            a2 * s.inChannels() * tiles, what + "gemm_packed " + mr + "x" + 8 * t.nv() + " x" + a2
                + " positions");
      }
      return new ClConvPlan(p, ClConvPlan.Kind.WINOGRAD, false, Tuning.Gemm.TILED, 0,
          "-DTSM=" + t.tsm() + " -DTSN=" + t.tsn() + " -DTSK=" + t.tsk() + " -DWPTM=" + t.wptm()
              + " -DWPTN=" + t.wptn(), "", wm, a2 * s.inChannels() * tiles,
          what + "gemm_tiled x" + a2 + " positions (" + k + " outputs)");
    }
    switch (p.algorithm()) {
      case IM2COL_GEMM, GROUPED_GEMM, POINTWISE_GEMM -> {
        boolean unfold = p.algorithm() != io.convkit.conv.Algorithm.POINTWISE_GEMM;
        int mg = s.outChannelsPerGroup();
        int kg = p.gemmK();
        if (t.gemm() == Tuning.Gemm.PACKED) {
          int mr = t.mr();
          for (int m = 1; m < t.mr(); m *= 2) {
            if (mg <= m) {
              mr = m; // the smallest power of two that holds the group's rows
              break;
            }
          }
          int nb = 8 * t.nv();
          long panels = (n + nb - 1) / nb;
          String gemmOptions = "-DMR=" + mr + " -DNV=" + t.nv() + " -DB_PACKED=" + (unfold ? 1 : 0);
          return new ClConvPlan(p, ClConvPlan.Kind.GEMM, unfold, Tuning.Gemm.PACKED, mr,
              gemmOptions, "-DNB=" + nb, "",
              unfold ? (long) s.groups() * panels * kg * nb : 0,
              (unfold ? "im2col (packed) + " : "") + "gemm_packed " + mr + "x" + nb
                  + (s.groups() > 1 ? " x" + s.groups() + " groups" : ""));
        }
        String gemmOptions = "-DTSM=" + t.tsm() + " -DTSN=" + t.tsn() + " -DTSK=" + t.tsk()
            + " -DWPTM=" + t.wptm() + " -DWPTN=" + t.wptn();
        return new ClConvPlan(p, ClConvPlan.Kind.GEMM, unfold, Tuning.Gemm.TILED, 0, gemmOptions,
            "", "", unfold ? (long) s.groups() * kg * n : 0,
            (unfold ? "im2col + " : "") + "gemm_tiled " + t.tsm() + "x" + t.tsn() + "x" + t.tsk()
                + " (" + t.wptm() + "x" + t.wptn() + " per item)"
                + (s.groups() > 1 ? " x" + s.groups() + " groups" : ""));
      }
      case DEPTHWISE_DIRECT -> {
        boolean fixed = s.kernelH() == 3 && s.kernelW() == 3 && s.dilationH() == 1
            && s.dilationW() == 1 && s.strideH() == s.strideW()
            && (s.strideH() == 1 || s.strideH() == 2);
        String options = fixed ? "-DKH=3 -DKW=3 -DSH=" + s.strideH() + " -DSW=" + s.strideW()
            + " -DDH=1 -DDW=1" : "";
        return new ClConvPlan(p, ClConvPlan.Kind.DEPTHWISE, false, null, 0, "", "", options, 0,
            fixed ? "depthwise 3x3 stride " + s.strideH()
                : "depthwise " + s.kernelH() + "x" + s.kernelW() + " generic");
      }
      case CONNECTION_TABLE -> {
        return new ClConvPlan(p, ClConvPlan.Kind.CONNECTION_TABLE, false, null, 0, "", "", "", 0,
            "conv_table direct");
      }
      default -> throw new AssertionError(p.algorithm());
    }
  }

  static boolean winogradFits(ConvSpec s) {
    return !s.hasConnections() && s.groups() == 1 && s.kernelH() == 3 && s.kernelW() == 3
        && s.strideH() == 1 && s.strideW() == 1 && s.dilationH() == 1 && s.dilationW() == 1
        && s.inChannels() >= WINOGRAD_MIN_CHANNELS && s.outChannels() >= WINOGRAD_MIN_CHANNELS;
  }
}
