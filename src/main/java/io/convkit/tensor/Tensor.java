package io.convkit.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense float32 tensor in 64-byte-aligned off-heap memory (NCHW for activations).
 *
 * <p>Close it when done ({@code try}-with-resources); JavaCPP also frees it when it is garbage
 * collected, but deterministic release keeps the off-heap footprint flat. Every use after
 * {@link #close()} throws {@link IllegalStateException}. The kernels index elements with
 * {@code int}, so a tensor holds at most {@link Integer#MAX_VALUE} elements.
 */
public final class Tensor implements AutoCloseable {
  /** Alignment of the first element: one cache line, and a whole AVX-512 register. */
  public static final int ALIGNMENT = 64;

  private final Shape shape;
  private final Layout layout;
  private final int elements;
  private FloatPointer raw; // owns the allocation (JavaCPP counts it in Pointer.totalBytes())
  private FloatPointer data; // unowned, aligned view of raw

  private Tensor(Shape shape) {
    long n = shape.elements();
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tensor " + shape + " has " + n
          + " elements, more than the " + Integer.MAX_VALUE + " the kernels can index");
    }
    this.shape = shape;
    this.layout = Layout.NCHW;
    this.elements = (int) n;
    this.raw = Views.allocate(n, "tensor " + shape);
    Pointer.memset(raw, 0, 4L * n + ALIGNMENT);
    this.data = Views.aligned(raw, n);
  }

  /** A zero-filled tensor. */
  public static Tensor zeros(int... dims) {
    return new Tensor(Shape.of(dims));
  }

  /** A zero-filled tensor. */
  public static Tensor zeros(Shape shape) {
    return new Tensor(shape);
  }

  /** A tensor holding a copy of {@code data}, whose length must equal the product of the dims. */
  public static Tensor of(float[] data, int... dims) {
    if (data == null) {
      throw new IllegalArgumentException("data is null");
    }
    Shape shape = Shape.of(dims);
    if (shape.elements() != data.length) {
      throw new IllegalArgumentException("shape " + shape + " needs " + shape.elements()
          + " elements, data has " + data.length);
    }
    Tensor t = new Tensor(shape);
    t.data.put(data, 0, data.length);
    return t;
  }

  public Shape shape() {
    checkOpen();
    return shape;
  }

  public Layout layout() {
    return layout;
  }

  public int elements() {
    checkOpen();
    return elements;
  }

  /** A copy of the elements. */
  public float[] toArray() {
    checkOpen();
    float[] out = new float[elements];
    data.get(out, 0, elements);
    return out;
  }

  /** Overwrites every element from {@code src}, whose length must match. */
  public void copyFrom(float[] src) {
    checkOpen();
    if (src.length != elements) {
      throw new IllegalArgumentException(
          "tensor " + shape + " has " + elements + " elements, source has " + src.length);
    }
    data.put(src, 0, src.length);
  }

  /**
   * A view of the off-heap memory, for engines. Valid until {@link #close()}; do not keep it
   * longer.
   */
  public FloatPointer pointer() {
    checkOpen();
    return Views.at(data, 0);
  }

  public boolean isClosed() {
    return raw == null;
  }

  /** Throws {@link IllegalStateException} naming the tensor if it has been closed. */
  public void checkOpen() {
    if (raw == null) {
      throw new IllegalStateException("tensor " + shape + " is closed");
    }
  }

  @Override
  public void close() {
    if (raw != null) {
      data = null;
      raw.close();
      raw = null;
    }
  }

  @Override
  public String toString() {
    return "Tensor[" + shape + (raw == null ? ", closed]" : "]");
  }
}
