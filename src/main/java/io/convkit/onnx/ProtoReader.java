package io.convkit.onnx;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A bounds-checked reader of the protobuf wire format over one byte array (the whole file).
 *
 * <p>Every length is checked against the bytes left in the enclosing message before anything is
 * allocated, every varint is at most 10 bytes, and group nesting in skipped fields is capped.
 * What the decoded records cost on the heap is charged to a budget proportional to the input,
 * so that a small file of many tiny elements (empty nodes, one-byte strings) cannot expand into
 * gigabytes. Each failure is an {@link OnnxFormatException} naming the field path being read and
 * the absolute byte offset.
 */
final class ProtoReader {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LEN = 2;
  static final int START_GROUP = 3;
  static final int END_GROUP = 4;
  static final int FIXED32 = 5;

  /** Deeper than this is not a model but an attack on the stack: no ONNX writer nests groups. */
  static final int MAX_DEPTH = 64;

  /**
   * The heap the decoded records may take: a fixed allowance plus a multiple of the input.
   * Tensor data costs about one byte per file byte (raw_data), at worst 8 (an int64 of one
   * varint byte); names cost about 40 bytes of String each. Real models stay well under it.
   */
  static final long BUDGET_BASE = 64L << 20;
  static final long BUDGET_PER_BYTE = 16;

  private final byte[] buf;
  private int pos;
  private int limit;
  private int depth;
  private long budget;
  private final List<Segment> path = new ArrayList<>();

  private static final class Segment {
    final String label;
    String name;

    Segment(String label) {
      this.label = label;
    }
  }

  private final long budgetTotal;

  ProtoReader(byte[] buf, long budgetBase) {
    this.buf = buf;
    this.limit = buf.length;
    this.budgetTotal = budgetBase + BUDGET_PER_BYTE * buf.length;
    this.budget = budgetTotal;
  }

  int pos() {
    return pos;
  }

  boolean atLimit() {
    return pos >= limit;
  }

  // ---- the path, for messages ----

  /** Enters a nested message called {@code label} ("graph", "node[3]"). */
  void enter(String label) {
    if (path.size() >= MAX_DEPTH) {
      throw error("messages nested deeper than " + MAX_DEPTH);
    }
    path.add(new Segment(label));
  }

  /** Names the message being read (node, tensor, attribute names), once its name is known. */
  void name(String name) {
    path.get(path.size() - 1).name = name;
  }

  void leave() {
    path.remove(path.size() - 1);
  }

  String path() {
    if (path.isEmpty()) {
      return "model";
    }
    StringBuilder b = new StringBuilder();
    for (Segment s : path) {
      if (b.length() > 0) {
        b.append('.');
      }
      b.append(s.label);
      if (s.name != null && !s.name.isEmpty()) {
        b.append(" '").append(printable(s.name)).append('\'');
      }
    }
    return b.toString();
  }

  /** A hostile name must not break the one-line message: control characters go, length is capped. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 80; i++) {
      char c = s.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    if (b.length() < s.length()) {
      b.append("...");
    }
    return b.toString();
  }

  OnnxFormatException error(String problem) {
    return error(problem, pos);
  }

  OnnxFormatException error(String problem, long offset) {
    return new OnnxFormatException(path(), offset, problem);
  }

  /** Charges {@code bytes} of heap the decoded records will hold against the budget. */
  void charge(long bytes) {
    budget -= bytes;
    if (budget < 0) {
      throw error("the decoded records would take more than " + budgetTotal + " bytes, the"
          + " budget for a file of " + buf.length + " (many tiny elements?)");
    }
  }

  // ---- limits of nested messages ----

  /** Reads a length prefix and makes it the limit; returns the old limit for {@link #popLimit}. */
  int pushLimit() {
    int len = readLength();
    int old = limit;
    limit = pos + len;
    return old;
  }

  void popLimit(int old) {
    if (pos != limit) {
      throw error("message ended " + (limit - pos) + " bytes early");
    }
    limit = old;
  }

