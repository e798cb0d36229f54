#!/usr/bin/env python3
"""Per-frame class spike counts of an nmc YAML model, computed with PyTorch.

An implementation of the integer forward pass independent of nmc's C++ one
(torch conv2d/max_pool2d on 0/1 tensors), used as the oracle that nmc's
reference pass must match on every frame:

    /usr/bin/python3 convert/python/oracle.py examples/tiny_fmnist.yaml \
        -o examples/tiny_fmnist.counts.csv.gz

The output is the CSV that `nmc eval --counts` writes (frame, label,
predicted, count0..countK), gzip-compressed with a fixed timestamp.
"""
import argparse
import gzip
import io
import os
import sys

import torch
import torch.nn.functional as F
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nmc_eedn.data import load_fashion_mnist  # noqa: E402
from nmc_eedn.integer import predict  # noqa: E402


def _weights(w):
    if isinstance(w, str):
        return [{"+": 1, "-": -1, "0": 0}[ch] for ch in w if ch in "+-0"]
    return list(w)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@torch.no_grad()
def forward_counts(model, pixels):
    """pixels uint8 [N, C, H, W] -> class counts int64 [N, classes]."""
    values = {}
    prev = None
    for layer in model["layers"]:
        kind, name = layer["type"], layer["name"]
        inputs = layer.get("inputs") or [layer.get("input", prev)]
        x = values.get(inputs[0]) if inputs[0] is not None else None
        if kind == "input":
            levels = torch.tensor(layer["levels"], dtype=torch.float32)
            p = pixels.float()
            n, c, h, w = p.shape
            out = (p.unsqueeze(2) >= levels.view(1, 1, -1, 1, 1)).float().reshape(n, c * len(levels), h, w)
        elif kind == "conv2d":
            kh, kw = _pair(layer["kernel"])
            groups = layer.get("groups", 1)
            cin = x.shape[1] // groups
            wt = torch.tensor(_weights(layer["weights"]), dtype=torch.float32).view(layer["out_channels"], cin, kh, kw)
            out = torch.round(F.conv2d(x, wt, None, _pair(layer.get("stride", 1)), _pair(layer.get("padding", 0)), 1, groups))
        elif kind == "dense":
            wt = torch.tensor(_weights(layer["weights"]), dtype=torch.float32).view(layer["out_features"], -1)
            out = torch.round(x.reshape(x.shape[0], -1) @ wt.t()).view(x.shape[0], -1, 1, 1)
        elif kind == "threshold":
            c = x.shape[1]
            thr = layer["threshold"]
            thr = torch.tensor(thr if isinstance(thr, list) else [thr] * c, dtype=torch.float32).view(1, -1, 1, 1)
            sign = layer.get("sign", 1)
            sign = torch.tensor(sign if isinstance(sign, list) else [sign] * c, dtype=torch.float32).view(1, -1, 1, 1)
            out = (sign * x >= thr).float()
        elif kind in ("max_pool", "avg_pool"):
            k, s, pad = _pair(layer["kernel"]), _pair(layer["stride"]), _pair(layer.get("padding", 0))
            area = k[0] * k[1]
            default = 1 if kind == "max_pool" else (area + 1) // 2
            count = torch.round(F.avg_pool2d(x, k, s, pad, count_include_pad=True) * area)
            out = (count >= layer.get("threshold", default)).float()
        elif kind == "flatten":
            out = x.reshape(x.shape[0], -1, 1, 1)
        elif kind == "concat":
            out = torch.cat([values[i] for i in inputs], dim=1)
        elif kind == "output":
            flat = x.reshape(x.shape[0], -1)
            classes = layer["classes"]
            class_of = layer.get("class_of")
            if class_of is None:
                per = flat.shape[1] // classes
                class_of = [i // per for i in range(flat.shape[1])]
            onehot = torch.zeros(flat.shape[1], classes)
            for i, c in enumerate(class_of):
                if c >= 0:
                    onehot[i, c] = 1.0
            return torch.round(flat @ onehot).to(torch.int64)
        else:
            raise ValueError(f"layer '{name}': unsupported type '{kind}'")
        values[name] = out
        prev = name
    raise ValueError("the model has no output layer")


def write_counts(path, counts, labels):
    pred = predict(counts)
    buf = io.StringIO()
    buf.write("frame,label,predicted," + ",".join(f"count{k}" for k in range(counts.shape[1])) + "\n")
    for i in range(counts.shape[0]):
        buf.write(f"{i},{int(labels[i])},{int(pred[i])}," + ",".join(str(int(v)) for v in counts[i]) + "\n")
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(buf.getvalue().encode())
    os.replace(tmp, path)
    return (pred == torch.as_tensor(labels)).float().mean().item()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--split", default="test", choices=["test", "train"])
    args = p.parse_args()
    with open(args.model) as f:
        model = yaml.safe_load(f)
    x, y = load_fashion_mnist(args.split)
    x = torch.from_numpy(x.copy())
    counts = torch.cat([forward_counts(model, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    acc = write_counts(args.output, counts, y)
    print(f"wrote {args.output}: {len(y)} frames, accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
