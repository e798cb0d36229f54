#!/usr/bin/env python3
"""Writes an nmc YAML model as an ONNX file in the Eedn ONNX profile.

    /usr/bin/python3 convert/python/export_onnx.py examples/tiny_fmnist.yaml -o models/fmnist_small.onnx

The profile (convert/EEDN_ONNX_PROFILE.md): the graph input is the
thermometer-encoded image (binary, N x C*T x H x W, the levels recorded in the
metadata), each neuron layer is Conv or Gemm with weights in {-1, 0, 1},
Mul(sign), GreaterOrEqual(threshold), Cast(float); pooling is MaxPool or
AveragePool + GreaterOrEqual; the graph output is the class spike counts
(Reshape to N x classes x population, ReduceSum). Uses Debian's python3-onnx.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle import _pair, _weights  # noqa: E402

OPSET = 13


def export(model, path, doc=""):
    nodes, inits = [], []
    layers = model["layers"]
    shapes = {}  # name -> (C, H, W)
    rank = {}    # name -> 4 (N, C, H, W) or 2 (N, C)
    prev = None

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    for layer in layers:
        kind, name = layer["type"], layer["name"]
        inputs = layer.get("inputs") or [layer.get("input", prev)]
        src = inputs[0]
        if kind == "input":
            c, h, w = layer["shape"]
            levels = layer["levels"]
            shapes[name] = (c * len(levels), h, w)
            rank[name] = 4
            graph_input = helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", c * len(levels), h, w])
            meta = {"nmc.profile": "eedn/1", "nmc.input.encoding": "thermometer",
                    "nmc.input.levels": ",".join(str(v) for v in levels), "nmc.input.shape": f"{c},{h},{w}"}
        elif kind == "conv2d":
            c, h, w = shapes[src]
            kh, kw = _pair(layer["kernel"])
            sh, sw = _pair(layer.get("stride", 1))
            ph, pw = _pair(layer.get("padding", 0))
            g = layer.get("groups", 1)
            out = layer["out_channels"]
            wt = np.array(_weights(layer["weights"]), dtype=np.float32).reshape(out, c // g, kh, kw)
            nodes.append(helper.make_node("Conv", [src, const(name + ".weight", wt)], [name], name=name,
                                          kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw], group=g))
            shapes[name] = (out, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
            rank[name] = 4
        elif kind == "dense":
            c, h, w = shapes[src]
            out = layer["out_features"]
            wt = np.array(_weights(layer["weights"]), dtype=np.float32).reshape(out, c * h * w)
            flat = src
            if rank[src] == 4:
                flat = name + ".flat"
                nodes.append(helper.make_node("Flatten", [src], [flat], name=flat, axis=1))
            nodes.append(helper.make_node("Gemm", [flat, const(name + ".weight", wt)], [name], name=name, transB=1))
            shapes[name] = (out, 1, 1)
            rank[name] = 2
        elif kind == "threshold":
            c, h, w = shapes[src]
            thr = layer["threshold"]
            thr = thr if isinstance(thr, list) else [thr] * c
            sign = layer.get("sign", 1)
            sign = sign if isinstance(sign, list) else [sign] * c
            shape = [1, c, 1, 1] if rank[src] == 4 else [1, c]
            x = src
            if any(s != 1 for s in sign):
                nodes.append(helper.make_node("Mul", [x, const(name + ".sign", np.reshape(sign, shape))], [name + ".signed"],
                                              name=name + ".sign"))
                x = name + ".signed"
            nodes.append(helper.make_node("GreaterOrEqual", [x, const(name + ".threshold", np.reshape(thr, shape))],
                                          [name + ".bool"], name=name))
            nodes.append(helper.make_node("Cast", [name + ".bool"], [name], name=name + ".cast", to=TensorProto.FLOAT))
            shapes[name] = shapes[src]
            rank[name] = rank[src]
        elif kind in ("max_pool", "avg_pool"):
            c, h, w = shapes[src]
            kh, kw = _pair(layer["kernel"])
            sh, sw = _pair(layer["stride"])
            ph, pw = _pair(layer.get("padding", 0))
            area = kh * kw
            attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw])
            if kind == "max_pool" and layer.get("threshold", 1) == 1:
                nodes.append(helper.make_node("MaxPool", [src], [name], name=name, **attrs))
            else:
                t = layer.get("threshold", 1 if kind == "max_pool" else (area + 1) // 2)
                nodes.append(helper.make_node("AveragePool", [src], [name + ".avg"], name=name, count_include_pad=1, **attrs))
                # count / area >= (t - 0.5) / area  <=>  count >= t for integer counts
                nodes.append(helper.make_node("GreaterOrEqual", [name + ".avg", const(name + ".threshold", np.float32((t - 0.5) / area))],
                                              [name + ".bool"], name=name + ".step"))
                nodes.append(helper.make_node("Cast", [name + ".bool"], [name], name=name + ".cast", to=TensorProto.FLOAT))
            shapes[name] = (c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
            rank[name] = 4
        elif kind == "flatten":
            c, h, w = shapes[src]
            nodes.append(helper.make_node("Flatten", [src], [name], name=name, axis=1))
            shapes[name] = (c * h * w, 1, 1)
            rank[name] = 2
        elif kind == "concat":
            nodes.append(helper.make_node("Concat", inputs, [name], name=name, axis=1))
            c = sum(shapes[i][0] for i in inputs)
            shapes[name] = (c, shapes[inputs[0]][1], shapes[inputs[0]][2])
            rank[name] = rank[inputs[0]]
        elif kind == "output":
            c, h, w = shapes[src]
            classes = layer["classes"]
            if layer.get("class_of") is not None:
                raise ValueError("export_onnx: explicit class_of is not part of the profile's output pattern")
            n = c * h * w
            inits.append(numpy_helper.from_array(np.array([0, classes, n // classes], dtype=np.int64), name + ".shape"))
            nodes.append(helper.make_node("Reshape", [src, name + ".shape"], [name + ".pop"], name=name + ".reshape"))
            axes = numpy_helper.from_array(np.array([2], dtype=np.int64), name + ".axes")
            inits.append(axes)
            nodes.append(helper.make_node("ReduceSum", [name + ".pop", name + ".axes"], ["class_counts"], name=name, keepdims=0))
            graph_output = helper.make_tensor_value_info("class_counts", TensorProto.FLOAT, ["N", classes])
            meta["nmc.output.classes"] = str(classes)
        else:
            raise ValueError(f"layer '{name}': type '{kind}' has no profile form")
        prev = name
    graph = helper.make_graph(nodes, model.get("name", "eedn"), [graph_input], [graph_output], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nmc export_onnx",
                          doc_string=doc)
    for k, v in meta.items():
        m.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.checker.check_model(m)
    tmp = path + ".tmp"
    onnx.save(m, tmp)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()
    with open(args.model) as f:
        model = yaml.safe_load(f)
    export(model, args.output, doc=f"exported from {os.path.basename(args.model)} by nmc")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
