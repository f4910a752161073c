"""Output-space discriminator (on softmax maps) and image discriminators (METHOD.md §3)."""
from __future__ import annotations

import torch.nn as nn


class OutputDiscriminator(nn.Module):
    """D_out: softmax map [B,K,H,W] -> patch logits [B,1,H/32,W/32]; trained with BCE, source = 1.

    AdaptSegNet's fully convolutional discriminator: five 4x4 stride-2 convs K->64->128->256->512->1
    (each halves the size: H/32 for H a multiple of 32).
    """

    def __init__(self, num_classes: int, widths=(64, 128, 256, 512)):
        super().__init__()
        layers, channels = [], num_classes
        for width in widths:
            layers += [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            channels = width
        layers.append(nn.Conv2d(channels, 1, 4, stride=2, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, probabilities):
        return self.net(probabilities)


class ImageDiscriminator(nn.Module):
    """D_img: image [B,3,H,W] in [0,1] -> patch scores [B,1,h,w]; LSGAN (real = 1, fake = 0).

    PatchGAN: 4x4 stride-2 convs 3->64->128->256->512 with instance norm, then a 1-channel conv.
    """

    def __init__(self, widths=(64, 128, 256, 512)):
        super().__init__()
        layers, channels = [], 3
        for i, width in enumerate(widths):
            layers.append(nn.Conv2d(channels, width, 4, stride=2, padding=1))
            if i > 0:
                layers.append(nn.InstanceNorm2d(width, affine=True))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels = width
        layers.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image):
        return self.net(image * 2 - 1)
