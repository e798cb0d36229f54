#!/usr/bin/env bash
# Training smoke test: a few hundred steps of a tiny network on a subset, the
# YAML and ONNX exports, then nmc must accept both and agree with PyTorch's
# counts on every frame. Skips (exit 77) without Debian's PyTorch.
set -euo pipefail
nmc="$1"
src="$2"
py=/usr/bin/python3
"$py" -c "import torch, onnx, yaml" 2>/dev/null || { echo "PyTorch/ONNX for /usr/bin/python3 not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$src/convert/python/train.py" --arch micro --epochs 1 --max-steps 300 --train-subset 20000 --seed 3 --quiet \
  --out "$tmp/m.yaml" --onnx "$tmp/m.onnx" --oracle "$tmp/m.counts.csv.gz"
"$nmc" inspect "$tmp/m.onnx" > /dev/null
"$nmc" eval "$tmp/m.onnx" --counts "$tmp/nmc.csv" > /dev/null
zcat "$tmp/m.counts.csv.gz" | diff -q - "$tmp/nmc.csv"
"$nmc" run "$tmp/m.onnx" --frames 500 --json | "$py" -c "
import json, sys
r = json.load(sys.stdin)
assert r['reference_agreement'] == 1.0, r
print('smoke: trained, exported, imported, simulated; accuracy on 500 frames', r['accuracy'])"
