#!/usr/bin/python3
"""Writes the ONNX files TorchExportedTest imports, as PyTorch's exporter writes them.

Development time only (never at build or test time): run with Debian's PyTorch and torchvision
(python3-torch 1.13, python3-torchvision 0.14), from this directory:

    /usr/bin/python3 generate.py

Each model is small (a few thousand weights), built from torchvision's own blocks where they take
small widths, with seeded random weights and randomised batch-norm statistics (so the import's
conv + BN folding is exercised), in eval mode. For each model and opset (13 and 17) it writes

    NAME.opsetK.onnx       torch.onnx.export, input "input" with a dynamic batch axis
    NAME.input.bin         the seeded input, float32 little-endian, NCHW
    NAME.output.bin        PyTorch's output for it, computed in float64, little-endian

and manifest.txt: one line per model, "NAME N,C,H,W OUT_DIMS OPSETS".
"""
import copy
import importlib
import os
import sys

import numpy as np
import torch
from torch import nn
from torchvision.models import convnext, efficientnet, mobilenetv2, mobilenetv3, resnet
from torchvision.ops import SqueezeExcitation

googlenet = importlib.import_module("torchvision.models.googlenet")

OPSETS = (13, 17)


def bn_random(m, gen):
    """Non-identity batch-norm parameters and running statistics."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=gen) + 0.5
            mod.bias.data = torch.randn(c, generator=gen) * 0.2
            mod.running_mean = torch.randn(c, generator=gen) * 0.2
            mod.running_var = torch.rand(c, generator=gen) + 0.5


class ResNetTiny(nn.Module):
    """torchvision's ResNet stem and BasicBlocks at width 8/16."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = resnet.BasicBlock(8, 8)
        down = nn.Sequential(resnet.conv1x1(8, 16, 2), nn.BatchNorm2d(16))
        self.layer2 = resnet.BasicBlock(8, 16, 2, down)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ResNeXtTiny(nn.Module):
    """torchvision's Bottleneck with groups 4 (width 8 in the grouped 3x3), downsampled."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        down = nn.Sequential(resnet.conv1x1(16, 32, 2), nn.BatchNorm2d(32))
        self.block1 = resnet.Bottleneck(16, 8, 2, down, groups=4, base_width=16)
        self.block2 = resnet.Bottleneck(32, 8, 1, None, groups=4, base_width=16)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MobileNetV2Tiny(nn.Module):
    """torchvision's InvertedResidual (ReLU6, depthwise), with and without the residual."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU6(inplace=True))
        self.features = nn.Sequential(
            mobilenetv2.InvertedResidual(8, 8, 1, 1),
            mobilenetv2.InvertedResidual(8, 16, 2, 4),
            mobilenetv2.InvertedResidual(16, 16, 1, 4))
        self.head = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32),
                                  nn.ReLU6(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, 10))

    def forward(self, x):
        x = self.head(self.features(self.stem(x)))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class EfficientNetTiny(nn.Module):
    """torchvision's MBConv (SiLU, depthwise, SqueezeExcitation with SiLU), two of them."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.SiLU(inplace=True))
        bn = nn.BatchNorm2d
        self.b1 = efficientnet.MBConv(efficientnet.MBConvConfig(4, 3, 1, 8, 8, 1), 0.0, bn)
        self.b2 = efficientnet.MBConv(efficientnet.MBConvConfig(4, 5, 2, 8, 16, 1), 0.0, bn)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.b2(self.b1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SqueezeExciteTiny(nn.Module):
    """torchvision.ops.SqueezeExcitation on its own (ReLU inside), after a conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1)
        self.se = SqueezeExcitation(16, 4)

    def forward(self, x):
        return self.se(self.conv(x))


class ConvNeXtTiny(nn.Module):
    """torchvision's CNBlock (dw 7x7, permute, LayerNorm eps 1e-6, Linear, GELU, Linear, layer
    scale, permute back, residual) after a patchify stem, then the classifier head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, 4)
        self.blocks = nn.Sequential(convnext.CNBlock(16, 1.0, 0.0))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InceptionTiny(nn.Module):
    """torchvision's Inception block (BasicConv2d branches, max pool ceil_mode=True, concat)
    between ceil-mode stride-2 max pools."""

    def __init__(self):
        super().__init__()
        self.conv1 = googlenet.BasicConv2d(3, 16, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inc = googlenet.Inception(16, 8, 4, 8, 2, 4, 4)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.pool2(self.inc(self.pool1(self.conv1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


class AlexNetTiny(nn.Module):
    """torchvision's AlexNet at width 8/16: conv, ReLU, max pool, adaptive average pool to 2x2
    (exported as an AveragePool), a reshape by the batch size, dropout and Linear layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 5, 2, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(8, 16, 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(64, 32), nn.ReLU(inplace=True),
                                        nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.reshape(x.size(0), -1))


