package io.convkit.tensor;

import java.util.Arrays;

/** An immutable tensor shape: positive dimensions, NCHW order for 4-d activations. */
public final class Shape {
  private final int[] dims;

  private Shape(int[] dims) {
    this.dims = dims;
  }

  /** A shape with the given dimensions, each >= 1. */
  public static Shape of(int... dims) {
    if (dims == null || dims.length == 0) {
      throw new IllegalArgumentException("a shape needs at least one dimension");
    }
    for (int i = 0; i < dims.length; i++) {
      if (dims[i] < 1) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(dims) + ": dimension " + i + " must be >= 1, got " + dims[i]);
      }
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

  /** Number of elements, as a long (it may exceed what one array can hold). */
  public long elements() {
    long n = 1;
    for (int d : dims) {
      n = Math.multiplyExact(n, d);
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
      p = Math.multiplyExact(p, dims[i]);
    }
    return Math.toIntExact(p);
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
