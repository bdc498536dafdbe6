package io.convkit.nn.weights;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON describing each tensor's dtype, shape and byte range,
 * then the raw little-endian data. Our own code, no third-party parser.
 *
 * <p>Every malformed file is an {@link IllegalArgumentException} that names the file and, where
 * there is one, the tensor or the byte position; I/O failures stay {@link IOException}s.
 */
public final class SafeTensors {
  /**
   * The largest header read: 16 MiB, some 100,000 tensors (ResNet-152's header is 100 KB). The
   * reference implementation allows 100 MB; parsing that much JSON needs several times its size
   * in heap, which a small-heap JVM does not have.
   */
  static final long MAX_HEADER = 16L << 20;
  /**
   * Heap bytes allowed per header byte: the header's bytes, then per tensor its name, shape and
   * offsets (a few hundred bytes for a 60-byte entry) must fit with room to spare, so a small
   * heap gets a smaller cap rather than an OutOfMemoryError halfway through the JSON.
   */
  static final int HEAP_PER_HEADER_BYTE = 16;

  /** {@link #MAX_HEADER}, or 1/{@link #HEAP_PER_HEADER_BYTE} of the heap when that is less. */
  static long headerCap() {
    return Math.min(MAX_HEADER, Runtime.getRuntime().maxMemory() / HEAP_PER_HEADER_BYTE);
  }
  /** The largest array HotSpot reliably allocates. */
  static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
  /** Data moves through a buffer of this size, so reading never holds a second copy. */
  private static final int CHUNK = 1 << 20;
  private static final String METADATA = "__metadata__";

  /** The safetensors dtypes with their sizes in bytes; only the float ones are read. */
  enum Dtype {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U64(8), U32(4), U16(2),
    U8(1), BOOL(1), F8_E4M3(1), F8_E5M2(1), F8_E8M0(1), C64(8);

    final int bytes;

    Dtype(int bytes) {
      this.bytes = bytes;
    }

    boolean readable() {
      return this == F32 || this == F16 || this == BF16;
    }

    static Dtype of(String s) {
      for (Dtype d : values()) {
        if (d.name().equals(s)) {
          return d;
        }
      }
      return null;
    }
  }

  private record Entry(String name, Dtype dtype, long[] shape, long count, long begin, long end) {}

  private SafeTensors() {}

