package io.convkit.nn.models;

import io.convkit.nn.Lrn;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * AlexNet and ZFNet.
 *
 * <p>{@code alexnet_2012}: Krizhevsky, Sutskever, Hinton, "ImageNet classification with deep
 * convolutional neural networks", NIPS 2012, section 3 and Fig. 2: conv1 96 11x11/4, conv2 256
 * 5x5 (2 groups), conv3 384 3x3 (both halves), conv4 384 3x3 (2 groups), conv5 256 3x3 (2
 * groups), LRN after the ReLUs of conv1 and conv2, 3x3/2 overlapping max pools after the LRNs and
 * conv5, FC 4096, 4096, 1000. Input 227x227: the paper's "224x224" does not give its own 55x55
 * conv1 output ((224 - 11)/4 + 1 = 54.25); 227 does.
 *
 * <p>{@code alexnet}: the single-tower variant most frameworks ship (torchvision's, from
 * Krizhevsky's "One weird trick", 2014): conv 64 11x11/4 pad 2, 192 5x5, 384, 256, 256 3x3,
 * no LRN, no groups; input 224. torchvision's adaptive 6x6 average pool is the identity at 224
 * and is left out, so other input sizes stop at fc6 with a shape error.
 *
 * <p>{@code zfnet}: Zeiler and Fergus, "Visualizing and understanding convolutional networks",
 * ECCV 2014, Fig. 3: conv1 96 7x7/2 (110x110), 3x3/2 max pool (55x55), contrast normalisation,
 * conv2 256 5x5/2 (26x26), pool (13x13), conv3 384, conv4 384, conv5 256 3x3, pool (6x6), FC
 * 4096, 4096, 1000; single tower (dense). Padding 1 on conv1 and ceil-mode pools reproduce the
 * figure's map sizes.
 */
public final class AlexNet {
  private AlexNet() {}

  static Network torchvision(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("alexnet", Shape.of(1, 3, 224, 224));
    b.conv("conv1", 64, 11, 4, 2).relu().maxPool(3, 2, 0);
    b.conv("conv2", 192, 5, 1, 2).relu().maxPool(3, 2, 0);
    b.conv("conv3", 384, 3, 1, 1).relu();
    b.conv("conv4", 256, 3, 1, 1).relu();
    b.conv("conv5", 256, 3, 1, 1).relu().maxPool(3, 2, 0);
    classifier(b);
    return b.build();
  }

  static Network original(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("alexnet_2012", Shape.of(1, 3, 227, 227));
    b.conv("conv1", 96, 11, 4, 0).relu().lrn(Lrn.alexnet()).maxPool(3, 2, 0);
    b.conv("conv2", 256, 5, 1, 2, 2, true).relu().lrn(Lrn.alexnet()).maxPool(3, 2, 0);
    b.conv("conv3", 384, 3, 1, 1).relu();
    b.conv("conv4", 384, 3, 1, 1, 2, true).relu();
    b.conv("conv5", 256, 3, 1, 1, 2, true).relu().maxPool(3, 2, 0);
    classifier(b);
    b.softmax();
    return b.build();
  }

  static Network zfnet(Options o) {
    o.done();
    NetworkBuilder b = Network.builder("zfnet", Shape.of(1, 3, 224, 224));
    b.conv("conv1", 96, 7, 2, 1).relu().maxPool(3, 2, 0, true).lrn(Lrn.alexnet());
    b.conv("conv2", 256, 5, 2, 0).relu().maxPool(3, 2, 0, true).lrn(Lrn.alexnet());
    b.conv("conv3", 384, 3, 1, 1).relu();
    b.conv("conv4", 384, 3, 1, 1).relu();
    b.conv("conv5", 256, 3, 1, 1).relu().maxPool(3, 2, 0, true);
    classifier(b);
    b.softmax();
    return b.build();
  }

  private static void classifier(NetworkBuilder b) {
    b.flatten();
    b.fc("fc6", 4096, true).relu().dropout(0.5);
    b.fc("fc7", 4096, true).relu().dropout(0.5);
    b.fc("fc8", 1000, true);
  }
}
