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

import onnx
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


@torch.no_grad()
def onnx_counts(model, pixels):
    """Runs an Eedn-profile ONNX model with PyTorch ops: uint8 pixels -> counts [N, classes]."""
    from onnx import numpy_helper
    meta = {p.key: p.value for p in model.metadata_props}
    levels = torch.tensor([float(v) for v in meta["nmc.input.levels"].split(",")])
    p = pixels.float()
    n, c, h, w = p.shape
    env = {model.graph.input[0].name: (p.unsqueeze(2) >= levels.view(1, 1, -1, 1, 1)).float().reshape(n, -1, h, w)}
    for init in model.graph.initializer:
        env[init.name] = torch.from_numpy(numpy_helper.to_array(init).copy())
    for node in model.graph.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
        x = [env[i] for i in node.input]
        op = node.op_type
        if op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            y = torch.round(F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get("strides", 1),
                                     (pads[0], pads[1]), 1, a.get("group", 1)))
        elif op == "Gemm":
            y = x[0] @ (x[1].t() if a.get("transB", 0) else x[1]) + (x[2] if len(x) > 2 else 0)
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "GreaterOrEqual":
            y = x[0] >= x[1]
        elif op == "Cast":
            y = x[0].float()
        elif op == "MaxPool":
            pads = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(x[0], a["kernel_shape"], a["strides"], (pads[0], pads[1]))
        elif op == "AveragePool":
            pads = a.get("pads", [0, 0, 0, 0])
            y = F.avg_pool2d(x[0], a["kernel_shape"], a["strides"], (pads[0], pads[1]),
                             count_include_pad=bool(a.get("count_include_pad", 0)))
        elif op == "Flatten":
            y = x[0].reshape(x[0].shape[0], -1)
        elif op == "Concat":
            y = torch.cat(x, dim=a["axis"])
        elif op == "Reshape":
            shape = [x[0].shape[i] if int(s) == 0 else int(s) for i, s in enumerate(x[1])]
            y = x[0].reshape(shape)
        elif op == "ReduceSum":
            y = x[0].sum(dim=[int(v) for v in x[1]], keepdim=bool(a.get("keepdims", 1)))
        else:
            raise ValueError(f"node '{node.name}': op {op} is not in the Eedn profile")
        env[node.output[0]] = y
    return torch.round(env[model.graph.output[0].name]).to(torch.int64)


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
    x, y = load_fashion_mnist(args.split)
    x = torch.from_numpy(x.copy())
    if args.model.endswith(".onnx"):
        import onnx as onnx_lib
        model = onnx_lib.load(args.model)
        counts = torch.cat([onnx_counts(model, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    else:
        with open(args.model) as f:
            model = yaml.safe_load(f)
        counts = torch.cat([forward_counts(model, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    acc = write_counts(args.output, counts, y)
    print(f"wrote {args.output}: {len(y)} frames, accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
