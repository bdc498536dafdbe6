package io.convkit.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An ONNX TensorProto: name, element type, dims, and the elements as little-endian bytes (the
 * codec converts float_data, int64_data, int32_data and external data into this one form).
 */
public record OnnxTensor(String name, int dataType, long[] dims, byte[] data) {
  /** TensorProto.DataType codes convkit reads. */
  public static final int FLOAT = 1;
  public static final int UINT8 = 2;
  public static final int INT8 = 3;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int BOOL = 9;
  public static final int FLOAT16 = 10;
  public static final int DOUBLE = 11;

  public OnnxTensor {
    name = name == null ? "" : name;
    dims = dims.clone();
  }

  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** Bytes per element of {@code dataType}, or -1 for a type convkit does not read. */
  public static int elementSize(int dataType) {
    return switch (dataType) {
      case FLOAT, INT32 -> 4;
      case INT64, DOUBLE -> 8;
      case UINT8, INT8, BOOL -> 1;
      case FLOAT16 -> 2;
      default -> -1;
    };
  }

  /** The element count (the product of the dims; 1 for a scalar). */
  public long elements() {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  /** A FLOAT tensor. */
  public static OnnxTensor ofFloats(String name, long[] dims, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new OnnxTensor(name, FLOAT, dims, b.array());
  }

  /** An INT64 tensor. */
  public static OnnxTensor ofLongs(String name, long[] dims, long[] values) {
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new OnnxTensor(name, INT64, dims, b.array());
  }

  /** The elements of a FLOAT (or DOUBLE, narrowed) tensor. */
  public float[] floats() {
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    if (dataType == FLOAT) {
      float[] f = new float[data.length / 4];
      b.asFloatBuffer().get(f);
      return f;
    }
    if (dataType == DOUBLE) {
      float[] f = new float[data.length / 8];
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) b.getDouble(8 * i);
      }
      return f;
    }
    throw new IllegalArgumentException("tensor '" + name + "' has element type " + dataType
        + ", not FLOAT (1) or DOUBLE (11)");
  }

  /** The elements of an INT64 or INT32 tensor, as longs. */
  public long[] longs() {
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    if (dataType == INT64) {
      long[] l = new long[data.length / 8];
      b.asLongBuffer().get(l);
      return l;
    }
    if (dataType == INT32) {
      long[] l = new long[data.length / 4];
      for (int i = 0; i < l.length; i++) {
        l[i] = b.getInt(4 * i);
      }
      return l;
    }
    throw new IllegalArgumentException("tensor '" + name + "' has element type " + dataType
        + ", not INT64 (7) or INT32 (6)");
  }
}
