package io.convkit.engine.cpu;

import io.convkit.nativ.ConvkitNative;

/** Which variant of the vectorised native kernels runs. The value is what the C dispatcher takes. */
public enum Isa {
  /** GCC vector extensions on the base x86-64 target: runs on any x86-64. */
  PORTABLE(0),
  /** AVX2 + FMA, 8 floats per register. */
  AVX2(1);

  private final int code;

  Isa(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The best variant this CPU runs. */
  public static Isa best() {
    return ConvkitNative.ck_best_isa() == 1 ? AVX2 : PORTABLE;
  }

  /** Whether this CPU can run the variant. */
  public boolean supported() {
    return this == PORTABLE || best() == AVX2;
  }
}
