package io.convkit.engine.opencl;

/**
 * An OpenCL failure, with the device (or the reason there is none) in its message: no OpenCL
 * library, no platform, no device, a kernel build failure (with the build log), an allocation the
 * device refuses or cannot make.
 */
public class OpenClException extends RuntimeException {
  public OpenClException(String message) {
    super(message);
  }

  public OpenClException(String message, Throwable cause) {
    super(message, cause);
  }
}
