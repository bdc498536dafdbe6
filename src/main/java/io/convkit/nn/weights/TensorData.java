package io.convkit.nn.weights;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's shape and float32 values (row-major). The shape {@code []} is a scalar (one
 * value); a shape with a 0 dimension holds no values. The shape is copied; the data array is
 * shared, not copied, because weight files run to hundreds of megabytes.
 */
public record TensorData(int[] shape, float[] data) {
  public TensorData {
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(data, "data");
    shape = shape.clone();
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor shape " + Arrays.toString(shape)
            + " has a negative dimension");
      }
      // Past 2^31 the product is a mismatch however large; saturating avoids long overflow.
      n = Math.min(n * d, 1L << 32);
    }
    if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
      n = 0;
    }
    if (n != data.length) {
      throw new IllegalArgumentException("tensor shape " + Arrays.toString(shape) + " holds "
          + (n == 1L << 32 ? "more than 2^32" : n) + " values, but data has " + data.length);
    }
  }

  /** A copy of the shape. */
  @Override
  public int[] shape() {
    return shape.clone();
  }

  /** The number of values (1 for a scalar). */
  public int size() {
    return data.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorData t && Arrays.equals(shape, t.shape)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "TensorData" + Arrays.toString(shape);
  }
}
