package io.convkit.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxCodecTest {
  @TempDir
  Path tmp;

  // ---------------------------------------------------------------- helpers

  /** Everything a model holds, as text: records with arrays do not compare by content. */
  static String describe(OnnxModel m) {
    StringBuilder b = new StringBuilder();
    b.append("ir ").append(m.irVersion()).append(" producer '").append(m.producerName())
        .append("'\n");
    for (OnnxModel.OpsetId o : m.opsets()) {
      b.append("opset '").append(o.domain()).append("' ").append(o.version()).append('\n');
    }
    OnnxGraph g = m.graph();
    b.append("graph '").append(g.name()).append("'\n");
    for (OnnxNode n : g.nodes()) {
      b.append("node '").append(n.name()).append("' ").append(n.opType()).append(" domain '")
          .append(n.domain()).append("' in ").append(n.inputs()).append(" out ")
          .append(n.outputs()).append('\n');
      for (OnnxAttribute a : n.attributes()) {
        b.append("  attr ").append(describe(a)).append('\n');
      }
    }
    for (OnnxTensor t : g.initializers()) {
      b.append("init ").append(describe(t)).append('\n');
    }
    for (OnnxGraph.ValueInfo v : g.inputs()) {
      b.append("input '").append(v.name()).append("' ").append(v.elemType()).append(' ')
          .append(Arrays.toString(v.dims())).append('\n');
    }
    for (OnnxGraph.ValueInfo v : g.outputs()) {
      b.append("output '").append(v.name()).append("' ").append(v.elemType()).append(' ')
          .append(Arrays.toString(v.dims())).append('\n');
    }
    return b.toString();
  }

  static String describe(OnnxAttribute a) {
    String v;
    if (a instanceof OnnxAttribute.Float f) {
      v = "float bits " + Integer.toHexString(Float.floatToRawIntBits(f.value()));
    } else if (a instanceof OnnxAttribute.Int i) {
      v = "int " + i.value();
    } else if (a instanceof OnnxAttribute.Str s) {
      v = "str '" + s.value() + "'";
    } else if (a instanceof OnnxAttribute.Tensor t) {
      v = "tensor " + describe(t.value());
    } else if (a instanceof OnnxAttribute.Floats fs) {
      StringBuilder bits = new StringBuilder();
      for (float x : fs.values()) {
        bits.append(Integer.toHexString(Float.floatToRawIntBits(x))).append(' ');
      }
      v = "floats bits " + bits;
    } else if (a instanceof OnnxAttribute.Ints is) {
      v = "ints " + Arrays.toString(is.values());
    } else if (a instanceof OnnxAttribute.Strings ss) {
      v = "strings " + ss.values();
    } else {
      v = "unsupported " + ((OnnxAttribute.Unsupported) a).type();
    }
    return "'" + a.name() + "' " + v;
  }

  static String describe(OnnxTensor t) {
    return "'" + t.name() + "' type " + t.dataType() + " dims " + Arrays.toString(t.dims())
        + " data " + HexFormat.of().formatHex(t.data());
  }

  static OnnxModel read(ProtoBytes p) throws IOException {
    return OnnxCodec.read(p.build(), null);
  }

  static OnnxFormatException fails(byte[] bytes) {
    return assertThrows(OnnxFormatException.class, () -> OnnxCodec.read(bytes, null));
  }

  static OnnxFormatException fails(ProtoBytes p) {
    return fails(p.build());
  }

  static byte[] le(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return b.array();
  }

  static float[] ramp(int n) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = i * 0.25f - 3;
    }
    return f;
  }

  /** A graph holding one initializer. */
  static ProtoBytes oneInit(ProtoBytes tensor) {
    return ProtoBytes.model(new ProtoBytes().msg(5, tensor));
  }

  static OnnxGraph.ValueInfo vi(String name, int type, long... dims) {
    return new OnnxGraph.ValueInfo(name, type, dims);
  }

  static OnnxNode node(String name, String op, List<String> in, List<String> out,
      OnnxAttribute... attrs) {
    return new OnnxNode(name, op, "", in, out, List.of(attrs));
  }

  // ---------------------------------------------------------------- round trips

  /** Every record kind and attribute kind, and every element type the codec sizes. */
  static OnnxModel everything() {
    List<OnnxNode> nodes = new ArrayList<>();
    nodes.add(node("conv1", "Conv", List.of("x", "w", "b"), List.of("c"),
        new OnnxAttribute.Ints("kernel_shape", new long[] {3, 3}),
        new OnnxAttribute.Ints("pads", new long[] {1, 1, 1, 1}),
        new OnnxAttribute.Int("group", 1),
        new OnnxAttribute.Ints("extremes", new long[] {-1, Long.MIN_VALUE, Long.MAX_VALUE})));
    nodes.add(node("", "Clip", List.of("c", "", "max"), List.of("d")));
    nodes.add(new OnnxNode("f", "Fancy", "com.example", List.of("d"), List.of("e", "e2"),
        List.of(new OnnxAttribute.Float("alpha", 0.2f),
            new OnnxAttribute.Float("nan", Float.intBitsToFloat(0x7fc00123)),
            new OnnxAttribute.Float("negzero", -0f),
            new OnnxAttribute.Int("neg", -7),
            new OnnxAttribute.Str("mode", "h\u00e9llo \u2713"),
            new OnnxAttribute.Str("empty", ""),
            new OnnxAttribute.Tensor("value", OnnxTensor.ofLongs("v", new long[] {2},
                new long[] {-3, 1L << 40})),
            new OnnxAttribute.Floats("scales", new float[] {1, 2.5f, -0f}),
            new OnnxAttribute.Floats("nofloats", new float[0]),
            new OnnxAttribute.Ints("noints", new long[0]),
            new OnnxAttribute.Strings("names", List.of("a", "", "\u00fc")),
            new OnnxAttribute.Strings("nostrings", List.of()),
            new OnnxAttribute.Unsupported("body", 5),
            new OnnxAttribute.Unsupported("tensors", 9),
            new OnnxAttribute.Unsupported("bodies", 10),
            new OnnxAttribute.Unsupported("sparse", 11),
            new OnnxAttribute.Unsupported("typeproto", 13))));
    List<OnnxTensor> inits = new ArrayList<>();
    inits.add(OnnxTensor.ofFloats("w", new long[] {4, 3, 3, 3}, ramp(108)));
    inits.add(OnnxTensor.ofFloats("big", new long[] {2048}, ramp(2048))); // by reference
    inits.add(OnnxTensor.ofLongs("b", new long[] {4}, new long[] {1, -2, 3, Long.MIN_VALUE}));
    inits.add(new OnnxTensor("u8", OnnxTensor.UINT8, new long[] {3}, new byte[] {0, 7, -1}));
    inits.add(new OnnxTensor("i8", OnnxTensor.INT8, new long[] {3}, new byte[] {-128, 0, 127}));
    inits.add(new OnnxTensor("flag", OnnxTensor.BOOL, new long[] {2}, new byte[] {1, 0}));
    inits.add(new OnnxTensor("h", OnnxTensor.FLOAT16, new long[] {2},
        new byte[] {0, 0x3c, 0, (byte) 0xc0}));
    inits.add(new OnnxTensor("dd", OnnxTensor.DOUBLE, new long[] {1, 2}, new byte[16]));
    inits.add(new OnnxTensor("i32", OnnxTensor.INT32, new long[] {1},
        new byte[] {-1, -1, -1, -1}));
    inits.add(new OnnxTensor("u16", 4, new long[] {1}, new byte[] {1, 2}));
    inits.add(new OnnxTensor("u64", 13, new long[] {1}, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
    inits.add(new OnnxTensor("c64", 14, new long[] {1}, new byte[8]));
    inits.add(new OnnxTensor("bf16", 16, new long[] {1}, new byte[] {(byte) 0x80, 0x3f}));
    inits.add(OnnxTensor.ofFloats("scalar", new long[0], new float[] {42}));
    inits.add(OnnxTensor.ofFloats("none", new long[] {0, 3}, new float[0]));
    inits.add(new OnnxTensor("text", 8, new long[] {2}, new byte[0]));
    inits.add(new OnnxTensor("float8", 17, new long[] {3}, new byte[] {9, 8, 7}));
    inits.add(new OnnxTensor("", OnnxTensor.FLOAT, new long[] {1}, le(1)));
    OnnxGraph g = new OnnxGraph("g", nodes, inits,
        List.of(vi("x", OnnxTensor.FLOAT, -1, 3, 224, 224), vi("max", OnnxTensor.FLOAT)),
        List.of(vi("e", OnnxTensor.FLOAT, -1, 4, -1, -1), vi("e2", 0)));
    return new OnnxModel(8, List.of(new OnnxModel.OpsetId("", 17),
        new OnnxModel.OpsetId("com.example", 2)), "convkit", g);
  }

  @Test
  void everyRecordAndAttributeKindRoundTrips() throws IOException {
    OnnxModel m = everything();
    byte[] bytes = OnnxCodec.toBytes(m);
    OnnxModel back = OnnxCodec.read(bytes, null);
    assertEquals(describe(m), describe(back));
    // the second write is byte for byte the first: nothing drifts through a read
    assertArrayEquals(bytes, OnnxCodec.toBytes(back));
    Path f = tmp.resolve("m.onnx");
    OnnxCodec.write(m, f);
    assertArrayEquals(bytes, Files.readAllBytes(f));
    assertEquals(describe(m), describe(OnnxCodec.read(f)));
  }

  @Test
  void writesTheWireFormatOnnxProtoDeclares() {
    OnnxModel m = new OnnxModel(8, List.of(new OnnxModel.OpsetId("", 17)), "ck",
        new OnnxGraph("g",
            List.of(node("n", "Relu", List.of("x"), List.of("y"),
                new OnnxAttribute.Int("k", 3), new OnnxAttribute.Floats("s", new float[] {2}))),
            List.of(OnnxTensor.ofFloats("w", new long[] {1}, new float[] {1})),
            List.of(vi("x", 1, -1, 2)), List.of(vi("y", 1, 1))));
    ProtoBytes node = new ProtoBytes().str(1, "x").str(2, "y").str(3, "n").str(4, "Relu")
        .msg(5, new ProtoBytes().str(1, "k").varint(3, 3).varint(20, 2))
        .msg(5, new ProtoBytes().str(1, "s").fixed32(7, 2).varint(20, 6));
    ProtoBytes tensor = new ProtoBytes().varint(1, 1).varint(2, 1).str(8, "w")
        .bytes(9, le(1));
    ProtoBytes x = new ProtoBytes().str(1, "x").msg(2, new ProtoBytes().msg(1,
        new ProtoBytes().varint(1, 1).msg(2, new ProtoBytes().msg(1, new ProtoBytes())
            .msg(1, new ProtoBytes().varint(1, 2)))));
    ProtoBytes y = new ProtoBytes().str(1, "y").msg(2, new ProtoBytes().msg(1,
        new ProtoBytes().varint(1, 1).msg(2, new ProtoBytes().msg(1,
            new ProtoBytes().varint(1, 1)))));
    ProtoBytes graph = new ProtoBytes().msg(1, node).str(2, "g").msg(5, tensor).msg(11, x)
        .msg(12, y);
    ProtoBytes model = new ProtoBytes().varint(1, 8).str(2, "ck").msg(7, graph)
        .msg(8, new ProtoBytes().varint(2, 17));
    assertEquals(HexFormat.of().formatHex(model.build()),
        HexFormat.of().formatHex(OnnxCodec.toBytes(m)));
  }

  @Test
  void writerRefusesRecordsItCannotWriteFaithfully() {
    OnnxGraph.ValueInfo x = vi("x", 1, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        OnnxCodec.toBytes(new OnnxModel(8, List.of(), "", new OnnxGraph("", List.of(),
            List.of(new OnnxTensor("w", OnnxTensor.FLOAT, new long[] {2}, new byte[4])),
            List.of(x), List.of(x)))));
    assertEquals("tensor 'w' has 4 bytes, but dims [2] of FLOAT need 8", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () ->
        OnnxCodec.toBytes(new OnnxModel(8, List.of(), "", new OnnxGraph("",
            List.of(node("n", "Relu", List.of("x"), List.of("x"),
                new OnnxAttribute.Unsupported("a", 1))), List.of(), List.of(x), List.of(x)))));
    assertEquals("Relu node 'n' attribute 'a' is Unsupported with type 1, a type that has its"
        + " own record", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () ->
        OnnxCodec.toBytes(new OnnxModel(8, List.of(), "", new OnnxGraph("", List.of(),
            List.of(), List.of(vi("x", 1, -2)), List.of()))));
    assertEquals("value 'x' has dim -2 (-1 is the only unknown)", e.getMessage());
  }

  // ---------------------------------------------------------------- hand-made bytes

  @Test
  void readsPackedAndUnpackedRepeatedFields() throws IOException {
    ProtoBytes g = new ProtoBytes()
        // float_data in three runs: packed, one unpacked, packed again
        .msg(5, new ProtoBytes().packedVarints(1, 2, 2).varint(2, 1).str(8, "a")
            .packedFloats(4, 1, 2).fixed32(4, 3).packedFloats(4, 4))
        .msg(5, new ProtoBytes().varint(1, 3).varint(2, 7).str(8, "b")
            .varint(7, -5).packedVarints(7, 6, Long.MAX_VALUE))
        .msg(5, new ProtoBytes().varint(1, 3).varint(2, 3).str(8, "c")
            .packedVarints(5, -128, 0, 127))
        .msg(5, new ProtoBytes().varint(1, 2).varint(2, 2).str(8, "d")
            .varint(5, 0).varint(5, 255))
        .msg(5, new ProtoBytes().varint(1, 2).varint(2, 9).str(8, "e").packedVarints(5, 1, 0))
        .msg(5, new ProtoBytes().varint(1, 1).varint(2, 10).str(8, "f").varint(5, 0x3c00))
        .msg(5, new ProtoBytes().varint(1, 2).varint(2, 6).str(8, "g")
            .packedVarints(5, -1, Integer.MAX_VALUE))
        .msg(5, new ProtoBytes().varint(1, 2).varint(2, 11).str(8, "h")
            .packedDoubles(10, 1.5).fixed64(10, -2.25))
        .msg(5, new ProtoBytes().varint(1, 1).varint(2, 12).str(8, "i")
            .varint(11, 0xffffffffL))
        .msg(5, new ProtoBytes().varint(1, 1).varint(2, 13).str(8, "j").varint(11, -1))
        .msg(1, new ProtoBytes().str(4, "Op")
            .msg(5, new ProtoBytes().str(1, "ints").varint(20, 7).packedVarints(8, 1, 2)
                .varint(8, 3))
            .msg(5, new ProtoBytes().str(1, "floats").varint(20, 6).fixed32(7, 0.5f)
                .packedFloats(7, 1.5f, 2.5f))
            .msg(5, new ProtoBytes().str(1, "strings").varint(20, 8).str(9, "a").str(9, "b"))
            // IR version 1 had no type field: the value field says what it is
            .msg(5, new ProtoBytes().str(1, "old_i").varint(3, 7))
            .msg(5, new ProtoBytes().str(1, "old_fs").packedFloats(7, 4))
            .msg(5, new ProtoBytes().str(1, "old_t").msg(5, new ProtoBytes().varint(2, 1)
                .fixed32(4, 9))));
    OnnxModel m = read(ProtoBytes.model(g));
    List<OnnxTensor> t = m.graph().initializers();
    assertArrayEquals(new float[] {1, 2, 3, 4}, t.get(0).floats());
    assertArrayEquals(new long[] {2, 2}, t.get(0).dims());
    assertArrayEquals(new long[] {-5, 6, Long.MAX_VALUE}, t.get(1).longs());
    assertArrayEquals(new byte[] {-128, 0, 127}, t.get(2).data());
    assertArrayEquals(new byte[] {0, -1}, t.get(3).data());
    assertArrayEquals(new byte[] {1, 0}, t.get(4).data());
    assertArrayEquals(new byte[] {0, 0x3c}, t.get(5).data());
    assertArrayEquals(new long[] {-1, Integer.MAX_VALUE}, t.get(6).longs());
    assertArrayEquals(new float[] {1.5f, -2.25f}, t.get(7).floats());
    assertArrayEquals(new byte[] {-1, -1, -1, -1}, t.get(8).data());
    assertArrayEquals(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1}, t.get(9).data());
    OnnxNode n = m.graph().nodes().get(0);
    assertEquals("'ints' ints [1, 2, 3]", describe(n.attribute("ints")));
    assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f},
        ((OnnxAttribute.Floats) n.attribute("floats")).values());
    assertEquals("'strings' strings [a, b]", describe(n.attribute("strings")));
    assertEquals("'old_i' int 7", describe(n.attribute("old_i")));
    assertArrayEquals(new float[] {4}, ((OnnxAttribute.Floats) n.attribute("old_fs")).values());
    assertArrayEquals(new float[] {9},
        ((OnnxAttribute.Tensor) n.attribute("old_t")).value().floats());
  }

  /** An unknown field of each wire type, a group holding a group among them. */
  static ProtoBytes unknowns(ProtoBytes p) {
    return p.varint(99, 5).fixed64(98, 1.0).str(97, "?").fixed32(96, 1f)
        .tag(95, 3).varint(1, 1).tag(94, 3).str(2, "x").tag(94, 4).tag(95, 4);
  }

  @Test
  void skipsUnknownFieldsOfEveryWireTypeAtEveryLevel() throws IOException {
    ProtoBytes dim = unknowns(new ProtoBytes().str(2, "N"));
    ProtoBytes shape = unknowns(new ProtoBytes().msg(1, dim).msg(1, new ProtoBytes())
        .msg(1, new ProtoBytes().varint(1, 5)));
    ProtoBytes type = unknowns(new ProtoBytes().msg(1,
        unknowns(new ProtoBytes().varint(1, 1).msg(2, shape))));
    ProtoBytes input = unknowns(new ProtoBytes().str(1, "x").msg(2, type));
    ProtoBytes tensor = unknowns(new ProtoBytes().varint(1, 1).varint(2, 1).str(8, "w")
        .bytes(9, le(5)));
    ProtoBytes attr = unknowns(new ProtoBytes().str(1, "k").varint(3, 4).varint(20, 2));
    ProtoBytes node = unknowns(new ProtoBytes().str(1, "x").str(2, "y").str(4, "Relu")
        .msg(5, attr));
    ProtoBytes graph = unknowns(new ProtoBytes().msg(1, node).msg(5, tensor).msg(11, input)
        .msg(12, new ProtoBytes().str(1, "y"))
        .msg(13, new ProtoBytes().str(1, "value_info is skipped"))
        .msg(15, new ProtoBytes().str(1, "sparse_initializer is skipped")));
    ProtoBytes model = unknowns(new ProtoBytes().varint(1, 7).msg(7, graph)
        .msg(8, unknowns(new ProtoBytes().str(1, "ai.onnx").varint(2, 13))));
    OnnxModel m = read(model);
    assertEquals("ir 7 producer ''\n"
        + "opset 'ai.onnx' 13\n"
        + "graph ''\n"
        + "node '' Relu domain '' in [x] out [y]\n"
        + "  attr 'k' int 4\n"
        + "init 'w' type 1 dims [1] data 0000a040\n"
        + "input 'x' 1 [-1, -1, 5]\n"
        + "output 'y' 0 []\n", describe(m));
    assertEquals(13, m.defaultOpset());
  }

  // ---------------------------------------------------------------- hostile files

  @Test
  void truncatedFile() {
    byte[] valid = ProtoBytes.model(new ProtoBytes().msg(1, new ProtoBytes().str(1, "x")
        .str(2, "y").str(4, "Relu"))).build();
    assertEquals(22, valid.length);
    assertEquals("graph: length 14 runs past the end of its message (6 bytes left) (at byte 3)",
        fails(Arrays.copyOf(valid, 10)).getMessage());
    assertEquals("opset_import[0]: length 2 runs past the end of its message (1 bytes left)"
        + " (at byte 19)", fails(Arrays.copyOf(valid, 21)).getMessage());
    // cut inside a varint, and inside a float whose lengths still agree
    assertEquals("model: truncated varint (at byte 1)", fails(new byte[] {8, (byte) 0x80})
        .getMessage());
    ProtoBytes attr = new ProtoBytes().str(1, "alpha").tag(2, 5).raw(0, 0);
    assertEquals("graph.node[0].attribute[0] 'alpha': truncated: 4 bytes needed, 2 left"
        + " (at byte 16)", fails(ProtoBytes.model(new ProtoBytes().msg(1,
            new ProtoBytes().msg(5, attr)))).getMessage());
  }

  @Test
  void lengthPastTheEnd() {
    ProtoBytes t = new ProtoBytes().varint(1, 1).varint(2, 1).str(8, "w").tag(9, 2)
        .rawVarint(1000).raw(le(1));
    byte[] bytes = oneInit(t).build();
    int at = ProtoBytes.indexOf(bytes, 0xe8, 0x07);
    assertEquals("graph.initializer[0] 'w': length 1000 runs past the end of its message"
        + " (4 bytes left) (at byte " + at + ")", fails(bytes).getMessage());
  }

  @Test
  void negativeLength() {
    ProtoBytes t = new ProtoBytes().str(8, "w").tag(9, 2).rawVarint(-1);
    assertEquals("graph.initializer[0] 'w': negative length -1 (at byte 10)",
        fails(oneInit(t)).getMessage());
  }

  @Test
  void varintsLongerThanTenBytesOrPast64Bits() {
    byte[] eleven = new byte[12];
    Arrays.fill(eleven, (byte) 0xff);
    eleven[0] = 8;
    eleven[11] = 1;
    assertEquals("model: varint longer than 10 bytes (at byte 1)", fails(eleven).getMessage());
    byte[] wide = new byte[11];
    Arrays.fill(wide, (byte) 0xff);
    wide[0] = 8;
    wide[10] = 2;
    assertEquals("model: varint overflows 64 bits (at byte 1)", fails(wide).getMessage());
  }

  @Test
  void wrongWireTypeForAKnownField() {
    assertEquals("model: field graph (7) has wire type 0, expected 2 (at byte 2)",
        fails(new ProtoBytes().varint(1, 8).varint(7, 5)).getMessage());
    assertEquals("graph.initializer[0]: field dims (1) has wire type 5, expected 0 or packed 2"
        + " (at byte 6)", fails(oneInit(new ProtoBytes().fixed32(1, 1))).getMessage());
    assertEquals("graph.node[0].attribute[0] 'a': field f (2) has wire type 0, expected 5"
        + " (at byte 11)", fails(ProtoBytes.model(new ProtoBytes().msg(1, new ProtoBytes()
            .msg(5, new ProtoBytes().str(1, "a").varint(2, 1))))).getMessage());
  }

  @Test
  void corruptTags() {
    assertEquals("model: field number 0 (a corrupt tag) (at byte 2)",
        fails(new byte[] {8, 8, 0}).getMessage());
    assertEquals("model: invalid wire type 7 for field 5 (at byte 2)",
        fails(new byte[] {8, 8, 0x2f}).getMessage());
    assertEquals("model: end of group 5 without its start (at byte 3)",
        fails(new byte[] {8, 8, 0x2c}).getMessage());
    assertEquals("model: no graph (field 7) (at byte 0)",
        fails(new ProtoBytes().varint(1, 8)).getMessage());
    assertEquals("model: a second graph (field 7) (at byte 4)",
        fails(new ProtoBytes().varint(1, 8).msg(7, new ProtoBytes())
            .msg(7, new ProtoBytes())).getMessage());
  }

  static ProtoBytes groups(int depth) {
    ProtoBytes p = new ProtoBytes().varint(1, 8);
    for (int i = 0; i < depth; i++) {
      p.tag(100, 3);
    }
    for (int i = 0; i < depth; i++) {
      p.tag(100, 4);
    }
    return p.msg(7, new ProtoBytes());
  }

  @Test
  void absurdNesting() throws IOException {
    assertEquals("ir 8 producer ''\ngraph ''\n", describe(read(groups(64))));
    // each tag of field 100 is two bytes, after the two of ir_version
    assertEquals("model: groups nested deeper than 64 (at byte 130)",
        fails(groups(65)).getMessage());
    assertEquals("model: group 100 not closed before the end of its message (at byte 8)",
        fails(new ProtoBytes().varint(1, 8).tag(100, 3).tag(100, 3).tag(100, 4))
            .getMessage());
    // subgraphs (If, Loop) are kept as Unsupported without being read: deep ones cost nothing
    ProtoBytes g = new ProtoBytes();
    for (int i = 0; i < 1000; i++) {
      g = new ProtoBytes().msg(1, new ProtoBytes().str(4, "If").msg(5,
          new ProtoBytes().str(1, "then_branch").msg(6, g).varint(20, 5)));
    }
    OnnxModel m = read(ProtoBytes.model(g));
    assertEquals("'then_branch' unsupported 5",
        describe(m.graph().nodes().get(0).attribute("then_branch")));
  }

  @Test
  void aTensorOfTwoToTheFortyElements() {
    ProtoBytes t = new ProtoBytes().varint(1, 1L << 40).varint(2, 1).str(8, "big")
        .bytes(9, le(1));
    assertEquals("graph.initializer[0] 'big': dims [1099511627776] of FLOAT declare"
        + " 1099511627776 elements (4398046511104 bytes), more than the 2 GiB one tensor may"
        + " hold (at byte 4)", fails(oneInit(t)).getMessage());
    // int64 elements: the byte count itself overflows
    t = new ProtoBytes().varint(1, 1L << 61).varint(1, 2).varint(2, 7).str(8, "huge");
    assertEquals("graph.initializer[0] 'huge': dims [2305843009213693952, 2] of INT64 declare"
        + " 4611686018427387904 elements, more than the 2 GiB one tensor may hold (at byte 4)",
        fails(oneInit(t)).getMessage());
  }

  @Test
  void dimsWhoseProductOverflowsOrNegativeDims() {
    ProtoBytes t = new ProtoBytes().varint(1, 1L << 32).varint(1, 1L << 32).varint(2, 1)
        .str(8, "w");
    assertEquals("graph.initializer[0] 'w': dims [4294967296, 4294967296] overflow 64 bits"
        + " (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 2).varint(1, -1).varint(2, 1).str(8, "w");
    assertEquals("graph.initializer[0] 'w': dims[1] is negative (-1) (at byte 4)",
        fails(oneInit(t)).getMessage());
  }

  @Test
  void dimsThatDisagreeWithTheData() {
    ProtoBytes t = new ProtoBytes().packedVarints(1, 2, 3).varint(2, 1).str(8, "w")
        .bytes(9, new byte[20]);
    assertEquals("graph.initializer[0] 'w': raw_data has 20 bytes, but dims [2, 3] of FLOAT"
        + " need 24 (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().packedVarints(1, 2, 3).varint(2, 1).str(8, "w")
        .packedFloats(4, 1, 2, 3, 4, 5);
    assertEquals("graph.initializer[0] 'w': float_data has 5 values, but dims [2, 3] of FLOAT"
        + " need 6 (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 2).varint(2, 7).str(8, "w").packedVarints(7, 1, 2, 3);
    assertEquals("graph.initializer[0] 'w': int64_data has 3 values, but dims [2] of INT64"
        + " need 2 (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 2).varint(2, 1).str(8, "w");
    assertEquals("graph.initializer[0] 'w': no data, but dims [2] of FLOAT need 8 bytes"
        + " (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 1).varint(2, 1).str(8, "w").bytes(9, le(1))
        .fixed32(4, 1);
    assertEquals("graph.initializer[0] 'w': holds both raw_data and float_data (at byte 4)",
        fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 1).varint(2, 7).str(8, "w").fixed32(4, 1);
    assertEquals("graph.initializer[0] 'w': float_data cannot hold INT64 (at byte 4)",
        fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 1).varint(2, 2).str(8, "w").varint(5, 300);
    assertEquals("graph.initializer[0] 'w': int32_data[0] = 300 is out of range for UINT8"
        + " (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(2, 1).str(8, "w").bytes(9, le(1)).varint(14, 2);
    assertEquals("graph.initializer[0] 'w': data_location 2 is neither DEFAULT (0) nor"
        + " EXTERNAL (1) (at byte 4)", fails(oneInit(t)).getMessage());
    t = new ProtoBytes().varint(1, 1).varint(2, 8).str(8, "w").bytes(9, new byte[] {1});
    assertEquals("graph.initializer[0] 'w': raw_data cannot hold STRING (at byte 4)",
        fails(oneInit(t)).getMessage());
    t = new ProtoBytes().str(8, "w").bytes(9, le(1));
    assertEquals("graph.initializer[0] 'w': no data_type (or UNDEFINED) (at byte 4)",
        fails(oneInit(t)).getMessage());
  }

  @Test
  void theMessageNamesTheFieldPathAndTheOffset() {
    ProtoBytes g = new ProtoBytes();
    for (int i = 0; i < 3; i++) {
      g.msg(5, new ProtoBytes().varint(1, 1).varint(2, 1).str(8, "w" + i).bytes(9, le(i)));
    }
    int at = 4 + g.size();
    g.msg(5, new ProtoBytes().varint(1, 10).varint(1, 4).varint(2, 1).str(8, "fc.weight")
        .bytes(9, new byte[4]));
    OnnxFormatException e = fails(ProtoBytes.model(g));
    assertEquals("graph.initializer[3] 'fc.weight': raw_data has 4 bytes, but dims [10, 4] of"
        + " FLOAT need 160 (at byte " + at + ")", e.getMessage());
    assertEquals("graph.initializer[3] 'fc.weight'", e.fieldPath());
    assertEquals(at, e.offset());
    // a hostile name cannot break the one-line message
    e = fails(ProtoBytes.model(new ProtoBytes().msg(1, new ProtoBytes().str(3, "a\nb")
        .fixed32(1, 0))));
    assertEquals("graph.node[0] 'a?b': field input (1) has wire type 5, expected 2 (at byte 11)",
        e.getMessage());
  }

  @Test
  void attributeWhoseTypeDisagreesWithItsValue() {
    assertEquals("graph.node[0].attribute[0] 'a': attribute of type 2 holds field f (at byte 8)",
        fails(ProtoBytes.model(new ProtoBytes().msg(1, new ProtoBytes().msg(5,
            new ProtoBytes().str(1, "a").varint(20, 2).fixed32(2, 1))))).getMessage());
    assertEquals("graph.node[0].attribute[0] 'a': attribute of type TENSOR has no tensor"
        + " (field t) (at byte 8)", fails(ProtoBytes.model(new ProtoBytes().msg(1,
            new ProtoBytes().msg(5, new ProtoBytes().str(1, "a").varint(20, 4))))).getMessage());
  }

  @Test
  void manyTinyElementsRunIntoTheMemoryBudget() throws IOException {
    int nodes = 20000;
    ProtoBytes g = new ProtoBytes();
    for (int i = 0; i < nodes; i++) {
      g.msg(1, new ProtoBytes());
    }
    byte[] bytes = ProtoBytes.model(g).build();
    // graph content after ir_version (2), the graph tag (1) and a 3-byte length
    assertEquals(2 + 1 + 3 + 2 * nodes + 4, bytes.length);
    assertEquals(nodes, OnnxCodec.read(bytes, null).graph().nodes().size());
    long budget = ProtoReader.BUDGET_PER_BYTE * bytes.length;
    int failing = (int) (budget / 96); // each empty node is charged 96 bytes
    OnnxFormatException e = assertThrows(OnnxFormatException.class,
        () -> OnnxCodec.read(bytes, null, 0));
    assertEquals("graph.node[" + failing + "]: the decoded records would take more than "
        + budget + " bytes, the budget for a file of " + bytes.length
        + " (many tiny elements?) (at byte " + (6 + 2 * failing + 2) + ")", e.getMessage());
  }

  @Test
  void aFileOver2GiBIsRefusedBeforeItIsRead() throws IOException {
    Path f = tmp.resolve("huge.onnx");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(3L << 30); // sparse: no disk is used
    }
    OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxCodec.read(f));
    assertEquals("model: ONNX file " + f + " is 3221225472 bytes; files over 2 GiB are refused"
        + " (protobuf caps a message at 2 GiB; larger models keep their weights as external"
        + " data) (at byte 0)", e.getMessage());
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
        () -> OnnxCodec.read(tmp));
    assertEquals("ONNX file " + tmp + " is not a regular file", d.getMessage());
  }

  // ---------------------------------------------------------------- external data

  static ProtoBytes external(String name, String location, String offset, String length) {
    ProtoBytes t = new ProtoBytes().varint(1, 2).varint(1, 3).varint(2, 1).str(8, name)
        .msg(13, new ProtoBytes().str(1, "location").str(2, location));
    if (offset != null) {
      t.msg(13, new ProtoBytes().str(1, "offset").str(2, offset));
    }
    if (length != null) {
      t.msg(13, new ProtoBytes().str(1, "length").str(2, length));
    }
    return t.varint(14, 1);
  }

  /** Writes the model into {@code dir} and reads it from there. */
  static OnnxModel readIn(Path dir, ProtoBytes model) throws IOException {
    Files.createDirectories(dir);
    Path f = dir.resolve("model.onnx");
    Files.write(f, model.build());
    return OnnxCodec.read(f);
  }

  static OnnxFormatException failsIn(Path dir, ProtoBytes model) {
    return assertThrows(OnnxFormatException.class, () -> readIn(dir, model));
  }

  @Test
  void externalDataInsideTheModelsFolderIsRead() throws IOException {
    Path dir = tmp.resolve("m");
    Files.createDirectories(dir.resolve("sub"));
    byte[] data = new byte[16 + 24 + 8];
    System.arraycopy(le(1, 2, 3, 4, 5, 6), 0, data, 16, 24);
    Files.write(dir.resolve("sub/w.bin"), data);
    Files.write(dir.resolve("v.bin"), le(6, 5, 4, 3, 2, 1));
    OnnxModel m = readIn(dir, ProtoBytes.model(new ProtoBytes()
        .msg(5, external("w", "sub/w.bin", "16", "24"))
        .msg(5, external("v", "v.bin", null, null))));
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, m.graph().initializers().get(0).floats());
    assertArrayEquals(new long[] {2, 3}, m.graph().initializers().get(0).dims());
    assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, m.graph().initializers().get(1).floats());
    // a symlink that stays inside the folder is fine
    Files.createSymbolicLink(dir.resolve("link.bin"), dir.resolve("v.bin"));
    m = readIn(dir, oneInit(external("w", "link.bin", null, "24")));
    assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, m.graph().initializers().get(0).floats());
  }

  @Test
  void externalDataOutsideTheFolderOrTooShortIsRefused() throws IOException {
    Path dir = tmp.resolve("m");
    Path outside = tmp.resolve("outside");
    Files.createDirectories(dir);
    Files.createDirectories(outside);
    Files.write(outside.resolve("x"), le(1, 2, 3, 4, 5, 6));
    Files.write(dir.resolve("w.bin"), le(1, 2, 3, 4, 5, 6));
    Files.write(dir.resolve("short.bin"), new byte[20]);
    Files.createSymbolicLink(dir.resolve("link.bin"), outside.resolve("x"));
    String p = "graph.initializer[0] 'w': ";
    assertEquals(p + "external data location '../outside/x' leaves the model's folder (..)"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "../outside/x", null, null)))
            .getMessage());
    assertEquals(p + "external data location 'a\\..\\..\\x' leaves the model's folder (..)"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "a\\..\\..\\x", null, null)))
            .getMessage());
    String abs = outside.resolve("x").toString();
    assertEquals(p + "external data location '" + abs + "' is absolute; only a path inside the"
        + " model's folder is read (at byte 4)",
        failsIn(dir, oneInit(external("w", abs, null, null))).getMessage());
    assertEquals(p + "external data location 'link.bin' resolves outside the model's folder"
        + " (a symlink) (at byte 4)",
        failsIn(dir, oneInit(external("w", "link.bin", null, null))).getMessage());
    assertEquals(p + "external data file 'short.bin' has 20 bytes, too few for 24 from offset 0"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "short.bin", null, null)))
            .getMessage());
    assertEquals(p + "external data file 'w.bin' has 24 bytes, too few for 24 from offset 8"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "w.bin", "8", null)))
            .getMessage());
    assertEquals(p + "external data 'w.bin' has length 8, but the tensor needs 24 bytes"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "w.bin", null, "8")))
            .getMessage());
    assertEquals(p + "external data offset -4 is negative (at byte 4)",
        failsIn(dir, oneInit(external("w", "w.bin", "-4", null))).getMessage());
    assertEquals(p + "external data length 'lots' is not a number (at byte 4)",
        failsIn(dir, oneInit(external("w", "w.bin", null, "lots"))).getMessage());
    assertEquals(p + "external data file 'nope.bin' does not exist in the model's folder"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "nope.bin", null, null)))
            .getMessage());
    assertEquals(p + "external data file 'w.bin/x' cannot be resolved (Not a directory)"
        + " (at byte 4)", failsIn(dir, oneInit(external("w", "w.bin/x", null, null)))
            .getMessage());
    assertEquals(p + "external data 'w.bin', but the model was read from memory without a"
        + " folder (at byte 4)", fails(oneInit(external("w", "w.bin", null, null)))
            .getMessage());
    assertEquals(p + "holds both raw_data and external data (at byte 4)",
        failsIn(dir, oneInit(external("w", "w.bin", null, null).bytes(9, new byte[24])))
            .getMessage());
    // the size is checked before the file is looked at
    ProtoBytes big = new ProtoBytes().varint(1, 1L << 40).varint(2, 1).str(8, "w")
        .msg(13, new ProtoBytes().str(1, "location").str(2, "w.bin")).varint(14, 1);
    assertEquals(p + "dims [1099511627776] of FLOAT declare 1099511627776 elements"
        + " (4398046511104 bytes), more than the 2 GiB one tensor may hold (at byte 4)",
        failsIn(dir, oneInit(big)).getMessage());
    // two tensors cannot both take the whole of one file
    ProtoBytes g = new ProtoBytes().msg(5, external("w", "w.bin", null, null));
    int at = 4 + g.size();
    g.msg(5, external("w2", "w.bin", null, null));
    assertEquals("graph.initializer[1] 'w2': external data file 'w.bin' would serve 48 bytes"
        + " in all, more than its 24 (overlapping tensors) (at byte " + at + ")",
        failsIn(dir, ProtoBytes.model(g)).getMessage());
  }
}
