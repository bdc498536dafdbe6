package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Runs a native kernel's tasks [0, tasks) in the calls that split points give, writing an
 * output and a scratch with guard values around them, and checks that no call wrote outside
 * (the kernel tests' out-of-bounds check).
 */
public final class GuardedSplits {
  private static final int GUARD = 64;
  private static final float GUARD_VALUE = -12345.678f;

  private GuardedSplits() {}

  /** One call of the kernel on tasks [t0, t1). */
  public interface Call {
    void run(FloatPointer out, FloatPointer scratch, long t0, long t1);
  }

  /** The output (outLen floats) after every call; fails naming {@code what} on a guard hit. */
  public static float[] run(String what, int outLen, long scratchFloats, long tasks,
      long[] splits, Call call) {
    float[] guarded = new float[outLen + 2 * GUARD];
    Arrays.fill(guarded, GUARD_VALUE);
    float[] scratchInit = new float[Math.toIntExact(scratchFloats) + GUARD];
    Arrays.fill(scratchInit, GUARD_VALUE);
    try (FloatPointer out = new FloatPointer(guarded);
        FloatPointer scratch = new FloatPointer(scratchInit)) {
      long prev = 0;
      for (int i = 0; i <= splits.length; i++) {
        long end = i < splits.length ? splits[i] : tasks;
        out.position(GUARD);
        call.run(out, scratch, prev, end);
        prev = end;
      }
      out.position(0);
      out.get(guarded);
      scratch.get(scratchInit);
    }
    for (int i = 0; i < GUARD; i++) {
      assertEquals(GUARD_VALUE, guarded[i], what + ": wrote before out");
      assertEquals(GUARD_VALUE, guarded[GUARD + outLen + i], what + ": wrote after out");
      assertEquals(GUARD_VALUE, scratchInit[(int) scratchFloats + i],
          what + ": wrote past scratch");
    }
    return Arrays.copyOfRange(guarded, GUARD, GUARD + outLen);
  }
}
