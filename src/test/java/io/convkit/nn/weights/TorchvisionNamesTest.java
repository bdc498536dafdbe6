package io.convkit.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import java.util.LinkedHashMap;
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

  @Test
  void unknownModelsAndMissingTensorsAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TorchvisionNames.forModel(Models.create("googlenet")));
    assertTrue(e.getMessage().contains("googlenet"), e.getMessage());
    Network net = Models.create("alexnet");
    WeightSource empty = (name, shape) -> {
      throw new IllegalArgumentException("missing tensor '" + name + "'");
    };
    e = assertThrows(IllegalArgumentException.class,
        () -> NetworkWeights.load(net, empty, TorchvisionNames.forModel(net)));
    assertTrue(e.getMessage().contains("features.0.weight"), e.getMessage());
  }
}
