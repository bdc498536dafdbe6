package io.convkit.onnx;

import java.util.List;

/**
 * An ONNX AttributeProto of one of the kinds convkit reads and writes. A graph-valued attribute
 * (If, Loop, Scan) is read as {@link Unsupported}, so that the importer can name it.
 */
public sealed interface OnnxAttribute {
  String name();

  /** AttributeProto type FLOAT (1). */
  record Float(String name, float value) implements OnnxAttribute {}

  /** AttributeProto type INT (2). */
  record Int(String name, long value) implements OnnxAttribute {}

  /** AttributeProto type STRING (3), decoded as UTF-8. */
  record Str(String name, String value) implements OnnxAttribute {}

  /** AttributeProto type TENSOR (4). */
  record Tensor(String name, OnnxTensor value) implements OnnxAttribute {}

  /** AttributeProto type FLOATS (6). */
  record Floats(String name, float[] values) implements OnnxAttribute {
    public Floats {
      values = values.clone();
    }

    @Override
    public float[] values() {
      return values.clone();
    }
  }

  /** AttributeProto type INTS (7). */
  record Ints(String name, long[] values) implements OnnxAttribute {
    public Ints {
      values = values.clone();
    }

    @Override
    public long[] values() {
      return values.clone();
    }
  }

  /** AttributeProto type STRINGS (8). */
  record Strings(String name, List<String> values) implements OnnxAttribute {
    public Strings {
      values = List.copyOf(values);
    }
  }

  /** Any other type (GRAPH, GRAPHS, SPARSE_TENSOR, TYPE_PROTO...): kept by name and type code. */
  record Unsupported(String name, int type) implements OnnxAttribute {}
}
