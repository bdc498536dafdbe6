package io.convkit.testing;

import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The pooling cases every engine is tested on: fixed cases from well-known networks, odd shapes,
 * and seeded-random specs. Shared by all engine tests so each engine meets the same cases; the
 * input data of a case is {@code ConvCases.data(seed, input.elements())}.
 */
public final class PoolCases {
  /** A spec, an input shape and a seed for its data. */
  public record Case(String id, PoolSpec spec, Shape input, long seed) {
    /** The case's input data, in [-1, 1). */
    public float[] data() {
      return ConvCases.data(seed, input.elements());
    }

    @Override
    public String toString() {
      return id + " " + spec + " on " + input;
    }
  }

  private PoolCases() {}

  private static PoolSpec.Builder max(int k) {
    return PoolSpec.builder(PoolKind.MAX, k, k);
  }

  private static PoolSpec.Builder avg(int k) {
    return PoolSpec.builder(PoolKind.AVG, k, k);
  }

  /** Pooling layers of AlexNet, GoogLeNet, ResNet, VGG and LeNet-5, global pools, odd shapes. */
  public static List<Case> fixed() {
    List<Case> c = new ArrayList<>();
    c.add(new Case("AlexNet pool1 max 3x3 s2", max(3).stride(2).name("alexnet_pool1").build(),
        Shape.of(1, 8, 55, 55), 101));
    c.add(new Case("GoogLeNet pool1 max 3x3 s2 ceil", max(3).stride(2).ceilMode(true)
        .name("googlenet_pool1").build(), Shape.of(1, 4, 112, 112), 102));
    c.add(new Case("GoogLeNet pool3 max 3x3 s2 ceil, odd plane", max(3).stride(2).ceilMode(true)
        .name("googlenet_pool3").build(), Shape.of(2, 6, 28, 28), 103));
    c.add(new Case("ResNet pool1 max 3x3 s2 pad 1", max(3).stride(2).padding(1)
        .name("resnet_pool1").build(), Shape.of(2, 4, 56, 56), 104));
    c.add(new Case("VGG pool max 2x2 s2", max(2).stride(2).name("vgg_pool").build(),
        Shape.of(2, 8, 28, 28), 105));
    c.add(new Case("LeNet-5 S2 avg 2x2 s2", avg(2).stride(2).name("lenet_s2").build(),
        Shape.of(3, 6, 28, 28), 106));
    c.add(new Case("avg 3x3 s1 pad 1, padding counted", avg(3).stride(1).padding(1)
        .countPadding(true).name("avg3_pad_counted").build(), Shape.of(1, 5, 14, 14), 107));
    c.add(new Case("avg 3x3 s1 pad 1, padding excluded", avg(3).stride(1).padding(1)
        .countPadding(false).name("avg3_pad_excluded").build(), Shape.of(1, 5, 14, 14), 108));
    c.add(new Case("ResNet global avg on 7x7", PoolSpec.global(PoolKind.AVG),
        Shape.of(2, 64, 7, 7), 109));
    c.add(new Case("global max on 5x9", PoolSpec.global(PoolKind.MAX), Shape.of(1, 3, 5, 9), 110));
    c.add(new Case("global avg on a 1x1 plane", PoolSpec.global(PoolKind.AVG),
        Shape.of(3, 2, 1, 1), 111));
    // Odd shapes.
    c.add(new Case("1x1 window on 1x1", max(1).name("one").build(), Shape.of(1, 1, 1, 1), 112));
    c.add(new Case("1x3 window s1x2 pad left/right 1 on a single row",
        PoolSpec.builder(PoolKind.AVG, 1, 3).stride(1, 2).padding(0, 1, 0, 1).countPadding(false)
            .name("row").build(), Shape.of(3, 2, 1, 17), 113));
    c.add(new Case("2x2 ceil on a tall narrow plane", max(2).ceilMode(true).name("tall").build(),
        Shape.of(1, 2, 19, 2), 114));
    c.add(new Case("5x5 s3 ceil, pads 4,0,2,3", avg(5).stride(3).padding(4, 0, 2, 3)
        .ceilMode(true).name("lopsided").build(), Shape.of(2, 3, 11, 13), 115));
    c.add(new Case("3x3 s2 ceil exclude-pad on a wide plane", avg(3).stride(2).padding(1)
        .ceilMode(true).countPadding(false).name("wide_s2").build(), Shape.of(1, 2, 9, 67), 116));
    c.add(new Case("3x2 s3x1 on a wide plane", PoolSpec.builder(PoolKind.MAX, 3, 2).stride(3, 1)
        .padding(2, 1, 0, 0).name("wide_s3").build(), Shape.of(1, 3, 10, 45), 117));
    c.add(new Case("4x4 s3 pad 3 ceil, dropped last window", max(4).stride(3).padding(3)
        .ceilMode(true).name("dropped").build(), Shape.of(1, 2, 5, 5), 118));
    c.add(new Case("2x2 s2 pad 1 ceil on 3x3, dropped last window", avg(2).stride(2).padding(1)
        .ceilMode(true).name("dropped_avg").build(), Shape.of(2, 3, 3, 3), 119));
    // The CPU engine splits the batch's planes into grains of at least 16K input floats: here
    // 4 planes of 64x64, so grains start mid-image and both threads run.
    c.add(new Case("grains across images, avg 3x3 s2 pad 1 exclude-pad", avg(3).stride(2)
        .padding(1).countPadding(false).name("grains").build(), Shape.of(3, 5, 64, 64), 120));
    return c;
  }

  /**
   * {@code count} seeded-random valid cases: windows 1..5 and strides 1..3 per axis, each of the
   * four pads in [0, window - 1], floor or ceil mode, MAX or AVG with padding counted or not,
   * batch 1..3, channels 1..5, planes 1..20 per side, and a global pool one time in 20. Draws
   * whose window does not fit the padded input are drawn again.
   */
  public static List<Case> random(long seed, int count) {
    Random r = new Random(seed);
    List<Case> out = new ArrayList<>();
    int attempts = 0;
    while (out.size() < count) {
      if (++attempts > 20 * count) {
        throw new AssertionError("the random pool case generator rejects too many specs");
      }
      long caseSeed = r.nextLong();
      PoolKind kind = r.nextBoolean() ? PoolKind.MAX : PoolKind.AVG;
      Shape input = Shape.of(1 + r.nextInt(3), 1 + r.nextInt(5), 1 + r.nextInt(20),
          1 + r.nextInt(20));
      PoolSpec spec;
      if (r.nextInt(20) == 0) {
        spec = PoolSpec.global(kind);
      } else {
        int kh = 1 + r.nextInt(5);
        int kw = 1 + r.nextInt(5);
        spec = PoolSpec.builder(kind, kh, kw)
            .name("random" + out.size())
            .stride(1 + r.nextInt(3), 1 + r.nextInt(3))
            .padding(r.nextInt(kh), r.nextInt(kw), r.nextInt(kh), r.nextInt(kw))
            .ceilMode(r.nextBoolean())
            .countPadding(r.nextBoolean())
            .build();
      }
      try {
        spec.outputShape(input);
      } catch (IllegalArgumentException tooSmall) {
        continue; // window larger than the padded input: draw again
      }
      out.add(new Case("random #" + out.size(), spec, input, caseSeed));
    }
    return out;
  }
}
