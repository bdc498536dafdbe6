package io.convkit.nn.models;

import io.convkit.nn.Act;
import io.convkit.nn.Network;
import io.convkit.nn.NetworkBuilder;
import io.convkit.tensor.Shape;

/**
 * Inception-ResNet-v2: Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the
 * impact of residual connections on learning", AAAI 2017: Fig. 15 (5 x A, Reduction-A, 10 x B,
 * Reduction-B, 5 x C, average pool, dropout, softmax), Fig. 3 (stem, shared with Inception-v4),
 * Fig. 16 (A), Fig. 7 with Table 1's k=256, l=256, m=384, n=384 (Reduction-A), Fig. 17 (B),
 * Fig. 18 (Reduction-B), Fig. 19 (C); residuals scaled by 0.1 to 0.3 (section 3.3; 0.1 used
 * here, it changes no count). "V" convs and pools are unpadded, the others "same". BN after
 * every conv except the linear 1x1 expansions before each residual add (bias instead). Input
 * 299x299.
 *
 * <p>The paper's figures disagree with themselves on channel counts: Reduction-A outputs
 * 384 + 384 + 384 = 1152 channels, but Fig. 17 labels B's expansion "1154"; Reduction-B then
 * outputs 1152 + 384 + 288 + 320 = 2144, but Fig. 19 labels C's expansion "2048". A residual add
 * needs the expansion to match its input, so the expansions here have 1152 and 2144 outputs.
 * Option {@code se=true}: SE (reduction 16) on each residual branch before scaling (SENet).
 */
public final class InceptionResNetV2 {
  private InceptionResNetV2() {}

  static Network create(Options o) {
    boolean se = o.flag("se");
    o.done();
    NetworkBuilder b = Network.builder(se ? "se_inception_resnet_v2" : "inception_resnet_v2",
        Shape.of(1, 3, 299, 299));
    // Stem (Fig. 3)
    c(b, "stem_conv1", 32, 3, 3, 2, 0, 0);
    c(b, "stem_conv2", 32, 3, 3, 1, 0, 0);
    c(b, "stem_conv3", 64, 3, 3, 1, 1, 1);
    String x = b.current();
    b.maxPool("stem_pool1", 3, 2, 0, false);
    String p1 = b.current();
    b.from(x);
    c(b, "stem_conv4", 96, 3, 3, 2, 0, 0);
    x = b.concat("stem_cat1", p1, b.current()).current();
    c(b, "stem_a1", 64, 1, 1, 1, 0, 0);
    c(b, "stem_a2", 96, 3, 3, 1, 0, 0);
    String a = b.current();
    b.from(x);
    c(b, "stem_b1", 64, 1, 1, 1, 0, 0);
    c(b, "stem_b2", 64, 7, 1, 1, 3, 0);
    c(b, "stem_b3", 64, 1, 7, 1, 0, 3);
    c(b, "stem_b4", 96, 3, 3, 1, 0, 0);
    x = b.concat("stem_cat2", a, b.current()).current();
    c(b, "stem_conv5", 192, 3, 3, 2, 0, 0);
    a = b.current();
    b.from(x).maxPool("stem_pool2", 3, 2, 0, false);
    b.concat("stem_cat3", a, b.current());
    for (int i = 0; i < 5; i++) {
      blockA(b, "a" + (i + 1) + "_", se);
    }
    reductionA(b);
    for (int i = 0; i < 10; i++) {
      blockB(b, "b" + (i + 1) + "_", se);
    }
    reductionB(b);
    for (int i = 0; i < 5; i++) {
      blockC(b, "c" + (i + 1) + "_", se);
    }
    b.globalAvgPool().flatten().dropout(0.2);
    b.fc("fc", 1000, true).softmax();
    return b.build();
  }

  /**
   * One block of each kind in the network's order (A, Reduction-A, B, Reduction-B, C) on an
   * input of {@code 320 x size x size} (the stem's output channels; 35 in the full network), then
   * global average pooling: the blocks at a size the tests' reference engine runs quickly.
   */
  public static Network blocks(int size, boolean se) {
    NetworkBuilder b = Network.builder("inception_resnet_v2_blocks", Shape.of(1, 320, size, size));
    blockA(b, "a1_", se);
    reductionA(b);
    blockB(b, "b1_", se);
    reductionB(b);
    blockC(b, "c1_", se);
    b.globalAvgPool().flatten();
    return b.build();
  }

