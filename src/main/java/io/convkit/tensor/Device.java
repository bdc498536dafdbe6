package io.convkit.tensor;

/**
 * Where a tensor's elements live: the host's off-heap memory, or an engine's device memory.
 * Engines are devices ({@code tensor.to(engine)}); the CPU and reference engines compute on host
 * memory, so for them {@link #isHost()} is true and a tensor moved "to" them stays on the host.
 */
public interface Device {
  /** Host memory: off-heap, 64-byte aligned, what the CPU engine reads and writes. */
  Device HOST = new Device() {
    @Override
    public String name() {
      return "host";
    }

    @Override
    public String toString() {
      return "host";
    }
  };

  String name();

  /** True when tensors for this device live in host memory. */
  default boolean isHost() {
    return true;
  }

  /**
   * Allocates device memory for a tensor of {@code shape} (only called when {@link #isHost()} is
   * false). Throws naming the device if it cannot.
   */
  default DeviceMemory allocate(Shape shape) {
    throw new UnsupportedOperationException(name() + " keeps tensors in host memory");
  }
}
