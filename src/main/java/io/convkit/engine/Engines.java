package io.convkit.engine;

import io.convkit.engine.cpu.CpuEngine;
import io.convkit.engine.cpu.Isa;
import io.convkit.engine.reference.ReferenceEngine;

/** Factory for engines. */
public final class Engines {
  private Engines() {}

  /** The CPU engine on all available cores, with the best ISA this CPU has. */
  public static Engine cpu() {
    return cpu(Runtime.getRuntime().availableProcessors());
  }

  /** The CPU engine on {@code threads} threads (OpenBLAS's and ours together never exceed it). */
  public static Engine cpu(int threads) {
    return new CpuEngine(threads, Isa.best());
  }

  /** The reference engine: plain Java loops with float64 accumulation; the test oracle. */
  public static Engine reference() {
    return new ReferenceEngine();
  }

  /** The fastest engine available here. Until the OpenCL engine lands this is {@link #cpu()}. */
  public static Engine best() {
    return cpu();
  }
}
