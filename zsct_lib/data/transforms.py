"""Joint image/label transforms for training and evaluation (torchvision.transforms.v2).

Both take and return ``(image float32 [3, H, W], label int64 [H, W] or None)`` as plain tensors.
Randomness comes from torch's global random generator only, so a trainer that seeds it per
sample resumes exactly.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ..labels import IGNORE_INDEX


class RandomRescale(v2.Transform):
    """Rescale by a factor drawn uniformly from [scale_min, scale_max]: bilinear (antialiased) for
    the image, nearest for the mask (v2 dispatches on the tv_tensor type)."""

    def __init__(self, scale_min: float, scale_max: float):
        super().__init__()
        if not 0 < scale_min <= scale_max:
            raise ValueError(f"need 0 < scale_min <= scale_max, got {scale_min}, {scale_max}")
        self.scale_min, self.scale_max = scale_min, scale_max

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        factor = self.scale_min + (self.scale_max - self.scale_min) * float(torch.rand(()))
        return dict(size=[max(1, round(height * factor)), max(1, round(width * factor))])

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if self.scale_min == self.scale_max == 1.0:
            return inpt
        return TF.resize(inpt, params["size"], interpolation=v2.InterpolationMode.BILINEAR, antialias=True)


class JointTransform:
    """Training transform: resize to (height, width), random rescale, pad-if-needed and random crop
    to (crop_height, crop_width) with the mask padded by 255, random horizontal flip.

    ``(image [3, H, W], label [H, W] or None) -> (image [3, crop_h, crop_w], label [crop_h, crop_w] or None)``
    """

    def __init__(self, data_cfg):
        self.size = (data_cfg.height, data_cfg.width)
        steps = [v2.Resize(self.size, interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
                 RandomRescale(data_cfg.scale_min, data_cfg.scale_max),
                 v2.RandomCrop((data_cfg.crop_height, data_cfg.crop_width), pad_if_needed=True,
                               fill={tv_tensors.Image: 0.0, tv_tensors.Mask: IGNORE_INDEX})]
        if data_cfg.flip:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        self.pipeline = v2.Compose(steps)

    def __call__(self, image: torch.Tensor, label: Optional[torch.Tensor] = None):
        if label is None:
            out = self.pipeline(tv_tensors.Image(image))
            return out.as_subclass(torch.Tensor), None
        out_image, out_label = self.pipeline(tv_tensors.Image(image), tv_tensors.Mask(label))
        return out_image.as_subclass(torch.Tensor), out_label.as_subclass(torch.Tensor)

    def __repr__(self) -> str:
        return f"JointTransform({self.pipeline})"


class EvalTransform:
    """Evaluation transform: the image is resized to (height, width); the label is left at its own
    size (predictions are upsampled to it, so the score is at the label's resolution)."""

    def __init__(self, data_cfg):
        self.size = (data_cfg.height, data_cfg.width)

    def __call__(self, image: torch.Tensor, label: Optional[torch.Tensor] = None):
        if tuple(image.shape[-2:]) != self.size:
            image = TF.resize(image, list(self.size), interpolation=v2.InterpolationMode.BILINEAR, antialias=True)
        return image, label

    def __repr__(self) -> str:
        return f"EvalTransform(size={self.size})"


def joint_transform(data_cfg) -> JointTransform:
    """The training transform of a :class:`zsct_lib.config.DataConfig`."""
    return JointTransform(data_cfg)


def eval_transform(data_cfg) -> EvalTransform:
    """The evaluation transform of a :class:`zsct_lib.config.DataConfig`."""
    return EvalTransform(data_cfg)
