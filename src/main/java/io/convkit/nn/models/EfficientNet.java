package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * EfficientNet-B0: Tan and Le, "EfficientNet: rethinking model scaling for convolutional neural
 * networks", ICML 2019, Table 1: conv 3x3/2 32, MBConv1 k3 16 x1, MBConv6 k3 24 x2 /2, MBConv6
 * k5 40 x2 /2, MBConv6 k3 80 x3 /2, MBConv6 k5 112 x3, MBConv6 k5 192 x4 /2, MBConv6 k3 320 x1,
 * conv 1x1 1280, pool, FC 1000. MBConv (from MnasNet): 1x1 expand + BN + Swish (not for
 * expansion 1), depthwise k x k + BN + Swish, squeeze-and-excitation (reduced to a quarter of the
 * block's input channels, Swish inside, FCs with bias), 1x1 projection + BN, residual add when
 * stride 1 and in == out (stochastic depth is identity at inference). Input 224.
 */
public final class EfficientNet {
  private EfficientNet() {}

  /** expansion, kernel, stride, channels, repeats. */
  static final int[][] BODY = {
    {1, 3, 1, 16, 1}, {6, 3, 2, 24, 2}, {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3}, {6, 5, 1, 112, 3},
    {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}
  };

  static Network b0(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("efficientnet_b0", Shape.of(1, 3, 224, 224));
    b.convBn("stem", 32, 3, 2, 1).act(Act.Kind.SWISH);
    int block = 0;
    for (int[] r : BODY) {
      for (int i = 0; i < r[4]; i++) {
        mbconv(b, "block" + (++block) + "_", r[0], r[1], i == 0 ? r[2] : 1, r[3]);
      }
    }
    b.convBn("head", 1280, 1, 1, 0).act(Act.Kind.SWISH);
    b.globalAvgPool().flatten().dropout(0.2);
    b.fc("fc", 1000, true);
    return b.build();
  }

  private static void mbconv(NetworkBuilder b, String p, int t, int k, int stride, int out) {
    String in = b.current();
    int inC = b.channels();
    if (t != 1) {
      b.convBn(p + "expand", inC * t, 1, 1, 0).act(Act.Kind.SWISH);
    }
    b.dwBn(p + "dw", k, stride, k / 2).act(Act.Kind.SWISH);
    b.se(p + "se", Math.max(1, inC / 4), Act.Kind.SWISH);
    b.convBn(p + "project", out, 1, 1, 0);
    if (stride == 1 && inC == out) {
      b.add(p + "add", in, b.current());
    }
  }
}
