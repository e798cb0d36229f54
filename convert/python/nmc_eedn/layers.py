"""Eedn building blocks (Esser et al., PNAS 2016) as PyTorch modules.

- Thermometer: pixel intensities -> T binary channels (pixel >= threshold_k).
- BinaryStep: spike = (y >= 0); backward uses the triangle surrogate max(0, 1 - |y|).
- TrinaryConv2d: shadow weights clipped to [-1, 1], forward uses trinary weights
  from a rounding with hysteresis (a weight changes state only once its shadow
  moves past the threshold by a margin), gradients pass straight through.
- EednBlock: trinary conv -> batch norm -> step. Its integer form is
  sign * sum >= threshold per channel (batch norm folded, see export).
- ClassPopulations: the last block's neurons vote for classes; class score is
  the spike count. Training uses the mean count per class times a scale as logits.

Every conv respects the TrueNorth core limit: kh * kw * in_channels / groups <= 128.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_FAN_IN = 128


class _StepFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        ctx.save_for_backward(y)
        return (y >= 0).to(y.dtype)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * torch.clamp(1.0 - y.abs(), min=0.0)


class BinaryStep(nn.Module):
    def forward(self, y):
        return _StepFn.apply(y)


class Thermometer(nn.Module):
    """uint8 / float pixels [N, C, H, W] -> binary [N, C*T, H, W] (channel c*T + k)."""

    def __init__(self, levels):
        super().__init__()
        self.levels = list(levels)
        self.register_buffer("thresholds", torch.tensor(self.levels, dtype=torch.float32))

    def forward(self, x):
        x = x.float()
        n, c, h, w = x.shape
        out = (x.unsqueeze(2) >= self.thresholds.view(1, 1, -1, 1, 1)).float()
        return out.reshape(n, c * len(self.levels), h, w)


class _TrinaryFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, shadow, state):
        return state

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class TrinaryConv2d(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, hysteresis=0.1):
        super().__init__()
        fan_in = kernel * kernel * cin // groups
        if fan_in > MAX_FAN_IN:
            raise ValueError(f"conv {cin}->{cout} k{kernel} g{groups}: fan-in {fan_in} > {MAX_FAN_IN} "
                             "(TrueNorth core limit); use more groups or a smaller kernel")
        self.cin, self.cout, self.kernel = cin, cout, kernel
        self.stride, self.padding, self.groups = stride, padding, groups
        self.hysteresis = hysteresis
        bound = 1.0
        self.shadow = nn.Parameter(torch.empty(cout, cin // groups, kernel, kernel).uniform_(-bound, bound))
        self.register_buffer("state", torch.round(self.shadow.detach()).clamp(-1, 1))

    @property
    def fan_in(self):
        return self.kernel * self.kernel * self.cin // self.groups

    @torch.no_grad()
    def update_state(self):
        """Hysteresis rounding: 0 -> +-1 past 0.5 + h, +-1 -> 0 inside 0.5 - h."""
        self.shadow.clamp_(-1.0, 1.0)
        w, s, h = self.shadow, self.state, self.hysteresis
        up = (s == 0) & (w.abs() > 0.5 + h)
        down = (s != 0) & ((w.abs() < 0.5 - h) | (torch.sign(w) != s))
        s[up] = torch.sign(w[up])
        s[down] = torch.round(w[down]).clamp(-1, 1)

    def weight(self):
        return _TrinaryFn.apply(self.shadow, self.state)

    def forward(self, x):
        return F.conv2d(x, self.weight(), None, self.stride, self.padding, 1, self.groups)


class EednBlock(nn.Module):
    """Trinary conv -> batch norm -> binary step (optionally followed by pooling)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, pool=None):
        super().__init__()
        self.conv = TrinaryConv2d(cin, cout, kernel, stride, padding, groups)
        self.bn = nn.BatchNorm2d(cout)
        self.step = BinaryStep()
        self.pool = pool  # None or ("max", k, stride)

    def forward(self, x):
        s = self.step(self.bn(self.conv(x)))
        if self.pool is not None:
            kind, k, st = self.pool
            if kind != "max":
                raise ValueError("only max pooling is used in training")
            s = F.max_pool2d(s, k, st)
        return s


class ClassPopulations(nn.Module):
    """Contiguous populations of `per_class` neurons per class (flattened c, y, x order)."""

    def __init__(self, classes, per_class, scale=1.0):
        super().__init__()
        self.classes, self.per_class = classes, per_class
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, s):
        n = s.shape[0]
        counts = s.reshape(n, self.classes, -1).sum(dim=2)
        return counts, counts * self.scale / math.sqrt(self.per_class)


class EednNet(nn.Module):
    """thermometer -> Eedn blocks -> class populations."""

    def __init__(self, levels, blocks, classes, per_class, image=(1, 28, 28)):
        super().__init__()
        self.image = image
        self.encode = Thermometer(levels)
        self.blocks = nn.ModuleList(blocks)
        self.readout = ClassPopulations(classes, per_class)

    def forward(self, x):
        s = self.encode(x)
        for b in self.blocks:
            s = b(s)
        return self.readout(s)

    def trinary_layers(self):
        return [b.conv for b in self.blocks]
