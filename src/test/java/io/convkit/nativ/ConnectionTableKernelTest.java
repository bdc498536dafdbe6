package io.convkit.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.conv.Activation;
import io.convkit.testing.Isas;
import io.convkit.testing.Tolerance;
import java.util.Arrays;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.junit.jupiter.api.Test;

/**
 * ck_connection_table (LeNet-5's C3 sums of unfolded rows) called directly on both ISAs against a
 * float64 loop: every column count 1 .. 80 (the 32-column blocks, the 8-column blocks and every
 * masked tail), random sparse tables with empty outputs, output ranges split anywhere, guard
 * floats after the last output, and a NaN in a row no output of the range reads, which must not
 * reach any output (a kernel that summed all rows with zero weights would leak it).
 */
class ConnectionTableKernelTest {
  private static final float SENTINEL = -31415.926f;
  private static final int GUARD = 16;

  private static int[] isas() {
    return Isas.codes();
  }

  @Test
  void everyWidthAgainstTheNaiveSum() {
    Random r = new Random(11);
    int outputs = 5;
    int rows = 9;
    for (int isa : isas()) {
      for (int n = 1; n <= 80; n++) {
        for (Activation act : new Activation[] {Activation.NONE, Activation.RELU,
            Activation.TANH}) {
          // each output reads a random subset of the rows (output 2 none); row 8 is never read
          // and holds a NaN
          int[] start = new int[outputs + 1];
          int[] rowOf = new int[outputs * rows];
          int taps = 0;
          for (int o = 0; o < outputs; o++) {
            start[o] = taps;
            for (int j = 0; j < rows - 1; j++) {
              if (o != 2 && r.nextBoolean()) {
                rowOf[taps++] = j;
              }
            }
          }
          start[outputs] = taps;
          float[] w = new float[Math.max(1, taps)];
          for (int j = 0; j < taps; j++) {
            w[j] = (float) r.nextGaussian();
          }
          float[] col = new float[rows * n];
          for (int i = 0; i < col.length; i++) {
            col[i] = (float) r.nextGaussian();
          }
          col[8 * n + r.nextInt(n)] = Float.NaN;
          float[] bias = new float[outputs];
          for (int o = 0; o < outputs; o++) {
            bias[o] = (float) r.nextGaussian();
          }
          float[] whole = run(isa, col, n, start, rowOf, w, bias, act, outputs, 0, outputs);
          for (int o = 0; o < outputs; o++) {
            for (int i = 0; i < n; i++) {
              double s = bias[o];
              double m = Math.abs(bias[o]);
              for (int j = start[o]; j < start[o + 1]; j++) {
                s += (double) w[j] * col[rowOf[j] * n + i];
                m += Math.abs((double) w[j] * col[rowOf[j] * n + i]);
              }
              double want = act.apply(s);
              float got = whole[o * n + i];
              String what = "isa " + isa + " n " + n + " " + act + " out " + o + " col " + i;
              if (Float.isNaN(got)) {
                fail(what + ": NaN from a row this output does not read");
              }
              assertEquals(want, got, Tolerance.bound(start[o + 1] - start[o], m, act), what);
            }
          }
          // outputs split at every point give the same bits as one call
          for (int cut = 1; cut < outputs; cut++) {
            float[] a = run(isa, col, n, start, rowOf, w, bias, act, outputs, 0, cut);
            float[] b = run(isa, col, n, start, rowOf, w, bias, act, outputs, cut, outputs);
            for (int i = 0; i < outputs * n; i++) {
              float split = i < cut * n ? a[i] : b[i];
              assertEquals(Float.floatToRawIntBits(whole[i]), Float.floatToRawIntBits(split),
                  "isa " + isa + " n " + n + " split at " + cut + " element " + i);
            }
          }
        }
      }
    }
  }

  /** Runs outputs [o0, o1); the others stay SENTINEL, and the guard after the last is checked. */
  private static float[] run(int isa, float[] col, int n, int[] start, int[] rowOf, float[] w,
      float[] bias, Activation act, int outputs, int o0, int o1) {
    int len = outputs * n;
    try (FloatPointer pc = new FloatPointer(col); IntPointer ps = new IntPointer(start);
        IntPointer pr = new IntPointer(rowOf); FloatPointer pw = new FloatPointer(w);
        FloatPointer pb = new FloatPointer(bias); FloatPointer out = new FloatPointer(len + GUARD)) {
      float[] init = new float[len + GUARD];
      Arrays.fill(init, SENTINEL);
      out.put(init);
      ConvkitNative.ck_connection_table(isa, pc, n, ps, pr, pw, pb, out, act.code(), o0, o1);
      float[] all = new float[len + GUARD];
      out.get(all);
      for (int i = 0; i < len + GUARD; i++) {
        boolean mine = i >= o0 * n && i < o1 * n;
        if (!mine) {
          assertTrue(Float.floatToRawIntBits(all[i]) == Float.floatToRawIntBits(SENTINEL),
              "isa " + isa + " n " + n + ": float " + i + " outside outputs [" + o0 + ", " + o1
                  + ") was written");
        }
      }
      return Arrays.copyOf(all, len);
    }
  }
}
