package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * ConvNeXt-T: Liu et al., "A ConvNet for the 2020s", CVPR 2022, Table 9 (ConvNeXt-T: C = (96,
 * 192, 384, 768), B = (3, 3, 9, 3)) and Fig. 4: stem conv 4x4/4 + LayerNorm; each block is a 7x7
 * depthwise conv (bias), LayerNorm, 1x1 C -> 4C (bias, the paper's pointwise Linear), GELU, 1x1
 * 4C -> C, layer scale (one learned value per channel), residual add; between stages LayerNorm +
 * conv 2x2/2; global average pool, LayerNorm, FC 1000. Input 224.
 */
public final class ConvNeXt {
  private ConvNeXt() {}

  static Network tiny(Options o) {
    o.done();
    int[] depths = {3, 3, 9, 3};
    int[] dims = {96, 192, 384, 768};
    NetworkBuilder b = Network.builder("convnext_tiny", Shape.of(1, 3, 224, 224));
    b.conv("stem", dims[0], 4, 4, 0).layerNorm("stem_ln");
    for (int s = 0; s < 4; s++) {
      if (s > 0) {
        b.layerNorm("downsample" + s + "_ln").conv("downsample" + s, dims[s], 2, 2, 0);
      }
      for (int i = 0; i < depths[s]; i++) {
        String p = "stage" + (s + 1) + "_" + i + "_";
        String in = b.current();
        int c = dims[s];
        b.conv(p + "dw", c, 7, 1, 3, c, true).layerNorm(p + "ln");
        b.conv(p + "pw1", 4 * c, 1, 1, 0).act(Act.Kind.GELU);
        b.conv(p + "pw2", c, 1, 1, 0).layerScale(p + "gamma");
        b.add(p + "add", in, b.current());
      }
    }
    b.globalAvgPool().layerNorm("head_ln").flatten();
    b.fc("fc", 1000, true);
    return b.build();
  }
}
