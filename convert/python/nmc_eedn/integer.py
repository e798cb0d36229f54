"""The integer (deployed) form of a trained EednNet and its exact forward pass.

Batch norm + step folds into `sign * sum >= threshold` per channel, with the
threshold found by evaluating the float neuron at integer sums around its
crossing, exactly as nmc's C++ fold_batch_norm does. The integer forward pass
here is the oracle that nmc's reference pass must match frame for frame.
"""
import math

import torch
import torch.nn.functional as F


def fold_batch_norm(gamma, beta, mean, var, eps, fan_in, bias=0.0):
    """Returns (sign, threshold) with: fires(x) == (sign * x >= threshold) for integer x."""
    scale = gamma / math.sqrt(var + eps)

    def fires(x):
        return scale * (x + bias - mean) + beta >= 0.0

    never, always = fan_in + 1, -fan_in
    if scale == 0.0:
        return 1, always if fires(0.0) else never
    t = mean - bias - beta / scale
    sign = 1 if scale > 0 else -1
    if not math.isfinite(t) or t > fan_in + 2.0 or t < -fan_in - 2.0:
        return sign, always if fires(fan_in if sign > 0 else -fan_in) else never
    lo, hi = math.floor(t) - 2, math.ceil(t) + 2
    if sign > 0:
        thr = next((x for x in range(lo, hi + 2) if fires(float(x))), hi + 1)
    else:
        u = next((x for x in range(hi, lo - 2, -1) if fires(float(x))), lo - 1)
        thr = -u
    return sign, max(always, min(never, thr))


def integer_blocks(net):
    """[(weights int8 tensor, sign int tensor, threshold int tensor, conv geometry, pool)]."""
    out = []
    for b in net.blocks:
        c, bn = b.conv, b.bn
        signs, thrs = [], []
        for k in range(c.cout):
            s, t = fold_batch_norm(float(bn.weight[k]), float(bn.bias[k]), float(bn.running_mean[k]),
                                   float(bn.running_var[k]), float(bn.eps), c.fan_in)
            signs.append(s)
            thrs.append(t)
        out.append({
            "weights": c.state.detach().to(torch.int8).clone(),
            "sign": torch.tensor(signs, dtype=torch.int32),
            "threshold": torch.tensor(thrs, dtype=torch.int32),
            "kernel": c.kernel, "stride": c.stride, "padding": c.padding, "groups": c.groups,
            "cin": c.cin, "cout": c.cout, "pool": b.pool,
        })
    return out


@torch.no_grad()
def integer_forward(net, blocks, x):
    """Exact integer forward: returns class spike counts [N, classes] (int64)."""
    s = net.encode(x)
    for b in blocks:
        # Sums of trinary weights over binary inputs are small integers, exact in float32.
        y = F.conv2d(s, b["weights"].float(), None, b["stride"], b["padding"], 1, b["groups"])
        y = torch.round(y).to(torch.int64)
        s = ((b["sign"].view(1, -1, 1, 1) * y) >= b["threshold"].view(1, -1, 1, 1)).float()
        if b["pool"] is not None:
            _, k, st = b["pool"]
            s = F.max_pool2d(s, k, st)
    n = s.shape[0]
    return s.reshape(n, net.readout.classes, -1).sum(dim=2).to(torch.int64)


def predict(counts):
    """argmax with ties to the lowest class (torch.argmax's tie rule is not documented)."""
    best = counts.max(dim=1, keepdim=True).values
    idx = torch.arange(counts.shape[1]).view(1, -1).expand_as(counts)
    return torch.where(counts == best, idx, counts.shape[1]).min(dim=1).values
