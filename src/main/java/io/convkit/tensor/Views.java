package io.convkit.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Non-owning float views of off-heap memory. A view made by JavaCPP's copy constructor from an
 * owning pointer carries a proxy deallocator; these views carry none, so they can be made freely
 * on hot paths and never free (or pin) anything.
 */
public final class Views {
  private Views() {}

  /**
   * Allocates {@code count} floats plus alignment slack, counted by JavaCPP's byte counters.
   * Returns the owner (close it to free); {@link #aligned} gives the 64-byte-aligned view of it.
   */
  public static FloatPointer allocate(long count, String what) {
    FloatPointer owner = new FloatPointer(count + Tensor.ALIGNMENT / 4);
    if (owner.isNull()) {
      throw new OutOfMemoryError("cannot allocate " + 4 * count + " bytes off-heap for " + what);
    }
    return owner;
  }

  /** The 64-byte-aligned view of {@code count} floats inside an owner from {@link #allocate}. */
  public static FloatPointer aligned(FloatPointer owner, long count) {
    long misalign = owner.address() % Tensor.ALIGNMENT;
    return floats(owner, misalign == 0 ? 0 : Tensor.ALIGNMENT - misalign, count);
  }

  /** A view of {@code count} floats starting {@code byteOffset} bytes after {@code owner}'s address. */
  public static FloatPointer floats(Pointer owner, long byteOffset, long count) {
    return new Unowned(owner.address() + byteOffset, count);
  }

  /** A view of {@code base} moved on by {@code offset} floats. */
  public static FloatPointer at(FloatPointer base, long offset) {
    return new Unowned(base.address() + 4L * (base.position() + offset), base.capacity() - base.position() - offset);
  }

  private static final class Unowned extends FloatPointer {
    Unowned(long address, long count) {
      this.address = address;
      this.capacity = count;
      this.limit = count;
    }
  }
}
