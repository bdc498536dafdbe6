package io.convkit.engine.opencl;

/**
 * A device allocation that was refused: larger than the device's largest single allocation
 * (checked before allocating), or more than the device has free.
 */
public class DeviceMemoryException extends OpenClException {
  public DeviceMemoryException(String message) {
    super(message);
  }

  public DeviceMemoryException(String message, Throwable cause) {
    super(message, cause);
  }
}
