package io.convkit.onnx;

import java.util.List;

/**
 * An ONNX ModelProto: IR version, operator sets, producer and the main graph.
 *
 * @param irVersion ModelProto.ir_version (8 for opset 17)
 * @param opsets ModelProto.opset_import
 * @param producerName ModelProto.producer_name ("" when absent)
 * @param graph ModelProto.graph
 */
public record OnnxModel(long irVersion, List<OpsetId> opsets, String producerName,
    OnnxGraph graph) {
  public OnnxModel {
    opsets = List.copyOf(opsets);
    producerName = producerName == null ? "" : producerName;
  }

  /** OperatorSetIdProto: a domain ("" for the default ONNX domain) and its version. */
  public record OpsetId(String domain, long version) {
    public OpsetId {
      domain = domain == null ? "" : domain;
    }
  }

  /** The version of the default domain ("" or "ai.onnx"), or -1 when the model imports none. */
  public long defaultOpset() {
    for (OpsetId o : opsets) {
      if (o.domain().isEmpty() || o.domain().equals("ai.onnx")) {
        return o.version();
      }
    }
    return -1;
  }
}
