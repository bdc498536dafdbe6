package io.convkit.conv;

/** How a convolution is computed. {@link Planner} picks one, or checks one a caller forces. */
public enum Algorithm {
  /** Unfold the input (im2col) into a workspace, then one GEMM per image. groups == 1. */
  IM2COL_GEMM,
  /** 1x1 kernel, stride 1, no padding, groups == 1: the input already is the GEMM operand. */
  POINTWISE_GEMM,
  /** groups == input channels (channel multiplier >= 1): a direct, vectorised kernel. */
  DEPTHWISE_DIRECT,
  /** Any groups: per-group GEMMs, or register tiles when groups have few output channels. */
  GROUPED_GEMM,
  /** A boolean[out][in] connection table (LeNet-5 C3): only connected channels are computed. */
  CONNECTION_TABLE
}