class AlexNetLrnTiny(AlexNetTiny):
    """The original AlexNet's LRN after the first ReLU. PyTorch's exporter writes
    LocalResponseNorm op by op (it has no aten op), and the decomposition hides the spatial
    size from the exporter's adaptive pool, so the features end at 2x2 here without one."""

    def __init__(self):
        super().__init__()
        self.features.insert(2, nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
        self.avgpool = nn.Identity()


class VggTiny(nn.Module):
    """VGG: stacked 3x3 convs with bias, max pools, torch.flatten and a Linear classifier."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 32), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class LayerNormTiny(nn.Module):
    """A channels-last LayerNorm between permutes, as ConvNeXt writes it, with a given epsilon
    and with or without its scale and bias."""

    def __init__(self, eps, affine):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.norm = nn.LayerNorm(8, eps=eps, elementwise_affine=affine)

    def forward(self, x):
        return self.norm(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerNormNoAffineTiny(LayerNormTiny):
    def __init__(self):
        super().__init__(1e-6, False)


class LayerNormEps5Tiny(LayerNormTiny):
    """torch.nn.LayerNorm's default epsilon, which convkit's layer norm does not take."""

    def __init__(self):
        super().__init__(1e-5, True)


class MobileNetV3Tiny(nn.Module):
    """torchvision's MobileNetV3 InvertedResidual with Hardswish (exported as HardSwish at
    opset 17, as x * HardSigmoid(x) at 13), without squeeze-and-excitation, and its classifier
    head (Linear, Hardswish, Dropout, Linear)."""

    def __init__(self):
        super().__init__()
        cnf = mobilenetv3.InvertedResidualConfig
        bn = nn.BatchNorm2d
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.Hardswish())
        self.features = nn.Sequential(
            mobilenetv3.InvertedResidual(cnf(8, 3, 16, 8, False, "HS", 1, 1, 1.0), bn),
            mobilenetv3.InvertedResidual(cnf(8, 5, 24, 16, False, "HS", 2, 1, 1.0), bn))
        self.head = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32),
                                  nn.Hardswish())
        self.classifier = nn.Sequential(nn.Linear(32, 24), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(24, 10))

    def forward(self, x):
        x = self.head(self.features(self.stem(x)))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class MobileNetV3SeTiny(nn.Module):
    """MobileNetV3's InvertedResidual with its squeeze-and-excitation (a Hardsigmoid gate),
    which convkit's SqueezeExcite (a Sigmoid gate) does not take: the import refuses it."""

    def __init__(self):
        super().__init__()
        cnf = mobilenetv3.InvertedResidualConfig
        self.block = mobilenetv3.InvertedResidual(cnf(8, 3, 16, 8, True, "RE", 1, 1, 1.0),
                                                  nn.BatchNorm2d)
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x):
        return self.block(self.conv(x))


class HardSigmoidTiny(nn.Module):
    """nn.Hardsigmoid after a conv (HardSigmoid, alpha 1/6, at both opsets)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.act = nn.Hardsigmoid()

    def forward(self, x):
        return self.act(self.conv(x) * 4)


# name, model class, input (N, C, H, W)
MODELS = [
    ("resnet_tiny", ResNetTiny, (2, 3, 24, 24)),
    ("resnext_tiny", ResNeXtTiny, (2, 3, 16, 16)),
    ("mobilenet_v2_tiny", MobileNetV2Tiny, (2, 3, 24, 24)),
    ("efficientnet_tiny", EfficientNetTiny, (2, 3, 24, 24)),
    ("squeeze_excite_tiny", SqueezeExciteTiny, (2, 3, 6, 6)),
    ("convnext_tiny", ConvNeXtTiny, (2, 3, 24, 24)),
    ("inception_tiny", InceptionTiny, (2, 3, 23, 23)),
    ("alexnet_tiny", AlexNetTiny, (2, 3, 40, 40)),
    ("alexnet_lrn_tiny", AlexNetLrnTiny, (2, 3, 24, 24)),
    ("vgg_tiny", VggTiny, (2, 3, 16, 16)),
    # torch 1.13 writes an invalid LayerNormalization (an empty scale input) at opset 17 when the
    # norm has no scale: that model is exported at opset 13 only
    ("layernorm_noaffine_tiny", LayerNormNoAffineTiny, (2, 3, 5, 5), (13,)),
    ("layernorm_eps5_tiny", LayerNormEps5Tiny, (2, 3, 5, 5)),
    ("mobilenet_v3_tiny", MobileNetV3Tiny, (2, 3, 24, 24)),
    ("mobilenet_v3_se_tiny", MobileNetV3SeTiny, (2, 3, 4, 4)),
    ("hardsigmoid_tiny", HardSigmoidTiny, (2, 3, 5, 5)),
]


def build(cls, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = cls()
    bn_random(m, gen)
    for mod in m.modules():
        if isinstance(mod, convnext.CNBlock):
            # the layer scale starts at 1.0 here (torchvision's 1e-6 would hide the block)
            mod.layer_scale.data = torch.rand(mod.layer_scale.shape, generator=gen) + 0.5
    return m.eval()


def export(m, x, path, opset):
    torch.onnx.export(m, x, path, opset_version=opset, input_names=["input"],
                      output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                      do_constant_folding=True)


def main(out_dir):
    manifest = []
    for i, (name, cls, shape, *rest) in enumerate(MODELS):
        opsets = rest[0] if rest else OPSETS
        m = build(cls, 1000 + i)
        gen = torch.Generator().manual_seed(2000 + i)
        x = torch.randn(shape, generator=gen, dtype=torch.float32)
        with torch.no_grad():
            y = copy.deepcopy(m).double()(x.double())
        for opset in opsets:
            export(m, x, os.path.join(out_dir, f"{name}.opset{opset}.onnx"), opset)
        x.numpy().astype("<f4").tofile(os.path.join(out_dir, f"{name}.input.bin"))
        y.numpy().astype("<f8").tofile(os.path.join(out_dir, f"{name}.output.bin"))
        manifest.append(f"{name} {','.join(map(str, shape))} {','.join(map(str, y.shape))} "
                        f"{','.join(map(str, opsets))}")
        print(name, tuple(y.shape), float(y.abs().max()))
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
