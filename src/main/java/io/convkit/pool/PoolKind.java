package io.convkit.pool;

/** What a pooling window computes. */
public enum PoolKind {
  /**
   * The largest element of the window (padding never wins: it is not an element); NaN when any
   * element is NaN, as PyTorch's max_pool2d.
   */
  MAX,
  /** The window's mean; {@link PoolSpec#countPadding()} says whether padding counts. */
  AVG
}