  /**
   * Reads a .safetensors file's header: F32, F16 and BF16 tensors become float32 when taken;
   * other dtypes are an error naming the tensor and dtype. A tensor of another known dtype (I64,
   * U8, ...) is validated like the rest but not decoded: it is listed in the result, and taking
   * it is that error. This way torchvision checkpoints, whose BN layers carry an I64
   * num_batches_tracked, load, and the model skips those names.
   *
   * <p>Only the header is read here (at most {@link #MAX_HEADER} bytes, less on a heap under
   * 256 MiB: {@link #headerCap}; parsed a tensor at a time); each tensor's bytes are read when it is {@linkplain StateDict#take taken}, so the
   * tensors a model never asks for are never read. The file must stay unchanged until then.
   */
  public static StateDict read(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    String src = file.toString();
    BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw new IllegalArgumentException(src + ": " + size + " bytes is too short for a"
            + " safetensors file (it starts with an 8-byte header length)");
      }
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0, src, "the header length");
      long n = len.getLong(0);
      // Unsigned on disk: a value past 2^63 reads as negative here and is over the cap too.
      long cap = headerCap();
      if (n < 0 || n > cap) {
        throw new IllegalArgumentException(src + ": header length " + Long.toUnsignedString(n)
            + " bytes is over the cap of " + cap + " bytes ("
            + (cap == MAX_HEADER ? "16 MiB, room for some 100,000 tensors"
                : "1/" + HEAP_PER_HEADER_BYTE + " of this JVM's heap, less than 16 MiB")
            + "); not a safetensors file, or not one of a network's weights");
      }
      if (n > size - 8) {
        throw new IllegalArgumentException(src + ": header length " + n + " runs past the end"
            + " of the file (" + size + " bytes); truncated?");
      }
      byte[] header;
      try {
        header = new byte[(int) n];
      } catch (OutOfMemoryError e) {
        throw new IllegalArgumentException(src + ": its " + n + "-byte header does not fit in"
            + " the free heap (raise -Xmx)");
      }
      readFully(ch, ByteBuffer.wrap(header), 8, src, "the header");
      long dataStart = 8 + n;
      long dataSize = size - dataStart;

      if (n == 0 || header[0] != '{') {
        throw new IllegalArgumentException(src + ": the header is not a JSON object (it must"
            + " start with '{') at byte 8");
      }
      Map<String, String> metadata = new TreeMap<>();
      List<Entry> entries = new ArrayList<>();
      try {
        // One tensor at a time: each member's generic map is dropped as soon as it is checked.
        // Two passes, so that malformed JSON anywhere is reported as such before any entry.
        String malformed = src + ": malformed header JSON: ";
        Json.parseObject(header, 8, malformed, (name, v) -> { });
        Json.parseObject(header, 8, malformed, (name, v) -> {
          if (name.equals(METADATA)) {
            metadata.putAll(metadata(v, src));
          } else {
            entries.add(entry(name, v, dataSize, src));
          }
        });
      } catch (OutOfMemoryError e) {
        entries.clear();
        throw new IllegalArgumentException(src + ": parsing its " + n + "-byte header ran out"
            + " of heap (raise -Xmx)");
      }
      header = null; // the names now live in the entries; let the bytes go before any read
      entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end)
          .thenComparing(Entry::name));
      checkLayout(entries, dataSize, src);

      FileData data = new FileData(file, src, attrs, size, dataStart);
      Map<String, StateDict.Lazy> tensors = new HashMap<>();
      Map<String, String> unreadable = new HashMap<>();
      for (Entry e : entries) {
        if (!e.dtype().readable()) {
          unreadable.put(e.name(), e.dtype().name());
          continue;
        }
        int[] shape = new int[e.shape().length];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = (int) e.shape()[i];
        }
        tensors.put(e.name(), new StateDict.Lazy() {
          @Override
          public int[] shape() {
            return shape.clone();
          }

          @Override
          public float[] read() {
            return data.read(e);
          }
        });
      }
      return new StateDict(tensors, unreadable, metadata, src);
    }
  }

  /**
   * The data area of one file, read a tensor at a time when taken. The file is reopened per
   * read (no handle to leak between takes); its size, modification time and identity must be
   * those seen with the header, so a file replaced or rewritten meanwhile is an error, not
   * another file's bytes under this header's names.
   */
  private static final class FileData {
    private final Path file;
    private final String src;
    private final BasicFileAttributes seen;
    private final long size;
    private final long dataStart;
    private ByteBuffer buf; // one chunk, allocated at the first read

    FileData(Path file, String src, BasicFileAttributes seen, long size, long dataStart) {
      this.file = file;
      this.src = src;
      this.seen = seen;
      this.size = size;
      this.dataStart = dataStart;
    }

    float[] read(Entry e) {
      String what = "tensor '" + e.name() + "' in " + src;
      long bytes = 4 * e.count();
      if (bytes > Runtime.getRuntime().maxMemory()) {
        throw new IllegalArgumentException(what + " has " + e.count() + " values (" + bytes
            + " bytes as float32), more than this JVM's whole heap ("
            + Runtime.getRuntime().maxMemory() + " bytes; raise -Xmx)");
      }
      float[] dst;
      try {
        dst = new float[(int) e.count()];
      } catch (OutOfMemoryError oom) {
        throw new IllegalArgumentException(what + " has " + e.count() + " values (" + bytes
            + " bytes as float32), more than the free heap holds (raise -Xmx)");
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        BasicFileAttributes now = Files.readAttributes(file, BasicFileAttributes.class);
        if (ch.size() != size || !now.lastModifiedTime().equals(seen.lastModifiedTime())
            || !Objects.equals(now.fileKey(), seen.fileKey())) {
          throw new IOException(src + " changed since its header was read (size " + size
              + " -> " + ch.size() + ", modified " + seen.lastModifiedTime() + " -> "
              + now.lastModifiedTime() + "); read it again");
        }
        if (buf == null) {
          buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        }
        readFloats(ch, dataStart + e.begin(), e, dst, buf, src);
      } catch (IOException ex) {
        throw new UncheckedIOException("reading " + what + ": " + ex.getMessage(), ex);
      }
      return dst;
    }
  }

  private static Map<String, String> metadata(Object v, String src) {
    if (!(v instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(src + ": " + METADATA + " must be an object of strings,"
          + " found " + kind(v));
    }
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (!(e.getValue() instanceof String s)) {
        throw new IllegalArgumentException(src + ": " + METADATA + " entry '" + e.getKey()
            + "' must be a string, found " + kind(e.getValue()));
      }
      out.put((String) e.getKey(), s);
    }
    return out;
  }

  private static Entry entry(String name, Object v, long dataSize, String src) {
    String where = "tensor '" + name + "' in " + src;
    if (!(v instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(where + ": expected an object with dtype, shape and"
          + " data_offsets, found " + kind(v));
    }
    Object dt = require(m, "dtype", where);
    if (!(dt instanceof String dts)) {
      throw new IllegalArgumentException(where + ": dtype must be a string, found " + kind(dt));
    }
    Dtype dtype = Dtype.of(dts);
    if (dtype == null) {
      throw new IllegalArgumentException(where + " has unknown dtype '" + dts + "' (known: "
          + Arrays.toString(Dtype.values()) + ")");
    }
    long[] shape = longs(require(m, "shape", where), "shape", where);
    long count = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(where + ": shape " + Arrays.toString(shape)
            + " has a negative dimension");
      }
      try {
        count = Math.multiplyExact(count, d);
      } catch (ArithmeticException ex) {
        throw new IllegalArgumentException(where + ": shape " + Arrays.toString(shape)
            + " overflows (more than 2^63 elements)");
      }
    }
    if (dtype.readable()) {
      if (count > MAX_ARRAY) {
        throw new IllegalArgumentException(where + " has " + count + " elements, more than a"
            + " Java float[] holds (" + MAX_ARRAY + ")");
      }
      for (long d : shape) {
        if (d > Integer.MAX_VALUE) { // possible only beside a 0 dimension
          throw new IllegalArgumentException(where + ": shape " + Arrays.toString(shape)
              + " has a dimension past " + Integer.MAX_VALUE);
        }
      }
    }
    long[] off = longs(require(m, "data_offsets", where), "data_offsets", where);
    if (off.length != 2) {
      throw new IllegalArgumentException(where + ": data_offsets must be [begin, end], found "
          + Arrays.toString(off));
    }
    long begin = off[0];
    long end = off[1];
    if (begin < 0 || end < 0) {
      throw new IllegalArgumentException(where + ": data_offsets " + Arrays.toString(off)
          + " are negative");
    }
    if (begin > end) {
      throw new IllegalArgumentException(where + ": data_offsets " + Arrays.toString(off)
          + " have begin > end");
    }
    if (end > dataSize) {
      throw new IllegalArgumentException(where + ": data_offsets " + Arrays.toString(off)
          + " run past the data area (" + dataSize + " bytes)");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(count, dtype.bytes);
    } catch (ArithmeticException ex) {
      bytes = -1; // cannot equal end - begin
    }
    if (bytes != end - begin) {
      throw new IllegalArgumentException(where + ": shape " + Arrays.toString(shape) + " of "
          + dtype + " needs " + (bytes < 0 ? "more than 2^63" : bytes) + " bytes, but"
          + " data_offsets " + Arrays.toString(off) + " span " + (end - begin));
    }
    return new Entry(name, dtype, shape, count, begin, end);
  }

  private static Object require(Map<?, ?> m, String key, String where) {
    Object v = m.get(key);
    if (v == null) {
      throw new IllegalArgumentException(where + " has no \"" + key + "\"");
    }
    return v;
  }

  private static long[] longs(Object v, String key, String where) {
    if (!(v instanceof List<?> list)) {
      throw new IllegalArgumentException(where + ": " + key + " must be an array of integers,"
          + " found " + kind(v));
    }
    long[] out = new long[list.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(list.get(i) instanceof Long x)) {
        throw new IllegalArgumentException(where + ": " + key + " must be an array of integers,"
            + " found " + kind(list.get(i)) + " at index " + i);
      }
      out[i] = x;
    }
    return out;
  }

  /**
   * The tensors, sorted by offset, must tile the data area exactly: safetensors forbids
   * overlaps and also holes and trailing bytes (so a file cannot hide a second payload).
   */
  private static void checkLayout(List<Entry> sorted, long dataSize, String src) {
    long at = 0;
    Entry prev = null;
    for (Entry e : sorted) {
      if (e.begin() < at) {
        throw new IllegalArgumentException(src + ": tensors '" + prev.name() + "' ["
            + prev.begin() + ", " + prev.end() + "] and '" + e.name() + "' [" + e.begin() + ", "
            + e.end() + "] overlap");
      }
      if (e.begin() > at) {
        throw new IllegalArgumentException(src + ": data bytes [" + at + ", " + e.begin()
            + ") before tensor '" + e.name() + "' belong to no tensor (safetensors forbids"
            + " holes)");
      }
      at = e.end();
      prev = e;
    }
    if (at != dataSize) {
      throw new IllegalArgumentException(src + ": the data area has " + dataSize + " bytes but"
          + " the tensors end at " + at + (prev == null ? "" : " (tensor '" + prev.name() + "')")
          + "; safetensors forbids trailing bytes");
    }
  }

  private static void readFloats(FileChannel ch, long pos, Entry e, float[] dst, ByteBuffer buf,
      String src) throws IOException {
    int size = e.dtype().bytes;
    int perChunk = CHUNK / size;
    String what = "tensor '" + e.name() + "'";
    for (int done = 0; done < dst.length; ) {
      int n = Math.min(perChunk, dst.length - done);
      buf.clear().limit(n * size);
      readFully(ch, buf, pos + (long) done * size, src, what);
      buf.flip();
      switch (e.dtype()) {
        case F32 -> buf.asFloatBuffer().get(dst, done, n);
        case F16 -> {
          ShortBuffer s = buf.asShortBuffer();
          for (int i = 0; i < n; i++) {
            dst[done + i] = halfToFloat(s.get(i));
          }
        }
        case BF16 -> {
          ShortBuffer s = buf.asShortBuffer();
          for (int i = 0; i < n; i++) {
            dst[done + i] = bf16ToFloat(s.get(i));
          }
        }
        default -> throw new AssertionError(e.dtype());
      }
      done += n;
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos, String src,
      String what) throws IOException {
    long at = pos;
    while (buf.hasRemaining()) {
      int r = ch.read(buf, at);
      if (r < 0) {
        throw new EOFException(src + ": the file ended at byte " + at + " while reading "
            + what + " (did it shrink while being read?)");
      }
      at += r;
    }
  }

  /**
   * IEEE 754 binary16 to float32, exactly (every half is a float). Inf and NaN keep their sign
   * and payload. Float.float16ToFloat would do this, but it is Java 20+.
   */
  static float halfToFloat(short h) {
    int sign = (h >>> 15) & 1;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0) {
      // Zero or subnormal: mant * 2^-24, exact (mant < 2^10, and 2^-24 is normal in float32).
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    // Normal, inf or NaN: rebias the exponent (15 -> 127); all-ones stays all-ones.
    int e = exp == 0x1f ? 0xff : exp - 15 + 127;
    return Float.intBitsToFloat((sign << 31) | (e << 23) | (mant << 13));
  }

  /** bfloat16 is the top 16 bits of a float32. */
  static float bf16ToFloat(short b) {
    return Float.intBitsToFloat((b & 0xffff) << 16);
  }

  /**
   * Writes F32 tensors (names sorted), with an optional __metadata__ map (may be null). The
   * header is padded with spaces to a multiple of 8 bytes, as the reference writer does, so
   * the data starts 8-aligned.
   */
  public static void write(Path file, Map<String, TensorData> tensors,
      Map<String, String> metadata) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(tensors, "tensors");
    Map<String, TensorData> sorted = new TreeMap<>();
    for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
      String name = e.getKey();
      if (name == null) {
        throw new IllegalArgumentException(file + ": a tensor name is null");
      }
      if (name.equals(METADATA)) {
        throw new IllegalArgumentException(file + ": '" + METADATA + "' is reserved, not a"
            + " tensor name");
      }
      if (!Json.isWellFormed(name)) {
        throw new IllegalArgumentException(file + ": tensor name '" + name + "' has an unpaired"
            + " surrogate and cannot be written as UTF-8");
      }
      if (e.getValue() == null) {
        throw new IllegalArgumentException(file + ": tensor '" + name + "' is null");
      }
      sorted.put(name, e.getValue());
    }

    StringBuilder json = new StringBuilder("{");
    if (metadata != null && !metadata.isEmpty()) {
      Json.quote(json, METADATA);
      json.append(":{");
      String sep = "";
      for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
        if (e.getValue() == null || !Json.isWellFormed(e.getKey())
            || !Json.isWellFormed(e.getValue())) {
          throw new IllegalArgumentException(file + ": metadata '" + e.getKey() + "' must be a"
              + " non-null, well-formed string, got " + e.getValue());
        }
        json.append(sep);
        Json.quote(json, e.getKey());
        json.append(':');
        Json.quote(json, e.getValue());
        sep = ",";
      }
      json.append('}');
    }
    long offset = 0;
    for (Map.Entry<String, TensorData> e : sorted.entrySet()) {
      if (json.length() > 1) {
        json.append(',');
      }
      Json.quote(json, e.getKey());
      long end = offset + 4L * e.getValue().size();
      json.append(":{\"dtype\":\"F32\",\"shape\":[");
      int[] shape = e.getValue().shape();
      for (int i = 0; i < shape.length; i++) {
        json.append(i == 0 ? "" : ",").append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
    }
    json.append('}');
    byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (header.length + 7) & ~7;

    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE,
        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(padded).put(header);
      while (head.hasRemaining()) {
        head.put((byte) ' ');
      }
      writeFully(ch, head.flip());
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
      FloatBuffer fb = buf.asFloatBuffer();
      for (TensorData t : sorted.values()) {
        float[] data = t.data();
        for (int done = 0; done < data.length; ) {
          int n = Math.min(CHUNK / 4, data.length - done);
          fb.clear();
          fb.put(data, done, n);
          buf.clear().limit(n * 4);
          writeFully(ch, buf);
          done += n;
        }
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  private static String kind(Object v) {
    if (v instanceof Map) {
      return "an object";
    } else if (v instanceof List) {
      return "an array";
    } else if (v instanceof String s) {
      return "the string \"" + s + "\"";
    } else {
      return "the integer " + v;
    }
  }
}
