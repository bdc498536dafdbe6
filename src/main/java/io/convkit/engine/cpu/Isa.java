package io.convkit.engine.cpu;

import io.convkit.nativ.ConvkitNative;
import java.util.Locale;

/**
 * Which variant of the vectorised native kernels runs. The value is what the C dispatcher takes.
 * The widest variant the CPU runs is the default; the system property {@code convkit.isa}
 * ({@code portable}, {@code avx2} or {@code avx512}) caps it, for comparisons on one machine.
 */
public enum Isa {
  /** GCC vector extensions on the base x86-64 target: runs on any x86-64. */
  PORTABLE(0, 4),
  /** AVX2 + FMA, 8 floats per register. */
  AVX2(1, 8),
  /**
   * AVX-512 F, VL and DQ: the AVX2 kernels compiled with AVX-512, and 16-lane register tiles
   * (8 pixels x 32 channels) for the dense, 1x1 and Winograd multiplies.
   */
  AVX512(2, 16);

  /** The system property that caps {@link #best()}. */
  public static final String PROPERTY = "convkit.isa";

  private final int code;
  private final int fmaLanes;

  Isa(int code, int fmaLanes) {
    this.code = code;
    this.fmaLanes = fmaLanes;
  }

  public int code() {
    return code;
  }

  /**
   * Floats per FMA of {@code ck_fma_burn} in this variant (the FMA peak loop's chains are this
   * wide; the portable build's GCC vectors compile to SSE2 multiplies and adds, 4 lanes).
   */
  public int fmaLanes() {
    return fmaLanes;
  }

  /** The widest variant this CPU runs, capped by {@value #PROPERTY} where that is set. */
  public static Isa best() {
    Isa detected = detected();
    String cap = System.getProperty(PROPERTY);
    if (cap == null || cap.isBlank()) {
      return detected;
    }
    Isa wanted = parse(cap);
    return wanted.code < detected.code ? wanted : detected;
  }

  /** The widest variant this CPU runs, whatever {@value #PROPERTY} says. */
  public static Isa detected() {
    int c = ConvkitNative.ck_best_isa();
    return c >= 2 ? AVX512 : c == 1 ? AVX2 : PORTABLE;
  }

  /** Whether this CPU can run the variant. */
  public boolean supported() {
    return code <= detected().code;
  }

  /** {@code portable}, {@code avx2} or {@code avx512} (any case). */
  public static Isa parse(String name) {
    return switch (name.trim().toLowerCase(Locale.ROOT)) {
      case "portable" -> PORTABLE;
      case "avx2" -> AVX2;
      case "avx512" -> AVX512;
      default -> throw new IllegalArgumentException(
          PROPERTY + ": unknown ISA '" + name + "', expected portable, avx2 or avx512");
    };
  }
}
