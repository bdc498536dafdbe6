#!/usr/bin/python3
"""Exports one full-size torchvision classifier for bench/onnx/torchvision_check.sh.

Usage: /usr/bin/python3 export_torchvision.py MODEL OUT_DIR [OPSET]

Random weights (seed 0; batch-norm statistics randomised so conv+BN folding is exercised), eval
mode, torch.onnx.export of the installed torch (1.13: opset 17 is its highest) with input
"input" of dims [1, 3, 224, 224] (dynamic batch). Writes MODEL.onnx, MODEL.input.bin (float32
LE) and MODEL.output.bin (PyTorch's logits computed in float64, LE).
"""
import copy
import sys

import torch
import torchvision
from torch import nn


def main(name, out, opset):
    torch.manual_seed(0)
    kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    m = getattr(torchvision.models, name)(weights=None, **kw)
    gen = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=gen) + 0.5
            mod.bias.data = torch.randn(c, generator=gen) * 0.2
            mod.running_mean = torch.randn(c, generator=gen) * 0.2
            mod.running_var = torch.rand(c, generator=gen) + 0.5
        if isinstance(mod, torchvision.models.convnext.CNBlock):
            # torchvision's 1e-6 layer scale would make every block nearly the identity
            mod.layer_scale.data = torch.rand(mod.layer_scale.shape, generator=gen) + 0.5
    m.eval()
    x = torch.randn((1, 3, 224, 224), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y = copy.deepcopy(m).double()(x.double())
    torch.onnx.export(m, x, f"{out}/{name}.onnx", opset_version=opset, input_names=["input"],
                      output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    x.numpy().astype("<f4").tofile(f"{out}/{name}.input.bin")
    y.numpy().astype("<f8").tofile(f"{out}/{name}.output.bin")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 17)
