package io.convkit.nn.weights;

import io.convkit.nn.BatchNorm;
import io.convkit.nn.Flatten;
import io.convkit.nn.Network;
import io.convkit.nn.Softmax;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 *   <li>googlenet with {@code variant=torchvision} (torchvision's net is not the paper's; the
 *       paper variant is refused with that advice): see {@link #googlenet}. Its published
 *       weights expect torchvision's {@code transform_input} rescaling of the input, which is
 *       the caller's preprocessing here.</li>
 *   <li>efficientnet_b0: see {@link #efficientNetB0}; convnext_tiny: see {@link ConvNeXtNames}
 *       (its Linear weights {@code [out][in]} and layer scale {@code [C][1][1]} load into our
 *       1x1 convs and per-channel scale: {@link StateDict#take} matches shapes up to
 *       dimensions of size 1).</li>
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
    } else if (m.equals("googlenet_torchvision")) {
      return (node, param) -> googlenet(node) + "." + param;
    } else if (m.equals("googlenet")) {
      throw new IllegalArgumentException("googlenet: torchvision's weights are for its own variant"
          + " (batch norm, a 3x3 kernel in the 5x5 branch, no LRN): build it with"
          + " variant=torchvision (--variant torchvision)");
    } else if (m.equals("efficientnet_b0")) {
      // SE's two 1x1 convs are torchvision's SqueezeExcitation fc1 and fc2
      return (node, param) -> efficientNetB0(node) + "."
          + param.replace("reduce.", "fc1.").replace("expand.", "fc2.");
    } else if (m.equals("convnext_tiny")) {
      return ConvNeXtNames::key;
    } else {
      throw new IllegalArgumentException(m + ": no torchvision naming (known: resnet*, resnext*,"
          + " vgg*, alexnet, mobilenet_v2, googlenet with variant=torchvision, efficientnet_b0,"
          + " convnext_tiny)");
    }
    return (node, param) -> {
      String k = modules.get(node);
      if (k == null) {
        throw new IllegalArgumentException(m + ": no torchvision key for layer '" + node + "'");
      }
      return k + "." + param;
    };
  }

  /** Whether {@code node} is the batch norm {@link io.convkit.nn.NetworkBuilder#bn()} named. */
  private static boolean isBn(String node) {
    return node.endsWith("_bn");
  }

  /** The conv a node belongs to: the node itself, or the conv its batch norm follows. */
  private static String conv(String node) {
    return isBn(node) ? node.substring(0, node.length() - 3) : node;
  }

  /** conv1_bn -> bn1; layer1_0_conv2_bn -> layer1.0.bn2; layer2_0_downsample_bn -> ...1. */
  static String resnet(String node) {
    boolean bn = isBn(node);
    String n = conv(node);
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
    boolean bn = isBn(node);
    String n = conv(node);
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
   * The tensors of a torchvision state dict the model never reads, as
   * {@link StateDict#requireAllUsed} takes them: BN's training counter, and GoogLeNet's
   * training-only auxiliary heads (its published file keeps them).
   */
  public static List<String> unused(Network net) {
    if (net.name().equals("googlenet_torchvision")) {
      return List.of("num_batches_tracked", "aux1.", "aux2.");
    }
    return List.of("num_batches_tracked");
  }

  /**
   * torchvision's GoogLeNet: conv1, conv2 (our conv2_reduce), conv3 (our conv2), each a
   * BasicConv2d with {@code .conv} and {@code .bn}; inception modules {@code inception3a.branch1},
   * {@code branch2.0/.1} (3x3 reduce, 3x3), {@code branch3.0/.1} (5x5 reduce, "5x5"),
   * {@code branch4.1} (pool projection); fc.
   */
  static String googlenet(String node) {
    boolean bn = isBn(node);
    String n = conv(node);
    String sub = bn ? ".bn" : ".conv";
    switch (n) {
      case "fc":
        if (!bn) {
          return "fc";
        }
        break;
      case "conv1":
        return "conv1" + sub;
      case "conv2_reduce":
        return "conv2" + sub;
      case "conv2":
        return "conv3" + sub;
      default:
        break;
    }
    if (n.startsWith("inception_")) {
      int us = n.indexOf('_', "inception_".length());
      if (us > 0) {
        String module = "inception" + n.substring("inception_".length(), us);
        String branch = switch (n.substring(us + 1)) {
          case "1x1" -> "branch1";
          case "3x3_reduce" -> "branch2.0";
          case "3x3" -> "branch2.1";
          case "5x5_reduce" -> "branch3.0";
          case "5x5" -> "branch3.1";
          case "pool_proj" -> "branch4.1";
          default -> null;
        };
        if (branch != null) {
          return module + "." + branch + sub;
        }
      }
    }
    throw new IllegalArgumentException("googlenet: no torchvision key for layer '" + node + "'");
  }

  /**
   * torchvision's EfficientNet-B0: {@code features.0.0/.1} (stem conv, BN); stage s (1..7) is
   * {@code features.s}, its blocks {@code features.s.i.block.j}: j counts the expand conv (not
   * in stage 1), the depthwise conv, the SE module ({@code fc1}, {@code fc2}) and the projection,
   * each conv a Conv2dNormActivation ({@code .0} conv, {@code .1} BN); {@code features.8.0/.1}
   * the head conv; {@code classifier.1} the FC.
   */
  static String efficientNetB0(String node) {
    boolean bn = isBn(node);
    String n = conv(node);
    String sub = bn ? ".1" : ".0";
    if (n.equals("stem")) {
      return "features.0" + sub;
    }
    if (n.equals("head")) {
      return "features.8" + sub;
    }
    if (n.equals("fc") && !bn) {
      return "classifier.1";
    }
    if (n.startsWith("block") && n.indexOf('_') > 5) {
      int us = n.indexOf('_');
      int block = Integer.parseInt(n.substring(5, us)); // 1-based over the whole net
      String part = n.substring(us + 1);
      int stage = 0;
      int first = 1;
      while (stage < EFFICIENTNET_B0_REPEATS.length
          && block >= first + EFFICIENTNET_B0_REPEATS[stage]) {
        first += EFFICIENTNET_B0_REPEATS[stage];
        stage++;
      }
      if (stage < EFFICIENTNET_B0_REPEATS.length) {
        int skip = stage == 0 ? 1 : 0; // stage 1 has expansion 1: no expand conv
        String prefix = "features." + (stage + 1) + "." + (block - first) + ".block.";
        switch (part) {
          case "expand":
            if (skip == 0) {
              return prefix + "0" + sub;
            }
            break;
          case "dw":
            return prefix + (1 - skip) + sub;
          case "se":
            if (!bn) {
              return prefix + (2 - skip);
            }
            break;
          case "project":
            return prefix + (3 - skip) + sub;
          default:
            break;
        }
      }
    }
    throw new IllegalArgumentException("efficientnet_b0: no torchvision key for layer '" + node
        + "'");
  }

  /** Blocks per stage of EfficientNet-B0 (the paper's Table 1). */
  private static final int[] EFFICIENTNET_B0_REPEATS = {1, 2, 2, 3, 3, 4, 1};

  /**
   * torchvision's ConvNeXt: {@code features.0.0/.1} (stem conv, LayerNorm2d); stage k (1..4) is
   * {@code features.(2k-1)}, block i's {@code block.0} (7x7 depthwise), {@code block.2}
   * (LayerNorm), {@code block.3}/{@code block.5} (the two Linear layers, our 1x1 convs) and
   * {@code layer_scale} (a bare parameter); the downsampling before stage k+1 is
   * {@code features.2k} ({@code .0} LayerNorm2d, {@code .1} conv); {@code classifier.0} the head's
   * LayerNorm2d, {@code classifier.2} the FC.
   */
  static final class ConvNeXtNames {
    private ConvNeXtNames() {}

    static String key(String node, String param) {
      switch (node) {
        case "stem":
          return "features.0.0." + param;
        case "stem_ln":
          return "features.0.1." + param;
        case "head_ln":
          return "classifier.0." + param;
        case "fc":
          return "classifier.2." + param;
        default:
          break;
      }
      Matcher d = DOWNSAMPLE.matcher(node);
      if (d.matches()) {
        int s = Integer.parseInt(d.group(1));
        return "features." + 2 * s + "." + (d.group(2) != null ? "0." : "1.") + param;
      }
      Matcher b = BLOCK.matcher(node);
      if (b.matches()) {
        String prefix = "features." + (2 * Integer.parseInt(b.group(1)) - 1) + "." + b.group(2);
        return switch (b.group(3)) {
          case "dw" -> prefix + ".block.0." + param;
          case "ln" -> prefix + ".block.2." + param;
          case "pw1" -> prefix + ".block.3." + param;
          case "pw2" -> prefix + ".block.5." + param;
          default -> prefix + ".layer_scale"; // gamma: a bare nn.Parameter
        };
      }
      throw new IllegalArgumentException("convnext_tiny: no torchvision key for layer '" + node
          + "'");
    }

    private static final Pattern DOWNSAMPLE =
        Pattern.compile("downsample([1-3])(_ln)?");
    private static final Pattern BLOCK =
        Pattern.compile("stage([1-4])_(\\d+)_(dw|ln|pw1|pw2|gamma)");
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
