package io.convkit.nn.models;

import io.convkit.nn.Network;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The model zoo: {@code Models.create("resnet50")}, {@code Models.create("mobilenet_v1",
 * Map.of("alpha", "0.5"))}. Each family's class cites its paper and table. Options: {@code alpha}
 * (mobilenet_v1, mobilenet_v2), {@code variant} (v1 / v1.5 for the bottleneck ResNets and
 * ResNeXts; paper / torchvision for googlenet), {@code se} (true: the SENet variant of vgg*,
 * bn_inception, inception_resnet_v2, resnext101_32x4d).
 */
public final class Models {
  private Models() {}

  private static final Map<String, Function<Options, Network>> ZOO = new LinkedHashMap<>();

  static {
    ZOO.put("lenet5", LeNet::lenet5);
    ZOO.put("lenet_cifar", LeNet::lenetCifar);
    ZOO.put("alexnet", AlexNet::torchvision);
    ZOO.put("alexnet_2012", AlexNet::original);
    ZOO.put("zfnet", AlexNet::zfnet);
    for (int d : new int[] {11, 13, 16, 19}) {
      ZOO.put("vgg" + d, o -> Vgg.create("vgg" + d, d, o));
    }
    ZOO.put("googlenet", GoogLeNet::create);
    ZOO.put("inception_naive", GoogLeNet::naive);
    ZOO.put("inception_bottleneck", GoogLeNet::bottleneck);
    ZOO.put("bn_inception", BnInception::create);
    ZOO.put("inception_resnet_v2", InceptionResNetV2::create);
    int[] r18 = {2, 2, 2, 2};
    int[] r34 = {3, 4, 6, 3};
    int[] r101 = {3, 4, 23, 3};
    int[] r152 = {3, 8, 36, 3};
    ZOO.put("resnet18", o -> ResNet.create("resnet18", r18, false, 1, 64, false, "v1", o));
    ZOO.put("resnet34", o -> ResNet.create("resnet34", r34, false, 1, 64, false, "v1", o));
    ZOO.put("resnet50", o -> ResNet.create("resnet50", r34, true, 1, 64, false, "v1", o));
    ZOO.put("resnet101", o -> ResNet.create("resnet101", r101, true, 1, 64, false, "v1", o));
    ZOO.put("resnet152", o -> ResNet.create("resnet152", r152, true, 1, 64, false, "v1", o));
    ZOO.put("resnext50_32x4d",
        o -> ResNet.create("resnext50_32x4d", r34, true, 32, 4, false, "v1.5", o));
    ZOO.put("resnext101_32x4d", o -> {
      boolean se = o.flag("se");
      return ResNet.create(se ? "se_resnext101_32x4d" : "resnext101_32x4d", r101, true, 32, 4,
          se, "v1.5", o);
    });
    ZOO.put("se_resnet50", o -> ResNet.create("se_resnet50", r34, true, 1, 64, true, "v1", o));
    ZOO.put("se_resnet101",
        o -> ResNet.create("se_resnet101", r101, true, 1, 64, true, "v1", o));
    ZOO.put("se_resnet152",
        o -> ResNet.create("se_resnet152", r152, true, 1, 64, true, "v1", o));
    ZOO.put("se_resnext50_32x4d",
        o -> ResNet.create("se_resnext50_32x4d", r34, true, 32, 4, true, "v1.5", o));
    ZOO.put("mobilenet_v1", MobileNetV1::create);
    ZOO.put("mobilenet_v2", MobileNetV2::create);
    ZOO.put("efficientnet_b0", EfficientNet::b0);
    ZOO.put("convnext_tiny", ConvNeXt::tiny);
  }

  /** The model names, in the order. */
  public static List<String> names() {
    return List.copyOf(ZOO.keySet());
  }

  public static Network create(String name) {
    return create(name, Map.of());
  }

  /** Builds {@code name} with options; an unknown name or option is an IllegalArgumentException. */
  public static Network create(String name, Map<String, String> options) {
    Function<Options, Network> f = ZOO.get(name);
    if (f == null) {
      throw new IllegalArgumentException("unknown model '" + name + "' (known: "
          + String.join(", ", ZOO.keySet()) + ")");
    }
    return f.apply(new Options(name, options));
  }
}
