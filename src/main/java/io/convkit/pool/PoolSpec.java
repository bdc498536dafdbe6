package io.convkit.pool;

import io.convkit.tensor.Shape;

/**
 * An immutable description of 2-d max or average pooling over NCHW input, per channel: window,
 * stride, four paddings, floor or ceil output size, and (average) whether padding counts in the
 * divisor. A global pool's window is the whole input plane.
 *
 * <p>Output size per axis: {@code (in + padBegin + padEnd - window) / stride + 1}, rounded down,
 * or up in ceil mode; in ceil mode a last window that would start in the end padding is dropped
 * (the convention of Caffe's and PyTorch's ceil mode), so every window covers an input element.
 * Average with padding counted divides by the window clipped to the padded input; without, by
 * the window clipped to the input.
 */
public final class PoolSpec {
  private final String name;
  private final PoolKind kind;
  private final boolean global;
  private final int kernelH;
  private final int kernelW;
  private final int strideH;
  private final int strideW;
  private final int padTop;
  private final int padLeft;
  private final int padBottom;
  private final int padRight;
  private final boolean ceilMode;
  private final boolean countPadding;

  private PoolSpec(Builder b) {
    this.name = b.name;
    this.kind = b.kind;
    this.global = b.global;
    this.kernelH = b.kernelH;
    this.kernelW = b.kernelW;
    this.strideH = b.strideH;
    this.strideW = b.strideW;
    this.padTop = b.padTop;
    this.padLeft = b.padLeft;
    this.padBottom = b.padBottom;
    this.padRight = b.padRight;
    this.ceilMode = b.ceilMode;
    this.countPadding = b.countPadding;
  }

  /** A {@code kernelH x kernelW} window, stride equal to the window, no padding, floor mode. */
  public static Builder builder(PoolKind kind, int kernelH, int kernelW) {
    return new Builder(kind, kernelH, kernelW, false);
  }

  /** A window covering the whole input plane: output 1x1 per channel. */
  public static PoolSpec global(PoolKind kind) {
    return new Builder(kind, 1, 1, true).name("global_" + kind.name().toLowerCase() + "_pool")
        .build();
  }

  public String name() {
    return name;
  }

  public PoolKind kind() {
    return kind;
  }

  public boolean isGlobal() {
    return global;
  }

  /** Window height on this input (the input's height for a global pool). */
  public int kernelH(Shape input) {
    return global ? input.h() : kernelH;
  }

  /** Window width on this input (the input's width for a global pool). */
  public int kernelW(Shape input) {
    return global ? input.w() : kernelW;
  }

  public int strideH() {
    return strideH;
  }

  public int strideW() {
    return strideW;
  }

  public int padTop() {
    return padTop;
  }

  public int padLeft() {
    return padLeft;
  }

  public int padBottom() {
    return padBottom;
  }

  public int padRight() {
    return padRight;
  }

  public boolean ceilMode() {
    return ceilMode;
  }

  /** Average pooling: true when padded positions count in the divisor. */
  public boolean countPadding() {
    return countPadding;
  }

  /** The output shape for an NCHW input; throws naming the pool when the window does not fit. */
  public Shape outputShape(Shape input) {
    if (input == null || input.rank() != 4) {
      throw new IllegalArgumentException(name + ": expected an NCHW input, got " + input);
    }
    if (global) {
      return Shape.of(input.n(), input.c(), 1, 1);
    }
    int oh = outSize("height", input.h(), kernelH, strideH, padTop, padBottom);
    int ow = outSize("width", input.w(), kernelW, strideW, padLeft, padRight);
    return Shape.of(input.n(), input.c(), oh, ow);
  }

  private int outSize(String axis, int in, int k, int s, int p0, int p1) {
    long padded = (long) in + p0 + p1;
    // Every window coordinate lies in [-p0, in + p1): it must fit the kernels' int.
    if (padded > Shape.MAX_INDEX) {
      throw new IllegalArgumentException(name + ": padded input " + axis + " " + in + " + " + p0
          + " + " + p1 + " = " + padded + " is more than the " + Shape.MAX_INDEX
          + " the kernels can index");
    }
    long span = padded - k;
    if (span < 0) {
      throw new IllegalArgumentException(name + ": window " + axis + " " + k
          + " is larger than the padded input " + axis + " " + padded);
    }
    long out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
    if (ceilMode && (out - 1) * s >= in + p0) {
      out--; // the last window would start in the end padding
    }
    return (int) out; // <= span + 1 <= padded
  }

