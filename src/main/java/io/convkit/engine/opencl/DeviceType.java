package io.convkit.engine.opencl;

import org.jocl.CL;

/** Which kind of OpenCL device to open. */
public enum DeviceType {
  GPU(CL.CL_DEVICE_TYPE_GPU),
  CPU(CL.CL_DEVICE_TYPE_CPU),
  ACCELERATOR(CL.CL_DEVICE_TYPE_ACCELERATOR),
  /** Any device; a GPU where there is one. */
  ANY(CL.CL_DEVICE_TYPE_ALL);

  final long clType;

  DeviceType(long clType) {
    this.clType = clType;
  }

  /** The type of a device from its CL_DEVICE_TYPE bits. */
  static DeviceType of(long bits) {
    if ((bits & CL.CL_DEVICE_TYPE_GPU) != 0) {
      return GPU;
    }
    if ((bits & CL.CL_DEVICE_TYPE_CPU) != 0) {
      return CPU;
    }
    if ((bits & CL.CL_DEVICE_TYPE_ACCELERATOR) != 0) {
      return ACCELERATOR;
    }
    return ANY;
  }
}
