"""Writes a trained EednNet in nmc's native YAML model format (nmc-model/1)."""
import os
import tempfile

from .integer import integer_blocks


def _weights(w):
    flat = w.reshape(-1).tolist()
    chars = "".join("+" if v > 0 else "-" if v < 0 else "0" for v in flat)
    lines = [chars[i:i + 64] for i in range(0, len(chars), 64)]
    return "|\n" + "".join(f"      {line}\n" for line in lines)


def _ints(v):
    return "[" + ", ".join(str(int(x)) for x in v) + "]"


def export_yaml(net, path, name):
    blocks = integer_blocks(net)
    c, h, w = net.image
    out = ["format: nmc-model/1", f"name: {name}", "layers:",
           f"  - {{name: input, type: input, shape: [{c}, {h}, {w}], levels: {_ints(net.encode.levels)}}}"]
    for i, b in enumerate(blocks, 1):
        out.append(f"  - name: conv{i}\n    type: conv2d\n    out_channels: {b['cout']}\n"
                   f"    kernel: {b['kernel']}\n    stride: {b['stride']}\n    padding: {b['padding']}\n"
                   f"    groups: {b['groups']}\n    weights: {_weights(b['weights'])}".rstrip("\n"))
        line = f"  - {{name: act{i}, type: threshold, threshold: {_ints(b['threshold'])}"
        if any(int(s) != 1 for s in b["sign"]):
            line += f", sign: {_ints(b['sign'])}"
        out.append(line + "}")
        if b["pool"] is not None:
            _, k, st = b["pool"]
            out.append(f"  - {{name: pool{i}, type: max_pool, kernel: {k}, stride: {st}}}")
    out.append(f"  - {{name: output, type: output, classes: {net.readout.classes}}}")
    text = "\n".join(out) + "\n"
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".export-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a model file is meant to be shared
    os.replace(tmp, path)
