"""Hand-written models with ordinary forwards (no duat_graph) for the tracing tests: a torchvision-style basic
block, a resnet18-structured network built from it (so the structure is covered where torchvision is absent), and
a model of functional forms (F.conv2d, torch.relu, slicing, a class token, constants)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1 x)))) + identity)``; ``identity = downsample(x)`` when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    """The resnet18 layout (7x7/2 stem, 3x3/2 max-pool, [2, 2, 2, 2] basic blocks, global average, linear)."""

    def __init__(self, num_classes: int = 10, width: int = 64):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [w, w, 2 * w, 4 * w, 8 * w]
        self.layers = nn.Sequential(
            *[
                nn.Sequential(Block(chans[i], chans[i + 1], 1 if i == 0 else 2), Block(chans[i + 1], chans[i + 1]))
                for i in range(4)
            ]
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layers(x))
        return self.fc(torch.flatten(x, 1))


class Functional(nn.Module):
    """Functional forms and data movement: F.conv2d with a parameter, torch.relu, x.relu(), F.max_pool2d,
    F.batch_norm, scaling by a buffer and a python number, flatten to tokens, a class token by cat, a slice."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 2, 3, 3))
        self.bias = nn.Parameter(torch.randn(4))
        self.register_buffer("scale", torch.rand(4, 1, 1) + 0.5)
        self.register_buffer("mean", torch.randn(4))
        self.register_buffer("var", torch.rand(4) + 0.5)
        self.cls = nn.Parameter(torch.randn(1, 1, 4))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        y = torch.relu(F.conv2d(x, self.weight, self.bias, padding=1))
        y = F.batch_norm(y, self.mean, self.var, training=False, eps=1e-5) * self.scale
        y = F.max_pool2d(y, 2).relu() / 2.0 - 0.25
        tokens = y.flatten(2).transpose(1, 2)  # (B, HW, C)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        z = F.avg_pool2d(y, 2)
        return self.head(tokens[:, 0] + tokens[:, 1:].reshape(x.shape[0], -1)[:, :4]) + F.linear(
            torch.flatten(z, 1)[:, :4], self.head.weight
        )
