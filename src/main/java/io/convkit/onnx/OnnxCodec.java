package io.convkit.onnx;

import static io.convkit.onnx.ProtoReader.FIXED32;
import static io.convkit.onnx.ProtoReader.LEN;
import static io.convkit.onnx.ProtoReader.VARINT;
import static io.convkit.onnx.ProtoReader.field;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes ONNX model files (the protobuf wire format of {@code onnx.proto}) as the
 * records of this package.
 *
 * <p><b>Why our own codec and not protobuf-java.</b> A model file is hostile input. A generated
 * protobuf parser trusts declared lengths and sizes as far as the bytes go and leaves the meaning
 * (a tensor's dims against its data, external data paths) to the caller, after everything has
 * been allocated. This codec checks every length, size and nesting before it allocates: a length
 * against the bytes its message has left, a varint against 10 bytes, group nesting in skipped
 * fields against 64 levels, a tensor's dims against overflow and against its
 * data, and the heap the decoded records take against a budget (64 MiB plus 16 bytes per byte
 * of the file), so that a file of a million empty nodes cannot expand without bound. It
 * also keeps the library free of a protobuf dependency and its version conflicts.
 *
 * <p><b>What is read.</b> ModelProto ir_version, opset_import, producer_name and graph;
 * GraphProto node, name, initializer, input and output (value_info and every other field is
 * skipped); NodeProto input, output, name, op_type, attribute and domain; AttributeProto of
 * types FLOAT, INT, STRING, TENSOR, FLOATS, INTS and STRINGS (repeated values packed or not),
 * others (GRAPH, TENSORS, SPARSE_TENSOR...) as {@link OnnxAttribute.Unsupported} without reading
 * their values (so a subgraph never nests the reader); TensorProto dims, data_type, name and the
 * data from raw_data, float_data, int32_data, int64_data, double_data, uint64_data or external
 * data, normalised to little-endian bytes; ValueInfoProto name and tensor type (elem_type, and
 * dims with -1 for a dimension without a value). Unknown fields of every wire type are skipped.
 * STRING tensors keep no data (convkit computes on numbers only).
 *
 * <p><b>Failures.</b> Every malformed file is an {@link OnnxFormatException} whose one-line
 * message names the field path and the byte offset; never an OutOfMemoryError or a hang. A file
 * over 2 GiB is refused rather than mapped: protobuf itself caps a message at 2 GiB (which is why
 * ONNX stores larger models' weights as external data), and a tensor here is a Java array.
 *
 * <p><b>External data</b> ({@code data_location: EXTERNAL}) is read only from a relative path
 * inside the model's own folder: no absolute path, no {@code ..}, and no symlink whose real path
 * leaves the folder; only the bytes the tensor needs, checked against the tensor's size, the
 * entry's length and the file's size, and no file serves more bytes in total than it holds.
 */
public final class OnnxCodec {
  /** Larger than this is refused (see the class comment): the largest Java array. */
  static final long MAX_BYTES = Integer.MAX_VALUE - 8;

  private static final String[] TYPE_NAMES = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16",
      "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
      "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  /** Bytes per element of each TensorProto.DataType up to BFLOAT16; 0 for STRING/UNDEFINED. */
  private static final int[] WIDTHS = {0, 4, 1, 1, 2, 2, 4, 8, 0, 1, 2, 8, 4, 8, 8, 16, 2};

  private static final String[] ATTR_FIELDS = {"", "f", "i", "s", "t", "g", "floats", "ints",
      "strings", "tensors", "graphs", "sparse_tensor", "sparse_tensors"};

  private OnnxCodec() {}

  // =============================== reading ===============================

  /** Reads a .onnx file; external data is looked up in the file's folder. */
  public static OnnxModel read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("ONNX file " + file + " is not a regular file");
    }
    long size = Files.size(file);
    if (size > MAX_BYTES) {
      throw new OnnxFormatException("model", 0, "ONNX file " + file + " is " + size
          + " bytes; files over 2 GiB are refused (protobuf caps a message at 2 GiB; larger"
          + " models keep their weights as external data)");
    }
    byte[] bytes = readRegion(file, 0, size);
    Path dir = file.toAbsolutePath().getParent();
    return read(bytes, dir);
  }

  /**
   * Reads a model from memory; {@code baseDir} is the folder external data is looked up in, or
   * null, in which case a tensor with external data is an error.
   */
  public static OnnxModel read(byte[] bytes, Path baseDir) throws IOException {
    return read(bytes, baseDir, ProtoReader.BUDGET_BASE);
  }

  /** As {@link #read(byte[], Path)} with another fixed memory allowance (for tests). */
  static OnnxModel read(byte[] bytes, Path baseDir, long budgetBase) throws IOException {
    return new Decoder(bytes, baseDir, budgetBase).model();
  }

  /** Reads {@code length} bytes from {@code offset}, sizes checked by the caller. */
  private static byte[] readRegion(Path file, long offset, long length) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      byte[] out = new byte[(int) length];
      ByteBuffer b = ByteBuffer.wrap(out);
      long at = offset;
      while (b.hasRemaining()) {
        int got = ch.read(b, at);
        if (got < 0) {
          throw new IOException(file + " shrank while it was read (" + at + " bytes)");
        }
        at += got;
      }
      return out;
    }
  }

  private static String typeName(int t) {
    return t >= 0 && t < TYPE_NAMES.length ? TYPE_NAMES[t] : "type " + t;
  }

  private static int width(int t) {
    return t >= 0 && t < WIDTHS.length ? WIDTHS[t] : 0;
  }

  /** Dims for a message: a hostile tensor may have millions. */
  static String dimsText(long[] dims) {
    if (dims.length <= 8) {
      return Arrays.toString(dims);
    }
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < 8; i++) {
      b.append(dims[i]).append(", ");
    }
    return b.append("... (").append(dims.length).append(" dims)]").toString();
  }

  /** One read: the wire reader, where external data lives, and what each data file has served. */
  private static final class Decoder {
    private final ProtoReader r;
    private final Path baseDir;
    private final Map<Path, Long> served = new HashMap<>();

    Decoder(byte[] bytes, Path baseDir, long budgetBase) {
      this.r = new ProtoReader(bytes, budgetBase);
      this.baseDir = baseDir;
    }

    // ---- small field helpers ----

    private long varint(int tag, int at, String name) {
      r.expect(tag, VARINT, name, at);
      return r.readVarint();
    }

    private int int32(int tag, int at, String name) {
      r.expect(tag, VARINT, name, at);
      return r.readInt32(name);
    }

    private String string(int tag, int at, String name) {
      r.expect(tag, LEN, name, at);
      return r.readString();
    }

    /** Enters a nested message field: checks its wire type and length, names it in the path. */
    private int open(int tag, int at, String name, String label) {
      r.expect(tag, LEN, name, at);
      r.enter(label);
      return r.pushLimit();
    }

    private void close(int old) {
      r.popLimit(old);
      r.leave();
    }

    // ---- messages ----

    OnnxModel model() throws IOException {
      long ir = 0;
      String producer = "";
      List<OnnxModel.OpsetId> opsets = new ArrayList<>();
      OnnxGraph graph = null;
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> ir = varint(tag, at, "ir_version");
          case 2 -> producer = string(tag, at, "producer_name");
          case 7 -> {
            if (graph != null) {
              throw r.error("a second graph (field 7)", at);
            }
            int old = open(tag, at, "graph", "graph");
            graph = graph();
            close(old);
          }
          case 8 -> {
            int old = open(tag, at, "opset_import", "opset_import[" + opsets.size() + "]");
            r.charge(64);
            opsets.add(opset());
            close(old);
          }
          default -> r.skip(tag);
        }
      }
      if (graph == null) {
        throw r.error("no graph (field 7)", 0);
      }
      return new OnnxModel(ir, opsets, producer, graph);
    }

    private OnnxModel.OpsetId opset() {
      String domain = "";
      long version = 0;
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> domain = string(tag, at, "domain");
          case 2 -> version = varint(tag, at, "version");
          default -> r.skip(tag);
        }
      }
      return new OnnxModel.OpsetId(domain, version);
    }

    private OnnxGraph graph() throws IOException {
      String name = "";
      List<OnnxNode> nodes = new ArrayList<>();
      List<OnnxTensor> inits = new ArrayList<>();
      List<OnnxGraph.ValueInfo> inputs = new ArrayList<>();
      List<OnnxGraph.ValueInfo> outputs = new ArrayList<>();
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> {
            int old = open(tag, at, "node", "node[" + nodes.size() + "]");
            r.charge(96);
            nodes.add(node());
            close(old);
          }
          case 2 -> name = string(tag, at, "name");
          case 5 -> {
            int old = open(tag, at, "initializer", "initializer[" + inits.size() + "]");
            inits.add(tensor(at));
            close(old);
          }
          case 11 -> {
            int old = open(tag, at, "input", "input[" + inputs.size() + "]");
            inputs.add(valueInfo());
            close(old);
          }
          case 12 -> {
            int old = open(tag, at, "output", "output[" + outputs.size() + "]");
            outputs.add(valueInfo());
            close(old);
          }
          default -> r.skip(tag);
        }
      }
      return new OnnxGraph(name, nodes, inits, inputs, outputs);
    }

    private OnnxNode node() throws IOException {
      List<String> inputs = new ArrayList<>();
      List<String> outputs = new ArrayList<>();
      List<OnnxAttribute> attrs = new ArrayList<>();
      String name = "";
      String op = "";
      String domain = "";
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> {
            r.charge(8);
            inputs.add(string(tag, at, "input"));
          }
          case 2 -> {
            r.charge(8);
            outputs.add(string(tag, at, "output"));
          }
          case 3 -> {
            name = string(tag, at, "name");
            r.name(name);
          }
          case 4 -> op = string(tag, at, "op_type");
          case 5 -> {
            int old = open(tag, at, "attribute", "attribute[" + attrs.size() + "]");
            r.charge(64);
            attrs.add(attribute());
            close(old);
          }
          case 7 -> domain = string(tag, at, "domain");
          default -> r.skip(tag);
        }
      }
      return new OnnxNode(name, op, domain, inputs, outputs, attrs);
    }

    private OnnxAttribute attribute() throws IOException {
      int start = r.pos();
      String name = "";
      int type = 0;
      int present = 0; // bit k: a value field of AttributeType k was seen
      float f = 0;
      long i = 0;
      String s = "";
      OnnxTensor t = null;
      ProtoReader.ByteList floats = new ProtoReader.ByteList();
      ProtoReader.LongList ints = new ProtoReader.LongList();
      List<String> strings = new ArrayList<>();
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> {
            name = string(tag, at, "name");
            r.name(name);
          }
          case 2 -> {
            r.expect(tag, FIXED32, "f", at);
            f = Float.intBitsToFloat(r.readFixed32());
            present |= 1 << 1;
          }
          case 3 -> {
            i = varint(tag, at, "i");
            present |= 1 << 2;
          }
          case 4 -> {
            s = string(tag, at, "s");
            present |= 1 << 3;
          }
          case 5 -> {
            if (t != null) {
              throw r.error("a second tensor (field t)", at);
            }
            int old = open(tag, at, "t", "t");
            t = tensor(at);
            close(old);
            present |= 1 << 4;
          }
          case 6 -> present |= skipValue(tag, at, "g", 5);
          case 7 -> {
            r.readFixed(tag, "floats", at, 4, floats);
            present |= 1 << 6;
          }
          case 8 -> {
            r.readVarints(tag, "ints", at, ints);
            present |= 1 << 7;
          }
          case 9 -> {
            r.charge(8);
            strings.add(string(tag, at, "strings"));
            present |= 1 << 8;
          }
          case 10 -> present |= skipValue(tag, at, "tensors", 9);
          case 11 -> present |= skipValue(tag, at, "graphs", 10);
          case 20 -> type = int32(tag, at, "type");
          case 22 -> present |= skipValue(tag, at, "sparse_tensor", 11);
          case 23 -> present |= skipValue(tag, at, "sparse_tensors", 12);
          default -> r.skip(tag);
        }
      }
      int kind = type;
      if (kind == 0) {
        // IR version 1 had no type field: the value field present says which it is
        kind = Integer.numberOfTrailingZeros(present);
        kind = kind == 32 ? 0 : kind;
      }
      int others = present & ~(kind > 0 && kind < 32 ? 1 << kind : 0);
      if (others != 0) {
        int k = Integer.numberOfTrailingZeros(others);
        throw r.error("attribute of type " + kind + " holds field " + ATTR_FIELDS[k], start);
      }
      return switch (kind) {
        case 1 -> new OnnxAttribute.Float(name, f);
        case 2 -> new OnnxAttribute.Int(name, i);
        case 3 -> new OnnxAttribute.Str(name, s);
        case 4 -> {
          if (t == null) {
            throw r.error("attribute of type TENSOR has no tensor (field t)", start);
          }
          yield new OnnxAttribute.Tensor(name, t);
        }
        case 6 -> {
          ByteBuffer b = ByteBuffer.wrap(floats.a, 0, floats.n)
              .order(java.nio.ByteOrder.LITTLE_ENDIAN);
          float[] v = new float[floats.n / 4];
          b.asFloatBuffer().get(v);
          yield new OnnxAttribute.Floats(name, v);
        }
        case 7 -> new OnnxAttribute.Ints(name, ints.toArray());
        case 8 -> new OnnxAttribute.Strings(name, strings);
        default -> new OnnxAttribute.Unsupported(name, kind);
      };
    }

    /** Skips a graph/tensors/sparse value convkit does not read; returns its presence bit. */
    private int skipValue(int tag, int at, String name, int kind) {
      r.expect(tag, LEN, name, at);
      r.skip(tag);
      return 1 << kind;
    }

    private OnnxTensor tensor(int fieldAt) throws IOException {
      r.charge(96);
      ProtoReader.LongList dimList = new ProtoReader.LongList();
      int type = 0;
      String name = "";
      ProtoReader.ByteList floatData = new ProtoReader.ByteList();
      ProtoReader.ByteList doubleData = new ProtoReader.ByteList();
      ProtoReader.LongList int32Data = new ProtoReader.LongList();
      ProtoReader.LongList int64Data = new ProtoReader.LongList();
      ProtoReader.LongList uint64Data = new ProtoReader.LongList();
      int strings = 0;
      int rawAt = -1;
      int rawLen = 0;
      int location = 0;
      List<String[]> external = new ArrayList<>();
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> r.readVarints(tag, "dims", at, dimList);
          case 2 -> type = int32(tag, at, "data_type");
          case 4 -> r.readFixed(tag, "float_data", at, 4, floatData);
          case 5 -> r.readVarints(tag, "int32_data", at, int32Data);
          case 6 -> {
            r.expect(tag, LEN, "string_data", at);
            r.skip(tag);
            strings++;
          }
          case 7 -> r.readVarints(tag, "int64_data", at, int64Data);
          case 8 -> {
            name = string(tag, at, "name");
            r.name(name);
          }
          case 9 -> {
            r.expect(tag, LEN, "raw_data", at);
            // checked against the message now, copied once the dims have been checked too
            rawLen = r.readLength();
            rawAt = r.pos();
            r.advance(rawLen);
          }
          case 10 -> r.readFixed(tag, "double_data", at, 8, doubleData);
          case 11 -> r.readVarints(tag, "uint64_data", at, uint64Data);
          case 13 -> {
            int old = open(tag, at, "external_data", "external_data[" + external.size() + "]");
            r.charge(64);
            external.add(entry());
            close(old);
          }
          case 14 -> location = int32(tag, at, "data_location");
          default -> r.skip(tag);
        }
      }
      long[] dims = dimList.toArray();
      for (int k = 0; k < dims.length; k++) {
        if (dims[k] < 0) {
          throw r.error("dims[" + k + "] is negative (" + dims[k] + ")", fieldAt);
        }
      }
      long elements = 1;
      try {
        for (long d : dims) {
          elements = Math.multiplyExact(elements, d);
        }
      } catch (ArithmeticException e) {
        throw r.error("dims " + dimsText(dims) + " overflow 64 bits", fieldAt);
      }
      if (location != 0 && location != 1) {
        throw r.error("data_location " + location + " is neither DEFAULT (0) nor EXTERNAL (1)",
            fieldAt);
      }
      List<String> sources = new ArrayList<>();
      if (rawAt >= 0) {
        sources.add("raw_data");
      }
      if (floatData.n > 0) {
        sources.add("float_data");
      }
      if (int32Data.n > 0) {
        sources.add("int32_data");
      }
      if (strings > 0) {
        sources.add("string_data");
      }
      if (int64Data.n > 0) {
        sources.add("int64_data");
      }
      if (doubleData.n > 0) {
        sources.add("double_data");
      }
      if (uint64Data.n > 0) {
        sources.add("uint64_data");
      }
      if (location == 1) {
        sources.add("external data");
      }
      if (sources.size() > 1) {
        throw r.error("holds both " + sources.get(0) + " and " + sources.get(1), fieldAt);
      }
      String source = sources.isEmpty() ? "" : sources.get(0);
      if (type <= 0) {
        throw r.error(type == 0 ? "no data_type (or UNDEFINED)"
            : "data_type " + type + " is negative", fieldAt);
      }
      int width = width(type);
      String shape = "dims " + dimsText(dims) + " of " + typeName(type);
      if (width == 0) {
        // STRING, or a type without a fixed width convkit knows: only raw bytes pass through
        // onnx.proto: STRING elements live in string_data, never in raw_data
        boolean fits = type == 8 ? source.equals("string_data") : source.equals("raw_data");
        if (!source.isEmpty() && !fits) {
          throw r.error(source + " cannot hold " + typeName(type), fieldAt);
        }
        byte[] data = source.equals("raw_data") ? copy(rawAt, rawLen) : new byte[0];
        return new OnnxTensor(name, type, dims, data);
      }
      long bytes;
      try {
        bytes = Math.multiplyExact(elements, width);
      } catch (ArithmeticException e) {
        bytes = Long.MAX_VALUE;
      }
      if (bytes > MAX_BYTES) {
        throw r.error(shape + " declare " + elements + " elements"
            + (bytes == Long.MAX_VALUE ? "" : " (" + bytes + " bytes)")
            + ", more than the 2 GiB one tensor may hold", fieldAt);
      }
      int n = (int) bytes;
      byte[] data;
      switch (source) {
        case "" -> {
          if (n != 0) {
            throw r.error("no data, but " + shape + " need " + n + " bytes", fieldAt);
          }
          data = new byte[0];
        }
        case "raw_data" -> {
          if (rawLen != n) {
            throw r.error("raw_data has " + rawLen + " bytes, but " + shape + " need " + n,
                fieldAt);
          }
          data = copy(rawAt, rawLen);
        }
        case "float_data" -> data = fixedData(floatData, 4, type, 1, 14, "float_data", shape, n,
            fieldAt);
        case "double_data" -> data = fixedData(doubleData, 8, type, 11, 15, "double_data", shape,
            n, fieldAt);
        case "int32_data" -> data = int32Data(int32Data, type, elements, shape, fieldAt);
        case "int64_data" -> data = wideData(int64Data, type, 7, 7, elements, "int64_data",
            shape, fieldAt);
        case "uint64_data" -> data = wideData(uint64Data, type, 12, 13, elements, "uint64_data",
            shape, fieldAt);
        case "string_data" -> throw r.error("string_data cannot hold " + typeName(type),
            fieldAt);
        default -> data = externalData(external, n, fieldAt);
      }
      return new OnnxTensor(name, type, dims, data);
    }

    private byte[] copy(int at, int len) {
      return r.copy(at, len);
    }

    /** float_data (FLOAT, COMPLEX64) or double_data (DOUBLE, COMPLEX128), stored as on the wire. */
    private byte[] fixedData(ProtoReader.ByteList list, int w, int type, int real, int complex,
        String field, String shape, int n, int fieldAt) {
      if (type != real && type != complex) {
        throw r.error(field + " cannot hold " + typeName(type), fieldAt);
      }
      if (list.n != n) {
        throw r.error(field + " has " + list.n / w + " values, but " + shape + " need " + n / w,
            fieldAt);
      }
      return list.toArray();
    }

    /** int32_data: INT32, and the narrower types stored one per int32, range-checked. */
    private byte[] int32Data(ProtoReader.LongList list, int type, long elements, String shape,
        int fieldAt) {
      long lo;
      long hi;
      switch (type) {
        case 6 -> {
          lo = Integer.MIN_VALUE;
          hi = Integer.MAX_VALUE;
        }
        case 2 -> {
          lo = 0;
          hi = 255;
        }
        case 3 -> {
          lo = -128;
          hi = 127;
        }
        case 4, 10, 16 -> {
          // FLOAT16 and BFLOAT16 are stored as their 16 bits, as an unsigned value
          lo = 0;
          hi = 65535;
        }
        case 5 -> {
          lo = -32768;
          hi = 32767;
        }
        case 9 -> {
          lo = 0;
          hi = 1;
        }
        default -> throw r.error("int32_data cannot hold " + typeName(type), fieldAt);
      }
      if (list.n != elements) {
        throw r.error("int32_data has " + list.n + " values, but " + shape + " need "
            + elements, fieldAt);
      }
      int w = width(type);
      byte[] out = new byte[list.n * w];
      for (int k = 0; k < list.n; k++) {
        long v = list.a[k];
        if (v < lo || v > hi) {
          throw r.error("int32_data[" + k + "] = " + v + " is out of range for "
              + typeName(type), fieldAt);
        }
        for (int b = 0; b < w; b++) {
          out[k * w + b] = (byte) (v >>> (8 * b));
        }
      }
      return out;
    }

    /** int64_data (INT64) or uint64_data (UINT32, range-checked, or UINT64). */
    private byte[] wideData(ProtoReader.LongList list, int type, int narrow, int wide,
        long elements, String field, String shape, int fieldAt) {
      if (type != narrow && type != wide) {
        throw r.error(field + " cannot hold " + typeName(type), fieldAt);
      }
      if (list.n != elements) {
        throw r.error(field + " has " + list.n + " values, but " + shape + " need " + elements,
            fieldAt);
      }
      int w = width(type);
      byte[] out = new byte[list.n * w];
      for (int k = 0; k < list.n; k++) {
        long v = list.a[k];
        if (w == 4 && (v >>> 32) != 0) {
          throw r.error(field + "[" + k + "] = " + Long.toUnsignedString(v)
              + " is out of range for " + typeName(type), fieldAt);
        }
        for (int b = 0; b < w; b++) {
          out[k * w + b] = (byte) (v >>> (8 * b));
        }
      }
      return out;
    }

    private String[] entry() {
      String key = "";
      String value = "";
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> key = string(tag, at, "key");
          case 2 -> value = string(tag, at, "value");
          default -> r.skip(tag);
        }
      }
      return new String[] {key, value};
    }

    private long number(String key, String value, int fieldAt) {
      long v;
      try {
        v = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        throw r.error("external data " + key + " '" + ProtoReader.printable(value)
            + "' is not a number", fieldAt);
      }
      if (v < 0) {
        throw r.error("external data " + key + " " + v + " is negative", fieldAt);
      }
      return v;
    }

    private byte[] externalData(List<String[]> entries, int n, int fieldAt) throws IOException {
      String location = null;
      long offset = 0;
      long length = -1;
      for (String[] e : entries) {
        switch (e[0]) {
          case "location" -> location = e[1];
          case "offset" -> offset = number("offset", e[1], fieldAt);
          case "length" -> length = number("length", e[1], fieldAt);
          default -> { } // checksum and future keys do not change what is read
        }
      }
      if (location == null || location.isEmpty()) {
        throw r.error("external data without a location", fieldAt);
      }
      String shown = "'" + ProtoReader.printable(location) + "'";
      if (baseDir == null) {
        throw r.error("external data " + shown + ", but the model was read from memory"
            + " without a folder", fieldAt);
      }
      if (location.indexOf('\0') >= 0 || location.startsWith("/") || location.startsWith("\\")
          || (location.length() > 1 && location.charAt(1) == ':')) {
        throw r.error("external data location " + shown + " is absolute; only a path inside"
            + " the model's folder is read", fieldAt);
      }
      for (String seg : location.split("[/\\\\]")) {
        if (seg.equals("..")) {
          throw r.error("external data location " + shown + " leaves the model's folder (..)",
              fieldAt);
        }
      }
      if (length >= 0 && length != n) {
        throw r.error("external data " + shown + " has length " + length + ", but the tensor"
            + " needs " + n + " bytes", fieldAt);
      }
      Path base = baseDir.toRealPath();
      Path file;
      try {
        file = base.resolve(location).toRealPath();
      } catch (NoSuchFileException | java.nio.file.InvalidPathException e) {
        throw r.error("external data file " + shown + " does not exist in the model's folder",
            fieldAt);
      } catch (java.nio.file.FileSystemException e) {
        // "a.bin/x" where a.bin is a file, a loop of links...: the location names no file
        throw r.error("external data file " + shown + " cannot be resolved ("
            + ProtoReader.printable(String.valueOf(e.getReason())) + ")", fieldAt);
      }
      if (!file.startsWith(base)) {
        throw r.error("external data location " + shown + " resolves outside the model's"
            + " folder (a symlink)", fieldAt);
      }
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        throw r.error("external data " + shown + " is not a regular file", fieldAt);
      }
      long size = Files.size(file);
      if (offset > size || size - offset < n) {
        throw r.error("external data file " + shown + " has " + size + " bytes, too few for "
            + n + " from offset " + offset, fieldAt);
      }
      long total = served.merge(file, (long) n, Long::sum);
      if (total > size) {
        throw r.error("external data file " + shown + " would serve " + total + " bytes in"
            + " all, more than its " + size + " (overlapping tensors)", fieldAt);
      }
      return readRegion(file, offset, n);
    }

    private OnnxGraph.ValueInfo valueInfo() {
      r.charge(64);
      String name = "";
      int elem = 0;
      long[] dims = new long[0];
      boolean typed = false;
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        switch (field(tag)) {
          case 1 -> {
            name = string(tag, at, "name");
            r.name(name);
          }
          case 2 -> {
            if (typed) {
              throw r.error("a second type (field 2)", at);
            }
            typed = true;
            int old = open(tag, at, "type", "type");
            long[][] shape = new long[1][];
            elem = typeProto(shape);
            dims = shape[0] == null ? dims : shape[0];
            close(old);
          }
          default -> r.skip(tag);
        }
      }
      return new OnnxGraph.ValueInfo(name, elem, dims);
    }

    /** TypeProto: only tensor_type is read; sequences and maps leave elem_type 0, no dims. */
    private int typeProto(long[][] shape) {
      int elem = 0;
      boolean seen = false;
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        if (field(tag) == 1) {
          if (seen) {
            throw r.error("a second tensor_type (field 1)", at);
          }
          seen = true;
          int old = open(tag, at, "tensor_type", "tensor_type");
          while (true) {
            int at2 = r.pos();
            int tag2 = r.readTag();
            if (tag2 == 0) {
              break;
            }
            switch (field(tag2)) {
              case 1 -> elem = int32(tag2, at2, "elem_type");
              case 2 -> {
                if (shape[0] != null) {
                  throw r.error("a second shape (field 2)", at2);
                }
                int old2 = open(tag2, at2, "shape", "shape");
                shape[0] = shape();
                close(old2);
              }
              default -> r.skip(tag2);
            }
          }
          close(old);
        } else {
          r.skip(tag);
        }
      }
      return elem;
    }

    private long[] shape() {
      ProtoReader.LongList dims = new ProtoReader.LongList();
      while (true) {
        int at = r.pos();
        int tag = r.readTag();
        if (tag == 0) {
          break;
        }
        if (field(tag) != 1) {
          r.skip(tag);
          continue;
        }
        int old = open(tag, at, "dim", "dim[" + dims.n + "]");
        r.charge(8);
        long d = -1;
        while (true) {
          int at2 = r.pos();
          int tag2 = r.readTag();
          if (tag2 == 0) {
            break;
          }
          switch (field(tag2)) {
            case 1 -> {
              d = varint(tag2, at2, "dim_value");
              if (d < 0) {
                throw r.error("dim_value " + d + " is negative", at2);
              }
            }
            case 2 -> {
              // a symbolic dimension ("batch") is one without a fixed value; oneof: last wins
              r.expect(tag2, LEN, "dim_param", at2);
              r.skip(tag2);
              d = -1;
            }
            default -> r.skip(tag2);
          }
        }
        dims.add(d);
        close(old);
      }
      return dims.toArray();
    }
  }

  // =============================== writing ===============================

  /** Writes {@code model} to {@code file} (replacing it). */
  public static void write(OnnxModel model, Path file) throws IOException {
    ProtoWriter w = encode(model);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      w.writeTo(out);
    }
  }

  /** The bytes of the .onnx file for {@code model}. */
  public static byte[] toBytes(OnnxModel model) {
    return encode(model).toByteArray();
  }

  private static ProtoWriter encode(OnnxModel model) {
    ProtoWriter w = new ProtoWriter();
    w.varint(1, model.irVersion());
    if (!model.producerName().isEmpty()) {
      w.string(2, model.producerName());
    }
    w.message(7, encodeGraph(model.graph()));
    for (OnnxModel.OpsetId o : model.opsets()) {
      ProtoWriter ow = new ProtoWriter();
      if (!o.domain().isEmpty()) {
        ow.string(1, o.domain());
      }
      ow.varint(2, o.version());
      w.message(8, ow);
    }
    if (w.size() > MAX_BYTES) {
      throw new IllegalArgumentException("the model is " + w.size() + " bytes; an ONNX file"
          + " over 2 GiB cannot be written (protobuf caps a message at 2 GiB)");
    }
    return w;
  }

  private static ProtoWriter encodeGraph(OnnxGraph g) {
    ProtoWriter w = new ProtoWriter();
    for (OnnxNode n : g.nodes()) {
      w.message(1, encodeNode(n));
    }
    if (!g.name().isEmpty()) {
      w.string(2, g.name());
    }
    for (OnnxTensor t : g.initializers()) {
      w.message(5, encodeTensor(t));
    }
    for (OnnxGraph.ValueInfo v : g.inputs()) {
      w.message(11, encodeValueInfo(v));
    }
    for (OnnxGraph.ValueInfo v : g.outputs()) {
      w.message(12, encodeValueInfo(v));
    }
    return w;
  }

  private static ProtoWriter encodeNode(OnnxNode n) {
    ProtoWriter w = new ProtoWriter();
    for (String s : n.inputs()) {
      w.string(1, s);
    }
    for (String s : n.outputs()) {
      w.string(2, s);
    }
    if (!n.name().isEmpty()) {
      w.string(3, n.name());
    }
    w.string(4, n.opType());
    for (OnnxAttribute a : n.attributes()) {
      w.message(5, encodeAttribute(a, n));
    }
    if (!n.domain().isEmpty()) {
      w.string(7, n.domain());
    }
    return w;
  }

  /** Written as onnx.proto declares them: repeated floats and ints unpacked, then the type. */
  private static ProtoWriter encodeAttribute(OnnxAttribute a, OnnxNode n) {
    ProtoWriter w = new ProtoWriter();
    w.string(1, a.name());
    int type;
    if (a instanceof OnnxAttribute.Float f) {
      w.fixed32(2, Float.floatToRawIntBits(f.value()));
      type = 1;
    } else if (a instanceof OnnxAttribute.Int i) {
      w.varint(3, i.value());
      type = 2;
    } else if (a instanceof OnnxAttribute.Str s) {
      w.string(4, s.value());
      type = 3;
    } else if (a instanceof OnnxAttribute.Tensor t) {
      w.message(5, encodeTensor(t.value()));
      type = 4;
    } else if (a instanceof OnnxAttribute.Floats fs) {
      for (float v : fs.values()) {
        w.fixed32(7, Float.floatToRawIntBits(v));
      }
      type = 6;
    } else if (a instanceof OnnxAttribute.Ints is) {
      for (long v : is.values()) {
        w.varint(8, v);
      }
      type = 7;
    } else if (a instanceof OnnxAttribute.Strings ss) {
      for (String v : ss.values()) {
        w.string(9, v);
      }
      type = 8;
    } else {
      type = ((OnnxAttribute.Unsupported) a).type();
      if (type >= 1 && type <= 8 && type != 5) {
        throw new IllegalArgumentException(n.describe() + " attribute '" + a.name()
            + "' is Unsupported with type " + type + ", a type that has its own record");
      }
    }
    w.varint(20, type);
    return w;
  }

  private static ProtoWriter encodeTensor(OnnxTensor t) {
    long[] dims = t.dims();
    long elements = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor '" + t.name() + "' has a negative dim: "
            + dimsText(dims));
      }
      try {
        elements = Math.multiplyExact(elements, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("tensor '" + t.name() + "' dims " + dimsText(dims)
            + " overflow 64 bits");
      }
    }
    byte[] data = t.data();
    if (data == null) {
      throw new IllegalArgumentException("tensor '" + t.name() + "' has no data");
    }
    int width = width(t.dataType());
    if (t.dataType() == 0) {
      throw new IllegalArgumentException("tensor '" + t.name() + "' has data type UNDEFINED");
    }
    if (width > 0 && data.length != elements * width) {
      throw new IllegalArgumentException("tensor '" + t.name() + "' has " + data.length
          + " bytes, but dims " + dimsText(dims) + " of " + typeName(t.dataType()) + " need "
          + elements * width);
    }
    if (t.dataType() == 8 && data.length > 0) {
      throw new IllegalArgumentException("tensor '" + t.name() + "' of type STRING has bytes;"
          + " the codec writes no string data");
    }
    ProtoWriter w = new ProtoWriter();
    for (long d : dims) {
      w.varint(1, d);
    }
    w.varint(2, t.dataType());
    if (!t.name().isEmpty()) {
      w.string(8, t.name());
    }
    if (data.length > 0) {
      w.bytes(9, data);
    }
    return w;
  }

  private static ProtoWriter encodeValueInfo(OnnxGraph.ValueInfo v) {
    ProtoWriter w = new ProtoWriter();
    w.string(1, v.name());
    long[] dims = v.dims();
    if (v.elemType() == 0 && dims.length == 0) {
      return w; // no type known: ValueInfoProto.type is left out, as it reads back
    }
    ProtoWriter shape = new ProtoWriter();
    for (long d : dims) {
      ProtoWriter dim = new ProtoWriter();
      if (d >= 0) {
        dim.varint(1, d);
      } else if (d != -1) {
        throw new IllegalArgumentException("value '" + v.name() + "' has dim " + d
            + " (-1 is the only unknown)");
      }
      shape.message(1, dim);
    }
    ProtoWriter tensorType = new ProtoWriter();
    tensorType.varint(1, v.elemType());
    tensorType.message(2, shape);
    ProtoWriter type = new ProtoWriter();
    type.message(1, tensorType);
    w.message(2, type);
    return w;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
