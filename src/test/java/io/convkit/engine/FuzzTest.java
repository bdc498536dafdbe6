package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * 10,000 seeded-random specs, weights and inputs, valid and invalid (negative and zero sizes,
 * mismatched channels and lengths, forced algorithms, closed tensors), thrown at the public API.
 * Every call must return a result or throw IllegalArgumentException / IllegalStateException: a
 * JVM crash (a native out-of-bounds access) would end the test run itself.
 */
class FuzzTest {
  @Test
  void tenThousandRandomCallsGiveResultsOrCleanExceptions() {
    Random r = new Random(42);
    int results = 0;
    int rejected = 0;
    try (Engine cpu = Engines.cpu(2)) {
      for (int i = 0; i < 10_000; i++) {
        try {
          float[] y = oneCall(r, cpu);
          for (float v : y) {
            if (!Float.isFinite(v)) {
              fail("call " + i + " produced a non-finite output " + v);
            }
          }
          results++;
        } catch (IllegalArgumentException | IllegalStateException expected) {
          assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(),
              "call " + i + ": an exception without a message");
          rejected++;
        }
      }
    }
    assertEquals(10_000, results + rejected);
    // Both kinds must occur, or the fuzzer is not exploring.
    assertTrue(results > 1_000, "only " + results + " valid calls");
    assertTrue(rejected > 1_000, "only " + rejected + " rejected calls");
  }

  /** Small values, sometimes out of range: -1..6 for sizes, occasionally far off. */
  private static int small(Random r, int max) {
    int p = r.nextInt(100);
    if (p < 3) {
      return -r.nextInt(3);
    }
    return 1 + r.nextInt(max);
  }

  private static float[] oneCall(Random r, Engine cpu) {
    int groups = r.nextInt(4) == 0 ? small(r, 4) : 1;
    int in = small(r, 4) * Math.max(1, groups);
    int out = small(r, 4) * Math.max(1, groups);
    if (r.nextInt(30) == 0) {
      in += 1; // likely not divisible by groups
    }
    ConvSpec.Builder b = ConvSpec.builder(in, out, small(r, 5), small(r, 5))
        .stride(small(r, 3), small(r, 3))
        .dilation(small(r, 3), small(r, 3))
        .padding(r.nextInt(5) - (r.nextInt(40) == 0 ? 2 : 0), r.nextInt(4), r.nextInt(4), r.nextInt(4))
        .groups(groups)
        .strict(r.nextInt(10) == 0)
        .bias(r.nextBoolean())
        .activation(Activation.values()[r.nextInt(Activation.values().length)]);
    if (r.nextInt(10) == 0 && in > 0 && out > 0) {
      boolean[][] t = new boolean[out + (r.nextInt(20) == 0 ? 1 : 0)][in];
      for (boolean[] row : t) {
        for (int j = 0; j < row.length; j++) {
          row[j] = r.nextBoolean();
        }
      }
      b.groups(1).connections(t);
    }
    ConvSpec spec = b.build();
    long wCount = spec.hasConnections() && r.nextBoolean() ? spec.weightCount() : spec.denseWeightCount();
    int wLen = (int) wCount + (r.nextInt(30) == 0 ? r.nextInt(3) - 1 : 0);
    float[] w = new float[Math.max(0, wLen)];
    if (!spec.hasConnections()) {
      for (int i = 0; i < w.length; i++) {
        w[i] = r.nextFloat() - 0.5f;
      }
    }
    float[] bias = spec.hasBias() || r.nextInt(30) == 0 ? new float[out] : null;
    int c = r.nextInt(20) == 0 ? in + 1 : in;
    int n = small(r, 3);
    int h = small(r, 12);
    int wd = small(r, 12);
    Algorithm forced = r.nextInt(4) == 0 ? Algorithm.values()[r.nextInt(Algorithm.values().length)] : null;
    try (Conv2d conv = new Conv2d(spec, w, bias); Tensor x = Tensor.zeros(n, c, h, wd)) {
      x.copyFrom(random(r, x.elements()));
      if (r.nextInt(50) == 0) {
        x.close();
      }
      try (Tensor y = conv.forward(x, cpu, forced)) {
        return y.toArray();
      }
    }
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = r.nextFloat() * 2 - 1;
    }
    return a;
  }
}
