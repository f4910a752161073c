"""Generators Gs and Gt: (style code, content map) -> image in the style's domain (METHOD.md §3).

Two ways for the style code to enter (`model.generator`):
- "dise": DISE's decoder, the code lifted by an MLP and concatenated with the content map;
- "adain": adaptive instance normalisation (MUNIT): every residual block normalises the content
  features per image and channel, then scales and shifts them by amounts the code sets. Instance
  normalisation strips the per-image colour statistics the content map still carries, so the
  generator can only get them from the code.
Two ways to upsample back to the image (`model.generator_upsample`): DISE's transposed convolutions
("transposed"), or nearest-neighbour resizing followed by a 3x3 convolution ("resize"), which has no
checkerboard pattern (Odena et al. 2016).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .backbone import ResidualBlock


def upsampling(channels: int, stride: int, mode: str, norm: bool) -> tuple[nn.Sequential, int]:
    """log2(stride) x2 upsamplings, each halving the channels: (layers, output channels)."""
    if mode not in ("transposed", "resize"):
        raise ValueError(f"model.generator_upsample {mode!r}: expected 'transposed' or 'resize'")
    layers = []
    for _ in range(int(math.log2(stride))):
        if mode == "transposed":
            layers.append(nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=not norm))
        else:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(channels, channels // 2, 3, padding=1, bias=not norm)]
        if norm:
            layers.append(nn.BatchNorm2d(channels // 2))
        layers.append(nn.ReLU(inplace=True))
        channels //= 2
    return nn.Sequential(*layers), channels


def trim_border(image: torch.Tensor, trim: int) -> torch.Tensor:
    """Cut `trim` pixels from each side. The DeepLab-v2 content map of an H x W image (H, W multiples of
    8) has H/8 + 1 rows, its first cell centred on pixel 0 (the max-pool rounds up): drawn back up x8 it
    is 8 pixels too large and 4 pixels off, and cutting 4 from each side returns the image's own grid
    (DISE's decoder cuts the same border with padding 2 in its first transposed conv)."""
    return image[..., trim:-trim, trim:-trim] if trim else image


class Generator(nn.Module):
    """DISE's G(style [B,S], content [B,C,h,w]) -> image [B,3,h*stride,w*stride] in [0, 1].

    An MLP lifts the style code (S->S->S->S->style_channels), it is broadcast over h x w and
    concatenated with the content map; a 3x3 conv, three residual blocks and log2(stride)
    upsamplings return to the input size; Tanh, mapped to [0, 1]. `trim` pixels are cut from each side
    of the output (see `trim_border`).
    """

    def __init__(self, content_channels: int, style_dim: int = 8, style_channels: int = 256,
                 width: int = 256, stride: int = 8, upsample: str = "transposed", trim: int = 0):
        super().__init__()
        self.trim = trim
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
        self.upsample, channels = upsampling(width, stride, upsample, norm=True)
        self.to_image = nn.Conv2d(channels, 3, 7, padding=3)

    def forward(self, style, content):
        b, _, h, w = content.shape
        style_map = self.style_mlp(style).view(b, -1, 1, 1).expand(-1, -1, h, w)
        x = self.blocks(self.fuse(torch.cat([content, style_map], dim=1)))
        return trim_border((torch.tanh(self.to_image(self.upsample(x))) + 1) / 2, self.trim)


def adaptive_instance_norm(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN: (x - mean_hw(x)) / std_hw(x) * (1 + scale) + shift, per image and channel.

    x [B,C,H,W]; scale, shift [B,C] from the style code (zero code: the learned default style).
    """
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return (x - mean) / std * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class AdaINResidualBlock(nn.Module):
    """Two 3x3 convs, each followed by AdaIN with its own (scale, shift), and an identity shortcut."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)    # AdaIN's shift is the bias
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.num_style_params = 4 * channels

    def forward(self, x, params):
        scale1, shift1, scale2, shift2 = params.chunk(4, dim=1)
        y = torch.relu(adaptive_instance_norm(self.conv1(x), scale1, shift1))
        return x + adaptive_instance_norm(self.conv2(y), scale2, shift2)


class AdaINGenerator(nn.Module):
    """G(style [B,S], content [B,C,h,w]) -> image [B,3,h*stride,w*stride] in [0, 1], MUNIT's decoder.

    A 3x3 conv to `width` channels followed by instance normalisation (so a per-channel gain or
    offset of the content map, the colour statistics it still carries, cannot reach the image),
    `blocks` AdaIN residual blocks whose scales and shifts an MLP computes from the code
    (S -> mlp_width -> mlp_width -> 4*width*blocks), log2(stride) upsamplings without
    normalisation, a 7x7 conv, Tanh mapped to [0, 1].
    """

    def __init__(self, content_channels: int, style_dim: int = 8, width: int = 256, stride: int = 8,
                 upsample: str = "resize", blocks: int = 3, mlp_width: int = 128, trim: int = 0):
        super().__init__()
        self.trim = trim
        self.fuse = nn.Sequential(nn.Conv2d(content_channels, width, 3, padding=1, bias=False),
                                  nn.InstanceNorm2d(width, affine=False))
        self.blocks = nn.ModuleList(AdaINResidualBlock(width) for _ in range(blocks))
        self.style_mlp = nn.Sequential(
            nn.Linear(style_dim, mlp_width), nn.ReLU(inplace=True),
            nn.Linear(mlp_width, mlp_width), nn.ReLU(inplace=True),
            nn.Linear(mlp_width, sum(b.num_style_params for b in self.blocks)),
        )
        self.upsample, channels = upsampling(width, stride, upsample, norm=False)
        self.to_image = nn.Conv2d(channels, 3, 7, padding=3)

    def forward(self, style, content):
        params = self.style_mlp(style).split([b.num_style_params for b in self.blocks], dim=1)
        x = self.fuse(content)
        for block, block_params in zip(self.blocks, params):
            x = block(x, block_params)
        return trim_border((torch.tanh(self.to_image(self.upsample(x))) + 1) / 2, self.trim)


def build_generator(kind: str, content_channels: int, style_dim: int, style_channels: int, width: int, stride: int,
                    upsample: str, trim: int = 0) -> nn.Module:
    """The generator of `model.generator` ("dise" or "adain")."""
    if kind == "dise":
        return Generator(content_channels, style_dim, style_channels, width, stride, upsample, trim)
    if kind == "adain":
        return AdaINGenerator(content_channels, style_dim, width, stride, upsample, trim=trim)
    raise ValueError(f"model.generator {kind!r}: expected 'dise' or 'adain'")