  /**
   * Elements the window of output (oy, ox) divides by (average pooling), on an input plane: a
   * long, as a window of 2^28 x 2^28 clipped to its padded input has more than 2^31.
   */
  public long divisor(Shape input, int oy, int ox) {
    return extent(oy, strideH, padTop, kernelH(input), input.h(), padBottom)
        * extent(ox, strideW, padLeft, kernelW(input), input.w(), padRight);
  }

  /** One axis of {@link #divisor}, in long: the window end may pass Integer.MAX_VALUE in ceil mode. */
  private long extent(int o, int s, int p0, int k, int n, int p1) {
    long a = (long) o * s - p0;
    long b = Math.min(a + k, (long) n + p1);
    if (!countPadding) {
      a = Math.max(a, 0);
      b = Math.min(b, n);
    }
    return b - a;
  }

  @Override
  public String toString() {
    if (global) {
      return name + "(global " + kind + ")";
    }
    return name + "(" + kind + " " + kernelH + "x" + kernelW + " stride " + strideH + "x" + strideW
        + " pad " + padTop + "," + padLeft + "," + padBottom + "," + padRight
        + (ceilMode ? " ceil" : "") + (kind == PoolKind.AVG && !countPadding ? " exclude-pad" : "")
        + ")";
  }

  /** Builds a {@link PoolSpec}; {@link #build()} checks every field. */
  public static final class Builder {
    private String name;
    private final PoolKind kind;
    private final boolean global;
    private final int kernelH;
    private final int kernelW;
    private int strideH;
    private int strideW;
    private int padTop;
    private int padLeft;
    private int padBottom;
    private int padRight;
    private boolean ceilMode;
    private boolean countPadding = true;

    private Builder(PoolKind kind, int kernelH, int kernelW, boolean global) {
      this.kind = kind;
      this.global = global;
      this.kernelH = kernelH;
      this.kernelW = kernelW;
      this.strideH = kernelH;
      this.strideW = kernelW;
      this.name = (kind == null ? "" : kind.name().toLowerCase()) + "_pool";
    }

    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public Builder stride(int s) {
      return stride(s, s);
    }

    public Builder stride(int sh, int sw) {
      this.strideH = sh;
      this.strideW = sw;
      return this;
    }

    public Builder padding(int p) {
      return padding(p, p, p, p);
    }

    public Builder padding(int top, int left, int bottom, int right) {
      this.padTop = top;
      this.padLeft = left;
      this.padBottom = bottom;
      this.padRight = right;
      return this;
    }

    /** Round the output size up (Caffe's default, PyTorch's ceil_mode=True). */
    public Builder ceilMode(boolean ceil) {
      this.ceilMode = ceil;
      return this;
    }

    /** Average pooling: count padded positions in the divisor (default true). */
    public Builder countPadding(boolean count) {
      this.countPadding = count;
      return this;
    }

    public PoolSpec build() {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("pool name is empty");
      }
      if (kind == null) {
        throw new IllegalArgumentException(name + ": pool kind is null");
      }
      if (kernelH < 1 || kernelW < 1) {
        throw new IllegalArgumentException(name + ": window must be >= 1, got " + kernelH + "x"
            + kernelW);
      }
      if (strideH < 1 || strideW < 1) {
        throw new IllegalArgumentException(name + ": stride must be >= 1, got " + strideH + "x"
            + strideW);
      }
      int[] pads = {padTop, padLeft, padBottom, padRight};
      String[] names = {"top", "left", "bottom", "right"};
      for (int i = 0; i < 4; i++) {
        int k = i % 2 == 0 ? kernelH : kernelW;
        if (pads[i] < 0 || pads[i] >= k) {
          throw new IllegalArgumentException(name + ": padding " + names[i] + " must be in [0, "
              + (k - 1) + "] (smaller than the window), got " + pads[i]);
        }
      }
      return new PoolSpec(this);
    }
  }
}
