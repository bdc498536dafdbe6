package io.convkit.testing;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The convolution cases every engine is tested on: the fixed cases of the source tables (T6, T10)
 * and seeded-random specs. Shared by all engine tests so each engine meets the same cases.
 */
public final class ConvCases {
  /** A spec, an input shape and a seed for its data. */
  public record Case(String id, ConvSpec spec, Shape input, long seed) {
    @Override
    public String toString() {
      return id + " " + spec + " on " + input;
    }
  }

  /** The seed and count of the random cases every engine's correctness test runs. */
  public static final long RANDOM_SEED = 20261122L;

  public static final int RANDOM_COUNT = 320;

  private ConvCases() {}

  /** SOURCE_TABLES T6 and T10, and a few realistic layers that exercise the threaded paths. */
  public static List<Case> fixed() {
    List<Case> c = new ArrayList<>();
    Shape t6 = Shape.of(1, 3, 7, 7);
    c.add(new Case("T6 depthwise 3x3 on 7x7x3", ConvSpec.builder(3, 3, 3, 3).groups(3)
        .name("t6_depthwise").build(), t6, 6));
    c.add(new Case("T6 pointwise 3->128 on 5x5", ConvSpec.builder(3, 128, 1, 1)
        .name("t6_pointwise").build(), Shape.of(1, 3, 5, 5), 7));
    c.add(new Case("T6 standard 3x3 3->128", ConvSpec.builder(3, 128, 3, 3)
        .name("t6_standard").build(), t6, 8));
    for (int stride = 1; stride <= 3; stride++) {
      c.add(new Case("T10 7x7 3x3 stride " + stride, ConvSpec.builder(2, 4, 3, 3).stride(stride)
          .name("t10_s" + stride).build(), Shape.of(1, 2, 7, 7), 10 + stride));
    }
    c.add(new Case("T10 7x7 3x3 stride 1 pad 1", ConvSpec.builder(2, 4, 3, 3).padding(1)
        .name("t10_p1").build(), Shape.of(1, 2, 7, 7), 14));
    c.add(new Case("LeNet-5 C3 table", ConvSpec.builder(6, 16, 5, 5).connections(lenetC3())
        .bias(true).name("lenet_c3").build(), Shape.of(2, 6, 14, 14), 15));
    c.add(new Case("dense 3x3 32->48 on 30x30, batch 1", ConvSpec.builder(32, 48, 3, 3)
        .padding(1).bias(true).activation(Activation.RELU).name("dense").build(),
        Shape.of(1, 32, 30, 30), 16));
    c.add(new Case("ResNeXt-like g32 3x3 on 12x12", ConvSpec.builder(128, 128, 3, 3).padding(1)
        .groups(32).bias(true).activation(Activation.RELU).name("g32").build(),
        Shape.of(1, 128, 12, 12), 17));
    c.add(new Case("AlexNet-like g2 5x5 pad 2", ConvSpec.builder(16, 40, 5, 5).padding(2)
        .groups(2).bias(true).name("g2").build(), Shape.of(2, 16, 13, 13), 18));
    c.add(new Case("depthwise 3x3 s2 on 29x29, mult 1", ConvSpec.builder(24, 24, 3, 3)
        .stride(2).padding(1).groups(24).bias(true).activation(Activation.RELU6).name("dw_s2")
        .build(), Shape.of(1, 24, 29, 29), 19));
    c.add(new Case("depthwise 5x5 s1 on 17x17, mult 2", ConvSpec.builder(8, 16, 5, 5).padding(2)
        .groups(8).name("dw5_m2").build(), Shape.of(3, 8, 17, 17), 20));
    // Fully connected layers run as 1x1 convolutions on a 1x1 input: the CPU engine splits their
    // output channels (a matrix-vector product at batch 1, one transposed GEMM for a batch).
    c.add(new Case("FC as 1x1 conv 300->37, batch 1", ConvSpec.builder(300, 37, 1, 1).bias(true)
        .activation(Activation.RELU).name("fc_b1").build(), Shape.of(1, 300, 1, 1), 22));
    c.add(new Case("FC as 1x1 conv 300->37, batch 3", ConvSpec.builder(300, 37, 1, 1).bias(true)
        .name("fc_b3").build(), Shape.of(3, 300, 1, 1), 23));
    c.add(new Case("pointwise 16->40 on one output row", ConvSpec.builder(16, 40, 1, 1).bias(true)
        .activation(Activation.RELU6).name("pw_row").build(), Shape.of(1, 16, 1, 9), 24));
    c.add(new Case("pointwise 64->96 batch 4", ConvSpec.builder(64, 96, 1, 1).bias(true)
        .activation(Activation.RELU).name("pw").build(), Shape.of(4, 64, 9, 11), 21));
    // The transcendental activations on every kind of epilogue: GEMM (blocked and by channels,
    // whole vectors and a masked tail), small-M tiles, depthwise (row and flat paths), table.
    c.add(new Case("EfficientNet-like depthwise 3x3 on 14x14, swish", ConvSpec.builder(40, 40, 3,
        3).padding(1).groups(40).bias(true).activation(Activation.SWISH).name("dw_swish").build(),
        Shape.of(1, 40, 14, 14), 25));
    c.add(new Case("depthwise 5x5 s2 on 37x37, swish", ConvSpec.builder(8, 8, 5, 5).stride(2)
        .padding(2).groups(8).bias(true).activation(Activation.SWISH).name("dw5_swish").build(),
        Shape.of(1, 8, 37, 37), 26));
    c.add(new Case("SE expand FC 10->40, sigmoid", ConvSpec.builder(10, 40, 1, 1).bias(true)
        .activation(Activation.SIGMOID).name("se_sigmoid").build(), Shape.of(1, 10, 1, 1), 27));
    c.add(new Case("ConvNeXt-like pointwise 24->96 on 7x7, GELU", ConvSpec.builder(24, 96, 1, 1)
        .bias(true).activation(Activation.GELU).name("pw_gelu").build(), Shape.of(2, 24, 7, 7),
        28));
    c.add(new Case("dense 3x3 16->24 on 19x19, GELU", ConvSpec.builder(16, 24, 3, 3).padding(1)
        .bias(true).activation(Activation.GELU).name("dense_gelu").build(),
        Shape.of(1, 16, 19, 19), 29));
    c.add(new Case("g8 3x3 on 11x11, sigmoid", ConvSpec.builder(32, 32, 3, 3).padding(1)
        .groups(8).activation(Activation.SIGMOID).name("g8_sigmoid").build(),
        Shape.of(1, 32, 11, 11), 30));
    c.add(new Case("LeNet-5 C3 table, swish", ConvSpec.builder(6, 16, 5, 5).connections(lenetC3())
        .bias(true).activation(Activation.SWISH).name("lenet_c3_swish").build(),
        Shape.of(1, 6, 14, 14), 31));
    c.add(new Case("FC 300->37, batch 3, GELU", ConvSpec.builder(300, 37, 1, 1).bias(true)
        .activation(Activation.GELU).name("fc_gelu").build(), Shape.of(3, 300, 1, 1), 32));
    return c;
  }

