package io.convkit.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The keys and shapes NetworkWeights.load asks a source for, against torchvision's names. */
class TorchvisionNamesTest {
  /** A source that records what it is asked for and hands back zeros of that shape. */
  static final class Recording implements WeightSource {
    final Map<String, int[]> asked = new LinkedHashMap<>();

    @Override
    public float[] take(String name, int... shape) {
      if (asked.put(name, shape) != null) {
        throw new IllegalArgumentException("asked twice for " + name);
      }
      int n = 1;
      for (int d : shape) {
        n *= d;
      }
      return new float[n];
    }
  }

  private static Map<String, int[]> keys(String model) {
    Network net = Models.create(model);
    Recording r = new Recording();
    NetworkWeights.load(net, r, TorchvisionNames.forModel(net));
    return r.asked;
  }

  @Test
  void resnet18() {
    Map<String, int[]> k = keys("resnet18");
    // torchvision's resnet18 state dict: 122 tensors, 20 of them num_batches_tracked
    assertEquals(102, k.size());
    assertArrayEquals(new int[] {64, 3, 7, 7}, k.get("conv1.weight"));
    assertArrayEquals(new int[] {64}, k.get("bn1.running_var"));
    assertArrayEquals(new int[] {64, 64, 3, 3}, k.get("layer1.0.conv1.weight"));
    assertArrayEquals(new int[] {128}, k.get("layer2.1.bn2.bias"));
    assertArrayEquals(new int[] {128, 64, 1, 1}, k.get("layer2.0.downsample.0.weight"));
    assertArrayEquals(new int[] {128}, k.get("layer2.0.downsample.1.running_mean"));
    assertArrayEquals(new int[] {1000, 512}, k.get("fc.weight"));
    assertArrayEquals(new int[] {1000}, k.get("fc.bias"));
  }

  @Test
  void resnext50() {
    Map<String, int[]> k = keys("resnext50_32x4d");
    assertArrayEquals(new int[] {128, 4, 3, 3}, k.get("layer1.0.conv2.weight"));
    assertArrayEquals(new int[] {256}, k.get("layer1.0.bn3.weight"));
  }

  @Test
  void vgg16() {
    Map<String, int[]> k = keys("vgg16");
    assertEquals(32, k.size());
    assertArrayEquals(new int[] {64, 3, 3, 3}, k.get("features.0.weight"));
    assertArrayEquals(new int[] {64, 64, 3, 3}, k.get("features.2.weight"));
    assertArrayEquals(new int[] {128, 64, 3, 3}, k.get("features.5.weight"));
    assertArrayEquals(new int[] {512, 512, 3, 3}, k.get("features.28.weight"));
    assertArrayEquals(new int[] {4096, 25088}, k.get("classifier.0.weight"));
    assertArrayEquals(new int[] {4096, 4096}, k.get("classifier.3.weight"));
    assertArrayEquals(new int[] {1000}, k.get("classifier.6.bias"));
  }

  @Test
  void alexnet() {
    Map<String, int[]> k = keys("alexnet");
    assertEquals(16, k.size());
    assertArrayEquals(new int[] {64, 3, 11, 11}, k.get("features.0.weight"));
    assertArrayEquals(new int[] {192, 64, 5, 5}, k.get("features.3.weight"));
    assertArrayEquals(new int[] {256, 256, 3, 3}, k.get("features.10.weight"));
    assertArrayEquals(new int[] {4096, 9216}, k.get("classifier.1.weight"));
    assertArrayEquals(new int[] {1000, 4096}, k.get("classifier.6.weight"));
  }

  @Test
  void mobilenetV2() {
    Map<String, int[]> k = keys("mobilenet_v2");
    // torchvision's mobilenet_v2: 314 tensors, 52 of them num_batches_tracked
    assertEquals(262, k.size());
    assertArrayEquals(new int[] {32, 3, 3, 3}, k.get("features.0.0.weight"));
    assertArrayEquals(new int[] {32}, k.get("features.0.1.running_var"));
    assertArrayEquals(new int[] {32, 1, 3, 3}, k.get("features.1.conv.0.0.weight"));
    assertArrayEquals(new int[] {16, 32, 1, 1}, k.get("features.1.conv.1.weight"));
    assertArrayEquals(new int[] {16}, k.get("features.1.conv.2.weight"));
    assertArrayEquals(new int[] {96, 16, 1, 1}, k.get("features.2.conv.0.0.weight"));
    assertArrayEquals(new int[] {96, 1, 3, 3}, k.get("features.2.conv.1.0.weight"));
    assertArrayEquals(new int[] {24, 96, 1, 1}, k.get("features.2.conv.2.weight"));
    assertArrayEquals(new int[] {24}, k.get("features.2.conv.3.running_mean"));
    assertArrayEquals(new int[] {1280, 320, 1, 1}, k.get("features.18.0.weight"));
    assertArrayEquals(new int[] {1000, 1280}, k.get("classifier.1.weight"));
  }

