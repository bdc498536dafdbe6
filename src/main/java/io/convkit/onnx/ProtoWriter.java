package io.convkit.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A protobuf wire-format writer that builds a message as a list of chunks. A nested message is
 * written into its own writer and appended by reference (its length prefix comes from its size),
 * and large byte fields (tensor data) are appended by reference too, so the weights are copied
 * once, when the whole model is written out.
 */
final class ProtoWriter {
  /** Byte fields at least this long are kept by reference instead of copied. */
  private static final int BY_REFERENCE = 4096;

  private final List<byte[]> chunks = new ArrayList<>();
  private final List<Integer> chunkLengths = new ArrayList<>();
  private byte[] cur = new byte[256];
  private int n;
  private long size;

  long size() {
    return size;
  }

  private void ensure(int more) {
    if (cur.length - n < more) {
      cur = Arrays.copyOf(cur, Math.max(n + more, 2 * cur.length));
    }
  }

  private void flush() {
    if (n > 0) {
      chunks.add(cur);
      chunkLengths.add(n);
      cur = new byte[256];
      n = 0;
    }
  }

  private void rawByte(int b) {
    ensure(1);
    cur[n++] = (byte) b;
    size++;
  }

  void rawVarint(long v) {
    while ((v & ~0x7fL) != 0) {
      rawByte((int) (v & 0x7f) | 0x80);
      v >>>= 7;
    }
    rawByte((int) v);
  }

  private void tag(int field, int wire) {
    rawVarint((long) field << 3 | wire);
  }

  void varint(int field, long v) {
    tag(field, ProtoReader.VARINT);
    rawVarint(v);
  }

  void fixed32(int field, int bits) {
    tag(field, ProtoReader.FIXED32);
    for (int i = 0; i < 4; i++) {
      rawByte(bits >>> (8 * i));
    }
  }

  void string(int field, String s) {
    bytes(field, s.getBytes(StandardCharsets.UTF_8));
  }

  void bytes(int field, byte[] b) {
    tag(field, ProtoReader.LEN);
    rawVarint(b.length);
    if (b.length >= BY_REFERENCE) {
      flush();
      chunks.add(b);
      chunkLengths.add(b.length);
    } else {
      ensure(b.length);
      System.arraycopy(b, 0, cur, n, b.length);
      n += b.length;
    }
    size += b.length;
  }

  /** Appends {@code m} as a length-delimited field; {@code m} must not change afterwards. */
  void message(int field, ProtoWriter m) {
    tag(field, ProtoReader.LEN);
    rawVarint(m.size);
    flush();
    m.flush();
    chunks.addAll(m.chunks);
    chunkLengths.addAll(m.chunkLengths);
    size += m.size;
  }

  void writeTo(OutputStream out) throws IOException {
    flush();
    for (int i = 0; i < chunks.size(); i++) {
      out.write(chunks.get(i), 0, chunkLengths.get(i));
    }
  }

  byte[] toByteArray() {
    flush();
    byte[] out = new byte[Math.toIntExact(size)];
    int at = 0;
    for (int i = 0; i < chunks.size(); i++) {
      int len = chunkLengths.get(i);
      System.arraycopy(chunks.get(i), 0, out, at, len);
      at += len;
    }
    return out;
  }
}
