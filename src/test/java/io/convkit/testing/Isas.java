package io.convkit.testing;

import io.convkit.nativ.ConvkitNative;
import java.util.stream.IntStream;

/** The native ISA codes the kernel tests call: every one this CPU runs (0 portable .. best). */
public final class Isas {
  private Isas() {}

  public static int[] codes() {
    return IntStream.rangeClosed(0, ConvkitNative.ck_best_isa()).toArray();
  }
}
