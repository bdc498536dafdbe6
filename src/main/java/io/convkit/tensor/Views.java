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
