"""Shared stem, content encoder Ec and segmenter Gc (METHOD.md §3).

Two presets:
- tiny: a small residual CNN at output stride 4, trainable from scratch on 2 CPU cores.
- deeplabv2_r101: the DeepLab-v2 ResNet-101 of AdaptSegNet, BDL and DISE (layer3 dilation 2, layer4
  dilation 4, output stride 8) with the ASPP-v2 classifier (3x3 convs, dilations 6/12/18/24) on layer4
  and an auxiliary one on layer3.

Every module takes images in [0, 1], RGB; the stem converts them to the input its weights were trained
on (`INPUT_CONVENTIONS`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEEPLAB_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)   # the Caffe ResNet's mean, in BGR order, 0-255


@dataclass(frozen=True)
class InputConvention:
    """What a backbone's first conv was trained to see: channel order, value range, mean and std.

    An image x in [0, 1], RGB, becomes (x[order] * scale - mean) / std, per channel (mean, std in the
    convention's own channel order)."""

    name: str
    bgr: bool
    scale: float
    mean: tuple
    std: tuple
    description: str


INPUT_CONVENTIONS = {
    "torchvision": InputConvention("torchvision", False, 1.0, IMAGENET_MEAN, IMAGENET_STD,
                                   "RGB in [0, 1] minus the ImageNet mean, over its std (torchvision's ResNet-101)"),
    # The DeepLab-v2 init is converted from Caffe: BGR pixels in 0-255 minus the mean, no scaling
    # (AdaptSegNet's and BDL's loaders).
    "deeplab": InputConvention("deeplab", True, 255.0, DEEPLAB_MEAN_BGR, (1.0, 1.0, 1.0),
                               "BGR in 0-255 minus (104.008, 116.669, 122.679) (the DeepLab-v2 init, AdaptSegNet, BDL)"),
    # DISE's loaders subtract the same mean and then divide by 128.
    "dise": InputConvention("dise", True, 255.0, DEEPLAB_MEAN_BGR, (128.0, 128.0, 128.0),
                            "BGR in 0-255 minus (104.008, 116.669, 122.679), over 128 (DISE)"),
}


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
    """[0, 1] RGB images -> the input statistics a backbone expects: (x[order] * scale - mean) / std."""

    def __init__(self, mean, std, scale: float = 1.0, bgr: bool = False):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.scale, self.bgr = scale, bgr

    def forward(self, x):
        if self.bgr:
            x = x.flip(1)
        if self.scale != 1.0:
            x = x * self.scale
        return (x - self.mean) / self.std


def input_normalization(convention: str) -> Normalize:
    """The stem's first step for one of `INPUT_CONVENTIONS`."""
    if convention not in INPUT_CONVENTIONS:
        raise ValueError(f"model.input_convention {convention!r}: expected one of {', '.join(INPUT_CONVENTIONS)}")
    c = INPUT_CONVENTIONS[convention]
    return Normalize(c.mean, c.std, c.scale, c.bgr)


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


class Bottleneck(nn.Module):
    """ResNet bottleneck as DeepLab-v2 has it (Caffe's ResNet): 1x1 conv (carries the stride), 3x3 conv
    (carries the dilation), 1x1 conv to 4x the width, batch norm after each, and a shortcut that is the
    identity or, where the shape changes, a 1x1 conv + batch norm (`downsample`).

    torchvision's ResNet (v1.5) puts the stride on the 3x3 conv instead; the parameter names are the same.
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + shortcut)


def resnet_layer(in_channels: int, width: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """`blocks` bottlenecks; the first changes the channels (and the stride) and has a projection
    shortcut. Every block of the layer, the first included, has the layer's dilation (DeepLab-v2;
    torchvision's `replace_stride_with_dilation` gives the first block the previous layer's)."""
    out_channels = width * Bottleneck.expansion
    downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                               nn.BatchNorm2d(out_channels))
    layers = [Bottleneck(in_channels, width, stride, dilation, downsample)]
    layers += [Bottleneck(out_channels, width, 1, dilation) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNetStem(nn.Module):
    """DeepLab-v2's shared stem: input convention, conv1 7x7/2 + BN + ReLU + max-pool 3x3/2 -> [B,64,h,w].

    The max-pool rounds up (`ceil_mode=True`), as in the reference: a 512x1024 image gives 129x257
    stem features and 65x129 logits (not 64x128).
    """

    def __init__(self, input_convention: str = "torchvision"):
        super().__init__()
        self.input_convention = input_convention
        self.normalize = input_normalization(input_convention)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.out_channels = 64
        self.stride = 4

    def forward(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(self.normalize(x)))))


class ResNetContentEncoder(nn.Module):
    """Ec: ResNet-101 layer1..layer4, layer2 strided, layer3/layer4 dilated 2/4 (output stride 8)
    -> (layer4 [B,2048,h,w], layer3 [B,1024,h,w]) with h = H/8 + 1 for H a multiple of 8."""

    def __init__(self, blocks=(3, 4, 23, 3)):
        super().__init__()
        self.layer1 = resnet_layer(64, 64, blocks[0])
        self.layer2 = resnet_layer(256, 128, blocks[1], stride=2)
        self.layer3 = resnet_layer(512, 256, blocks[2], dilation=2)
        self.layer4 = resnet_layer(1024, 512, blocks[3], dilation=4)
        self.out_channels = 2048
        self.aux_channels = 1024
        self.stride = 8

    def forward(self, stem_features):
        x = self.layer2(self.layer1(stem_features))
        aux = self.layer3(x)
        return self.layer4(aux), aux


def init_resnet(*modules: nn.Module) -> None:
    """Untrained weights as torchvision draws them (He init for convs, BN at identity); init files
    replace them."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def deeplabv2_resnet101_parts(input_convention: str = "torchvision", blocks=(3, 4, 23, 3)
                              ) -> tuple[ResNetStem, ResNetContentEncoder]:
    """Untrained DeepLab-v2 ResNet-101 (stem, Ec); weights come from `init_weights`. `blocks` other
    than ResNet-101's (3, 4, 23, 3) only for small tests of the same layout."""
    stem, encoder = ResNetStem(input_convention), ResNetContentEncoder(blocks)
    init_resnet(stem, encoder)
    return stem, encoder


