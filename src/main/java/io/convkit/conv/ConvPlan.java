package io.convkit.conv;

import io.convkit.tensor.Shape;

/**
 * What {@link Planner} decided for one spec and input shape: the algorithm, the kernel that runs
 * it, the output shape, the workspace the CPU engine needs and the multiply-adds.
 *
 * @param smallMTiles IM2COL_GEMM / GROUPED_GEMM: our register tiles on unfolded blocks instead of sgemm
 * @param rowsPerBlock sgemm paths: output rows a thread unfolds and multiplies at a time
 * @param workspaceBytes shared scratch for the whole call (CONNECTION_TABLE: one unfolded image)
 * @param scratchBytesPerThread private scratch each worker thread needs (unfolded blocks, direct
 *     kernels' copies), bounded by the work (a 1-row output, a huge stride); the CPU engine holds
 *     it for the workers a call uses, min(threads, tasks), not for every thread
 */
public record ConvPlan(
    ConvSpec spec,
    Shape input,
    Shape output,
    Algorithm algorithm,
    String kernel,
    boolean smallMTiles,
    int rowsPerBlock,
    long workspaceBytes,
    long scratchBytesPerThread,
    long macs) {

  /** Floating-point operations: 2 per multiply-add. */
  public long flops() {
    return 2 * macs;
  }

  /** Rows of the GEMM per group (output channels per group). */
  public int gemmM() {
    return spec.outChannelsPerGroup();
  }

  /** Columns of the GEMM: output pixels of one image. */
  public int gemmN() {
    return output.h() * output.w();
  }

  /** Reduction length of one output: (input channels per group) x kh x kw. */
  public int gemmK() {
    return spec.inChannelsPerGroup() * spec.kernelH() * spec.kernelW();
  }

  @Override
  public String toString() {
    return spec.name() + ": " + algorithm + " (" + kernel + ") " + input + " -> " + output
        + ", " + macs + " MACs";
  }
}
