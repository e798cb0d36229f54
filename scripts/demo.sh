#!/usr/bin/env bash
# Installs what nmc needs, builds it and runs the main job on the shipped
# default model: the reference forward pass over the 10,000 Fashion-MNIST
# test images (accuracy and frames/s).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model="${1:-examples/tiny_fmnist.yaml}"
./build/cli/nmc inspect "$model"
echo
./build/cli/nmc eval "$model" --dataset fashion-mnist:test
