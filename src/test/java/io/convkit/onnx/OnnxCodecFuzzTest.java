package io.convkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.testing.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutations of valid model files (bit flips, truncations, overwritten varints and length
 * fields, inserted, deleted and duplicated bytes): each read must return a model, which then
 * writes and reads back identically, or throw an {@link OnnxFormatException} with a one-line
 * message. The rounds run in a child JVM with a 32 MiB heap, so that an allocation the bytes
 * cannot back shows as an OutOfMemoryError, and a hang as a child that does not finish.
 */
class OnnxCodecFuzzTest {
  private static final long SEED = 0x0c0dec_2026L;
  private static final int ROUNDS = 60000;

  @TempDir
  Path tmp;

  @Test
  void mutatedModelsReadOrFailCleanlyUnderASmallHeap() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of("-Xmx32m"), Child.class, tmp.toString(),
        Long.toString(SEED), Integer.toString(ROUNDS));
    assertEquals(0, r.exit(), r::toString);
    Matcher m = Pattern.compile("rounds (\\d+) read (\\d+) refused (\\d+)").matcher(r.out());
    assertTrue(m.find(), r::toString);
    int read = Integer.parseInt(m.group(2));
    int refused = Integer.parseInt(m.group(3));
    assertEquals(ROUNDS, Integer.parseInt(m.group(1)));
    assertEquals(ROUNDS, read + refused);
    // both outcomes must occur, or the mutations are not reaching the structure
    assertTrue(read > ROUNDS / 100 && refused > ROUNDS / 100, r::toString);
  }

  /** The model the codec writes: a few nodes of each attribute kind, a few initializers. */
  static byte[] written() {
    float[] w = new float[4 * 2 * 3 * 3];
    for (int i = 0; i < w.length; i++) {
      w[i] = i - 30.5f;
    }
    OnnxGraph g = new OnnxGraph("fuzz",
        List.of(
            new OnnxNode("conv", "Conv", "", List.of("x", "w", "b"), List.of("c"), List.of(
                new OnnxAttribute.Ints("pads", new long[] {1, 1, 1, 1}),
                new OnnxAttribute.Ints("strides", new long[] {2, 2}),
                new OnnxAttribute.Int("group", 1),
                new OnnxAttribute.Str("auto_pad", "NOTSET"))),
            new OnnxNode("act", "HardSigmoid", "", List.of("c"), List.of("h"), List.of(
                new OnnxAttribute.Float("alpha", 0.2f), new OnnxAttribute.Float("beta", 0.5f))),
            new OnnxNode("shape", "Constant", "", List.of(), List.of("s"), List.of(
                new OnnxAttribute.Tensor("value", OnnxTensor.ofLongs("", new long[] {2},
                    new long[] {1, -1})))),
            new OnnxNode("flat", "Reshape", "", List.of("h", "s"), List.of("f"), List.of()),
            new OnnxNode("fc", "Gemm", "", List.of("f", "fc.w", ""), List.of("y"), List.of(
                new OnnxAttribute.Int("transB", 1),
                new OnnxAttribute.Floats("scales", new float[] {1, 2}),
                new OnnxAttribute.Strings("tags", List.of("a", "bc")),
                new OnnxAttribute.Unsupported("body", 5)))),
        List.of(OnnxTensor.ofFloats("w", new long[] {4, 2, 3, 3}, w),
            OnnxTensor.ofFloats("b", new long[] {4}, new float[] {1, 2, 3, 4}),
            OnnxTensor.ofFloats("fc.w", new long[] {3, 16}, Arrays.copyOf(w, 48)),
            new OnnxTensor("mask", OnnxTensor.UINT8, new long[] {5}, new byte[] {1, 2, 3, 4, 5})),
        List.of(new OnnxGraph.ValueInfo("x", 1, new long[] {-1, 2, 8, 8})),
        List.of(new OnnxGraph.ValueInfo("y", 1, new long[] {-1, 3})));
    return OnnxCodec.toBytes(new OnnxModel(8, List.of(new OnnxModel.OpsetId("", 17)),
        "convkit", g));
  }

  /**
   * A model as other writers make them: typed data fields packed and not, external data (in
   * w.bin), a symbolic dimension, value_info, unknown fields and a group.
   */
  static byte[] handMade() {
    ProtoBytes ext = new ProtoBytes().varint(1, 2).varint(1, 3).varint(2, 1).str(8, "e")
        .msg(13, new ProtoBytes().str(1, "location").str(2, "w.bin"))
        .msg(13, new ProtoBytes().str(1, "offset").str(2, "8"))
        .msg(13, new ProtoBytes().str(1, "length").str(2, "24"))
        .varint(14, 1);
    ProtoBytes graph = new ProtoBytes()
        .msg(1, new ProtoBytes().str(1, "x").str(1, "k").str(2, "y").str(3, "conv")
            .str(4, "Conv")
            .msg(5, new ProtoBytes().str(1, "pads").varint(20, 7).packedVarints(8, 0, 0, 1, 1))
            .msg(5, new ProtoBytes().str(1, "dilations").varint(20, 7).varint(8, 1).varint(8, 1))
            .msg(5, new ProtoBytes().str(1, "alpha").fixed32(2, 0.1f).varint(20, 1))
            .msg(5, new ProtoBytes().str(1, "f").packedFloats(7, 1, 2).varint(20, 6)))
        .str(2, "hand")
        .msg(5, new ProtoBytes().packedVarints(1, 2, 1, 3, 3).varint(2, 1).str(8, "k")
            .packedFloats(4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18))
        .msg(5, new ProtoBytes().varint(1, 2).varint(2, 1).str(8, "b").fixed32(4, 1)
            .fixed32(4, 2))
        .msg(5, new ProtoBytes().varint(1, 3).varint(2, 7).str(8, "shape")
            .packedVarints(7, 1, -1, 1L << 40))
        .msg(5, new ProtoBytes().varint(1, 3).varint(2, 3).str(8, "i8")
            .packedVarints(5, -1, 0, 1))
        .msg(5, ext)
        .msg(11, new ProtoBytes().str(1, "x").msg(2, new ProtoBytes().msg(1, new ProtoBytes()
            .varint(1, 1).msg(2, new ProtoBytes().msg(1, new ProtoBytes().str(2, "N"))
                .msg(1, new ProtoBytes().varint(1, 1)).msg(1, new ProtoBytes().varint(1, 5))
                .msg(1, new ProtoBytes().varint(1, 5))))))
        .msg(12, new ProtoBytes().str(1, "y"))
        .msg(13, new ProtoBytes().str(1, "mid"))
        .varint(99, 3).tag(98, 3).fixed32(1, 2).tag(98, 4);
    return new ProtoBytes().varint(1, 8).str(2, "hand").msg(7, graph)
        .msg(8, new ProtoBytes().varint(2, 13)).msg(8, new ProtoBytes().str(1, "ai.onnx.ml")
            .varint(2, 3))
        .str(20, "unknown").build();
  }

  /** The child: prints "rounds R read N refused M", or a failure and exits non-zero. */
  public static final class Child {
    public static void main(String[] args) throws IOException {
      Path dir = Path.of(args[0]);
      Random rnd = new Random(Long.parseLong(args[1]));
      int rounds = Integer.parseInt(args[2]);
      byte[] data = new byte[8 + 24 + 8];
      for (int i = 0; i < data.length; i++) {
        data[i] = (byte) (i * 7);
      }
      Files.write(dir.resolve("w.bin"), data);
      byte[][] bases = {written(), handMade()};
      for (byte[] b : bases) {
        OnnxCodec.read(b, dir); // the bases themselves are valid
      }
      int read = 0;
      int refused = 0;
      for (int round = 0; round < rounds; round++) {
        byte[] bytes = bases[round % 2];
        int mutations = 1 + rnd.nextInt(3);
        String how = "";
        for (int k = 0; k < mutations; k++) {
          int kind = rnd.nextInt(7);
          how += kind;
          bytes = mutate(bytes, kind, rnd);
        }
        try {
          OnnxModel m = OnnxCodec.read(bytes, dir);
          // what was read writes and reads back the same
          String first = OnnxCodecTest.describe(m);
          String again = OnnxCodecTest.describe(OnnxCodec.read(OnnxCodec.toBytes(m), null));
          if (!first.equals(again)) {
            fail(round, how, bytes, new AssertionError("round trip differs:\n" + first
                + "\n---\n" + again));
          }
          read++;
        } catch (OnnxFormatException e) {
          String msg = e.getMessage();
          if (msg == null || msg.isBlank() || msg.indexOf('\n') >= 0 || msg.indexOf('\r') >= 0
              || !msg.contains(" (at byte ")) {
            fail(round, how, bytes, e);
          }
          refused++;
        } catch (Throwable t) {
          fail(round, how, bytes, t);
        }
      }
      System.out.println("rounds " + rounds + " read " + read + " refused " + refused);
    }

    private static void fail(int round, String how, byte[] bytes, Throwable t) {
      System.err.println("round " + round + " mutations " + how + " bytes "
          + java.util.HexFormat.of().formatHex(bytes));
      t.printStackTrace();
      System.exit(3);
    }

    private static byte[] mutate(byte[] b, int kind, Random rnd) {
      if (b.length == 0) {
        return new byte[] {(byte) rnd.nextInt(256)};
      }
      int at = rnd.nextInt(b.length);
      switch (kind) {
        case 0 -> { // a bit flip
          byte[] c = b.clone();
          c[at] ^= (byte) (1 << rnd.nextInt(8));
          return c;
        }
        case 1 -> { // a truncation
          return Arrays.copyOf(b, at);
        }
        case 2 -> { // a varint after a length-delimited tag, or anywhere, overwritten
          if (rnd.nextBoolean()) {
            while (at < b.length - 1 && (b[at] & 7) != 2) {
              at++;
            }
            at++;
          }
          return overwrite(b, Math.min(at, b.length - 1), interesting(rnd));
        }
        case 3 -> { // inserted bytes
          byte[] ins = new byte[1 + rnd.nextInt(8)];
          rnd.nextBytes(ins);
          byte[] c = new byte[b.length + ins.length];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(ins, 0, c, at, ins.length);
          System.arraycopy(b, at, c, at + ins.length, b.length - at);
          return c;
        }
        case 4 -> { // a deleted range
          int len = Math.min(b.length - at, 1 + rnd.nextInt(16));
          byte[] c = new byte[b.length - len];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + len, c, at, b.length - at - len);
          return c;
        }
        case 5 -> { // a byte set to a value lengths and tags are made of
          int[] v = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x02, 0x03, 0x04, 0x05, 0x07, 0x0a};
          byte[] c = b.clone();
          c[at] = (byte) v[rnd.nextInt(v.length)];
          return c;
        }
        default -> { // a region copied elsewhere (repeated and nested fields)
          int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
          int to = rnd.nextInt(b.length + 1);
          byte[] c = new byte[b.length + len];
          System.arraycopy(b, 0, c, 0, to);
          System.arraycopy(b, at, c, to, len);
          System.arraycopy(b, to, c, to + len, b.length - to);
          return c;
        }
      }
    }

    private static long interesting(Random rnd) {
      long[] v = {0, 1, 127, 128, 255, 1L << 31, (1L << 31) - 1, 1L << 32, -1, Long.MIN_VALUE,
          Long.MAX_VALUE, 1L << 40, 24, 48};
      return rnd.nextBoolean() ? v[rnd.nextInt(v.length)] : rnd.nextInt(1 << rnd.nextInt(31));
    }

    /** Writes {@code v} as a varint over the one at {@code at} (or over whatever is there). */
    private static byte[] overwrite(byte[] b, int at, long v) {
      int end = at;
      while (end < b.length && (b[end] & 0x80) != 0) {
        end++;
      }
      end = Math.min(end + 1, b.length);
      ProtoBytes p = new ProtoBytes().rawVarint(v);
      byte[] enc = p.build();
      byte[] c = new byte[b.length - (end - at) + enc.length];
      System.arraycopy(b, 0, c, 0, at);
      System.arraycopy(enc, 0, c, at, enc.length);
      System.arraycopy(b, end, c, at + enc.length, b.length - end);
      return c;
    }
  }
}
