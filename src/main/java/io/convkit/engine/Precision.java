package io.convkit.engine;

/**
 * How far an engine may move a convolution's result from the direct sum of its products.
 *
 * <ul>
 *   <li>{@link #EXACT}: every output is a float32 sum of its K products in some order, so it is
 *       off from the exact value by at most gamma(K+1) * sum|w*x| (K = C/groups * R * S).</li>
 *   <li>{@link #FAST} (the default): the CPU engine may also run 3x3 stride-1 layers by Winograd's
 *       minimal filtering, whose error bound is larger by the transforms' magnitudes (up to about
 *       256x for F(4x4, 3x3), 7x for F(2x2, 3x3); the formula is in docs/DESIGN.md). On the
 *       suite's layers with He-initialised weights and ReLU'd inputs its measured error stays
 *       below 2e-5 of the output's largest magnitude. Non-finite values land exactly where the
 *       direct sum puts them.</li>
 * </ul>
 * The system property {@code convkit.precision} ({@code exact} or {@code fast}) sets the default.
 */
public enum Precision {
  EXACT,
  FAST;

  /** The default: {@code convkit.precision}, else FAST. */
  public static Precision fromProperty() {
    String v = System.getProperty("convkit.precision", "fast");
    return switch (v.toLowerCase(java.util.Locale.ROOT)) {
      case "exact" -> EXACT;
      case "fast" -> FAST;
      default -> throw new IllegalArgumentException(
          "convkit.precision must be exact or fast, got " + v);
    };
  }
}
