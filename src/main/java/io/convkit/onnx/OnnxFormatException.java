package io.convkit.onnx;

/**
 * An ONNX file that cannot be read: corrupt or truncated protobuf, a length or size that the
 * bytes cannot back, a tensor whose dims disagree with its data, external data outside the
 * model's folder. The message is one line naming the field path (for example
 * {@code graph.initializer[3] 'fc.weight'}) and the byte offset where the problem was found.
 */
public final class OnnxFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String fieldPath;
  private final long offset;

  public OnnxFormatException(String fieldPath, long offset, String problem) {
    super(fieldPath + ": " + problem + " (at byte " + offset + ")");
    this.fieldPath = fieldPath;
    this.offset = offset;
  }

  /** The path of the field being read, "model" for the top level. */
  public String fieldPath() {
    return fieldPath;
  }

  /** The byte offset in the model file where the problem was found. */
  public long offset() {
    return offset;
  }
}