  // ---- tags and scalars ----

  /** The next tag, or 0 at the end of the current message. */
  int readTag() {
    if (pos >= limit) {
      return 0;
    }
    int at = pos;
    long tag = readVarint();
    if (tag > Integer.MAX_VALUE || tag < 0) {
      throw error("field tag " + Long.toUnsignedString(tag) + " is out of range", at);
    }
    int wire = (int) tag & 7;
    if ((tag >>> 3) == 0) {
      throw error("field number 0 (a corrupt tag)", at);
    }
    if (wire > 5) {
      throw error("invalid wire type " + wire + " for field " + (tag >>> 3), at);
    }
    return (int) tag;
  }

  static int field(int tag) {
    return tag >>> 3;
  }

  static int wire(int tag) {
    return tag & 7;
  }

  /** Fails unless a known field came with the wire type its schema declares. */
  void expect(int tag, int wire, String field, int tagAt) {
    if (wire(tag) != wire) {
      throw error("field " + field + " (" + field(tag) + ") has wire type " + wire(tag)
          + ", expected " + wire, tagAt);
    }
  }

  long readVarint() {
    int at = pos;
    long v = 0;
    for (int i = 0; i < 10; i++) {
      if (pos >= limit) {
        throw error("truncated varint", at);
      }
      int b = buf[pos++] & 0xff;
      if (i == 9 && b >= 0x80) {
        break;
      }
      if (i == 9 && b > 1) {
        throw error("varint overflows 64 bits", at);
      }
      v |= (long) (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        return v;
      }
    }
    throw error("varint longer than 10 bytes", at);
  }

  /** A varint field declared int32 (or an enum): it must fit, sign-extended as protobuf writes it. */
  int readInt32(String field) {
    int at = pos;
    long v = readVarint();
    if (v != (int) v) {
      throw error(field + " " + v + " does not fit in 32 bits", at);
    }
    return (int) v;
  }

  int readFixed32() {
    need(4);
    int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16
        | (buf[pos + 3] & 0xff) << 24;
    pos += 4;
    return v;
  }

  long readFixed64() {
    long lo = readFixed32() & 0xffffffffL;
    long hi = readFixed32() & 0xffffffffL;
    return lo | hi << 32;
  }

  private void need(int n) {
    if (limit - pos < n) {
      throw error("truncated: " + n + " bytes needed, " + (limit - pos) + " left");
    }
  }

  /** A length prefix, checked against what the enclosing message has left. */
  int readLength() {
    int at = pos;
    long len = readVarint();
    if (len < 0) {
      throw error("negative length " + len, at);
    }
    if (len > limit - pos) {
      throw error("length " + len + " runs past the end of its message (" + (limit - pos)
          + " bytes left)", at);
    }
    return (int) len;
  }

  String readString() {
    int len = readLength();
    charge(48 + 2L * len);
    String s = new String(buf, pos, len, StandardCharsets.UTF_8);
    pos += len;
    return s;
  }

  /** Steps over {@code len} bytes that {@link #readLength} has already checked. */
  void advance(int len) {
    pos += len;
  }

  /** Copies {@code len} bytes from {@code at}, a range {@link #readLength} has checked. */
  byte[] copy(int at, int len) {
    charge(16 + len);
    return java.util.Arrays.copyOfRange(buf, at, at + len);
  }

  /** Appends {@code len} checked bytes to {@code sink} (packed fixed-width fields, as stored). */
  void readInto(ByteList sink, int len) {
    charge(len);
    sink.add(buf, pos, len);
    pos += len;
  }

  // ---- skipping ----

