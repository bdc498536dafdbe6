package io.convkit.testing;

import io.convkit.engine.Engine;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPU engines every CPU correctness test runs: the AVX-512 and the AVX2 kernels on 2 threads
 * (work split across threads) where the CPU has them, and the portable kernels on 1 thread.
 */
public final class CpuVariants {
  private CpuVariants() {}

  /** New engines; the caller closes them. */
  public static List<Engine> open() {
    List<Engine> engines = new ArrayList<>();
    if (Isa.AVX512.supported()) {
      engines.add(new CpuEngine(2, Isa.AVX512));
    }
    if (Isa.AVX2.supported()) {
      engines.add(new CpuEngine(2, Isa.AVX2));
    }
    engines.add(new CpuEngine(1, Isa.PORTABLE));
    return engines;
  }
}
