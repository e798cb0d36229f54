#!/usr/bin/env python3
"""Trains an Eedn network on Fashion-MNIST and exports it for nmc.

Run with Debian's PyTorch:  /usr/bin/python3 convert/python/train.py --arch tiny --out m.yaml
The exported model is integer (trinary weights, folded thresholds); its test
accuracy is measured with the exact integer forward pass and written, with
every training setting, to a sidecar JSON next to the model.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nmc_eedn import EednBlock, EednNet, export_yaml, load_fashion_mnist  # noqa: E402
from nmc_eedn.integer import integer_blocks, integer_forward, predict  # noqa: E402
from export_onnx import export as export_onnx  # noqa: E402
from oracle import write_counts  # noqa: E402

# Architectures: (levels, [block args], classes, neurons per class). Every conv
# has at most 128 inputs per neuron (TrueNorth core limit).
ARCHS = {
    # ~1.5 M synaptic ops per frame; a minute or two per epoch on 2 CPU cores.
    "tiny": ([64, 128, 192], [
        dict(cin=3, cout=16, kernel=5, stride=1, padding=2, groups=1, pool=("max", 2, 2)),
        dict(cin=16, cout=32, kernel=3, stride=1, padding=1, groups=2, pool=("max", 2, 2)),
        dict(cin=32, cout=64, kernel=3, stride=2, padding=1, groups=4),
        dict(cin=64, cout=200, kernel=4, stride=1, padding=0, groups=8),
    ], 10, 20),
    # About one 4096-core chip: grouped 3x3 convolutions (72 inputs per filter)
    # and a full-map final layer with 64 neurons per class.
    "chip1": ([32, 96, 160, 224], [
        dict(cin=4, cout=64, kernel=3, stride=1, padding=1, groups=1),
        dict(cin=64, cout=128, kernel=3, stride=2, padding=1, groups=8),
        dict(cin=128, cout=128, kernel=3, stride=1, padding=1, groups=16),
        dict(cin=128, cout=256, kernel=3, stride=2, padding=1, groups=16),
        dict(cin=256, cout=256, kernel=3, stride=1, padding=1, groups=32),
        dict(cin=256, cout=640, kernel=7, stride=1, padding=0, groups=128),
    ], 10, 64),
    # A candidate for the DANNA-style grid target: every layer local (4x4
    # patches, then a 3x3 layer whose class populations are channel blocks
    # over all positions), ~80 k synapses; 81.6 % after 30 epochs, no augment.
    "grid": ([64, 160], [
        dict(cin=2, cout=32, kernel=4, stride=4, padding=0, groups=1),
        dict(cin=32, cout=80, kernel=3, stride=2, padding=1, groups=4),
    ], 10, 128),
    # A few blocks of 3 channels: seconds per epoch, for smoke tests.
    "micro": ([128], [
        dict(cin=1, cout=8, kernel=4, stride=4, padding=0, groups=1),
        dict(cin=8, cout=20, kernel=7, stride=1, padding=0, groups=4),
    ], 10, 2),
}


def build(arch):
    levels, blocks, classes, per_class = ARCHS[arch]
    return EednNet(levels, [EednBlock(**b) for b in blocks], classes, per_class)


def augment(x, rng):
    """Random horizontal flips and shifts of up to 2 pixels (uint8 batch)."""
    n = x.shape[0]
    flip = torch.from_numpy(rng.random(n) < 0.5)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (2, 2, 2, 2))
    dx, dy = rng.integers(0, 5, size=2)
    return padded[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]


def evaluate(net, x, y, batch=1000):
    net.eval()
    blocks = integer_blocks(net)
    counts = torch.cat([integer_forward(net, blocks, x[i:i + batch]) for i in range(0, len(x), batch)])
    pred = predict(counts)
    return (pred == y).float().mean().item(), counts, pred


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=sorted(ARCHS), default="tiny")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-subset", type=int, default=0, help="use only the first N training images")
    p.add_argument("--max-steps", type=int, default=0, help="stop after N optimiser steps (smoke tests)")
    p.add_argument("--augment", action="store_true", help="random flips and shifts")
    p.add_argument("--out", required=True, help="model file to write (.yaml)")
    p.add_argument("--onnx", help="also write the model in the Eedn ONNX profile to this file")
    p.add_argument("--oracle", help="also write PyTorch's per-frame class counts (CSV.gz) for the golden tests")
    p.add_argument("--name", default=None)
    p.add_argument("--eval-every", type=int, default=1, help="test-set evaluation every N epochs")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    if args.train_subset:
        xtr, ytr = xtr[:args.train_subset], ytr[:args.train_subset]
    xtr, ytr = torch.from_numpy(xtr.copy()), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(xte.copy()), torch.from_numpy(yte)

    net = build(args.arch)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    total = steps_per_epoch * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=max(total, 1))
    step, start = 0, time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        seen = correct = 0
        loss_sum = 0.0
        for i in range(steps_per_epoch):
            if step >= total:
                break
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb, yb = xtr[idx], ytr[idx]
            if args.augment:
                xb = augment(xb, rng)
            counts, logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            for layer in net.trinary_layers():
                layer.update_state()
            step += 1
            seen += len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            loss_sum += loss.item() * len(yb)
            if not args.quiet and (i % 50 == 0 or i == steps_per_epoch - 1):
                print(f"\repoch {epoch + 1}/{args.epochs} step {i + 1}/{steps_per_epoch} "
                      f"loss {loss_sum / seen:.4f} train acc {correct / seen:.4f} "
                      f"{time.time() - start:.0f}s", end="", file=sys.stderr, flush=True)
        if (epoch + 1) % args.eval_every and epoch + 1 < args.epochs and step < total:
            continue
        acc, _, _ = evaluate(net, xte, yte)
        if not args.quiet:
            print(f"\repoch {epoch + 1}/{args.epochs}: loss {loss_sum / max(seen, 1):.4f} "
                  f"train {correct / max(seen, 1):.4f} test (integer) {acc:.4f} "
                  f"{time.time() - start:.0f}s", file=sys.stderr, flush=True)
        if step >= total:
            break

    acc, counts, pred = evaluate(net, xte, yte)
    name = args.name or os.path.splitext(os.path.basename(args.out))[0]
    export_yaml(net, args.out, name)
    if args.onnx:
        import yaml
        with open(args.out) as f:
            export_onnx(yaml.safe_load(f), args.onnx, doc=f"trained by nmc convert/python/train.py ({args.arch})")
    if args.oracle:
        write_counts(args.oracle, counts, yte)
    sidecar = os.path.splitext(args.out)[0] + ".json"
    info = {
        "model": os.path.basename(args.out), "name": name, "arch": args.arch,
        "dataset": "fashion-mnist", "test_frames": len(yte), "test_accuracy": acc,
        "test_correct": int((pred == yte).sum()),
        "training": {"epochs": args.epochs, "steps": step, "batch": args.batch, "lr": args.lr,
                     "seed": args.seed, "augment": args.augment, "train_subset": args.train_subset,
                     "optimizer": "Adam + OneCycle", "torch": torch.__version__,
                     "threads": args.threads, "wall_s": round(time.time() - start, 1)},
        "architecture": ARCHS[args.arch][1], "levels": ARCHS[args.arch][0],
    }
    with open(sidecar + ".tmp", "w") as f:
        json.dump(info, f, indent=2, default=str)
        f.write("\n")
    os.replace(sidecar + ".tmp", sidecar)
    print(f"wrote {args.out} and {sidecar}: test accuracy {acc:.4f} (integer forward pass)")


if __name__ == "__main__":
    main()
