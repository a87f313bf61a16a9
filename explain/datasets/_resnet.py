"""A ResNet-18-sized network in plain torch, for real-size images (3 x 224 x 224) without torchvision.

The layout is ResNet-18's (He et al. 2016): a 7x7/2 stem, four stages of two
basic blocks (64, 128, 256, 512 channels, stride 2 from the second stage on,
1x1 projections on the shortcut), global average pooling and one linear layer:
11.2 million weights for 10 classes. Two choices keep every attribution
method exact in its own terms: the stem pools by average (captum's DeepLift
breaks summation-to-delta on max pooling, see ``_cnn``), and every ReLU is its
own module, used once. Weights are randomly initialised (seeded): nothing is
downloaded, which is what benchmarks and memory tests need. This module
imports torch; ``explain.datasets`` imports it only when asked.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["BasicBlock", "make_resnet18"]


class BasicBlock(nn.Module):
    """conv3x3 - BN - ReLU - conv3x3 - BN, plus the (projected) input, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


def make_resnet18(n_classes: int = 10, channels: int = 3, *, random_state: int = 0) -> nn.Sequential:
    """A ResNet-18-sized classifier in eval mode, seeded without touching torch's global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        layers = [nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.AvgPool2d(3, stride=2, padding=1)]
        c = 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(c, width, stride), BasicBlock(width, width, 1)]
            c = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, n_classes)]
        model = nn.Sequential(*layers)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
