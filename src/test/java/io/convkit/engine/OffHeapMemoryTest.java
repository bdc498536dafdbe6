package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvSpec;
import io.convkit.nn.Conv2d;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/** Off-heap memory, as JavaCPP counts it, does not grow over 10,000 forward calls. */
class OffHeapMemoryTest {
  @Test
  void tenThousandForwardCallsLeaveTheOffHeapCountFlat() {
    ConvSpec dense = ConvSpec.builder(4, 8, 3, 3).padding(1).bias(true)
        .activation(Activation.RELU).build();
    ConvSpec dw = ConvSpec.builder(8, 8, 3, 3).padding(1).groups(8).build();
    ConvSpec table = ConvSpec.builder(6, 16, 5, 5).connections(ConvCases.lenetC3()).build();
    try (Engine cpu = Engines.cpu(2);
        Conv2d a = new Conv2d(dense, ConvCases.data(1, dense.denseWeightCount()), new float[8]);
        Conv2d b = new Conv2d(dw, ConvCases.data(2, dw.denseWeightCount()), null);
        Conv2d c = new Conv2d(table, ConvCases.data(3, table.weightCount()), null);
        Tensor x = Tensor.of(ConvCases.data(4, 2 * 4 * 12 * 12), 2, 4, 12, 12);
        Tensor x6 = Tensor.of(ConvCases.data(5, 6 * 14 * 14), 1, 6, 14, 14)) {
      Runnable round = () -> {
        try (Tensor y = a.forward(x, cpu); Tensor z = b.forward(y, cpu);
            Tensor g = a.forward(x, cpu, Algorithm.GROUPED_GEMM); Tensor t = c.forward(x6, cpu)) {
          z.toArray();
        }
      };
      for (int i = 0; i < 100; i++) {
        round.run(); // workspaces reach their final size
      }
      long before = Pointer.totalBytes();
      for (int i = 0; i < 2_500; i++) {
        round.run(); // 4 forward calls each: 10,000 in all
      }
      long after = Pointer.totalBytes();
      // <=, not ==: JavaCPP's deallocator thread may free other tests' garbage meanwhile.
      assertTrue(after <= before, "JavaCPP's off-heap byte count grew over 10,000 forward calls: "
          + before + " -> " + after + " bytes");
    }
  }
}
