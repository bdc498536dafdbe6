package io.convkit.nn.models;

import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * MobileNet v2: Sandler et al., "MobileNetV2: inverted residuals and linear bottlenecks", CVPR
 * 2018, Table 2 (body, t c n s) and Table 1 (the bottleneck: 1x1 expand + BN + ReLU6, 3x3
 * depthwise stride s + BN + ReLU6, 1x1 linear projection + BN; residual add when stride 1 and
 * in == out). conv 3x3/2 32, 17 bottlenecks, conv 1x1 1280, global average pool, and the final
 * 1x1 conv to 1000 classes (on a 1x1 map: an FC with bias). Width multiplier alpha: channels
 * rounded to a multiple of 8 (never down by more than 10%), the last conv kept at 1280 for
 * alpha <= 1, as in the paper's reference code.
 */
public final class MobileNetV2 {
  private MobileNetV2() {}

  /** Table 2's bottleneck rows: t (expansion), c (channels), n (repeats), s (first stride). */
  static final int[][] BODY = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
    {6, 320, 1, 1}
  };

  static Network create(Options o) {
    double alpha = o.number("alpha", 1.0, 0.01, 4.0);
    o.done();
    String name = alpha == 1.0 ? "mobilenet_v2" : "mobilenet_v2_" + alpha;
    NetworkBuilder b = Network.builder(name, Shape.of(1, 3, 224, 224));
    b.convBn("conv1", divisible(32 * alpha), 3, 2, 1).relu6();
    int block = 0;
    for (int[] row : BODY) {
      int out = divisible(row[1] * alpha);
      for (int i = 0; i < row[2]; i++) {
        bottleneck(b, "block" + (++block) + "_", row[0], out, i == 0 ? row[3] : 1);
      }
    }
    b.convBn("conv_last", divisible(1280 * Math.max(1.0, alpha)), 1, 1, 0).relu6();
    b.globalAvgPool().flatten().dropout(0.2);
    b.fc("classifier", 1000, true);
    return b.build();
  }

  static void bottleneck(NetworkBuilder b, String p, int t, int out, int stride) {
    String in = b.current();
    int inC = b.channels();
    if (t != 1) {
      b.convBn(p + "expand", inC * t, 1, 1, 0).relu6();
    }
    b.dwBn(p + "dw", 3, stride, 1).relu6();
    b.convBn(p + "project", out, 1, 1, 0);
    if (stride == 1 && inC == out) {
      b.add(p + "add", in, b.current());
    }
  }

  /** Rounds to the nearest multiple of 8, at least 8, never below 90% of {@code v}. */
  static int divisible(double v) {
    int r = Math.max(8, (int) (v + 4) / 8 * 8);
    if (r < 0.9 * v) {
      r += 8;
    }
    return r;
  }
}