  /** Skips the value of a field whose tag was just read; groups are skipped without recursion. */
  void skip(int tag) {
    switch (wire(tag)) {
      case VARINT -> readVarint();
      case FIXED64 -> {
        need(8);
        pos += 8;
      }
      case LEN -> {
        int len = readLength(); // not "pos += readLength()": that adds to pos as it was
        pos += len;
      }
      case FIXED32 -> {
        need(4);
        pos += 4;
      }
      case START_GROUP -> skipGroup(tag);
      case END_GROUP -> throw error("end of group " + field(tag) + " without its start");
      default -> throw error("invalid wire type " + wire(tag));
    }
  }

  private void skipGroup(int startTag) {
    int[] open = new int[MAX_DEPTH];
    int n = 0;
    open[n++] = field(startTag);
    while (n > 0) {
      int at = pos;
      if (pos >= limit) {
        throw error("group " + open[n - 1] + " not closed before the end of its message");
      }
      int tag = readTag();
      if (wire(tag) == START_GROUP) {
        if (n == MAX_DEPTH) {
          throw error("groups nested deeper than " + MAX_DEPTH, at);
        }
        open[n++] = field(tag);
      } else if (wire(tag) == END_GROUP) {
        if (field(tag) != open[n - 1]) {
          throw error("end of group " + field(tag) + " inside group " + open[n - 1], at);
        }
        n--;
      } else {
        skip(tag);
      }
    }
  }

  /** A growable byte array (the elements of a tensor as they are read). */
  static final class ByteList {
    byte[] a = new byte[16];
    int n;

    void add(byte[] src, int off, int len) {
      ensure(len);
      System.arraycopy(src, off, a, n, len);
      n += len;
    }

    void addInt(int v) {
      ensure(4);
      for (int i = 0; i < 4; i++) {
        a[n++] = (byte) (v >>> (8 * i));
      }
    }

    void addLong(long v) {
      ensure(8);
      for (int i = 0; i < 8; i++) {
        a[n++] = (byte) (v >>> (8 * i));
      }
    }

    private void ensure(int more) {
      if (a.length - n < more) {
        a = java.util.Arrays.copyOf(a, Math.max(n + more, (int) Math.min(Integer.MAX_VALUE - 8,
            2L * a.length)));
      }
    }

    byte[] toArray() {
      return java.util.Arrays.copyOf(a, n);
    }
  }

  /** A growable long array (repeated varint fields, packed or not). */
  static final class LongList {
    long[] a = new long[8];
    int n;

    void add(long v) {
      if (n == a.length) {
        a = java.util.Arrays.copyOf(a, (int) Math.min(Integer.MAX_VALUE - 8, 2L * n));
      }
      a[n++] = v;
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(a, n);
    }
  }

  /** Reads a repeated varint field's value: one varint, or a packed run of them. */
  void readVarints(int tag, String field, int tagAt, LongList into) {
    if (wire(tag) == VARINT) {
      charge(8);
      into.add(readVarint());
    } else if (wire(tag) == LEN) {
      int old = pushLimit();
      while (pos < limit) {
        // each varint takes at least one byte, so the count is backed by the bytes
        charge(8);
        into.add(readVarint());
      }
      popLimit(old);
    } else {
      throw error("field " + field + " (" + field(tag) + ") has wire type " + wire(tag)
          + ", expected 0 or packed 2", tagAt);
    }
  }

  /**
   * Reads a repeated fixed-width field's value (float, double: {@code width} 4 or 8), one or a
   * packed run, appending its little-endian bytes as they are on the wire.
   */
  void readFixed(int tag, String field, int tagAt, int width, ByteList into) {
    int single = width == 4 ? FIXED32 : FIXED64;
    if (wire(tag) == single) {
      need(width);
      readInto(into, width);
    } else if (wire(tag) == LEN) {
      int len = readLength();
      if (len % width != 0) {
        throw error("packed " + field + " has " + len + " bytes, not a multiple of " + width,
            tagAt);
      }
      readInto(into, len);
    } else {
      throw error("field " + field + " (" + field(tag) + ") has wire type " + wire(tag)
          + ", expected " + single + " or packed 2", tagAt);
    }
  }
}
