"""The three datasets a run needs, from a DataConfig: source train, target train (unlabelled), target val."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import DataConfig
from .real import GTA5, Cityscapes, Synthia, Unlabelled
from .benchmark import BenchmarkConfig, StreetScenes, with_style_jitter
from .transforms import eval_transform


def scenes_benchmark(cfg: DataConfig) -> str | BenchmarkConfig:
    """The embedded benchmark a DataConfig draws: its variant by name, or that variant with its per-image
    style jitter scaled by `data.style_jitter_scale` when that is not 1."""
    return cfg.benchmark if cfg.style_jitter_scale == 1.0 else with_style_jitter(cfg.benchmark, cfg.style_jitter_scale)


def build_datasets(cfg: DataConfig, oracle: bool = False):
    """(source_train, target_train, target_val) without training augmentation (the trainer adds it).

    source_train yields (image, label); target_train yields the image alone, so no training code path
    can read target labels, except with oracle=True, where it yields the labelled target training
    set (the oracle upper bound trains on it in place of the source). target_val yields (image resized
    to data.height x data.width, label at its own size).
    """
    val_transform = eval_transform(cfg)
    if cfg.source == "synthetic":
        source = StreetScenes("source_train", scenes_benchmark(cfg), cfg.source_size, cfg.height, cfg.width, cfg.seed)
    elif cfg.source == "gta5":
        source = GTA5(_root(cfg.source_root, "data.source_root", "GTA5"))
    else:
        source = Synthia(_root(cfg.source_root, "data.source_root", "SYNTHIA"), num_classes=16)
    if cfg.target == "synthetic":
        split = "target_oracle" if oracle else "target_train"
        target = StreetScenes(split, scenes_benchmark(cfg), cfg.target_size, cfg.height, cfg.width, cfg.seed)
        val = StreetScenes("target_val", scenes_benchmark(cfg), cfg.val_size, cfg.height, cfg.width, cfg.seed,
                           transform=val_transform)
    else:
        root = _root(cfg.target_root, "data.target_root", "Cityscapes")
        target = Cityscapes(root, split="train") if oracle else Unlabelled(Cityscapes(root, split="train", labelled=False))
        val = Cityscapes(root, split=cfg.val_split, transform=val_transform)
    if oracle:
        source = target  # the oracle learns from target labels: the upper bound of adaptation
    if cfg.source != "synthetic" or cfg.target != "synthetic":
        source = _Resized(source, cfg)
        target = _Resized(target, cfg)
    return source, target, val


def labelled_target_train(cfg: DataConfig, images: int):
    """The first `images` target training images with their labels, at the training size, for
    diagnosis only (scoring pseudo labels): the embedded benchmark's target_oracle split, or
    Cityscapes train with its labels. Training never reads it."""
    if cfg.target == "synthetic":
        return StreetScenes("target_oracle", scenes_benchmark(cfg), min(images, cfg.target_size), cfg.height, cfg.width, cfg.seed)
    dataset = _Resized(Cityscapes(_root(cfg.target_root, "data.target_root", "Cityscapes"), split="train"), cfg)
    return torch.utils.data.Subset(dataset, range(min(images, len(dataset))))


def _root(path: str, key: str, name: str) -> str:
    if not path:
        raise ValueError(f"config key {key!r} is empty: give the local root folder of {name}")
    return path


class _Resized:
    """Resize a real dataset's items to data.height x data.width before augmentation (the paper resizes
    GTA5/Cityscapes to 1024x512 before cropping), keeping the label() fast path."""

    def __init__(self, dataset, cfg: DataConfig):
        self.dataset, self.size = dataset, (cfg.height, cfg.width)

    def __len__(self):
        return len(self.dataset)

    def _image(self, image):
        return F.interpolate(image[None], size=self.size, mode="bilinear", align_corners=False)[0]

    def _label(self, label):
        return F.interpolate(label[None, None].float(), size=self.size, mode="nearest")[0, 0].long()

    def label(self, index):
        return self._label(self.dataset.label(index))

    def __getitem__(self, index):
        item = self.dataset[index]
        if not isinstance(item, tuple):
            return self._image(item)
        image, label = item
        return self._image(image), self._label(label)