ASPP_SUMS = {"four": 4, "two": 2}


class ASPPClassifier(nn.Module):
    """ASPP-v2: parallel 3x3 convs with different dilations, each straight to K classes, summed.

    `summed` branches enter the sum: all four (BDL's classifier) or the first two (AdaptSegNet's and
    DISE's `Classifier_Module` returns inside its loop, after adding the second branch; their
    snapshots were trained that way and branches 3 and 4 never ran).
    """

    def __init__(self, in_channels: int, num_classes: int, dilations=(6, 12, 18, 24), summed: int | None = None):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, num_classes, 3, padding=d, dilation=d, bias=True) for d in dilations
        )
        self.summed = len(dilations) if summed is None else summed
        for branch in self.branches:
            nn.init.normal_(branch.weight, std=0.01)
            nn.init.zeros_(branch.bias)

    def forward(self, x):
        return sum(branch(x) for branch in self.branches[:self.summed])


class Segmenter(nn.Module):
    """Gc: content features -> class logits at feature resolution (and auxiliary logits for DeepLab).

    The tiny preset adds one 3x3 conv before its ASPP so that a from-scratch model has a hidden layer.
    With `skip_channels` (tiny preset, `model.decoder=skip`) the second input is a feature map at twice
    the resolution (the stem's): the hidden features are upsampled x2, concatenated with it and fused
    by a 3x3 conv before the classifier, which then predicts at that resolution (a U-Net-style skip).
    """

    def __init__(self, in_channels: int, num_classes: int, aux_channels: int = 0, dilations=(6, 12, 18, 24),
                 hidden: int = 0, skip_channels: int = 0, summed: int | None = None):
        super().__init__()
        self.hidden = conv_bn_relu(in_channels, hidden) if hidden else nn.Identity()
        features = hidden or in_channels
        self.skip_fuse = conv_bn_relu(features + skip_channels, features) if skip_channels else None
        self.classifier = ASPPClassifier(features, num_classes, dilations, summed)
        self.aux_classifier = ASPPClassifier(aux_channels, num_classes, dilations, summed) if aux_channels else None

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
