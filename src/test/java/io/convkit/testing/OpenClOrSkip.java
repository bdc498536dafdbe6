package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.engine.opencl.ClDevice;
import io.convkit.engine.opencl.DeviceType;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.engine.opencl.OpenClException;
import org.junit.jupiter.api.Assumptions;

/**
 * Where every OpenCL test gets its device: a GPU where there is one, else the first device.
 * Called from a test (or {@code @BeforeEach}), so a machine without any OpenCL platform reports
 * the test as skipped, with the reason; with {@code CONVKIT_REQUIRE_OPENCL=1} (set by .ci/run) a
 * missing platform fails it instead.
 */
public final class OpenClOrSkip {
  private OpenClOrSkip() {}

  public static boolean required() {
    return "1".equals(System.getenv("CONVKIT_REQUIRE_OPENCL"));
  }

  public static ClDevice device() {
    try {
      return OpenClEngine.select(DeviceType.ANY);
    } catch (OpenClException | LinkageError e) {
      if (required()) {
        fail("CONVKIT_REQUIRE_OPENCL=1 but there is no usable OpenCL device: " + e.getMessage(), e);
      }
      Assumptions.abort("no OpenCL platform here (" + e.getMessage() + ")");
      throw new AssertionError("unreachable");
    }
  }
}
