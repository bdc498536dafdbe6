package io.convkit.tensor;

import java.util.Arrays;

/**
 * An immutable tensor shape: positive dimensions, NCHW order for 4-d activations. The element
 * count always fits a {@code long} ({@link #of} refuses a shape whose count does not), so
 * {@link #elements()} never overflows; what a tensor or a kernel can index is checked where a
 * tensor or a plan is made, against {@link #MAX_INDEX}.
 */
public final class Shape {
  /**
   * The kernels' index type is a 32-bit int: the most elements one tensor, one workspace or one
   * padded extent may have. Every geometry check (ConvSpec, PoolSpec, Planner, Tensor) compares
   * against this one value.
   */
  public static final int MAX_INDEX = Integer.MAX_VALUE;

  private final int[] dims;

  private Shape(int[] dims) {
    this.dims = dims;
  }

  /** A shape with the given dimensions, each >= 1. */
  public static Shape of(int... dims) {
    if (dims == null || dims.length == 0) {
      throw new IllegalArgumentException("a shape needs at least one dimension");
    }
    long n = 1;
    for (int i = 0; i < dims.length; i++) {
      if (dims[i] < 1) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(dims) + ": dimension " + i + " must be >= 1, got " + dims[i]);
      }
      if (n > Long.MAX_VALUE / dims[i]) {
        throw new IllegalArgumentException("shape " + join(dims) + ": the element count overflows"
            + " a 64-bit count at dimension " + i + " (" + dims[i] + ")");
      }
      n *= dims[i];
    }
    return new Shape(dims.clone());
  }

  /** Parses "1x3x224x224". */
  public static Shape parse(String text) {
    String[] parts = text.trim().split("[xX,]");
    int[] d = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        d[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("malformed shape '" + text + "': expected e.g. 1x3x224x224");
      }
    }
    return of(d);
  }

  public int rank() {
    return dims.length;
  }

  public int dim(int i) {
    return dims[i];
  }

  public int[] dims() {
    return dims.clone();
  }

  /** Number of elements, as a long (it may exceed what one array can hold; never overflows). */
  public long elements() {
    long n = 1;
    for (int d : dims) {
      n *= d;
    }
    return n;
  }

  /**
   * Elements per channel plane: the product of the dimensions after N and C (H*W for NCHW, 1 for
   * N x C), what per-channel operations loop over.
   */
  public int plane() {
    long p = 1;
    for (int i = 2; i < dims.length; i++) {
      p *= dims[i];
    }
    if (p > MAX_INDEX) {
      throw new IllegalArgumentException("shape " + this + ": a channel plane of " + p
          + " elements is more than the " + MAX_INDEX + " the kernels can index");
    }
    return (int) p;
  }

  public int n() {
    return dims[0];
  }

  public int c() {
    return dims[1];
  }

  public int h() {
    return dims[2];
  }

  public int w() {
    return dims[3];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Shape s && Arrays.equals(dims, s.dims);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(dims);
  }

  @Override
  public String toString() {
    return join(dims);
  }

  private static String join(int[] dims) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < dims.length; i++) {
      if (i > 0) {
        b.append('x');
      }
      b.append(dims[i]);
    }
    return b.toString();
  }
}
