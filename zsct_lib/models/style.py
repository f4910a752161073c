"""Style encoders Es and Et (DISE's private encoder, METHOD.md §3)."""
from __future__ import annotations

import torch.nn as nn


class StyleEncoder(nn.Module):
    """Stem features [B,C,h,w] -> style code [B,style_dim].

    Stride-2 convs with BN+ReLU (DISE: 7x7 64->64, then 3x3 64->128->256->256->256), global average
    pooling and a 1x1 conv to the code. No activation on the code: the zero loss (eq 5) pulls it to 0.

    norm="none" drops the batch norm (MUNIT's style encoder). Why it matters: the trainer encodes a
    source batch and a target batch in separate calls, so a batch norm in training mode standardises
    each domain's features by that domain's own mean and variance, and the colour statistics that tell
    the domains apart never reach the code. The zero loss (eq 5) then cannot tell Es(It) from Es(Is) and
    shrinks both (measured in `results/archive/style_bn/`).
    """

    def __init__(self, in_channels: int, style_dim: int = 8, widths=(64, 128, 256, 256, 256), norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"model.style_norm {norm!r}: expected 'batch' or 'none'")
        layers, channels = [], in_channels
        for i, width in enumerate(widths):
            kernel = 7 if i == 0 else 3
            layers.append(nn.Conv2d(channels, width, kernel, stride=2, padding=kernel // 2, bias=norm == "none"))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            channels = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.to_code = nn.Conv2d(channels, style_dim, 1)
        self.style_dim = style_dim

    def forward(self, stem_features):
        return self.to_code(self.pool(self.features(stem_features))).flatten(1)
