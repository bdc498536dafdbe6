package io.convkit.tensor;

/**
 * Memory layout of a tensor's elements. Only NCHW exists today; a blocked NCHW8c (8 channels, one
 * AVX2 register, innermost) is the planned next step for direct micro-kernels.
 */
public enum Layout {
  NCHW
}
