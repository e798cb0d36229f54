#!/usr/bin/env python3
"""PyTorch peer: CPU inference of the shipped models' exported ANN.

The ANN is the model's ONNX graph (binary activations, trinary weights,
integer thresholds) run with PyTorch ops by convert/python/oracle.py's
onnx_counts, the same forward pass that the golden tests check nmc against.
Fashion-MNIST test frames, batch 256, torch.set_num_threads(THREADS); one
warm-up batch is not timed. Prints one JSON line per model:
frames/s, accuracy, and the number of frames.

    /usr/bin/python3 bench/torch_bench.py [--frames N] [--threads T] [--batch B] MODEL.onnx...
"""
import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "convert", "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--frames", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    if args.frames < 1 or args.threads < 1 or args.batch < 1:
        sys.exit("torch_bench.py: --frames, --threads and --batch must be at least 1")

    import onnx
    import torch
    from nmc_eedn.data import load_fashion_mnist
    from nmc_eedn.integer import predict
    from oracle import onnx_counts

    torch.set_num_threads(args.threads)
    x, y = load_fashion_mnist("test")
    x, y = torch.from_numpy(x[:args.frames].copy()), np.asarray(y[:args.frames])
    for path in args.models:
        if not os.path.exists(path):
            sys.exit(f"torch_bench.py: no such model file: {path}")
        model = onnx.load(path)
        onnx_counts(model, x[:args.batch])  # warm-up: allocator, thread pool
        t0 = time.perf_counter()
        counts = torch.cat([onnx_counts(model, x[i:i + args.batch]) for i in range(0, len(x), args.batch)])
        wall = time.perf_counter() - t0
        acc = float((np.asarray(predict(counts)) == y).mean())
        print(json.dumps({"bench": "pytorch", "model": os.path.relpath(path, ROOT), "torch": torch.__version__,
                          "threads": args.threads, "batch": args.batch, "frames": len(x), "wall_s": round(wall, 4),
                          "frames_per_s": round(len(x) / wall, 1), "accuracy": round(acc, 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
