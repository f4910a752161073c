"""Shared stem, content encoder Ec and segmenter Gc (METHOD.md §3).

Two presets:
- tiny: a small residual CNN at output stride 4, trainable from scratch on 2 CPU cores.
- deeplabv2_r101: DeepLab-v2 on ResNet-101 (layer3 dilation 2, layer4 dilation 4, output
  stride 8) with the ASPP-v2 classifier (sum of four 3x3 convs, dilations 6/12/18/24) on layer4
  and an auxiliary one on layer3.

Every module takes images in [0, 1]; the stem normalises them for its own weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torchvision

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv_bn_relu(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 convs with BN and an identity shortcut; `dilation` widens the receptive field."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.conv1 = conv_bn_relu(channels, channels, dilation=dilation)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(self.conv1(x))))


class Normalize(nn.Module):
    """[0, 1] images -> the input statistics a backbone expects."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        return (x - self.mean) / self.std


class TinyStem(nn.Module):
    """Shared first conv block: [B,3,H,W] in [0,1] -> [B,C,H/2,W/2].

    norm="none": conv + bias + ReLU, no batch norm. The stem feeds the style encoders too, and a batch
    norm in training mode, called on one domain's batch at a time, removes each domain's mean colour
    and contrast from its features (the content encoder's own batch norms still normalise its path).
    """

    def __init__(self, channels: int = 32, norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"model.stem_norm {norm!r}: expected 'batch' or 'none'")
        self.normalize = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        if norm == "batch":
            self.conv1 = conv_bn_relu(3, channels, stride=2)
        else:
            self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 3, stride=2, padding=1), nn.ReLU(inplace=True))
        self.out_channels = channels
        self.stride = 2

    def forward(self, x):
        return self.conv1(self.normalize(x))


class TinyContentEncoder(nn.Module):
    """Ec for the tiny preset: stem features [B,C,H/2,W/2] -> content [B,2C,H/4,W/4] (output stride 4).

    With `skip`, its second output is the stem features themselves: the segmenter's decoder reads
    them to predict at output stride 2, where one- or two-pixel-wide poles and signs still exist.
    With `instance_norm`, the stem features are first normalised per image and channel, so a per-image
    gain or offset of a stem channel (an image's own exposure or white balance, roughly) cannot reach
    the content map; the skip output is then the normalised features too (all of Ec's outputs are).
    """

    def __init__(self, in_channels: int = 32, skip: bool = False, instance_norm: bool = False):
        super().__init__()
        self.instance_norm = instance_norm
        width = 2 * in_channels
        self.down = conv_bn_relu(in_channels, width, stride=2)
        self.blocks = nn.Sequential(ResidualBlock(width, 1), ResidualBlock(width, 2), ResidualBlock(width, 4))
        self.out_channels = width
        self.aux_channels = 0
        self.skip_channels = in_channels if skip else 0
        self.skip = skip
        self.stride = 4

    def forward(self, stem_features):
        if self.instance_norm:
            stem_features = nn.functional.instance_norm(stem_features)
        return self.blocks(self.down(stem_features)), (stem_features if self.skip else None)


class ResNetStem(nn.Module):
    """DeepLab-v2's shared stem: conv1 7x7/2 + BN + ReLU + maxpool/2 -> [B,64,H/4,W/4]."""

    def __init__(self, resnet: torchvision.models.ResNet):
        super().__init__()
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self.conv1, self.bn1, self.relu, self.maxpool = resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool
        self.out_channels = 64
        self.stride = 4

    def forward(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(self.normalize(x)))))


class ResNetContentEncoder(nn.Module):
    """Ec: ResNet-101 layer1..layer4 with dilation (output stride 8) -> ([B,2048,H/8,W/8], layer3 [B,1024,H/8,W/8])."""

    def __init__(self, resnet: torchvision.models.ResNet):
        super().__init__()
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        self.out_channels = 2048
        self.aux_channels = 1024
        self.stride = 8

    def forward(self, stem_features):
        x = self.layer2(self.layer1(stem_features))
        aux = self.layer3(x)
        return self.layer4(aux), aux


def deeplabv2_resnet101_parts() -> tuple[ResNetStem, ResNetContentEncoder]:
    """Untrained ResNet-101 with layer3/layer4 dilated (2, 4); weights come from `init_weights`."""
    resnet = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=[False, True, True])
    return ResNetStem(resnet), ResNetContentEncoder(resnet)


class ASPPClassifier(nn.Module):
    """ASPP-v2: the sum of parallel 3x3 convs with different dilations, each straight to K classes."""

    def __init__(self, in_channels: int, num_classes: int, dilations=(6, 12, 18, 24)):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, num_classes, 3, padding=d, dilation=d, bias=True) for d in dilations
        )
        for branch in self.branches:
            nn.init.normal_(branch.weight, std=0.01)
            nn.init.zeros_(branch.bias)

    def forward(self, x):
        return sum(branch(x) for branch in self.branches)


class Segmenter(nn.Module):
    """Gc: content features -> class logits at feature resolution (and auxiliary logits for DeepLab).

    The tiny preset adds one 3x3 conv before its ASPP so that a from-scratch model has a hidden layer.
    With `skip_channels` (tiny preset, `model.decoder=skip`) the second input is a feature map at twice
    the resolution (the stem's): the hidden features are upsampled x2, concatenated with it and fused
    by a 3x3 conv before the classifier, which then predicts at that resolution (a U-Net-style skip).
    """

    def __init__(self, in_channels: int, num_classes: int, aux_channels: int = 0, dilations=(6, 12, 18, 24),
                 hidden: int = 0, skip_channels: int = 0):
        super().__init__()
        self.hidden = conv_bn_relu(in_channels, hidden) if hidden else nn.Identity()
        features = hidden or in_channels
        self.skip_fuse = conv_bn_relu(features + skip_channels, features) if skip_channels else None
        self.classifier = ASPPClassifier(features, num_classes, dilations)
        self.aux_classifier = ASPPClassifier(aux_channels, num_classes, dilations) if aux_channels else None

    def forward(self, content, aux_content=None):
        features = self.hidden(content)
        if self.skip_fuse is not None:
            up = nn.functional.interpolate(features, size=aux_content.shape[-2:], mode="bilinear", align_corners=False)
            return self.classifier(self.skip_fuse(torch.cat([up, aux_content], dim=1))), None
        logits = self.classifier(features)
        aux_logits = None
        if self.aux_classifier is not None and aux_content is not None:
            aux_logits = self.aux_classifier(aux_content)
        return logits, aux_logits
