"""Figures for the notebooks and the report.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state,
no backend needed, nothing shown): a notebook displays it, a script saves it with
``fig.savefig(path)``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .labels import IGNORE_INDEX, colorize


# ----------------------------------------------------------------------------- images and labels

def to_rgb(image) -> np.ndarray:
    """An image as float RGB [H, W, 3] in [0, 1]: from a tensor [3, H, W] (float in [0, 1]) or an
    array [H, W, 3] (uint8, or float in [0, 1])."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float().numpy()
        if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
            image = image.transpose(1, 2, 0)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = image.transpose(1, 2, 0)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def _label_array(label) -> np.ndarray:
    if isinstance(label, torch.Tensor):
        label = label.detach().cpu().numpy()
    return np.asarray(label).astype(np.int64)


def overlay(image, label, alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised label over the image: float RGB [H, W, 3] in [0, 1].

    image: tensor [3, H, W] or array [H, W, 3]; label [H, W] in train ids. Ignored pixels (255)
    show the image alone. A label of another size is resized (nearest) to the image.
    """
    rgb = to_rgb(image)
    label = _label_array(label)
    if label.shape != rgb.shape[:2]:
        rows = (np.arange(rgb.shape[0]) * label.shape[0] // rgb.shape[0])
        cols = (np.arange(rgb.shape[1]) * label.shape[1] // rgb.shape[1])
        label = label[rows][:, cols]
    colours = colorize(label).astype(np.float32) / 255.0
    weight = np.where(label == IGNORE_INDEX, 0.0, alpha).astype(np.float32)[:, :, None]
    return rgb * (1 - weight) + colours * weight


_overlay = overlay  # show_gallery's `overlay` flag shadows the function's name


# ----------------------------------------------------------------------------- the two domains

def _split_sample(sample):
    """(image, label) or a bare image (unlabelled) -> (image, label or None)."""
    if isinstance(sample, (tuple, list)):
        return sample[0], (sample[1] if len(sample) > 1 else None)
    return sample, None


def _take(samples, n: int) -> list:
    """The first n samples of a list or a dataset."""
    if hasattr(samples, "__len__") and hasattr(samples, "__getitem__"):
        return [samples[i] for i in range(min(n, len(samples)))]
    return list(samples)[:n]


def show_gallery(source_samples, target_samples, n: int = 4, overlay: bool = True, alpha: float = 0.5,
                 fig: Optional[Figure] = None, titles: Sequence[str] = ("source", "target")) -> Figure:
    """Source and target samples side by side, one row per sample.

    Samples: lists (or datasets) of ``(image, label)`` or of bare images (unlabelled target).
    With ``overlay=True`` each panel blends the label over the image; otherwise the label gets its
    own panel next to the image. Draws into `fig` (cleared) when given.
    """
    columns = []
    for title, samples in zip(titles, (source_samples, target_samples)):
        columns.append((title, [_split_sample(s) for s in _take(samples, n)]))
    rows = max(len(c[1]) for c in columns)
    panels_per_domain = 1 if overlay else 2
    if fig is None:
        first = next(s for _, c in columns for s in c)
        height, width = to_rgb(first[0]).shape[:2]
        panel_w = 3.2
        fig = Figure(figsize=(panel_w * panels_per_domain * len(columns), panel_w * height / width * rows + 0.5))
    else:
        fig.clear()
    axes = fig.subplots(rows, panels_per_domain * len(columns), squeeze=False)
    for d, (title, samples) in enumerate(columns):
        for r in range(rows):
            image_ax = axes[r, d * panels_per_domain]
            label_ax = axes[r, d * panels_per_domain + 1] if not overlay else None
            if r < len(samples):
                image, label = samples[r]
                if overlay and label is not None:
                    image_ax.imshow(_overlay(image, label, alpha))
                else:
                    image_ax.imshow(to_rgb(image))
                if label_ax is not None:
                    if label is not None:
                        label_ax.imshow(colorize(_label_array(label)))
                    else:
                        label_ax.text(0.5, 0.5, "unlabelled", ha="center", va="center", transform=label_ax.transAxes)
            if r == 0:
                image_ax.set_title(title + (" + label" if overlay else ""))
                if label_ax is not None:
                    label_ax.set_title(title + " label")
            for ax in (image_ax, label_ax):
                if ax is not None:
                    ax.set_axis_off()
    fig.tight_layout()
    return fig


def gallery(benchmark="gta_like", n: int = 4, height: int = 128, width: int = 256, seed: int = 0,
            overlay: bool = True) -> Figure:
    """The embedded benchmark's first n source and target scenes, with their labels."""
    from .data.synthetic import StreetScenes  # the figures do not need the data package otherwise

    source = StreetScenes("source_train", benchmark, size=n, height=height, width=width, seed=seed)
    target = StreetScenes("target_oracle", benchmark, size=n, height=height, width=width, seed=seed)
    name = source.config.name
    return show_gallery(source, target, n=n, overlay=overlay,
                        titles=(f"{name} source", f"{name} target"))
