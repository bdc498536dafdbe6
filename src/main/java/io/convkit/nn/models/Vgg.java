package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * VGG: Simonyan and Zisserman, "Very deep convolutional networks for large-scale image
 * recognition", ICLR 2015, Table 1: configurations A (vgg11), B (vgg13), D (vgg16), E (vgg19).
 * 3x3 convs, stride 1, pad 1, with bias and ReLU; 2x2/2 max pools; FC 4096, 4096, 1000; input
 * 224. Option {@code se=true}: SE-VGG (Hu et al., SENet, Table 2), a squeeze-and-excitation
 * block (reduction 16) after each conv's ReLU.
 */
public final class Vgg {
  private Vgg() {}

  private static final int[][] CONFIGS = {
    {1, 1, 2, 2, 2}, // A
    {2, 2, 2, 2, 2}, // B
    {2, 2, 3, 3, 3}, // D
    {2, 2, 4, 4, 4}, // E
  };

  static Network create(String name, int depth, Options o) {
    boolean se = o.flag("se");
    o.done();
    int[] cfg = CONFIGS[switch (depth) {
      case 11 -> 0;
      case 13 -> 1;
      case 16 -> 2;
      default -> 3;
    }];
    NetworkBuilder b = Network.builder(se ? "se_" + name : name, Shape.of(1, 3, 224, 224));
    int width = 64;
    for (int stage = 0; stage < 5; stage++) {
      for (int i = 1; i <= cfg[stage]; i++) {
        String n = "conv" + (stage + 1) + "_" + i;
        b.conv(n, width, 3, 1, 1).relu();
        if (se) {
          b.se(n + "_se", width / 16, Act.Kind.RELU);
        }
      }
      b.maxPool("pool" + (stage + 1), 2, 2, 0, false);
      width = Math.min(512, width * 2);
    }
    b.flatten();
    b.fc("fc6", 4096, true).relu().dropout(0.5);
    b.fc("fc7", 4096, true).relu().dropout(0.5);
    b.fc("fc8", 1000, true).softmax();
    return b.build();
  }
}
