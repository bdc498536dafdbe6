package io.convkit.engine.opencl;

import io.convkit.tensor.Device;
import io.convkit.tensor.DeviceMemory;
import org.bytedeco.javacpp.FloatPointer;
import org.jocl.Pointer;
import org.jocl.cl_mem;

/**
 * A float buffer in one OpenCL engine's context. Closing it (or the engine) releases it; after
 * the engine is closed every transfer throws {@link IllegalStateException} rather than touching
 * a released queue.
 */
final class ClBuffer implements DeviceMemory {
  private final OpenClEngine engine;
  private final long floats;
  private final String what;
  private cl_mem mem;

  ClBuffer(OpenClEngine engine, cl_mem mem, long floats, String what) {
    this.engine = engine;
    this.mem = mem;
    this.floats = floats;
    this.what = what;
  }

  cl_mem mem() {
    if (mem == null) {
      throw new IllegalStateException(what + " on " + engine.name() + " has been released"
          + (engine.isClosed() ? " (the engine is closed)" : ""));
    }
    return mem;
  }

  @Override
  public Device device() {
    return engine;
  }

  @Override
  public long floats() {
    return floats;
  }

  @Override
  public void write(FloatPointer src) {
    engine.write(this, Pointer.to(src.asByteBuffer()), floats);
  }

  @Override
  public void write(float[] src) {
    engine.write(this, Pointer.to(src), floats);
  }

  @Override
  public void read(FloatPointer dst) {
    engine.read(this, Pointer.to(dst.asByteBuffer()), floats);
  }

  @Override
  public void read(float[] dst) {
    engine.read(this, Pointer.to(dst), floats);
  }

  /** Releases the buffer; called by its owner or, for every live buffer, by the engine's close. */
  @Override
  public void close() {
    engine.release(this);
  }

  /** The engine's side of {@link #close()}: returns the handle to release, once. */
  cl_mem detach() {
    cl_mem m = mem;
    mem = null;
    return m;
  }

  @Override
  public String toString() {
    return what + " (" + 4 * floats + " bytes on " + engine.name() + ")";
  }
}
