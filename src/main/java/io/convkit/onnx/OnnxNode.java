package io.convkit.onnx;

import java.util.List;

/**
 * An ONNX NodeProto. An empty string among {@code inputs} is an omitted optional input, as in
 * ONNX.
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs,
    List<String> outputs, List<OnnxAttribute> attributes) {
  public OnnxNode {
    name = name == null ? "" : name;
    domain = domain == null ? "" : domain;
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    attributes = List.copyOf(attributes);
  }

  /** The attribute called {@code name}, or null. */
  public OnnxAttribute attribute(String name) {
    for (OnnxAttribute a : attributes) {
      if (a.name().equals(name)) {
        return a;
      }
    }
    return null;
  }

  /** "Conv node 'conv1'" (or the op alone for a node without a name), for messages. */
  public String describe() {
    return opType + " node" + (name.isEmpty() ? "" : " '" + name + "'");
  }
}
