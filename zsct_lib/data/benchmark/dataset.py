"""Seeded generation and the dataset: one random stream per (seed, domain, index, stream),
:func:`generate_scene` / :func:`generate_label`, the splits, and :class:`StreetScenes` with its
PNG cache."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
from PIL import Image

from ...labels import NUM_CLASSES
from .domains import BenchmarkConfig, get_benchmark
from .layout import layout_scene
from .raster import rasterise, render_label
from .render import render_image

__all__ = ["generate_scene", "generate_label", "StreetScenes", "SPLITS", "VAL_INDEX_OFFSET"]


# ============================================================================ the generator

_DOMAIN_CODE = {"source": 0, "target": 1}
_LAYOUT_STREAM, _APPEARANCE_STREAM = 0, 1


def _stream(seed: int, domain: str, index: int, stream: int) -> np.random.Generator:
    if domain not in _DOMAIN_CODE:
        raise ValueError(f"domain must be 'source' or 'target', got {domain!r}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    return np.random.default_rng([int(seed), _DOMAIN_CODE[domain], int(index), stream])


def _check_size(height: int, width: int) -> None:
    if not (16 <= height <= 4096 and 16 <= width <= 8192):
        raise ValueError(f"image size {height}x{width} is outside 16x16 .. 4096x8192")


def generate_scene(config: Union[str, BenchmarkConfig], domain: str, seed: int, index: int, height: int,
                   width: int, with_label: bool = True):
    """One scene of a domain at a resolution: (image uint8 [H, W, 3], label uint8 [H, W] or None).

    Deterministic in (seed, domain, index); the layout does not depend on (height, width), so the
    same scene can be drawn at 64x128 or 1024x2048. With ``with_label=False`` the label is never
    rendered (the target training split is unlabelled) and None is returned for it.
    """
    config = get_benchmark(config)
    _check_size(height, width)
    dom = config.domain(domain)
    scene = layout_scene(dom, _stream(seed, domain, index, _LAYOUT_STREAM))
    face_id, shadow = rasterise(scene, height, width, with_shadows=True)
    image = render_image(scene, face_id, shadow, dom.style, _stream(seed, domain, index, _APPEARANCE_STREAM))
    label = render_label(scene, face_id) if with_label else None
    return image, label


def generate_label(config: Union[str, BenchmarkConfig], domain: str, seed: int, index: int, height: int,
                   width: int) -> np.ndarray:
    """The label alone, uint8 [H, W], without drawing the image (fast: layout and rasterisation only)."""
    config = get_benchmark(config)
    _check_size(height, width)
    scene = layout_scene(config.domain(domain), _stream(seed, domain, index, _LAYOUT_STREAM))
    face_id, _ = rasterise(scene, height, width, with_shadows=False)
    return render_label(scene, face_id)


# ============================================================================ the dataset

# Scene index offset of the target validation split: far from every training index, so that
# validation scenes never coincide with training scenes.
VAL_INDEX_OFFSET = 1_000_000_000

# split -> (domain, first scene index, labelled)
SPLITS: dict[str, tuple[str, int, bool]] = {
    "source_train": ("source", 0, True),
    "target_train": ("target", 0, False),     # unlabelled: the adaptation data
    "target_oracle": ("target", 0, True),     # the same scenes with their labels: the oracle's upper bound
    "target_val": ("target", VAL_INDEX_OFFSET, True),
}

Transform = Callable[[torch.Tensor, Optional[torch.Tensor]], tuple]


class StreetScenes(torch.utils.data.Dataset):
    """The embedded benchmark as a dataset.

    Items: ``(image float32 [3, H, W] in [0, 1], label int64 [H, W])``; for the unlabelled
    ``target_train`` split the image alone (its label is never rendered). ``transform(image,
    label)`` (label None when unlabelled) returns ``(image, label)``.

    Splits: ``source_train`` (labelled source), ``target_train`` (unlabelled target),
    ``target_oracle`` (the same target scenes with labels), ``target_val`` (labelled target scenes
    disjoint from the training ones). ``label(i)`` returns the untransformed label without drawing
    the image; ``image(i)`` the transformed image alone. With ``cache_dir``, samples are stored as
    PNGs and read back on later calls.
    """

    classes = tuple(range(NUM_CLASSES))

    def __init__(self, split: str, benchmark: Union[str, BenchmarkConfig] = "gta_like", size: int = 400,
                 height: int = 64, width: int = 128, seed: int = 0, transform: Optional[Transform] = None,
                 cache_dir: Optional[Union[str, Path]] = None):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
        if size < 0:
            raise ValueError(f"size must be non-negative, got {size}")
        _check_size(height, width)
        self.split, self.config = split, get_benchmark(benchmark)
        self.domain, self.first_index, self.labelled = SPLITS[split]
        self.size, self.height, self.width, self.seed = size, height, width, seed
        self.transform = transform
        self.cache_dir = Path(cache_dir) / self._cache_key() if cache_dir is not None else None

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return (f"StreetScenes(split={self.split!r}, benchmark={self.config.name!r}, size={self.size}, "
                f"height={self.height}, width={self.width}, seed={self.seed})")

    def scene_index(self, i: int) -> int:
        if not 0 <= i < self.size:
            raise IndexError(f"index {i} out of range for {self.size} scenes")
        return self.first_index + i

    # -- raw samples -----------------------------------------------------------------------
    def _cache_key(self) -> str:
        digest = hashlib.sha1(repr(self.config).encode()).hexdigest()[:10]
        return f"{self.config.name}-{digest}-seed{self.seed}/{self.domain}/{self.height}x{self.width}"

    def _paths(self, i: int) -> tuple[Path, Path]:
        stem = self.cache_dir / f"{self.scene_index(i):010d}"
        return stem.with_name(stem.name + "_image.png"), stem.with_name(stem.name + "_label.png")

    def sample(self, i: int, with_label: bool = True):
        """Untransformed (image uint8 [H, W, 3], label uint8 [H, W] or None)."""
        if with_label and not self.labelled:
            raise ValueError(f"split {self.split!r} is unlabelled; use 'target_oracle' for its labels")
        index = self.scene_index(i)
        if self.cache_dir is not None:
            image_path, label_path = self._paths(i)
            if image_path.exists() and (not with_label or label_path.exists()):
                image = np.asarray(Image.open(image_path).convert("RGB"))
                return image, np.asarray(Image.open(label_path)) if with_label else None
        image, label = generate_scene(self.config, self.domain, self.seed, index, self.height, self.width, with_label)
        if self.cache_dir is not None:
            image_path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(image_path)
            if label is not None:
                Image.fromarray(label).save(label_path)
        return image, label

    def label(self, i: int) -> torch.Tensor:
        """The label int64 [H, W], untransformed, without drawing the image."""
        if not self.labelled:
            raise ValueError(f"split {self.split!r} is unlabelled; use 'target_oracle' for its labels")
        if self.cache_dir is not None and self._paths(i)[1].exists():
            return torch.from_numpy(np.asarray(Image.open(self._paths(i)[1])).astype(np.int64))
        label = generate_label(self.config, self.domain, self.seed, self.scene_index(i), self.height, self.width)
        return torch.from_numpy(label.astype(np.int64))

    def image(self, i: int) -> torch.Tensor:
        """The image float32 [3, H, W] alone, transformed; never renders a label."""
        image, _ = self.sample(i, with_label=False)
        image = _to_tensor(image)
        if self.transform is not None:
            image = self.transform(image, None)[0]
        return image

    def __getitem__(self, i: int):
        if not self.labelled:
            return self.image(i)
        image, label = self.sample(i, with_label=True)
        image, label = _to_tensor(image), torch.from_numpy(label.astype(np.int64))
        if self.transform is not None:
            image, label = self.transform(image, label)
        return image, label


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, 3] -> float32 [3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
