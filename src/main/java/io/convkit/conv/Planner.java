package io.convkit.conv;

import io.convkit.nativ.ConvkitNative;
import io.convkit.tensor.Shape;

/**
 * The one place that chooses how a convolution runs. Given a spec and an input shape it picks
 * the algorithm (or checks one the caller forces) and the kernel behind it, and sizes the
 * workspace with the native kernels' own formulas.
 */
public final class Planner {
  /**
   * Up to this many output channels per group, IM2COL_GEMM and GROUPED_GEMM run our 4x24 register
   * tiles on cache-sized unfolded blocks instead of OpenBLAS, which is slow on such skinny GEMMs
   * (ResNeXt's 4 x 3136 x 36 per group, LeNet-5 C1's 6 x 784 x 25).
   */
  public static final int SMALL_M_MAX = 16;

  /**
   * A thread's block of unfolded input (K x block columns) holds at most this many floats (8 MiB):
   * big enough that OpenBLAS's per-call packing of the weights is amortised, small enough to stay
   * in the shared L3 between the unfold and the GEMM that reads it.
   */
  public static final int UNFOLD_BLOCK_FLOATS = 1 << 21;

  /** The direct depthwise kernel keeps per-tap tables of this many entries. */
  public static final int DEPTHWISE_MAX_KERNEL = 64;

  private Planner() {}

  /** The planner's own choice. */
  public static ConvPlan plan(ConvSpec spec, Shape input) {
    return plan(spec, input, choose(spec));
  }

  /** A plan with a forced algorithm; throws if it cannot run this spec. */
  public static ConvPlan plan(ConvSpec spec, Shape input, Algorithm algorithm) {
    if (algorithm == null) {
      return plan(spec, input);
    }
    String misfit = misfit(algorithm, spec);
    if (misfit != null) {
      throw new IllegalArgumentException(
          spec.name() + ": algorithm " + algorithm + " does not fit " + spec + ": " + misfit);
    }
    Shape output = spec.outputShape(input);
    for (Shape t : new Shape[] {input, output}) {
      if (t.elements() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(spec.name() + ": " + (t == input ? "input " : "output ")
            + t + " has " + t.elements() + " elements, more than the " + Integer.MAX_VALUE
            + " a tensor holds");
      }
    }
    int oh = output.h();
    int ow = output.w();
    long workspace = 0;
    long scratch = 0;
    boolean smallM = false;
    int k = spec.inChannelsPerGroup() * spec.kernelH() * spec.kernelW();
    int rowsPerBlock = (int) Math.max(1, Math.min(oh, UNFOLD_BLOCK_FLOATS / k / ow));
    String kernel;
    switch (algorithm) {
      case POINTWISE_GEMM -> kernel = oh * ow == 1
          ? "matrix-vector / GEMM by output channels" // a fully connected layer
          : "sgemm on the input, row blocks";
      case IM2COL_GEMM, GROUPED_GEMM -> {
        smallM = spec.outChannelsPerGroup() <= SMALL_M_MAX;
        if (smallM) {
          kernel = "unfolded blocks + 4x24 tiles";
          ConvkitNative.load();
          scratch = ConvkitNative.ck_smallm_scratch_floats(
              spec.inChannelsPerGroup(), spec.kernelH(), spec.kernelW(), oh, ow);
        } else {
          kernel = spec.groups() == 1 ? "im2col + sgemm, row blocks"
              : "im2col + sgemm per group, row blocks";
          scratch = (long) k * rowsPerBlock * ow;
        }
      }
      case CONNECTION_TABLE -> {
        kernel = "im2col + sparse rows";
        workspace = (long) spec.inChannels() * spec.kernelH() * spec.kernelW() * oh * ow;
      }
      case DEPTHWISE_DIRECT -> {
        ConvkitNative.load();
        int r = spec.kernelH();
        int q = spec.kernelW();
        int variant = ConvkitNative.ck_depthwise_variant(input.h(), r, q, spec.strideH(),
            spec.strideW(), spec.dilationH(), spec.dilationW(), oh, ow);
        kernel = switch (variant) {
          case 1 -> "depthwise 3x3 stride 1, rows";
          case 2 -> "depthwise 3x3 stride 2, rows";
          case 3 -> "depthwise " + r + "x" + q + " stride 1, flat plane";
          case 4 -> "depthwise " + r + "x" + q + " direct, no scratch";
          default -> "depthwise " + r + "x" + q + " generic, rows";
        };
        scratch = ConvkitNative.ck_depthwise_scratch_floats(input.h(), r, q, spec.strideH(),
            spec.strideW(), spec.dilationH(), spec.dilationW(), oh, ow);
      }
      default -> throw new AssertionError(algorithm);
    }
    if (workspace > Integer.MAX_VALUE || scratch > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(spec.name() + ": " + algorithm + " on input " + input
          + " needs " + Math.max(workspace, scratch) + " floats of workspace, more than the "
          + Integer.MAX_VALUE + " the kernels can index");
    }
    return new ConvPlan(spec, input, output, algorithm, kernel, smallM, rowsPerBlock,
        4 * workspace, 4 * scratch, spec.macs(input));
  }

  /** Why {@code algorithm} cannot run {@code spec}, or null if it can. */
  public static String misfit(Algorithm algorithm, ConvSpec spec) {
    boolean table = spec.hasConnections();
    return switch (algorithm) {
      case CONNECTION_TABLE -> table ? null : "the spec has no connection table";
      case IM2COL_GEMM -> table ? "the spec has a connection table"
          : spec.groups() != 1 ? "it needs groups 1, the spec has " + spec.groups() : null;
      case POINTWISE_GEMM -> table ? "the spec has a connection table"
          : spec.groups() != 1 ? "it needs groups 1, the spec has " + spec.groups()
          : spec.kernelH() != 1 || spec.kernelW() != 1 ? "it needs a 1x1 kernel"
          : spec.strideH() != 1 || spec.strideW() != 1 ? "it needs stride 1"
          // OR, not +: four paddings of 2^30 sum to 2^32, which wraps to 0 in an int
          : (spec.padTop() | spec.padLeft() | spec.padBottom() | spec.padRight()) != 0
              ? "it needs zero padding" : null;
      case DEPTHWISE_DIRECT -> table ? "the spec has a connection table"
          : spec.groups() != spec.inChannels()
              ? "it needs groups == input channels (" + spec.inChannels() + "), the spec has "
                  + spec.groups()
          : spec.kernelH() > DEPTHWISE_MAX_KERNEL || spec.kernelW() > DEPTHWISE_MAX_KERNEL
              ? "its kernel is larger than " + DEPTHWISE_MAX_KERNEL : null;
      case GROUPED_GEMM -> table ? "the spec has a connection table" : null;
    };
  }

  /** The planner's choice for a spec. */
  public static Algorithm choose(ConvSpec spec) {
    if (spec.hasConnections()) {
      return Algorithm.CONNECTION_TABLE;
    }
    if (spec.groups() > 1) {
      return misfit(Algorithm.DEPTHWISE_DIRECT, spec) == null
          ? Algorithm.DEPTHWISE_DIRECT : Algorithm.GROUPED_GEMM;
    }
    return misfit(Algorithm.POINTWISE_GEMM, spec) == null
        ? Algorithm.POINTWISE_GEMM : Algorithm.IM2COL_GEMM;
  }
}
