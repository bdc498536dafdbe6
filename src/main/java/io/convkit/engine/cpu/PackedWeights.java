package io.convkit.engine.cpu;

import io.convkit.nativ.ConvkitNative;
import io.convkit.tensor.Views;
import org.bytedeco.javacpp.FloatPointer;

/**
 * One layer's weights packed for one native kernel (made once, kept with the
 * {@link io.convkit.conv.ConvWeights} they came from, freed with them).
 *
 * <p>Weights of at least {@link #HUGE_BYTES} live in a mapping of their own that starts on a
 * 2 MB boundary and is advised onto transparent huge pages ({@code ck_pages_alloc}): a network
 * at batch 1 meets each layer's weights cold, and on 4 KB pages every few steps of a tile took a
 * TLB miss (on a VM, a two-level walk). Counted by JavaCPP's byte counters like any other
 * allocation; where no mapping can be made, the weights are allocated as usual.
 */
final class PackedWeights implements AutoCloseable {
  /** From this size on, weights are mapped on their own (whole 2 MB pages fit in them). */
  static final long HUGE_BYTES = 2L << 20;

  private final FloatPointer owner;
  private final FloatPointer data;
  private final long floats;

  PackedWeights(long floats, String what) {
    this.floats = floats;
    long n = Math.max(1, floats);
    FloatPointer mapped = 4 * n >= HUGE_BYTES ? Mapped.allocate(n) : null;
    if (mapped != null) {
      this.owner = mapped;
      this.data = Views.floats(mapped, 0, n);
    } else {
      this.owner = Views.allocate(n, what);
      this.data = Views.aligned(owner, n);
    }
  }

  FloatPointer pointer() {
    return data;
  }

  long floats() {
    return floats;
  }

  /** Whether the weights live in their own 2 MB-aligned mapping (for the tests). */
  boolean mapped() {
    return owner instanceof Mapped;
  }

  @Override
  public void close() {
    owner.close();
  }

  /** A ck_pages_alloc mapping, unmapped by its deallocator (close, or the collector). */
  private static final class Mapped extends FloatPointer {
    static Mapped allocate(long floats) {
      long address = ConvkitNative.ck_pages_alloc(4 * floats);
      return address == 0 ? null : new Mapped(address, floats);
    }

    private Mapped(long address, long floats) {
      this.address = address;
      this.capacity = floats;
      this.limit = floats;
      // Counted against maxBytes here; over the limit JavaCPP unmaps it and throws
      // OutOfMemoryError, as it does for its own allocations.
      deallocator(new Unmap(address, 4 * floats));
    }

    private static final class Unmap implements Deallocator {
      private final long address;
      private final long bytes;

      Unmap(long address, long bytes) {
        this.address = address;
        this.bytes = bytes;
      }

      @Override
      public void deallocate() {
        ConvkitNative.ck_pages_free(address, bytes);
      }
    }
  }
}
