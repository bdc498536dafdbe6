package io.convkit.tensor;

import java.lang.ref.Cleaner;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense float32 tensor (NCHW for activations), in 64-byte-aligned off-heap host memory or in a
 * device's memory ({@link #to(Device)}, e.g. {@code x.to(openClEngine)}).
 *
 * <p>Close it when done ({@code try}-with-resources). A tensor that is forgotten is reclaimed when
 * it is garbage collected (JavaCPP frees host memory; a {@link Cleaner} releases device memory),
 * but only closing keeps the footprint flat and predictable. Every use after {@link #close()}
 * throws {@link IllegalStateException}. The kernels index elements with {@code int}, so a tensor
 * holds at most {@link Integer#MAX_VALUE} elements.
 *
 * <p>Lifetime and threads: every engine call holds its tensors through their {@link Lifetime}, so
 * closing a tensor while a call (on any thread) uses it never frees memory under the call: the
 * tensor is closed at once for new uses and its memory is released when the call returns. Many
 * threads may read one tensor at once; a thread that writes it (an engine output, {@link
 * #copyFrom}) excludes every other thread's use, and the conflicting call throws
 * {@link IllegalStateException} rather than read half-written data.
 */
public final class Tensor implements AutoCloseable {
  /** Releases the device memory of tensors that were never closed. */
  private static final Cleaner CLEANER = Cleaner.create();

  /** Alignment of the first element: one cache line, and a whole AVX-512 register. */
  public static final int ALIGNMENT = 64;

  private final Shape shape;
  private final Layout layout;
  private final int elements;
  private final Device device;
  // Host: an unowned, aligned view of the allocation, which the lifetime owns (JavaCPP counts it
  // in Pointer.totalBytes()). Device: the allocation, released through the lifetime.
  private final FloatPointer data;
  private final DeviceMemory memory;
  private final Tensor base; // a view's owner (null for an owning tensor)
  private final Lifetime lifetime; // shared by the owner and its views
  private volatile boolean closed;

  private Tensor(Shape shape, Device device) {
    this(shape, device, Layout.NCHW);
  }

  private Tensor(Shape shape, Device device, Layout layout) {
    if (layout == null) {
      throw new IllegalArgumentException("layout is null");
    }
    if (layout != Layout.NCHW && shape.rank() != 4) {
      throw new IllegalArgumentException("layout " + layout + " needs a rank-4 shape, got "
          + shape);
    }
    long n = shape.elements();
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tensor " + shape + " has " + n
          + " elements, more than the " + Integer.MAX_VALUE + " the kernels can index");
    }
    this.shape = shape;
    this.layout = layout;
    this.elements = (int) n;
    this.base = null;
    if (device == null || device.isHost()) {
      this.device = Device.HOST;
      FloatPointer owner = Views.allocate(n, "tensor " + shape);
      Pointer.memset(owner, 0, 4L * n + ALIGNMENT);
      this.memory = null;
      this.data = Views.aligned(owner, n);
      // Captures the allocation, not this tensor: a forgotten tensor stays collectable.
      this.lifetime = new Lifetime("tensor " + shape, owner::close);
    } else {
      this.device = device;
      DeviceMemory m = device.allocate(shape);
      this.memory = m;
      this.data = null;
      this.lifetime = new Lifetime("tensor " + shape + " on " + device.name(), m::close);
      CLEANER.register(this, lifetime::close);
    }
  }

  /** A view of {@code owner}'s elements under another shape (same count); owns nothing. */
  private Tensor(Tensor owner, Shape shape, Layout layout) {
    this.shape = shape;
    this.layout = layout;
    this.elements = owner.elements;
    this.device = owner.device;
    this.base = owner;
    this.data = owner.data;
    this.memory = owner.memory;
    this.lifetime = owner.lifetime;
  }

  /** A zero-filled host tensor. */
  public static Tensor zeros(int... dims) {
    return new Tensor(Shape.of(dims), Device.HOST);
  }

  /** A zero-filled host tensor. */
  public static Tensor zeros(Shape shape) {
    return new Tensor(shape, Device.HOST);
  }

  /**
   * A tensor on {@code device} (host memory for host devices). Host tensors are zero-filled;
   * device tensors hold unspecified values until written.
   */
  public static Tensor allocate(Shape shape, Device device) {
    if (shape == null) {
      throw new IllegalArgumentException("shape is null");
    }
    return new Tensor(shape, device);
  }

  /**
   * A tensor on {@code device} whose elements lie in {@code layout} (see {@link Layout}); the
   * engines' internal buffers. {@link #toArray()} and {@link #copyFrom(float[])} still speak
   * NCHW.
   */
  public static Tensor allocate(Shape shape, Device device, Layout layout) {
    if (shape == null) {
      throw new IllegalArgumentException("shape is null");
    }
    return new Tensor(shape, device, layout);
  }

  /**
   * A host tensor in NHWC holding a copy of {@code data}, which is in NHWC order
   * ({@code data[((n*H + y)*W + x)*C + c]}); the shape is given as {@code n, c, h, w}.
   */
  public static Tensor ofNhwc(float[] data, int n, int c, int h, int w) {
    if (data == null) {
      throw new IllegalArgumentException("data is null");
    }
    Shape shape = Shape.of(n, c, h, w);
    if (shape.elements() != data.length) {
      throw new IllegalArgumentException("shape " + shape + " needs " + shape.elements()
          + " elements, data has " + data.length);
    }
    Tensor t = new Tensor(shape, Device.HOST, Layout.NHWC);
    t.data.put(data, 0, data.length);
    return t;
  }

  /** A host tensor holding a copy of {@code data}, whose length must equal the product of the dims. */
  public static Tensor of(float[] data, int... dims) {
    if (data == null) {
      throw new IllegalArgumentException("data is null");
    }
    Shape shape = Shape.of(dims);
    if (shape.elements() != data.length) {
      throw new IllegalArgumentException("shape " + shape + " needs " + shape.elements()
          + " elements, data has " + data.length);
    }
    Tensor t = new Tensor(shape, Device.HOST);
    t.data.put(data, 0, data.length); // not yet shared: no use to acquire
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

  /** Where the elements live. */
  public Device device() {
    return device;
  }

  public boolean isOnHost() {
    return device.isHost();
  }

  /**
   * A new tensor with the same contents on {@code device} (the caller closes both). Moving to a
   * host device gives a host copy; moving between devices goes through the host.
   */
  public Tensor to(Device target) {
    checkOpen();
    if (target == null) {
      throw new IllegalArgumentException("target device is null");
    }
    Tensor t = new Tensor(shape, target, layout);
    try (Uses u = Uses.begin("to(" + target.name() + ")").read("source", this)) {
      if (isOnHost() && t.isOnHost()) {
        Pointer.memcpy(t.data, data, 4L * elements);
      } else if (isOnHost()) {
        t.memory.write(data);
      } else if (t.isOnHost()) {
        memory.read(t.data);
      } else {
        try (Tensor host = to(Device.HOST)) {
          t.memory.write(host.data);
        }
      }
      return t;
    } catch (RuntimeException | Error e) {
      t.close();
      throw e;
    }
  }

  /**
   * The same elements under another shape with the same element count (a reshape, e.g.
   * {@code [N, C, H, W]} viewed as {@code [N, C*H*W, 1, 1]}). The view shares memory and owns
   * none: closing it frees nothing, and it is unusable once this tensor is closed.
   */
  public Tensor view(Shape newShape) {
    checkOpen();
    if (newShape == null || newShape.elements() != elements) {
      throw new IllegalArgumentException("cannot view tensor " + shape + " (" + elements
          + " elements) as " + newShape);
    }
    if (!Layout.sameMemory(shape, layout, Layout.NCHW)) {
      throw new IllegalArgumentException("cannot reshape " + describe() + " in " + layout
          + ": its elements are not in NCHW order; reorder it first");
    }
    return new Tensor(base != null ? base : this, newShape, Layout.NCHW);
  }

  /**
   * This tensor's memory labelled with another layout, where both order it the same way
   * ({@link Layout#sameMemory}: one pixel or one channel); a view that owns nothing.
   */
  public Tensor asLayout(Layout target) {
    checkOpen();
    if (target == layout) {
      return this;
    }
    if (!Layout.sameMemory(shape, layout, target)) {
      throw new IllegalArgumentException("cannot relabel " + describe() + " from " + layout
          + " to " + target + ": the orders differ; reorder it");
    }
    return new Tensor(base != null ? base : this, shape, target);
  }

  /** True for a {@link #view(Shape)}. */
  public boolean isView() {
    return base != null;
  }

  /**
   * Copies every element into {@code dst} in NCHW order, whatever this tensor's layout; the
   * length must match. (An NHWC tensor is reordered on the way.)
   */
  public void copyTo(float[] dst) {
    if (Layout.sameMemory(shape, layout, Layout.NCHW)) {
      copyRawTo(dst);
    } else {
      checkOpen();
      if (dst == null || dst.length != elements) {
        throw new IllegalArgumentException("tensor " + shape + " has " + elements
            + " elements, destination has " + (dst == null ? "none" : String.valueOf(dst.length)));
      }
      float[] raw = new float[elements];
      copyRawTo(raw);
      Layout.convert(raw, shape, layout, Layout.NCHW, dst);
    }
  }

  /** Copies every element into {@code dst} in this tensor's own layout. */
  public void copyRawTo(float[] dst) {
    checkOpen();
    if (dst == null || dst.length != elements) {
      throw new IllegalArgumentException("tensor " + shape + " has " + elements
          + " elements, destination has " + (dst == null ? "none" : String.valueOf(dst.length)));
    }
    try (Uses u = Uses.begin("copyTo").read("tensor", this)) {
      if (memory != null) {
        memory.read(dst);
      } else {
        data.get(dst, 0, elements);
      }
    }
  }

  /** A copy of the elements (read back from the device for a device tensor). */
  public float[] toArray() {
    checkOpen();
    float[] out = new float[elements];
    copyTo(out);
    return out;
  }

  /**
   * Overwrites every element from {@code src} in NCHW order, whatever this tensor's layout; the
   * length must match.
   */
  public void copyFrom(float[] src) {
    if (src != null && src.length == elements && !Layout.sameMemory(shape, layout, Layout.NCHW)) {
      copyRawFrom(Layout.convert(src, shape, Layout.NCHW, layout));
    } else {
      copyRawFrom(src);
    }
  }

  /** Overwrites every element from {@code src}, which is in this tensor's own layout. */
  public void copyRawFrom(float[] src) {
    checkOpen();
    if (src == null || src.length != elements) {
      throw new IllegalArgumentException("tensor " + shape + " has " + elements
          + " elements, source has " + (src == null ? "none" : String.valueOf(src.length)));
    }
    try (Uses u = Uses.begin("copyFrom").write("tensor", this)) {
      if (memory != null) {
        memory.write(src);
      } else {
        data.put(src, 0, src.length);
      }
    }
  }

  /**
   * A view of the host memory, for engines that compute on the host. Valid while the caller holds
   * a use of this tensor ({@link Uses}); without one, another thread's {@link #close()} may free
   * it at any time. Throws {@link IllegalArgumentException} for a device
   * tensor: an engine handed one it cannot read refuses it here, naming where it lives.
   */
  public FloatPointer pointer() {
    checkOpen();
    if (memory != null) {
      throw new IllegalArgumentException("tensor " + shape + " lives on " + device.name()
          + ", not in host memory; copy it with to(Device.HOST) or to the engine that runs it");
    }
    return Views.at(data, 0);
  }

  /** The device allocation of a device tensor; throws for a host tensor. */
  public DeviceMemory deviceMemory() {
    checkOpen();
    if (memory == null) {
      throw new IllegalArgumentException("tensor " + shape + " is in host memory");
    }
    return memory;
  }

  public boolean isClosed() {
    return closed || lifetime.isClosed();
  }

  /** Throws {@link IllegalStateException} naming the tensor if it has been closed. */
  public void checkOpen() {
    if (isClosed()) {
      throw new IllegalStateException(describe() + " is closed");
    }
  }

  /**
   * True when both tensors share memory (one is a view of the other, or both views of one
   * tensor): a kernel that must not write its input refuses such a pair.
   */
  public boolean sameMemory(Tensor other) {
    return other != null && root() == other.root();
  }

  private Tensor root() {
    return base != null ? base : this;
  }

  /** The use count behind this tensor's memory (shared with its views). */
  public Lifetime lifetime() {
    return lifetime;
  }

  String describe() {
    return "tensor " + shape + (isOnHost() ? "" : " on " + device.name());
  }

  /**
   * Frees the memory now, or, if a call on another thread is using it, as soon as that call
   * returns; either way the tensor is unusable from now on. Closing a view frees nothing and
   * leaves the owner open.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (base == null) {
      lifetime.close();
    }
  }

  @Override
  public String toString() {
    return "Tensor[" + shape + (layout == Layout.NCHW ? "" : " " + layout)
        + (isOnHost() ? "" : " on " + device.name())
        + (closed ? ", closed]" : "]");
  }
}
