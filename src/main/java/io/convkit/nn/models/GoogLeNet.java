package io.convkit.nn.models;

import io.convkit.nn.Lrn;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * GoogLeNet (Inception v1) and the lecture's two inception modules.
 *
 * <p>{@code googlenet}: Szegedy et al., "Going deeper with convolutions", CVPR 2015, Table 1 and
 * Fig. 3: conv 7x7/2 64, max pool 3x3/2, LRN, conv 1x1 64, conv 3x3 192, LRN, max pool, inception
 * 3a, 3b, max pool, 4a..4e, max pool, 5a, 5b, average pool 7x7, dropout 40%, linear 1000. Convs
 * with bias and ReLU, no batch norm; pools in Caffe's ceil mode (112 -> 56 -> 28 -> 14 -> 7). The
 * two auxiliary classifiers are training-only and left out. Option {@code variant=torchvision}:
 * torchvision's googlenet instead (batch norm with eps 1e-3 after every conv and no conv bias, no LRN, the
 * "5x5" branch built with a 3x3 kernel as in its ported weights, a 2x2 fourth max pool, dropout
 * 0.2); it has 6,624,904 parameters against the paper net's 6,998,552.
 *
 * <p>{@code inception_naive} and {@code inception_bottleneck}: the CNN lecture's module on a
 * 28x28x256 input (source table T5), after Fig. 2(a) and 2(b) of the paper: naive = 1x1 128,
 * 3x3 192, 5x5 96 and 3x3 max pool side by side (672 channels out); with bottlenecks = 1x1 128,
 * 1x1 64 -> 3x3 192, 1x1 64 -> 5x5 96, 3x3 max pool -> 1x1 64 (480 channels out).
 */
public final class GoogLeNet {
  private GoogLeNet() {}

  static Network create(Options o) {
    boolean tv = o.string("variant", "paper", "paper", "torchvision").equals("torchvision");
    o.done();
    NetworkBuilder b = Network.builder(tv ? "googlenet_torchvision" : "googlenet",
        Shape.of(1, 3, 224, 224));
    if (tv) {
      b.bnEps(1e-3); // torchvision's BasicConv2d
    }
    conv(b, tv, "conv1", 64, 7, 2, 3);
    b.maxPool("pool1", 3, 2, 0, true);
    if (!tv) {
      b.lrn(Lrn.alexnet());
    }
    conv(b, tv, "conv2_reduce", 64, 1, 1, 0);
    conv(b, tv, "conv2", 192, 3, 1, 1);
    if (!tv) {
      b.lrn(Lrn.alexnet());
    }
    b.maxPool("pool2", 3, 2, 0, true);
    inception(b, tv, "3a", 64, 96, 128, 16, 32, 32);
    inception(b, tv, "3b", 128, 128, 192, 32, 96, 64);
    b.maxPool("pool3", 3, 2, 0, true);
    inception(b, tv, "4a", 192, 96, 208, 16, 48, 64);
    inception(b, tv, "4b", 160, 112, 224, 24, 64, 64);
    inception(b, tv, "4c", 128, 128, 256, 24, 64, 64);
    inception(b, tv, "4d", 112, 144, 288, 32, 64, 64);
    inception(b, tv, "4e", 256, 160, 320, 32, 128, 128);
    if (tv) {
      b.maxPool("pool4", 2, 2, 0, true);
    } else {
      b.maxPool("pool4", 3, 2, 0, true);
    }
    inception(b, tv, "5a", 256, 160, 320, 32, 128, 128);
    inception(b, tv, "5b", 384, 192, 384, 48, 128, 128);
    b.globalAvgPool().flatten().dropout(tv ? 0.2 : 0.4);
    b.fc("fc", 1000, true).softmax();
    return b.build();
  }

  private static void conv(NetworkBuilder b, boolean tv, String name, int out, int k, int s,
      int p) {
    if (tv) {
      b.convBn(name, out, k, s, p).relu();
    } else {
      b.conv(name, out, k, s, p).relu();
    }
  }

  /** One inception module (Fig. 2(b)): four branches concatenated. */
  static void inception(NetworkBuilder b, boolean tv, String id, int c1, int c3r, int c3, int c5r,
      int c5, int pool) {
    String in = b.current();
    String p = "inception_" + id + "_";
    conv(b, tv, p + "1x1", c1, 1, 1, 0);
    String br1 = b.current();
    b.from(in);
    conv(b, tv, p + "3x3_reduce", c3r, 1, 1, 0);
    conv(b, tv, p + "3x3", c3, 3, 1, 1);
    String br2 = b.current();
    b.from(in);
    conv(b, tv, p + "5x5_reduce", c5r, 1, 1, 0);
    if (tv) {
      conv(b, tv, p + "5x5", c5, 3, 1, 1); // torchvision's known 3x3 in the 5x5 branch
    } else {
      conv(b, tv, p + "5x5", c5, 5, 1, 2);
    }
    String br3 = b.current();
    b.from(in).maxPool(p + "pool", 3, 1, 1, true);
    conv(b, tv, p + "pool_proj", pool, 1, 1, 0);
    b.concat(p + "output", br1, br2, br3, b.current());
  }

  static Network naive(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("inception_naive", Shape.of(1, 256, 28, 28));
    String in = b.current();
    b.conv("1x1", 128, 1, 1, 0).relu();
    String a = b.current();
    b.from(in).conv("3x3", 192, 3, 1, 1).relu();
    String c = b.current();
    b.from(in).conv("5x5", 96, 5, 1, 2).relu();
    String d = b.current();
    b.from(in).maxPool("pool", 3, 1, 1, false);
    b.concat("output", a, c, d, b.current());
    return b.build();
  }

  static Network bottleneck(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("inception_bottleneck", Shape.of(1, 256, 28, 28));
    String in = b.current();
    b.conv("1x1", 128, 1, 1, 0).relu();
    String a = b.current();
    b.from(in).conv("3x3_reduce", 64, 1, 1, 0).relu().conv("3x3", 192, 3, 1, 1).relu();
    String c = b.current();
    b.from(in).conv("5x5_reduce", 64, 1, 1, 0).relu().conv("5x5", 96, 5, 1, 2).relu();
    String d = b.current();
    b.from(in).maxPool("pool", 3, 1, 1, false).conv("pool_proj", 64, 1, 1, 0).relu();
    b.concat("output", a, c, d, b.current());
    return b.build();
  }
}