  /** Learnable values asked for (running statistics are buffers, not parameters). */
  private static long params(Map<String, int[]> k) {
    long n = 0;
    for (Map.Entry<String, int[]> e : k.entrySet()) {
      if (!e.getKey().endsWith("running_mean") && !e.getKey().endsWith("running_var")) {
        n += Arrays.stream(e.getValue()).asLongStream().reduce(1, (a, b) -> a * b);
      }
    }
    return n;
  }

  private static Map<String, int[]> keys(String model, Map<String, String> options) {
    Network net = Models.create(model, options);
    Recording r = new Recording();
    NetworkWeights.load(net, r, TorchvisionNames.forModel(net));
    return r.asked;
  }

  @Test
  void googlenetTorchvisionVariant() {
    Map<String, int[]> k = keys("googlenet", Map.of("variant", "torchvision"));
    // 57 BasicConv2d (conv1-3, 9 modules x 6) x (conv + 4 BN tensors) + fc weight and bias
    assertEquals(57 * 5 + 2, k.size());
    // torchvision's GoogLeNet_Weights meta: num_params 6,624,904 (no auxiliary heads)
    assertEquals(6_624_904L, params(k));
    assertArrayEquals(new int[] {64, 3, 7, 7}, k.get("conv1.conv.weight"));
    assertArrayEquals(new int[] {64}, k.get("conv1.bn.running_var"));
    assertArrayEquals(new int[] {64, 64, 1, 1}, k.get("conv2.conv.weight"));
    assertArrayEquals(new int[] {192, 64, 3, 3}, k.get("conv3.conv.weight"));
    assertArrayEquals(new int[] {64, 192, 1, 1}, k.get("inception3a.branch1.conv.weight"));
    assertArrayEquals(new int[] {128, 96, 3, 3}, k.get("inception3a.branch2.1.conv.weight"));
    assertArrayEquals(new int[] {32, 16, 3, 3}, k.get("inception3a.branch3.1.conv.weight"));
    assertArrayEquals(new int[] {128, 832, 1, 1}, k.get("inception5b.branch4.1.conv.weight"));
    assertArrayEquals(new int[] {1000, 1024}, k.get("fc.weight"));
    assertEquals(List.of("num_batches_tracked", "aux1.", "aux2."),
        TorchvisionNames.unused(Models.create("googlenet", Map.of("variant", "torchvision"))));
  }

