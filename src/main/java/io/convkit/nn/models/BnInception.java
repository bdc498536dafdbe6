package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * BN-Inception: Ioffe and Szegedy, "Batch normalization: accelerating deep network training by
 * reducing internal covariate shift", ICML 2015, Appendix, Figure 5 (the Inception variant with
 * batch norm after every conv: the 5x5 convs replaced by two 3x3, 3c and 4e reducing with stride
 * 2 and a max-pool pass-through, average pooling in the other modules' pool branch and max
 * pooling in 5b). Input 224; 112 -> 56 -> 28 -> 14 -> 7. Option {@code se=true}: SE-BN-Inception
 * (Hu et al., SENet, Table 2), SE (reduction 16) on each module's output.
 */
public final class BnInception {
  private BnInception() {}

  static Network create(Options o) {
    boolean se = o.flag("se");
    o.done();
    NetworkBuilder b = Network.builder(se ? "se_bn_inception" : "bn_inception",
        Shape.of(1, 3, 224, 224));
    b.convBn("conv1", 64, 7, 2, 3).relu().maxPool("pool1", 3, 2, 0, true);
    b.convBn("conv2_reduce", 64, 1, 1, 0).relu();
    b.convBn("conv2", 192, 3, 1, 1).relu().maxPool("pool2", 3, 2, 0, true);
    module(b, se, "3a", 64, 64, 64, 64, 96, 32, false);
    module(b, se, "3b", 64, 64, 96, 64, 96, 64, false);
    reduction(b, se, "3c", 128, 160, 64, 96);
    module(b, se, "4a", 224, 64, 96, 96, 128, 128, false);
    module(b, se, "4b", 192, 96, 128, 96, 128, 128, false);
    module(b, se, "4c", 160, 128, 160, 128, 160, 128, false);
    module(b, se, "4d", 96, 128, 192, 160, 192, 128, false);
    reduction(b, se, "4e", 128, 192, 192, 256);
    module(b, se, "5a", 352, 192, 320, 160, 224, 128, false);
    module(b, se, "5b", 352, 192, 320, 192, 224, 128, true);
    b.globalAvgPool().flatten().dropout(0.2);
    b.fc("fc", 1000, true).softmax();
    return b.build();
  }

  private static void module(NetworkBuilder b, boolean se, String id, int c1, int c3r, int c3,
      int d3r, int d3, int pool, boolean maxPool) {
    String in = b.current();
    String p = "inception_" + id + "_";
    b.convBn(p + "1x1", c1, 1, 1, 0).relu();
    String a = b.current();
    b.from(in).convBn(p + "3x3_reduce", c3r, 1, 1, 0).relu().convBn(p + "3x3", c3, 3, 1, 1).relu();
    String c = b.current();
    b.from(in).convBn(p + "double_3x3_reduce", d3r, 1, 1, 0).relu()
        .convBn(p + "double_3x3_1", d3, 3, 1, 1).relu()
        .convBn(p + "double_3x3_2", d3, 3, 1, 1).relu();
    String d = b.current();
    b.from(in);
    if (maxPool) {
      b.maxPool(p + "pool", 3, 1, 1, true);
    } else {
      b.avgPool(p + "pool", 3, 1, 1, true, true);
    }
    b.convBn(p + "pool_proj", pool, 1, 1, 0).relu();
    b.concat(p + "output", a, c, d, b.current());
    if (se) {
      b.se(p + "se", b.channels() / 16, Act.Kind.RELU);
    }
  }

  private static void reduction(NetworkBuilder b, boolean se, String id, int c3r, int c3, int d3r,
      int d3) {
    String in = b.current();
    String p = "inception_" + id + "_";
    b.convBn(p + "3x3_reduce", c3r, 1, 1, 0).relu().convBn(p + "3x3", c3, 3, 2, 1).relu();
    String c = b.current();
    b.from(in).convBn(p + "double_3x3_reduce", d3r, 1, 1, 0).relu()
        .convBn(p + "double_3x3_1", d3, 3, 1, 1).relu()
        .convBn(p + "double_3x3_2", d3, 3, 2, 1).relu();
    String d = b.current();
    b.from(in).maxPool(p + "pool", 3, 2, 0, true);
    b.concat(p + "output", c, d, b.current());
    if (se) {
      b.se(p + "se", b.channels() / 16, Act.Kind.RELU);
    }
  }
}
