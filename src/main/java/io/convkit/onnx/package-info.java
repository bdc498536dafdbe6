/**
 * ONNX interop: the model as plain records ({@link io.convkit.onnx.OnnxModel} and the types it
 * holds), the protobuf wire codec that reads and writes them ({@code OnnxCodec}), the export of
 * a convkit network ({@code OnnxExport}) and the import of a file into one ({@code OnnxImport}).
 *
 * <p>The records carry only what convkit reads or writes; every field ONNX defines that they do
 * not name is skipped on read. Tensors keep their elements as little-endian bytes whatever the
 * file used (raw_data, float_data, int64_data, external data).
 */
package io.convkit.onnx;