  @Test
  void googlenetPaperVariantIsRefusedWithAdvice() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TorchvisionNames.forModel(Models.create("googlenet")));
    assertTrue(e.getMessage().contains("variant=torchvision"), e.getMessage());
  }

  @Test
  void efficientnetB0() {
    Map<String, int[]> k = keys("efficientnet_b0");
    // torchvision's EfficientNet_B0_Weights meta: num_params 5,288,548
    assertEquals(5_288_548L, params(k));
    assertArrayEquals(new int[] {32, 3, 3, 3}, k.get("features.0.0.weight"));
    assertArrayEquals(new int[] {32}, k.get("features.0.1.running_mean"));
    // stage 1: no expand conv, so block.0 is the depthwise conv and block.1 the SE
    assertArrayEquals(new int[] {32, 1, 3, 3}, k.get("features.1.0.block.0.0.weight"));
    assertArrayEquals(new int[] {8, 32, 1, 1}, k.get("features.1.0.block.1.fc1.weight"));
    assertArrayEquals(new int[] {32}, k.get("features.1.0.block.1.fc2.bias"));
    assertArrayEquals(new int[] {16, 32, 1, 1}, k.get("features.1.0.block.2.0.weight"));
    // later stages: expand, depthwise, SE (a quarter of the block's input channels), project
    assertArrayEquals(new int[] {96, 16, 1, 1}, k.get("features.2.0.block.0.0.weight"));
    assertArrayEquals(new int[] {144, 1, 3, 3}, k.get("features.2.1.block.1.0.weight"));
    assertArrayEquals(new int[] {6, 144, 1, 1}, k.get("features.2.1.block.2.fc1.weight"));
    assertArrayEquals(new int[] {24}, k.get("features.2.1.block.3.1.running_var"));
    assertArrayEquals(new int[] {1152, 1, 5, 5}, k.get("features.6.3.block.1.0.weight"));
    assertArrayEquals(new int[] {320, 1152, 1, 1}, k.get("features.7.0.block.3.0.weight"));
    assertArrayEquals(new int[] {1280, 320, 1, 1}, k.get("features.8.0.weight"));
    assertArrayEquals(new int[] {1000, 1280}, k.get("classifier.1.weight"));
  }

  @Test
  void convnextTiny() {
    Map<String, int[]> k = keys("convnext_tiny");
    // torchvision's ConvNeXt_Tiny_Weights meta: num_params 28,589,128
    assertEquals(28_589_128L, params(k));
    // 18 blocks x 9 tensors + stem 4 + 3 downsamplings x 4 + head LN 2 + fc 2
    assertEquals(18 * 9 + 4 + 12 + 4, k.size());
    assertArrayEquals(new int[] {96, 3, 4, 4}, k.get("features.0.0.weight"));
    assertArrayEquals(new int[] {96}, k.get("features.0.1.bias"));
    assertArrayEquals(new int[] {96, 1, 7, 7}, k.get("features.1.0.block.0.weight"));
    assertArrayEquals(new int[] {96}, k.get("features.1.2.block.2.weight"));
    assertArrayEquals(new int[] {384, 96, 1, 1}, k.get("features.1.0.block.3.weight"));
    assertArrayEquals(new int[] {96, 384, 1, 1}, k.get("features.1.0.block.5.weight"));
    assertArrayEquals(new int[] {96}, k.get("features.1.0.layer_scale"));
    assertArrayEquals(new int[] {96}, k.get("features.2.0.weight"));
    assertArrayEquals(new int[] {192, 96, 2, 2}, k.get("features.2.1.weight"));
    assertArrayEquals(new int[] {384, 1, 7, 7}, k.get("features.5.8.block.0.weight"));
    assertArrayEquals(new int[] {768, 384, 2, 2}, k.get("features.6.1.weight"));
    assertArrayEquals(new int[] {768}, k.get("features.7.2.layer_scale"));
    assertArrayEquals(new int[] {768}, k.get("classifier.0.weight"));
    assertArrayEquals(new int[] {1000, 768}, k.get("classifier.2.weight"));
  }

  @Test
  void torchvisionShapesLoadUpToUnitDimensions() {
    // ConvNeXt's Linear [out][in] into a 1x1 conv, its layer scale [C][1][1] into [C]
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("lin.weight", new TensorData(new int[] {4, 3}, new float[12]));
    t.put("ls", new TensorData(new int[] {3, 1, 1}, new float[3]));
    t.put("wrong.weight", new TensorData(new int[] {3, 4}, new float[12]));
    t.put("aux1.fc.weight", new TensorData(new int[] {2}, new float[2]));
    StateDict sd = new StateDict(t, "mem");
    assertEquals(12, sd.take("lin.weight", 4, 3, 1, 1).length);
    assertEquals(3, sd.take("ls", 3).length);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sd.take("wrong.weight", 4, 3, 1, 1));
    assertTrue(e.getMessage().contains("[3, 4]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> sd.requireAllUsed(List.of("wrong.weight")));
    assertTrue(e.getMessage().endsWith("1 tensor the model does not use: aux1.fc.weight"),
        e.getMessage());
    // only an entry ending in '.' is a prefix
    assertThrows(IllegalArgumentException.class,
        () -> sd.requireAllUsed(List.of("aux1", "wrong.weight")));
    sd.requireAllUsed(List.of("aux1.", "wrong.weight"));
  }

  @Test
  void unknownModelsAndMissingTensorsAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TorchvisionNames.forModel(Models.create("lenet5")));
    assertTrue(e.getMessage().contains("lenet5"), e.getMessage());
    Network net = Models.create("alexnet");
    WeightSource empty = (name, shape) -> {
      throw new IllegalArgumentException("missing tensor '" + name + "'");
    };
    e = assertThrows(IllegalArgumentException.class,
        () -> NetworkWeights.load(net, empty, TorchvisionNames.forModel(net)));
    assertTrue(e.getMessage().contains("features.0.weight"), e.getMessage());
  }
}
