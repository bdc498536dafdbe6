package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * ResNet, ResNeXt and their squeeze-and-excitation variants.
 *
 * <p>ResNet: He, Zhang, Ren, Sun, "Deep residual learning for image recognition", CVPR 2016,
 * Table 1: conv1 7x7/2 64, 3x3/2 max pool, four stages of basic (18, 34: 3x3-3x3) or bottleneck
 * (50, 101, 152: 1x1-3x3-1x1, 4x expansion) blocks with [2,2,2,2], [3,4,6,3], [3,4,6,3],
 * [3,4,23,3], [3,8,36,3] blocks, global average pool, FC 1000. Batch norm after every conv (no
 * conv bias); projection shortcuts (1x1 conv with stride, option B) where the shape changes.
 * Option {@code variant}: {@code v1} (default, the paper and its Caffe release: the stride-2 of a
 * bottleneck stage's first block in its first 1x1 conv) or {@code v1.5} (torchvision: the
 * stride in the 3x3 conv; same parameters, more MACs).
 *
 * <p>ResNeXt: Xie, Girshick, Dollar, Tu, He, "Aggregated residual transformations for deep neural
 * networks", CVPR 2017, Table 1: 32x4d bottlenecks (grouped 3x3 with 32 groups, widths 128, 256,
 * 512, 1024, outputs 256..2048); the stride sits in the 3x3 conv (the authors' code); the
 * {@code variant} option can move it.
 *
 * <p>SE: Hu, Shen, Sun, "Squeeze-and-excitation networks", CVPR 2018, Fig. 3 and Table 1: an SE
 * block (reduction 16, FCs with bias) on each residual branch before the addition. SE-ResNet
 * keeps the stride in the first 1x1 (v1), SE-ResNeXt in the 3x3, as the SENet release does.
 */
public final class ResNet {
  private ResNet() {}

  static Network create(String name, int[] blocks, boolean bottleneck, int groups, int baseWidth,
      boolean se, String defaultVariant, Options o) {
    boolean strideIn3x3 = o.string("variant", defaultVariant, "v1", "v1.5").equals("v1.5");
    o.done();
    NetworkBuilder b = Network.builder(name, Shape.of(1, 3, 224, 224));
    b.convBn("conv1", 64, 7, 2, 3).relu().maxPool("pool1", 3, 2, 1, false);
    for (int stage = 0; stage < 4; stage++) {
      int planes = 64 << stage;
      for (int i = 0; i < blocks[stage]; i++) {
        int stride = stage > 0 && i == 0 ? 2 : 1;
        String p = "layer" + (stage + 1) + "_" + i + "_";
        if (bottleneck) {
          int width = planes * baseWidth / 64 * groups;
          bottleneck(b, p, width, planes * 4, stride, groups, se, strideIn3x3);
        } else {
          basic(b, p, planes, stride);
        }
      }
    }
    b.globalAvgPool().flatten();
    b.fc("fc", 1000, true);
    return b.build();
  }

  private static void basic(NetworkBuilder b, String p, int planes, int stride) {
    String in = b.current();
    int inC = b.channels();
    b.convBn(p + "conv1", planes, 3, stride, 1).relu();
    b.convBn(p + "conv2", planes, 3, 1, 1);
    String res = b.current();
    String id = shortcut(b, p, in, inC, planes, stride);
    b.add(p + "add", id, res).relu();
  }

  private static void bottleneck(NetworkBuilder b, String p, int width, int out, int stride,
      int groups, boolean se, boolean strideIn3x3) {
    String in = b.current();
    int inC = b.channels();
    b.convBn(p + "conv1", width, 1, strideIn3x3 ? 1 : stride, 0).relu();
    b.convBn(p + "conv2", width, 3, strideIn3x3 ? stride : 1, 1, groups).relu();
    b.convBn(p + "conv3", out, 1, 1, 0);
    if (se) {
      b.se(p + "se", out / 16, Act.Kind.RELU);
    }
    String res = b.current();
    String id = shortcut(b, p, in, inC, out, stride);
    b.add(p + "add", id, res).relu();
  }

  private static String shortcut(NetworkBuilder b, String p, String in, int inC, int out,
      int stride) {
    if (stride == 1 && inC == out) {
      return in;
    }
    b.from(in).convBn(p + "downsample", out, 1, stride, 0);
    return b.current();
  }
}
