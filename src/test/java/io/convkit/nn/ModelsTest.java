package io.convkit.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.models.Models;
import io.convkit.tensor.Shape;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class ModelsTest {
  static java.util.List<String> names() {
    return Models.names();
  }

  @ParameterizedTest
  @MethodSource("names")
  void everyModelBuildsAtItsNativeInputAndReportsTotals(String name) {
    Network net = Models.create(name);
    Summary s = net.summary();
    assertTrue(s.paramsTrained() > 0, name);
    assertTrue(s.macs() > 0, name);
    assertTrue(s.paramsDeployed() > 0, name);
    assertEquals(net.nodes().size(), s.rows().size());
    assertTrue(s.table().contains("FLOPs = 2 x MACs"), name);
  }

  /**
   * Totals derived by hand from each paper's architecture; they agree with the framework
   * implementations where those follow the paper (torchvision, Keras, Cadene's SENet ports).
   * Trained = conv/FC weights and biases + BN gamma and beta.
   */
  @ParameterizedTest
  @CsvSource({
    "lenet5, 60000", // LeCun 1998: C1..F6 trainable (the RBF centres are fixed)
    "lenet_cifar, 4547466",
    "alexnet, 61100840",
    "alexnet_2012, 60965224",
    "vgg11, 132863336",
    "vgg16, 138357544",
    "vgg19, 143667240",
    "googlenet, 6998552", // the paper's net (no BN, 5x5 branches)
    "resnet18, 11689512",
    "resnet34, 21797672",
    "resnet50, 25557032",
    "resnet101, 44549160",
    "resnet152, 60192808",
    "resnext50_32x4d, 25028904",
    "resnext101_32x4d, 44177704",
    "se_resnet50, 28088024",
    "mobilenet_v1, 4231976",
    "mobilenet_v2, 3504872",
    "efficientnet_b0, 5288548",
    "convnext_tiny, 28589128",
  })
  void trainedParameterTotals(String name, long expected) {
    assertEquals(expected, Models.create(name).paramsTrained(), name);
  }

  @Test
  void googlenetTorchvisionVariantIsTheBriefsNumber() {
    // 6,624,904 is torchvision's googlenet: BN, no conv bias, 3x3 in the "5x5" branch.
    assertEquals(6_624_904L,
        Models.create("googlenet", Map.of("variant", "torchvision")).paramsTrained());
  }

  @Test
  void macsOfWellKnownNets() {
    assertEquals(15_470_264_320L, Models.create("vgg16").summary().macs());
    assertEquals(3_857_973_248L, Models.create("resnet50").summary().macs()); // v1
    assertEquals(4_089_184_256L,
        Models.create("resnet50", Map.of("variant", "v1.5")).summary().macs());
    assertEquals(568_740_352L, Models.create("mobilenet_v1").summary().macs());
    assertEquals(300_774_272L, Models.create("mobilenet_v2").summary().macs());
    assertEquals(854_196_224L, Models.create("inception_naive").summary().macs());
  }

  @Test
  void bnFoldingMovesGammaBetaIntoOneBiasPerChannel() {
    Network net = Models.create("resnet50");
    long bnChannels = net.layers(BatchNorm.class).stream().mapToLong(BatchNorm::channels).sum();
    assertEquals(net.paramsTrained() - bnChannels, net.paramsDeployed());
    ConvLayer c = (ConvLayer) net.node("conv1").layer();
    assertTrue(c.bnFolded());
    assertTrue(c.deployedSpec().hasBias());
    assertEquals(9408 + 64, c.paramsDeployed());
  }

  @Test
  void lenetC3CountsOnlyConnectedWeights() {
    Summary s = Models.create("lenet5").summary();
    assertEquals(1516, s.row("c3").paramsTrained());
    assertEquals(150_000, s.row("c3").macs());
    assertEquals(Shape.of(1, 16, 10, 10), s.row("c3").output());
  }

  @Test
  void depthsMatchThePapers() {
    assertEquals(22, Models.create("googlenet").weightDepth());
    assertEquals(50, Models.create("resnet50").weightDepth());
    assertEquals(152, Models.create("resnet152").weightDepth());
    assertEquals(16, Models.create("vgg16").weightDepth());
  }

  @Test
  void mobilenetResolutionComesFromTheInputShape() {
    Network net = Models.create("mobilenet_v1", Map.of("alpha", "0.5"));
    assertEquals(Shape.of(1, 1000), net.summary(Shape.of(1, 3, 160, 160)).rows()
        .get(net.nodes().size() - 1).output());
    assertTrue(net.summary(Shape.of(1, 3, 160, 160)).macs() < net.summary().macs());
  }

  @Test
  void badModelsAndOptionsAreClearErrors() {
    assertThrows(IllegalArgumentException.class, () -> Models.create("resnet51"));
    assertThrows(IllegalArgumentException.class,
        () -> Models.create("vgg16", Map.of("alpha", "0.5")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Models.create("vgg16").summary(Shape.of(1, 3, 100, 100)));
    assertTrue(e.getMessage().contains("fc6"), e.getMessage());
  }

  @Test
  void builderJoinsAndErrors() {
    NetworkBuilder b = Network.builder("t", Shape.of(1, 8, 10, 10));
    String in = b.current();
    b.convBn("a", 8, 3, 1, 1).relu();
    b.add("sum", in, b.current());
    String s = b.current();
    b.from(in).conv("c", 4, 1, 1, 0);
    b.concat("cat", s, b.current());
    Network net = b.build();
    assertEquals(Shape.of(1, 12, 10, 10), net.summary().row("cat").output());
    NetworkBuilder bad = Network.builder("t", Shape.of(1, 8, 10, 10));
    bad.conv("x", 4, 1, 1, 0);
    assertThrows(IllegalArgumentException.class, () -> bad.add("s", "input", "x"));
    assertThrows(IllegalArgumentException.class, () -> bad.conv("x", 4, 1, 1, 0));
  }

  @Test
  void summaryJsonHasTheIssuesShape() {
    String j = Models.create("lenet5").summary().json();
    assertTrue(j.startsWith("{\"model\":\"lenet5\",\"input\":\"1x1x32x32\",\"layers\":[{\"name\":\"c1\","
        + "\"type\":\"conv\",\"output\":\"1x6x28x28\",\"params\":156,"), j);
    assertTrue(j.contains("\"macs\":117600"), j);
    assertTrue(j.endsWith("\"totals\":{\"params_trained\":60000,\"params_deployed\":60840,"
        + "\"macs\":326520,\"flops\":653040,\"activations\":17202}}"), j);
  }
}
