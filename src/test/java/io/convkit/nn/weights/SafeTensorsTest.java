package io.convkit.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.testing.ChildJvm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafeTensorsTest {
  @TempDir Path dir;

  // ---- helpers: files built byte by byte, independent of the writer ----

  private Path file(byte[] lengthField, byte[] header, byte[] data) throws IOException {
    Path f = dir.resolve("t" + System.nanoTime() + ".safetensors");
    ByteBuffer b = ByteBuffer.allocate(lengthField.length + header.length + data.length);
    b.put(lengthField).put(header).put(data);
    Files.write(f, b.array());
    return f;
  }

  private static byte[] le64(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
  }

  private Path file(String json, byte[] data) throws IOException {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    return file(le64(h.length), h, data);
  }

  private Path file(String json, int dataBytes) throws IOException {
    return file(json, new byte[dataBytes]);
  }

  /** Reads f, expecting IllegalArgumentException; checks the file and each fragment appear. */
  private String bad(Path f, String... fragments) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(f));
    String m = e.getMessage();
    assertTrue(m.contains(f.toString()), "message names the file: " + m);
    for (String s : fragments) {
      assertTrue(m.contains(s), "message has '" + s + "': " + m);
    }
    return m;
  }

  private static String t(String name, String dtype, String shape, long begin, long end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape
        + ",\"data_offsets\":[" + begin + "," + end + "]}";
  }

  private static byte[] shorts(int... v) {
    ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int s : v) {
      b.putShort((short) s);
    }
    return b.array();
  }

  // ---- round trips ----

  @Test
  void roundTripOfSeveralShapesWithMetadata() throws IOException {
    Map<String, TensorData> in = new LinkedHashMap<>();
    float[] w = new float[2 * 3 * 3 * 3];
    for (int i = 0; i < w.length; i++) {
      w[i] = (i - 20) * 0.37f;
    }
    in.put("conv.weight", new TensorData(new int[] {2, 3, 3, 3}, w));
    in.put("conv.bias", new TensorData(new int[] {2},
        new float[] {Float.NaN, Float.NEGATIVE_INFINITY}));
    in.put("bn.eps", new TensorData(new int[] {}, new float[] {-0.0f})); // scalar
    in.put("empty", new TensorData(new int[] {0}, new float[0]));
    in.put("empty2d", new TensorData(new int[] {4, 0}, new float[0]));
    in.put("a.min", new TensorData(new int[] {1, 1, 3},
        new float[] {Float.MIN_VALUE, Float.MAX_VALUE, 1e-40f}));
    Map<String, String> meta = Map.of("format", "pt", "note", "quote \" slash \\ tab\t é 漢 😀");
    Path f = dir.resolve("m.safetensors");
    SafeTensors.write(f, in, meta);

    StateDict sd = SafeTensors.read(f);
    assertEquals(new TreeMap<>(in).keySet(), sd.names());
    assertEquals(meta, sd.metadata());
    for (Map.Entry<String, TensorData> e : in.entrySet()) {
      float[] got = sd.take(e.getKey(), e.getValue().shape());
      assertEquals(e.getValue(), new TensorData(e.getValue().shape(), got), e.getKey());
    }
    sd.requireAllUsed(List.of());

    // The header is sorted by name and padded with spaces so the data starts 8-aligned.
    byte[] raw = Files.readAllBytes(f);
    long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertEquals(0, n % 8);
    String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\""), header);
    assertTrue(header.indexOf("\"a.min\"") < header.indexOf("\"bn.eps\"")
        && header.indexOf("\"conv.bias\"") < header.indexOf("\"conv.weight\""), header);
    assertEquals(8 + n + 4L * (w.length + 2 + 1 + 3), raw.length);
  }

  @Test
  void roundTripWithoutMetadataOrTensors() throws IOException {
    Path f = dir.resolve("e.safetensors");
    SafeTensors.write(f, Map.of(), null);
    StateDict sd = SafeTensors.read(f);
    assertTrue(sd.names().isEmpty());
    assertTrue(sd.metadata().isEmpty());
    sd.requireAllUsed(null);
  }

  @Test
  void writeRefusesReservedAndNullEntries() {
    Path f = dir.resolve("w.safetensors");
    TensorData one = new TensorData(new int[] {1}, new float[] {1});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SafeTensors.write(f, Map.of("__metadata__", one), null));
    assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
    Map<String, TensorData> withNull = new LinkedHashMap<>();
    withNull.put("fc.bias", null);
    e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(f, withNull, null));
    assertTrue(e.getMessage().contains("'fc.bias'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> SafeTensors.write(f, Map.of("bad\uD800", one), null));
    assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
  }

  @Test
  void tensorDataChecksShapeAgainstData() {
    assertEquals(1, new TensorData(new int[] {}, new float[1]).size());
    assertEquals(0, new TensorData(new int[] {1 << 30, 1 << 30, 0}, new float[0]).size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TensorData(new int[] {2, 3}, new float[5]));
    assertTrue(e.getMessage().contains("[2, 3] holds 6 values, but data has 5"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new TensorData(new int[] {1 << 30, 1 << 30, 4}, new float[4]));
    assertTrue(e.getMessage().contains("holds more than 2^32 values"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new TensorData(new int[] {2, -1}, new float[0]));
    assertTrue(e.getMessage().contains("negative"), e.getMessage());
    int[] shape = {2};
    TensorData td = new TensorData(shape, new float[2]);
    shape[0] = 7;
    td.shape()[0] = 9;
    assertArrayEquals(new int[] {2}, td.shape());
  }

  // ---- F16 and BF16 ----

  @Test
  void halfAndBfloat16BecomeExactFloats() throws IOException {
    byte[] h = shorts(0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7E00, 0x8000,
        0x0400);
    byte[] b = shorts(0x3F80, 0xC040, 0x7F80, 0x0001);
    byte[] data = new byte[h.length + b.length];
    System.arraycopy(h, 0, data, 0, h.length);
    System.arraycopy(b, 0, data, h.length, b.length);
    Path f = file("{" + t("h", "F16", "[2,5]", 0, 20) + "," + t("b", "BF16", "[4]", 20, 28)
        + "}", data);
    StateDict sd = SafeTensors.read(f);
    float[] half = sd.take("h", 2, 5);
    assertArrayEquals(new float[] {1.0f, -2.5f, 65504f, 0x1p-24f, 1023 * 0x1p-24f,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, -0.0f, 0x1p-14f}, half);
    assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(half[8]));
    float[] bf = sd.take("b", 4);
    assertArrayEquals(new float[] {1.0f, -3.0f, Float.POSITIVE_INFINITY, 0x1p-133f}, bf);
    sd.requireAllUsed(List.of());
  }

  /** Tensors larger than the 1 MiB read buffer, so the reads cross chunk boundaries. */
  @Test
  void tensorsSpanningSeveralReadChunks() throws IOException {
    int n = 700_001; // odd, so the F32 tensor after it starts mid-chunk
    int[] h = new int[n];
    for (int i = 0; i < n; i++) {
      h[i] = (int) ((i * 2654435761L) & 0xffff);
    }
    int m = 300_000;
    ByteBuffer data = ByteBuffer.allocate(2 * n + 4 * m).order(ByteOrder.LITTLE_ENDIAN);
    data.put(shorts(h));
    for (int i = 0; i < m; i++) {
      data.putFloat(i * 0.5f - 7);
    }
    Path f = file("{" + t("h", "F16", "[" + n + "]", 0, 2L * n) + ","
        + t("w", "F32", "[" + m + "]", 2L * n, 2L * n + 4L * m) + "}", data.array());
    StateDict sd = SafeTensors.read(f);
    float[] wantH = new float[n];
    for (int i = 0; i < n; i++) {
      wantH[i] = SafeTensors.halfToFloat((short) h[i]);
    }
    assertArrayEquals(wantH, sd.take("h", n));
    float[] wantW = new float[m];
    for (int i = 0; i < m; i++) {
      wantW[i] = i * 0.5f - 7;
    }
    assertArrayEquals(wantW, sd.take("w", m));
  }

  /** Every half against the IEEE 754 definition, computed in double. */
  @Test
  void everyHalfConvertsExactly() {
    for (int h = 0; h < 0x10000; h++) {
      int sign = h >> 15;
      int exp = (h >> 10) & 0x1f;
      int mant = h & 0x3ff;
      float got = SafeTensors.halfToFloat((short) h);
      if (exp == 0x1f) {
        assertTrue(mant == 0 ? Float.isInfinite(got) : Float.isNaN(got), "0x" + h);
        assertEquals(sign, Float.floatToRawIntBits(got) >>> 31);
        continue;
      }
      double v = exp == 0 ? mant * Math.pow(2, -24) : (1 + mant / 1024.0) * Math.pow(2, exp - 15);
      double want = sign == 1 ? -v : v;
      assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got),
          "half 0x" + Integer.toHexString(h));
    }
  }

  // ---- other dtypes ----

  @Test
  void integerTensorsAreListedAndRefusedOnlyWhenTaken() throws IOException {
    Path f = file("{" + t("bn.num_batches_tracked", "I64", "[]", 0, 8) + ","
        + t("bn.weight", "F32", "[2]", 8, 16) + "}", 16);
    StateDict sd = SafeTensors.read(f);
    assertEquals(Set.of("bn.num_batches_tracked", "bn.weight"), sd.names());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sd.take("bn.num_batches_tracked"));
    assertEquals("tensor 'bn.num_batches_tracked' in " + f + " has dtype I64; only F32, F16"
        + " and BF16 tensors can be read", e.getMessage());
    sd.take("bn.weight", 2);
    e = assertThrows(IllegalArgumentException.class, () -> sd.requireAllUsed(List.of()));
    assertTrue(e.getMessage().contains("bn.num_batches_tracked"), e.getMessage());
    sd.requireAllUsed(List.of("num_batches_tracked"));
  }

  // ---- malformed files ----

  @Test
  void tooShortOrAbsurdHeaderLengths() throws IOException {
    bad(file(new byte[5], new byte[0], new byte[0]), "5 bytes is too short");
    bad(file(le64(100_000_001), new byte[0], new byte[16]), "header length 100000001 bytes is"
        + " over the cap of 16777216 bytes (16 MiB");
    bad(file(le64(-1), new byte[0], new byte[16]), "header length 18446744073709551615 bytes is"
        + " over the cap of 16777216 bytes");
    bad(file(le64(64), "{}".getBytes(StandardCharsets.US_ASCII), new byte[0]),
        "header length 64 runs past the end of the file (10 bytes)");
  }

  @Test
  void headerMustBeAJsonObject() throws IOException {
    bad(file("[1,2]", 0), "not a JSON object", "at byte 8");
    bad(file(" {}", 0), "not a JSON object", "at byte 8");
    bad(file("", 0), "not a JSON object");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "{\"a\":1,}                  | expected a string key, found '}' at byte 15",
    "{\"a\" 1}                   | expected ':', found '1' at byte 13",
    "{\"a\":[1 2]}               | expected ',' or ']', found '2' at byte 16",
    "{\"a\":1.5}                 | only integers may appear in a safetensors header, found '.' at byte 14",
    "{\"a\":1e3}                 | only integers may appear in a safetensors header, found 'e' at byte 14",
    "{\"a\":01}                  | leading zero in an integer at byte 13",
    "{\"a\":-}                   | expected a digit, found '}' at byte 14",
    "{\"a\":99999999999999999999} | integer out of the 64-bit range at byte 13",
    "{\"a\":true}                | unexpected 't', expected an object, array, string or integer at byte 13",
    "{\"a\":\"x\\q\"}            | invalid escape: '\\' followed by 'q' at byte 16",
    "{\"a\":\"\\u12G4\"}         | expected 4 hex digits after \\u, found 'G' at byte 18",
    "{\"a\":\"\\uD800x\"}        | unpaired surrogate \\uD800 at byte 14",
    "{\"a\":\"\\uDC00\"}         | unpaired surrogate \\uDC00 at byte 14",
    "{\"a\":\"abc                | unterminated string at byte 17",
    "{\"a\":{}} x                | unexpected 'x' after the end of the JSON value at byte 17",
    "{\"a\":{}                   | expected ',' or '}', found the end of the header at byte 15",
  })
  void malformedJsonGivesThePosition(String json, String message) throws IOException {
    bad(file(json.strip(), 0), "malformed header JSON: " + message);
  }

  @Test
  void malformedBytesInStrings() throws IOException {
    byte[] prefix = "{\"a".getBytes(StandardCharsets.US_ASCII);
    for (byte[] tail : List.of(new byte[] {(byte) 0xC0, (byte) 0x80}, // overlong NUL
        new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},            // encoded surrogate
        new byte[] {(byte) 0xE2, 'x', 'x'},                            // truncated sequence
        new byte[] {(byte) 0xFF},
        new byte[] {0x01})) {                                          // raw control character
      byte[] h = new byte[prefix.length + tail.length + 6];
      System.arraycopy(prefix, 0, h, 0, prefix.length);
      System.arraycopy(tail, 0, h, prefix.length, tail.length);
      System.arraycopy("\":{}} ".getBytes(StandardCharsets.US_ASCII), 0, h,
          prefix.length + tail.length, 6);
      bad(file(le64(h.length), h, new byte[0]), "malformed header JSON", "at byte 11");
    }
  }

  @Test
  void nestingIsCapped() throws IOException {
    bad(file("{\"a\":" + "[".repeat(40) + "]".repeat(40) + "}", 0), "nesting deeper than 32");
  }

  @Test
  void missingOrMistypedKeysNameTheTensor() throws IOException {
    bad(file("{\"x.w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
        "tensor 'x.w'", "has no \"dtype\"");
    bad(file("{\"x.w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4),
        "tensor 'x.w'", "has no \"shape\"");
    bad(file("{\"x.w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
        "tensor 'x.w'", "has no \"data_offsets\"");
    bad(file("{\"x.w\":[1]}", 0), "tensor 'x.w'", "expected an object");
    bad(file("{\"x.w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
        "tensor 'x.w'", "dtype must be a string, found the integer 4");
    bad(file("{\"x.w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4),
        "tensor 'x.w'", "shape must be an array of integers, found the string \"1\" at index 0");
    bad(file("{\"x.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8),
        "tensor 'x.w'", "data_offsets must be [begin, end]");
  }

  @Test
  void badDtypesAndShapes() throws IOException {
    bad(file("{" + t("q", "Q4", "[1]", 0, 1) + "}", 1), "tensor 'q'", "unknown dtype 'Q4'");
    bad(file("{" + t("neg", "F32", "[2,-3]", 0, 0) + "}", 0),
        "tensor 'neg'", "shape [2, -3] has a negative dimension");
    bad(file("{" + t("huge", "F32", "[4294967296,4294967296]", 0, 0) + "}", 0),
        "tensor 'huge'", "overflows");
    bad(file("{" + t("big", "F32", "[2147483647]", 0, 8589934588L) + "}", 0),
        "tensor 'big' in", "has 2147483647 elements, more than a Java float[] holds");
    bad(file("{" + t("wide", "F32", "[3000000000,0]", 0, 0) + "}", 0),
        "tensor 'wide'", "dimension past 2147483647");
    bad(file("{" + t("short", "F16", "[3]", 0, 4) + "}", 4),
        "tensor 'short'", "shape [3] of F16 needs 6 bytes, but data_offsets [0, 4] span 4");
  }

  @Test
  void badOffsetsAndLayout() throws IOException {
    bad(file("{" + t("a", "F32", "[2]", 0, 12) + "}", 8),
        "tensor 'a'", "data_offsets [0, 12] run past the data area (8 bytes)");
    bad(file("{" + t("a", "F32", "[0]", 8, 4) + "}", 8),
        "tensor 'a'", "data_offsets [8, 4] have begin > end");
    bad(file("{" + t("a", "F32", "[1]", -4, 0) + "}", 8), "tensor 'a'", "negative");
    bad(file("{" + t("a", "F32", "[2]", 0, 8) + "," + t("b", "F32", "[2]", 4, 12) + "}", 12),
        "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
    bad(file("{" + t("a", "F32", "[2]", 0, 8) + "," + t("b", "F32", "[1]", 12, 16) + "}", 16),
        "data bytes [8, 12) before tensor 'b' belong to no tensor");
    bad(file("{" + t("a", "F32", "[2]", 0, 8) + "}", 12),
        "the data area has 12 bytes but the tensors end at 8 (tensor 'a')");
    // Duplicate names: the position of the second key.
    bad(file("{" + t("a", "F32", "[1]", 0, 4) + "," + t("a", "F32", "[1]", 4, 8) + "}", 8),
        "duplicate key 'a' at byte 62");
  }

  @Test
  void badMetadata() throws IOException {
    bad(file("{\"__metadata__\":[1]}", 0), "__metadata__ must be an object of strings");
    bad(file("{\"__metadata__\":{\"epoch\":3}}", 0),
        "__metadata__ entry 'epoch' must be a string, found the integer 3");
  }

  @Test
  void readsAHandBuiltHeaderWithPaddingEscapesAndMetadata() throws IOException {
    // Laid out as the reference writer does: __metadata__ first, the header padded with spaces.
    Path f = file("{\"__metadata__\":{\"format\":\"pt\"},"
        + t("a\\u00e9\\n\\\"\\ud83d\\ude00", "F32", "[1]", 0, 4) + "}     ",
        new byte[] {0, 0, (byte) 0x80, 0x3f});
    StateDict sd = SafeTensors.read(f);
    assertEquals(Map.of("format", "pt"), sd.metadata());
    assertArrayEquals(new float[] {1f}, sd.take("a\u00e9\n\"\uD83D\uDE00", 1));
  }

  // ---- lazy reads, the header cap, DataParallel's prefix ----

  /**
   * a [2,3] F32, then huge [2^28] F32 (1 GiB, a hole in a sparse file: no disk), then c [3] F16.
   */
  private Path withHugeUnusedTensor() throws IOException {
    long huge = 1L << 28;
    long hugeEnd = 24 + 4 * huge;
    byte[] h = ("{" + t("a", "F32", "[2,3]", 0, 24) + "," + t("huge", "F32", "[" + huge + "]", 24,
        hugeEnd) + "," + t("c", "F16", "[3]", hugeEnd, hugeEnd + 6) + "}")
        .getBytes(StandardCharsets.UTF_8);
    Path f = dir.resolve("sparse.safetensors");
    ByteBuffer a = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 6; i++) {
      a.putFloat(i - 2.5f);
    }
    long end = 8 + h.length + hugeEnd + 6;
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.write(le64(h.length));
      raf.write(h);
      raf.write(a.array());
      raf.setLength(end); // the huge tensor's bytes are a hole
      raf.seek(end - 6);
      raf.write(shorts(0x3C00, 0xC000, 0x3800)); // 1, -2, 0.5
    }
    return f;
  }

  @Test
  void aHugeUnusedTensorIsNeverReadUnderASmallHeap() throws Exception {
    Path f = withHugeUnusedTensor();
    ChildJvm.Result r = ChildJvm.run(List.of("-Xmx64m"), LazyLoadProbe.class, "take",
        f.toString());
    assertEquals(0, r.exit(), r.toString());
    assertEquals("a [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]\nc [1.0, -2.0, 0.5]\nrefused: tensor 'huge'"
        + " in " + f + " has 268435456 values (1073741824 bytes as float32), more than this JVM's"
        + " whole heap (", r.out().substring(0, r.out().indexOf("whole heap (") + 12), r.toString());
    assertTrue(r.out().endsWith(" bytes; raise -Xmx)\ndone\n"), r.toString());
    assertEquals("", r.err());
  }

  @Test
  void takeReadsOnlyThatTensor() throws IOException {
    // In this JVM too: the small tensors come back exact, the huge one stays unread.
    StateDict sd = SafeTensors.read(withHugeUnusedTensor());
    assertArrayEquals(new float[] {1, -2, 0.5f}, sd.take("c", 3));
    assertArrayEquals(new float[] {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}, sd.take("a", 2, 3));
    assertEquals(Set.of("a", "c", "huge"), sd.names());
    sd.requireAllUsed(List.of("huge"));
  }

  @Test
  void aHeaderOf100MBIsRefusedBeforeItIsRead() throws IOException {
    Path f = dir.resolve("big-header.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.write(le64(100_000_000));
      raf.write("{\"a\":".getBytes(StandardCharsets.US_ASCII));
      raf.setLength(8 + 100_000_000); // sparse: it is all there, so only the cap refuses it
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(f));
    assertEquals(f + ": header length 100000000 bytes is over the cap of 16777216 bytes (16 MiB,"
        + " room for some 100,000 tensors); not a safetensors file, or not one of a network's"
        + " weights", e.getMessage());
  }

  /** A header of {@code count} empty tensors (60 bytes each). */
  private Path manyTensors(int count) throws IOException {
    StringBuilder json = new StringBuilder("{");
    for (int i = 0; i < count; i++) {
      json.append(i == 0 ? "" : ",").append(t(String.format("t%07d", i), "F32", "[0]", 0, 0));
    }
    return file(json.append('}').toString(), 0);
  }

  @Test
  void aHeaderNearTheCapParsesUnderASmallHeap() throws Exception {
    // -Xmx64m: the cap is 1/16 of the heap, 4 MiB; 65,000 tensors take 3.9 MB of header.
    Path f = manyTensors(65_000);
    assertTrue(Files.size(f) > 3_800_000 && Files.size(f) < 4_000_000, "" + Files.size(f));
    ChildJvm.Result r = ChildJvm.run(List.of("-Xmx64m"), LazyLoadProbe.class, "count",
        f.toString());
    assertEquals(0, r.exit(), r.toString());
    assertEquals("tensors 65000\n", r.out(), r.toString());
    // Half that heap: the same header is over its cap, a message rather than an OOM.
    r = ChildJvm.run(List.of("-Xmx32m"), LazyLoadProbe.class, "count", f.toString());
    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.err().contains("IllegalArgumentException: " + f + ": header length "
        + (Files.size(f) - 8) + " bytes is over the cap of ")
        && r.err().contains(" bytes (1/16 of this JVM's heap, less than 16 MiB)"), r.toString());
    assertTrue(!r.err().contains("OutOfMemoryError"), r.toString());
  }

  @Test
  void aFileChangedOrGoneBeforeATakeIsAnError() throws IOException {
    Path f = file("{" + t("a", "F32", "[1]", 0, 4) + "," + t("b", "F32", "[1]", 4, 8) + "}", 8);
    StateDict sd = SafeTensors.read(f);
    assertArrayEquals(new float[] {0}, sd.take("a", 1));
    Files.write(f, new byte[] {1}, java.nio.file.StandardOpenOption.APPEND);
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> sd.take("b", 1));
    assertTrue(e.getMessage().startsWith("reading tensor 'b' in " + f + ": " + f + " changed since"
        + " its header was read (size " + (Files.size(f) - 1) + " -> " + Files.size(f)), e.getMessage());
    Files.delete(f);
    e = assertThrows(UncheckedIOException.class, () -> sd.take("b", 1));
    assertTrue(e.getMessage().startsWith("reading tensor 'b' in " + f + ": "), e.getMessage());
    assertTrue(sd.has("b"));
  }

  @Test
  void dataParallelKeysGetAHintAndAreStrippedOnRequest() throws IOException {
    Map<String, TensorData> m = new HashMap<>();
    m.put("module.conv1.weight", new TensorData(new int[] {2}, new float[] {1, 2}));
    m.put("module.fc.bias", new TensorData(new int[] {1}, new float[] {3}));
    Path f = dir.resolve("dp.safetensors");
    SafeTensors.write(f, m, null);
    StateDict sd = SafeTensors.read(f);
    assertTrue(sd.allKeysStartWith("module."));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sd.take("conv1.weight", 2));
    assertEquals("missing tensor 'conv1.weight' in " + f + ": its keys carry a 'module.' prefix"
        + " (saved from DataParallel?); strip it (StateDict.withoutPrefix(\"module.\"); in Python"
        + " {k.removeprefix('module.'): v for k, v in sd.items()})", e.getMessage());
    StateDict stripped = sd.withoutPrefix("module.");
    assertEquals(Set.of("conv1.weight", "fc.bias"), stripped.names());
    assertArrayEquals(new float[] {1, 2}, stripped.take("conv1.weight", 2));
    assertArrayEquals(new float[] {3}, stripped.take("fc.bias", 1));
    stripped.requireAllUsed(List.of());
    IllegalStateException late = assertThrows(IllegalStateException.class,
        () -> stripped.withoutPrefix("fc."));
    assertEquals(f + ": withoutPrefix after 2 tensors were taken; strip the prefix first",
        late.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sd.withoutPrefix("module.fc."));
    assertEquals("cannot strip 'module.fc.' from the keys of " + f + ": 'module.conv1.weight'"
        + " does not start with it", e.getMessage());
    assertTrue(!dict().allKeysStartWith("module.") && !new StateDict(Map.of(), "E")
        .allKeysStartWith(""));
  }

  // ---- StateDict ----

  private static StateDict dict() {
    Map<String, TensorData> m = new LinkedHashMap<>();
    m.put("fc.weight", new TensorData(new int[] {1000, 512}, new float[512_000]));
    m.put("fc.bias", new TensorData(new int[] {1000}, new float[1000]));
    m.put("module.conv1.weight", new TensorData(new int[] {1}, new float[1]));
    m.put("bn.num_batches_tracked", new TensorData(new int[] {}, new float[1]));
    return new StateDict(m, "FILE");
  }

  @Test
  void takeChecksNameAndShape() {
    StateDict sd = dict();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sd.take("layer1.0.conv1.weight", 64, 64, 3, 3));
    assertEquals("missing tensor 'layer1.0.conv1.weight' in FILE", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sd.take("fc.weight", 1000, 2048));
    assertEquals("tensor 'fc.weight' in FILE has shape [1000, 512], the model expects"
        + " [1000, 2048]", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sd.take("conv1.weight", 1));
    assertEquals("missing tensor 'conv1.weight' in FILE (it has 'module.conv1.weight': a"
        + " different prefix?)", e.getMessage());

    assertEquals(512_000, sd.take("fc.weight", 1000, 512).length);
    assertTrue(sd.has("fc.weight"), "taken names stay listed");
    IllegalStateException twice = assertThrows(IllegalStateException.class,
        () -> sd.take("fc.weight", 1000, 512));
    assertTrue(twice.getMessage().contains("'fc.weight' in FILE was already taken"));
    assertNull(sd.takeIfPresent("fc2.bias", 1000));
    assertEquals(1000, sd.takeIfPresent("fc.bias", 1000).length);
    // [1] holds one value in the order [] or [1, 1] would; [2] does not
    assertThrows(IllegalArgumentException.class,
        () -> sd.takeIfPresent("module.conv1.weight", 2));
    assertEquals(1, sd.takeIfPresent("module.conv1.weight", 1, 1).length);
  }

  @Test
  void takeHandsOutTheArrayItself() {
    float[] data = {1, 2, 3};
    StateDict sd = new StateDict(Map.of("v", new TensorData(new int[] {3}, data)), "S");
    assertSame(data, sd.take("v", 3));
  }

  @Test
  void requireAllUsedListsTheRest() {
    StateDict sd = dict();
    sd.take("fc.weight", 1000, 512);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sd.requireAllUsed(List.of()));
    assertEquals("FILE has 3 tensors the model does not use: bn.num_batches_tracked, fc.bias,"
        + " module.conv1.weight", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> sd.requireAllUsed(List.of("num_batches_tracked", "fc.bias")));
    assertEquals("FILE has 1 tensor the model does not use: module.conv1.weight",
        e.getMessage());
    sd.requireAllUsed(List.of("num_batches_tracked", "fc.bias", "module.conv1.weight"));
    // A suffix matches whole components only.
    assertThrows(IllegalArgumentException.class,
        () -> sd.requireAllUsed(List.of("batches_tracked", "fc.bias", "module.conv1.weight")));
  }

  @Test
  void requireAllUsedCountsPastTen() {
    Map<String, TensorData> m = new TreeMap<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 13; i++) {
      String n = String.format("t%02d", i);
      names.add(n);
      m.put(n, new TensorData(new int[] {}, new float[1]));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new StateDict(m, "F").requireAllUsed(List.of()));
    assertEquals("F has 13 tensors the model does not use: "
        + String.join(", ", names.subList(0, 10)) + ", and 3 more", e.getMessage());
  }
}
