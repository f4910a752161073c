"""Generators Gs and Gt: (style code, content map) -> image in the style's domain (METHOD.md §3)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .backbone import ResidualBlock


class Generator(nn.Module):
    """G(style [B,S], content [B,C,h,w]) -> image [B,3,h*stride,w*stride] in [0, 1].

    DISE's decoder: an MLP lifts the style code (S->S->S->S->style_channels), it is broadcast over
    h x w and concatenated with the content map; a 3x3 conv, three residual blocks and log2(stride)
    transposed-conv upsamplings return to the input size; Tanh, mapped to [0, 1].
    """

    def __init__(self, content_channels: int, style_dim: int = 8, style_channels: int = 256,
                 width: int = 256, stride: int = 8):
        super().__init__()
        self.style_mlp = nn.Sequential(
            nn.Linear(style_dim, style_dim), nn.ReLU(inplace=True),
            nn.Linear(style_dim, style_dim), nn.ReLU(inplace=True),
            nn.Linear(style_dim, style_dim), nn.ReLU(inplace=True),
            nn.Linear(style_dim, style_channels),
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(content_channels + style_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(3)))
        ups, channels = [], width
        for _ in range(int(math.log2(stride))):
            ups += [nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True)]
            channels //= 2
        self.upsample = nn.Sequential(*ups)
        self.to_image = nn.Conv2d(channels, 3, 7, padding=3)

    def forward(self, style, content):
        b, _, h, w = content.shape
        style_map = self.style_mlp(style).view(b, -1, 1, 1).expand(-1, -1, h, w)
        x = self.blocks(self.fuse(torch.cat([content, style_map], dim=1)))
        return (torch.tanh(self.to_image(self.upsample(x))) + 1) / 2
