package io.convkit.nn.weights;

import io.convkit.nn.BatchNorm;
import io.convkit.nn.Flatten;
import io.convkit.nn.Network;
import io.convkit.nn.Softmax;
import java.util.HashMap;
import java.util.Map;

/**
 * torchvision's state-dict keys for the models it ships, so its weights (converted to
 * safetensors) can be loaded with {@link NetworkWeights#load}. Batch norms' running statistics
 * are {@code running_mean} / {@code running_var} as in PyTorch; its {@code num_batches_tracked}
 * entries are never asked for (a state dict's {@code requireAllUsed} should ignore them).
 *
 * <ul>
 *   <li>resnet*, resnext*: {@code conv1}, {@code bn1}, {@code layer1.0.conv1},
 *       {@code layer1.0.bn1}, {@code layer1.0.downsample.0} / {@code .1}, {@code fc}. torchvision's
 *       bottleneck ResNets are v1.5 (stride in the 3x3): build them with {@code variant=v1.5}
 *       (the parameters are the same either way, the function is not).</li>
 *   <li>vgg*: {@code features.N} (N counts convs, ReLUs and pools), {@code classifier.0/3/6}.</li>
 *   <li>alexnet: {@code features.N} likewise, {@code classifier.1/4/6}.</li>
 *   <li>mobilenet_v2: {@code features.0.0/.1} (stem), {@code features.i.conv.*} per block,
 *       {@code features.18.0/.1}, {@code classifier.1}.</li>
 * </ul>
 */
public final class TorchvisionNames {
  private TorchvisionNames() {}

  /** The naming for {@code net}; throws naming the model when torchvision has no such model. */
  public static ParamNaming forModel(Network net) {
    String m = net.name();
    Map<String, String> modules;
    if (m.startsWith("resnet") || m.startsWith("resnext")) {
      return (node, param) -> resnet(node) + "." + param;
    } else if (m.matches("vgg\\d+")) {
      modules = sequential(net, Map.of());
    } else if (m.equals("alexnet")) {
      modules = sequential(net, Map.of("fc6", "classifier.1", "fc7", "classifier.4", "fc8",
          "classifier.6"));
    } else if (m.startsWith("mobilenet_v2")) {
      return (node, param) -> mobilenetV2(node) + "." + param;
    } else {
      throw new IllegalArgumentException(m + ": no torchvision naming (known: resnet*, resnext*,"
          + " vgg*, alexnet, mobilenet_v2)");
    }
    return (node, param) -> {
      String k = modules.get(node);
      if (k == null) {
        throw new IllegalArgumentException(m + ": no torchvision key for layer '" + node + "'");
      }
      return k + "." + param;
    };
  }

  /** conv1_bn -> bn1; layer1_0_conv2_bn -> layer1.0.bn2; layer2_0_downsample_bn -> ...1. */
  static String resnet(String node) {
    String n = node;
    boolean bn = n.endsWith("_bn");
    if (bn) {
      n = n.substring(0, n.length() - 3);
    }
    if (n.equals("conv1") || n.equals("fc")) {
      return bn ? "bn1" : n;
    }
    String[] p = n.split("_", 3); // layerS, I, convK / downsample
    if (p.length != 3) {
      throw new IllegalArgumentException("resnet: no torchvision key for layer '" + node + "'");
    }
    String prefix = p[0] + "." + p[1] + ".";
    if (p[2].equals("downsample")) {
      return prefix + "downsample." + (bn ? 1 : 0);
    }
    return prefix + (bn ? p[2].replace("conv", "bn") : p[2]);
  }

  /** torchvision's MobileNetV2 module path of one of our layer names. */
  static String mobilenetV2(String node) {
    String n = node;
    boolean bn = n.endsWith("_bn");
    if (bn) {
      n = n.substring(0, n.length() - 3);
    }
    String sub = bn ? "1" : "0";
    if (n.equals("conv1")) {
      return "features.0." + sub;
    }
    if (n.equals("conv_last")) {
      return "features.18." + sub;
    }
    if (n.equals("classifier")) {
      return "classifier.1";
    }
    if (n.startsWith("block")) {
      int us = n.indexOf('_');
      int block = Integer.parseInt(n.substring(5, us));
      String part = n.substring(us + 1);
      boolean expands = block > 1; // the first block has expansion 1: no expand conv
      String prefix = "features." + block + ".conv.";
      switch (part) {
        case "expand":
          return prefix + "0." + sub;
        case "dw":
          return prefix + (expands ? "1." : "0.") + sub;
        case "project": {
          int conv = expands ? 2 : 1;
          return prefix + (bn ? conv + 1 : conv);
        }
        default:
          break;
      }
    }
    throw new IllegalArgumentException("mobilenet_v2: no torchvision key for layer '" + node + "'");
  }

  /**
   * nn.Sequential numbering: every node before the flatten is {@code features.N} in order (BNs
   * folded into a conv share nothing: VGG and AlexNet have none); after it, {@code classifier.N}
   * (softmax, which torchvision leaves out, not counted) unless {@code fixed} names the node.
   */
  private static Map<String, String> sequential(Network net, Map<String, String> fixed) {
    Map<String, String> out = new HashMap<>();
    int i = 0;
    boolean head = false;
    for (Network.Node n : net.nodes()) {
      if (n.layer() instanceof Flatten) {
        head = true;
        i = 0;
        continue;
      }
      if (n.layer() instanceof Softmax || n.layer() instanceof BatchNorm) {
        continue;
      }
      out.put(n.name(), fixed.getOrDefault(n.name(), (head ? "classifier." : "features.") + i));
      i++;
    }
    return out;
  }
}
