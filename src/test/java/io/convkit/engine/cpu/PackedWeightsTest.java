package io.convkit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nativ.ConvkitNative;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class PackedWeightsTest {
  static {
    ConvkitNative.load();
  }

  private static final boolean LINUX = System.getProperty("os.name").startsWith("Linux");

  /** Sizes at, above and around the threshold, with tails that are not whole pages. */
  @Test
  void largeWeightsLiveInTheirOwnTwoMegabyteAlignedMappingCountedByJavaCpp() {
    long[] sizes = {PackedWeights.HUGE_BYTES / 4, PackedWeights.HUGE_BYTES / 4 + 1,
        3 * PackedWeights.HUGE_BYTES / 4 + 1023, 5L << 20};
    for (long floats : sizes) {
      long before = Pointer.totalBytes();
      PackedWeights w = new PackedWeights(floats, "test weights");
      FloatPointer p = w.pointer();
      assertEquals(LINUX, w.mapped(), floats + " floats");
      if (w.mapped()) {
        assertEquals(0, p.address() % PackedWeights.HUGE_BYTES, floats + " floats: not 2 MB aligned");
        assertEquals(4 * floats, Pointer.totalBytes() - before, floats + " floats: JavaCPP's count");
        // mmap's memory is zero; every float, the last included, is writable and reads back
        assertEquals(0f, p.get(floats - 1));
      }
      for (long i = 0; i < floats; i += 997) {
        p.put(i, i);
      }
      p.put(floats - 1, -1f);
      for (long i = 0; i < floats - 1; i += 997) {
        assertEquals((float) i, p.get(i));
      }
      assertEquals(-1f, p.get(floats - 1));
      w.close();
      w.close(); // a second close frees nothing twice
      assertEquals(before, Pointer.totalBytes(), floats + " floats: not released");
    }
  }

  @Test
  void smallWeightsAreAllocatedAsUsual() {
    PackedWeights w = new PackedWeights(PackedWeights.HUGE_BYTES / 4 - 1, "small");
    assertFalse(w.mapped());
    assertTrue(w.pointer().address() % 64 == 0);
    w.close();
  }
}
