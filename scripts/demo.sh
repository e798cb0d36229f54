#!/usr/bin/env bash
# Installs what nmc needs, builds it and runs the main job on the shipped
# default model: compile it for a TrueNorth-style chip and simulate all 10,000
# Fashion-MNIST test images tick by tick, printing accuracy, agreement with the
# network's own forward pass, frames/s and energy per frame.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model="${1:-models/fmnist_small.onnx}"
mkdir -p build/demo
./build/cli/nmc compile "$model" -o build/demo/program.nmc
echo
./build/cli/nmc inspect build/demo/program.nmc
echo
./build/cli/nmc simulate build/demo/program.nmc --dataset fashion-mnist:test --report build/demo/report.json
