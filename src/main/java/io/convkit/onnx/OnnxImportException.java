package io.convkit.onnx;

/**
 * An ONNX graph convkit cannot import: an op outside the supported set, a pattern it does not
 * fuse, or a malformed graph (a cycle, a dangling input, weights whose dims disagree). The
 * message is one line naming the op, the node and, where it matters, the opset.
 */
public class OnnxImportException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public OnnxImportException(String message) {
    super(message);
  }

  public OnnxImportException(String message, Throwable cause) {
    super(message, cause);
  }
}
