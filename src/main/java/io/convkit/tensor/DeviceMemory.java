package io.convkit.tensor;

import org.bytedeco.javacpp.FloatPointer;

/** A device allocation behind a {@link Tensor}; the tensor owns it and closes it. */
public interface DeviceMemory extends AutoCloseable {
  Device device();

  /** Elements it holds. */
  long floats();

  /** Copies {@code floats()} elements from host memory into the device (blocking). */
  void write(FloatPointer src);

  /** Copies {@code floats()} elements from a Java array into the device (blocking). */
  void write(float[] src);

  /** Copies {@code floats()} elements from the device into host memory (blocking). */
  void read(FloatPointer dst);

  /** Copies {@code floats()} elements from the device into a Java array (blocking). */
  void read(float[] dst);

  @Override
  void close();
}
