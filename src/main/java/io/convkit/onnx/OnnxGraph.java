package io.convkit.onnx;

import java.util.List;

/**
 * An ONNX GraphProto: nodes in file order (ONNX requires topological order; the importer checks
 * it), initializers (the weights), graph inputs and outputs.
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxTensor> initializers,
    List<ValueInfo> inputs, List<ValueInfo> outputs) {
  public OnnxGraph {
    name = name == null ? "" : name;
    nodes = List.copyOf(nodes);
    initializers = List.copyOf(initializers);
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /**
   * ValueInfoProto with a tensor type: the element type (TensorProto.DataType) and the dims,
   * where a dimension without a fixed value (dim_param, or none) is -1.
   */
  public record ValueInfo(String name, int elemType, long[] dims) {
    public ValueInfo {
      dims = dims.clone();
    }

    @Override
    public long[] dims() {
      return dims.clone();
    }
  }
}
