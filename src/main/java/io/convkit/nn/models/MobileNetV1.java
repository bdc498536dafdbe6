package io.convkit.nn.models;

import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * MobileNet v1: Howard et al., "MobileNets: efficient convolutional neural networks for mobile
 * vision applications", 2017, Table 1 (body), section 3.3 and Table 6 (width multiplier alpha).
 * conv 3x3/2 32, then 13 depthwise-separable layers (3x3 depthwise + BN + ReLU, 1x1 pointwise +
 * BN + ReLU): 64, 128/2, 128, 256/2, 256, 512/2, 5 x 512, 1024/2, 1024; global average pool, FC
 * 1000, softmax. Channels are {@code floor(alpha x c)}; the resolution multiplier is the input
 * shape (the pool is global). Table 1 prints the second-to-last depthwise layer as "s2" on a 7x7
 * input while its output stays 7x7; a stride of 1 is the only reading consistent with the table's
 * shapes and is used here.
 */
public final class MobileNetV1 {
  private MobileNetV1() {}

  /** (stride, pointwise output channels) of the 13 depthwise-separable layers. */
  static final int[][] BODY = {
    {1, 64}, {2, 128}, {1, 128}, {2, 256}, {1, 256}, {2, 512}, {1, 512}, {1, 512}, {1, 512},
    {1, 512}, {1, 512}, {2, 1024}, {1, 1024}
  };

  static Network create(Options o) {
    double alpha = o.number("alpha", 1.0, 0.01, 4.0);
    o.done();
    String name = alpha == 1.0 ? "mobilenet_v1" : "mobilenet_v1_" + alpha;
    NetworkBuilder b = Network.builder(name, Shape.of(1, 3, 224, 224));
    b.convBn("conv1", (int) (32 * alpha), 3, 2, 1).relu();
    for (int i = 0; i < BODY.length; i++) {
      depthwiseSeparable(b, "conv_dw_" + (i + 1), "conv_pw_" + (i + 1), BODY[i][0],
          (int) (BODY[i][1] * alpha));
    }
    b.globalAvgPool().flatten();
    b.fc("fc", 1000, true).softmax();
    return b.build();
  }

  /** The depthwise-separable block: 3x3 depthwise + BN + ReLU, 1x1 pointwise + BN + ReLU. */
  public static void depthwiseSeparable(NetworkBuilder b, String dw, String pw, int stride,
      int out) {
    b.dwBn(dw, 3, stride, 1).relu();
    b.convBn(pw, out, 1, 1, 0).relu();
  }
}
