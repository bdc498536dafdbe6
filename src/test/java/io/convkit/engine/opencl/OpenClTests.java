package io.convkit.engine.opencl;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.testing.OpenClOrSkip;

/**
 * Where the OpenCL tests get their device. Called from {@code @BeforeEach}, so a machine without
 * any OpenCL platform reports each test as skipped, with the reason; with
 * {@code CONVKIT_REQUIRE_OPENCL=1} (set by .ci/run) a missing platform fails them instead.
 */
final class OpenClTests {
  private OpenClTests() {}

  static boolean required() {
    return OpenClOrSkip.required();
  }

  /** The device the tests run on: a GPU where there is one, else the first device. */
  static ClDevice deviceOrSkip() {
    return OpenClOrSkip.device();
  }

  /**
   * A reference engine and an OpenCL engine on the test device that a test class shares: opened
   * by its first test ({@link #open} from {@code @BeforeEach}, so each test skips or fails as
   * {@link #deviceOrSkip} says), closed from {@code @AfterAll}.
   */
  static final class SharedEngines {
    Engine reference;
    OpenClEngine engine;

    void open() {
      ClDevice device = deviceOrSkip();
      if (engine == null) {
        reference = Engines.reference();
        engine = OpenClEngine.open(device);
      }
    }

    void close() {
      if (engine != null) {
        engine.close();
        reference.close();
        engine = null;
      }
    }
  }

  /**
   * The GPU-style kernels: the tiled GEMM with small tiles (so tests cover partial tiles on small
   * layers) and the per-pixel depthwise kernel.
   */
  static Tuning tiled(Tuning base) {
    return new Tuning(Tuning.Gemm.TILED, base.mr(), base.nv(), base.pl(), 16, 32, 8, 2, 4, base.lx(),
        false);
  }

  /**
   * The CPU-style kernels: the packed GEMM with two vectors per row and several work-items per
   * group (paths the tuned default does not take), and the per-row depthwise kernel.
   */
  static Tuning packed(Tuning base) {
    return new Tuning(Tuning.Gemm.PACKED, 6, 2, 4, base.tsm(), base.tsn(), base.tsk(), base.wptm(),
        base.wptn(), base.lx(), true);
  }
}