  /** The connection table of LeNet-5's C3 (LeCun et al. 1998, Table I): [output][input]. */
  public static boolean[][] lenetC3() {
    String[] cols = {
      "012", "123", "234", "345", "045", "015", "0123", "1234", "2345", "0345", "0145", "0125",
      "0134", "1245", "0235", "012345"
    };
    boolean[][] t = new boolean[16][6];
    for (int o = 0; o < 16; o++) {
      for (char ch : cols[o].toCharArray()) {
        t[o][ch - '0'] = true;
      }
    }
    return t;
  }

  /**
   * {@code count} seeded-random valid cases: sizes 1..33, kernels 1..7 (often non-square),
   * strides 1..3 and dilation 1..3 per axis, four independent pads 0..3, dense, grouped (few and
   * many output channels per group), depthwise with multiplier 1 and 2, connection tables,
   * batch 1..3, bias on and off, every activation.
   */
  public static List<Case> random(long seed, int count) {
    Random r = new Random(seed);
    List<Case> out = new ArrayList<>();
    int attempts = 0;
    while (out.size() < count) {
      if (++attempts > 20 * count) {
        throw new AssertionError("the random case generator rejects too many specs");
      }
      long caseSeed = r.nextLong();
      int kind = r.nextInt(6);
      int groups;
      int in;
      int outC;
      boolean[][] table = null;
      switch (kind) {
        case 0, 1 -> { // dense
          groups = 1;
          in = 1 + r.nextInt(6);
          outC = 1 + r.nextInt(kind == 0 ? 8 : 24);
        }
        case 2 -> { // grouped
          groups = 2 + r.nextInt(4);
          in = groups * (1 + r.nextInt(3));
          outC = groups * (1 + r.nextInt(r.nextBoolean() ? 4 : 20));
        }
        case 3, 4 -> { // depthwise, multiplier 1 or 2
          groups = 1 + r.nextInt(8);
          in = groups;
          outC = groups * (kind == 3 ? 1 : 2);
        }
        default -> { // connection table
          groups = 1;
          in = 1 + r.nextInt(6);
          outC = 1 + r.nextInt(8);
          table = new boolean[outC][in];
          for (int o = 0; o < outC; o++) {
            for (int i = 0; i < in; i++) {
              table[o][i] = r.nextInt(3) > 0;
            }
            table[o][r.nextInt(in)] = true;
          }
        }
      }
      int kh = 1 + r.nextInt(7);
      int kw = r.nextInt(3) == 0 ? kh : 1 + r.nextInt(7);
      ConvSpec.Builder b = ConvSpec.builder(in, outC, kh, kw)
          .name("random" + out.size())
          .stride(1 + r.nextInt(3), 1 + r.nextInt(3))
          .dilation(r.nextInt(3) == 0 ? 1 + r.nextInt(3) : 1, r.nextInt(3) == 0 ? 1 + r.nextInt(3) : 1)
          .padding(r.nextInt(4), r.nextInt(4), r.nextInt(4), r.nextInt(4))
          .groups(groups)
          .bias(r.nextBoolean())
          .activation(Activation.values()[r.nextInt(Activation.values().length)]);
      if (table != null) {
        b.connections(table);
      }
      ConvSpec spec = b.build();
      Shape input = Shape.of(1 + r.nextInt(3), in, 1 + r.nextInt(33), 1 + r.nextInt(33));
      try {
        spec.outputShape(input);
      } catch (IllegalArgumentException tooSmall) {
        continue; // kernel larger than the padded input: draw again
      }
      out.add(new Case("random #" + out.size(), spec, input, caseSeed));
    }
    return out;
  }

  /** Seeded data in [-1, 1). */
  public static float[] data(long seed, long n) {
    Random r = new Random(seed);
    float[] a = new float[Math.toIntExact(n)];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextFloat() * 2 - 1;
    }
    return a;
  }
}