  /** conv kh x kw, stride s, padding ph/pw, no bias, BN, ReLU. */
  private static void c(NetworkBuilder b, String name, int out, int kh, int kw, int s, int ph,
      int pw) {
    b.conv(name, out, kh, kw, s, ph, pw, false).bn().relu();
  }

  private static void residual(NetworkBuilder b, String p, String in, boolean se, String... br) {
    b.concat(p + "cat", br);
    b.conv(p + "expand", b.shape(in).c(), 1, 1, 0);
    if (se) {
      b.se(p + "se", b.channels() / 16, Act.Kind.RELU);
    }
    b.addScaled(p + "add", 0.1, in, b.current()).relu();
  }

  private static void blockA(NetworkBuilder b, String p, boolean se) {
    String in = b.current();
    c(b, p + "b0", 32, 1, 1, 1, 0, 0);
    String b0 = b.current();
    b.from(in);
    c(b, p + "b1_1", 32, 1, 1, 1, 0, 0);
    c(b, p + "b1_2", 32, 3, 3, 1, 1, 1);
    String b1 = b.current();
    b.from(in);
    c(b, p + "b2_1", 32, 1, 1, 1, 0, 0);
    c(b, p + "b2_2", 48, 3, 3, 1, 1, 1);
    c(b, p + "b2_3", 64, 3, 3, 1, 1, 1);
    residual(b, p, in, se, b0, b1, b.current());
  }

  private static void reductionA(NetworkBuilder b) {
    String in = b.current();
    b.maxPool("ra_pool", 3, 2, 0, false);
    String p = b.current();
    b.from(in);
    c(b, "ra_b1", 384, 3, 3, 2, 0, 0);
    String b1 = b.current();
    b.from(in);
    c(b, "ra_b2_1", 256, 1, 1, 1, 0, 0);
    c(b, "ra_b2_2", 256, 3, 3, 1, 1, 1);
    c(b, "ra_b2_3", 384, 3, 3, 2, 0, 0);
    b.concat("ra_cat", p, b1, b.current());
  }

  private static void blockB(NetworkBuilder b, String p, boolean se) {
    String in = b.current();
    c(b, p + "b0", 192, 1, 1, 1, 0, 0);
    String b0 = b.current();
    b.from(in);
    c(b, p + "b1_1", 128, 1, 1, 1, 0, 0);
    c(b, p + "b1_2", 160, 1, 7, 1, 0, 3);
    c(b, p + "b1_3", 192, 7, 1, 1, 3, 0);
    residual(b, p, in, se, b0, b.current());
  }

  private static void reductionB(NetworkBuilder b) {
    String in = b.current();
    b.maxPool("rb_pool", 3, 2, 0, false);
    String p = b.current();
    b.from(in);
    c(b, "rb_b1_1", 256, 1, 1, 1, 0, 0);
    c(b, "rb_b1_2", 384, 3, 3, 2, 0, 0);
    String b1 = b.current();
    b.from(in);
    c(b, "rb_b2_1", 256, 1, 1, 1, 0, 0);
    c(b, "rb_b2_2", 288, 3, 3, 2, 0, 0);
    String b2 = b.current();
    b.from(in);
    c(b, "rb_b3_1", 256, 1, 1, 1, 0, 0);
    c(b, "rb_b3_2", 288, 3, 3, 1, 1, 1);
    c(b, "rb_b3_3", 320, 3, 3, 2, 0, 0);
    b.concat("rb_cat", p, b1, b2, b.current());
  }

  private static void blockC(NetworkBuilder b, String p, boolean se) {
    String in = b.current();
    c(b, p + "b0", 192, 1, 1, 1, 0, 0);
    String b0 = b.current();
    b.from(in);
    c(b, p + "b1_1", 192, 1, 1, 1, 0, 0);
    c(b, p + "b1_2", 224, 1, 3, 1, 0, 1);
    c(b, p + "b1_3", 256, 3, 1, 1, 1, 0);
    residual(b, p, in, se, b0, b.current());
  }
}
