package io.convkit.engine.opencl;

import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as the platform reports it. {@link #list()} enumerates them all; a missing
 * OpenCL library or platform becomes an {@link OpenClException} that says so.
 */
public record ClDevice(int platformIndex, int deviceIndex, String platformName, String name,
    DeviceType type, String version, int computeUnits, long globalMemBytes, long maxAllocBytes,
    long maxWorkGroupSize, cl_platform_id platform, cl_device_id id) {

  /** Every device of every platform, platforms in order, devices in order. */
  public static List<ClDevice> list() {
    try {
      CL.setExceptionsEnabled(true);
      int[] count = new int[1];
      try {
        CL.clGetPlatformIDs(0, null, count);
      } catch (CLException e) {
        throw new OpenClException("no OpenCL platform is installed (clGetPlatformIDs: "
            + CL.stringFor_errorCode(e.getStatus()) + "); on Debian/Ubuntu, "
            + "apt-get install ocl-icd-libopencl1 pocl-opencl-icd gives a CPU platform", e);
      }
      cl_platform_id[] platforms = new cl_platform_id[count[0]];
      CL.clGetPlatformIDs(platforms.length, platforms, null);
      List<ClDevice> out = new ArrayList<>();
      for (int p = 0; p < platforms.length; p++) {
        String platformName = platformString(platforms[p], CL.CL_PLATFORM_NAME);
        int[] n = new int[1];
        try {
          CL.clGetDeviceIDs(platforms[p], CL.CL_DEVICE_TYPE_ALL, 0, null, n);
        } catch (CLException e) {
          if (e.getStatus() == CL.CL_DEVICE_NOT_FOUND) {
            continue;
          }
          throw e;
        }
        cl_device_id[] devices = new cl_device_id[n[0]];
        CL.clGetDeviceIDs(platforms[p], CL.CL_DEVICE_TYPE_ALL, devices.length, devices, null);
        for (int d = 0; d < devices.length; d++) {
          cl_device_id id = devices[d];
          out.add(new ClDevice(p, d, platformName, deviceString(id, CL.CL_DEVICE_NAME).strip(),
              DeviceType.of(deviceLong(id, CL.CL_DEVICE_TYPE)),
              deviceString(id, CL.CL_DEVICE_VERSION), deviceInt(id, CL.CL_DEVICE_MAX_COMPUTE_UNITS),
              deviceLong(id, CL.CL_DEVICE_GLOBAL_MEM_SIZE),
              deviceLong(id, CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE),
              deviceSize(id, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE), platforms[p], id));
        }
      }
      return out;
    } catch (LinkageError e) {
      // JOCL opens libOpenCL at its first use: UnsatisfiedLinkError then, NoClassDefFoundError
      // on every later use.
      throw new OpenClException("OpenCL is not available: the OpenCL library (libOpenCL.so.1) "
          + "could not be loaded (" + e + "); on Debian/Ubuntu, apt-get install "
          + "ocl-icd-libopencl1 pocl-opencl-icd", e);
    } catch (CLException e) {
      throw new OpenClException("listing OpenCL devices failed: "
          + CL.stringFor_errorCode(e.getStatus()), e);
    }
  }

  /** "NAME (TYPE, platform P, device D)". */
  public String describe() {
    return name + " (" + type + ", " + platformName + ", platform " + platformIndex + " device "
        + deviceIndex + ")";
  }

  static String platformString(cl_platform_id p, int param) {
    long[] size = new long[1];
    CL.clGetPlatformInfo(p, param, 0, null, size);
    byte[] b = new byte[(int) size[0]];
    CL.clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
    return cString(b);
  }

  static String deviceString(cl_device_id d, int param) {
    long[] size = new long[1];
    CL.clGetDeviceInfo(d, param, 0, null, size);
    byte[] b = new byte[(int) size[0]];
    CL.clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
    return cString(b);
  }

  static long deviceLong(cl_device_id d, int param) {
    long[] v = new long[1];
    CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
    return v[0];
  }

  static int deviceInt(cl_device_id d, int param) {
    int[] v = new int[1];
    CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
    return v[0];
  }

  static long deviceSize(cl_device_id d, int param) {
    if (Sizeof.size_t == 8) {
      return deviceLong(d, param);
    }
    return deviceInt(d, param) & 0xffffffffL;
  }

  private static String cString(byte[] b) {
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
  }
}
