#!/bin/sh
# Development-time check (not in CI; heavy: minutes and several GB): do full-size torchvision
# classifiers, as PyTorch's exporter writes them, import into convkit and agree with PyTorch?
# Needs Debian's python3-torch and python3-torchvision (run by /usr/bin/python3) and a built
# tree (mvn -q -B -o package -DskipTests). From the repository root:
#
#   [OPSET=13] bench/onnx/torchvision_check.sh [DIR] [MODELS...]
#
# OPSET defaults to 17 (torch 1.13's highest). Each model is exported into DIR (default /tmp/convkit-torchvision) with PyTorch's float64
# logits for one seeded 224x224 input (export_torchvision.py), then imported and run in its own
# JVM by TorchvisionCheck.java (Java's source launcher; no Maven plugin). Prints a Markdown
# table: max |ours - torch| / max |torch| on the reference engine (small models only: it is
# slow), the CPU engine and the OpenCL engine. The issue's target is <= 1e-4.
set -eu
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/convkit-torchvision}
[ $# -gt 0 ] && shift
MODELS=${*:-resnet18 resnet50 resnext50_32x4d mobilenet_v2 vgg11 alexnet googlenet efficientnet_b0 convnext_tiny}
mkdir -p "$DIR"
[ -s target/cp.txt ] || mvn -q -B -o dependency:build-classpath -Dmdep.outputFile=target/cp.txt \
  -Dmdep.includeScope=test >/dev/null 2>&1
CP=target/classes:$(cat target/cp.txt)
echo "| model | import | reference engine | CPU engine | OpenCL engine |"
echo "|---|---|---|---|---|"
for m in $MODELS; do
  if ! /usr/bin/python3 bench/onnx/export_torchvision.py "$m" "$DIR" "${OPSET:-17}" >"$DIR/$m.export.log" 2>&1; then
    echo "| $m | export failed (see $DIR/$m.export.log) | - | - | - |"
    continue
  fi
  case $m in
    resnet18|mobilenet_v2|efficientnet_b0) engines=ref,cpu,cl ;;
    *) engines=cpu,cl ;;
  esac
  java -Xmx12g -cp "$CP" bench/onnx/TorchvisionCheck.java "$DIR" "$m" "$engines" 2>"$DIR/$m.java.log" \
    || echo "| $m | failed: $(tail -1 "$DIR/$m.java.log") | - | - | - |"
done
