package io.convkit.engine;

import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.engine.opencl.DeviceType;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.engine.opencl.OpenClException;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.tensor.Layout;

/** Factory for engines. */
public final class Engines {
  private static final System.Logger LOG = System.getLogger("io.convkit");

  private Engines() {}

  /** The CPU engine on all available cores, with the best ISA this CPU has. */
  public static Engine cpu() {
    return cpu(Runtime.getRuntime().availableProcessors());
  }

  /** The CPU engine on {@code threads} threads (OpenBLAS's and ours together never exceed it). */
  public static Engine cpu(int threads) {
    return new CpuEngine(threads, Isa.best());
  }

  /**
   * The CPU engine whose forward passes keep activations in {@code preferred}: NHWC (the default:
   * our own micro-kernels) or NCHW (the first engine's OpenBLAS-based paths, for comparison).
   */
  public static Engine cpu(int threads, Layout preferred) {
    return new CpuEngine(threads, Isa.best(), preferred, null);
  }

  /**
   * The CPU engine of {@code precision}: EXACT never runs Winograd (every output a direct sum of
   * its products); FAST (the default, or {@code -Dconvkit.precision}) may, where it is faster.
   */
  public static Engine cpu(int threads, Precision precision) {
    return new CpuEngine(threads, Isa.best(), Layout.NHWC, null, precision);
  }

  /** The reference engine: plain Java loops with float64 accumulation; the test oracle. */
  public static Engine reference() {
    return new ReferenceEngine();
  }

  /**
   * The OpenCL engine on the first GPU, or else the first OpenCL device of any kind (PoCL's CPU
   * device, for instance). Throws {@link OpenClException} saying why when there is none: no
   * OpenCL library, no platform, no device.
   */
  public static OpenClEngine openCl() {
    return openCl(DeviceType.ANY);
  }

  /** The OpenCL engine on the first device of {@code type}. */
  public static OpenClEngine openCl(DeviceType type) {
    if (type == null) {
      throw new IllegalArgumentException("device type is null");
    }
    return OpenClEngine.open(OpenClEngine.select(type));
  }

  /** The OpenCL engine on device {@code deviceIndex} of platform {@code platformIndex}. */
  public static OpenClEngine openCl(int platformIndex, int deviceIndex) {
    return OpenClEngine.open(OpenClEngine.select(platformIndex, deviceIndex));
  }

  /**
   * The fastest engine here: the OpenCL engine on a GPU where there is one, else the CPU engine.
   * Logs (System.Logger "io.convkit", INFO) which it chose and, on fallback, why.
   */
  public static Engine best() {
    try {
      Engine e = openCl(DeviceType.GPU);
      LOG.log(System.Logger.Level.INFO, "convkit: using " + e.name());
      return e;
    } catch (OpenClException | LinkageError e) {
      Engine cpu = cpu();
      LOG.log(System.Logger.Level.INFO, "convkit: no OpenCL GPU (" + e.getMessage() + "); using "
          + cpu.name());
      return cpu;
    }
  }
}
