package io.convkit.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Hand-made protobuf bytes for tests, written independently of {@link ProtoWriter} so that it can
 * be the oracle for the codec's wire format, and so that tests can write what no valid writer
 * would (packed and unpacked runs, groups, wrong wire types, bad lengths).
 */
final class ProtoBytes {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  int size() {
    return out.size();
  }

  byte[] build() {
    return out.toByteArray();
  }

  ProtoBytes raw(int... bytes) {
    for (int b : bytes) {
      out.write(b);
    }
    return this;
  }

  ProtoBytes raw(byte[] bytes) {
    out.writeBytes(bytes);
    return this;
  }

  ProtoBytes rawVarint(long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) (v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.write((int) v);
    return this;
  }

  ProtoBytes tag(int field, int wire) {
    return rawVarint((long) field << 3 | wire);
  }

  ProtoBytes varint(int field, long v) {
    return tag(field, 0).rawVarint(v);
  }

  ProtoBytes fixed32(int field, float v) {
    return tag(field, 5).rawInt(Float.floatToRawIntBits(v));
  }

  ProtoBytes fixed64(int field, double v) {
    long bits = Double.doubleToRawLongBits(v);
    return tag(field, 1).rawInt((int) bits).rawInt((int) (bits >>> 32));
  }

  ProtoBytes rawInt(int v) {
    for (int i = 0; i < 4; i++) {
      out.write(v >>> (8 * i));
    }
    return this;
  }

  ProtoBytes bytes(int field, byte[] b) {
    return tag(field, 2).rawVarint(b.length).raw(b);
  }

  ProtoBytes str(int field, String s) {
    return bytes(field, s.getBytes(StandardCharsets.UTF_8));
  }

  ProtoBytes msg(int field, ProtoBytes m) {
    return bytes(field, m.build());
  }

  ProtoBytes packedVarints(int field, long... values) {
    ProtoBytes p = new ProtoBytes();
    for (long v : values) {
      p.rawVarint(v);
    }
    return bytes(field, p.build());
  }

  ProtoBytes packedFloats(int field, float... values) {
    ProtoBytes p = new ProtoBytes();
    for (float v : values) {
      p.rawInt(Float.floatToRawIntBits(v));
    }
    return bytes(field, p.build());
  }

  ProtoBytes packedDoubles(int field, double... values) {
    ProtoBytes p = new ProtoBytes();
    for (double v : values) {
      long bits = Double.doubleToRawLongBits(v);
      p.rawInt((int) bits).rawInt((int) (bits >>> 32));
    }
    return bytes(field, p.build());
  }

  /** ModelProto: ir_version 8 (2 bytes), then the graph (field 7), then opset 17. */
  static ProtoBytes model(ProtoBytes graph) {
    return new ProtoBytes().varint(1, 8).msg(7, graph)
        .msg(8, new ProtoBytes().varint(2, 17));
  }

  /** The first index of {@code needle} in {@code hay}, failing when absent. */
  static int indexOf(byte[] hay, int... needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if ((hay[i + j] & 0xff) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("bytes not found");
  }
}
