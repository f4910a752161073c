"""Class statistics of label sets: how long the tail is, per domain.

* pixel share of class c: its pixels over all labelled (not 255) pixels of the set;
* image share of class c: the share of images in which it has at least one pixel;
* tail-pixel count per image: what the paper's transfer gate compares with its median (§1);
* `source_statistics`: both counts over a source set, once per run, for eq 7's class-balanced
  weights and the median gate.

Pixels are counted by `labels.class_pixel_counts`, tail pixels by `content_transfer.tail_pixel_count`
(eq 13 with the co-occurrence rules) or `content_transfer.plain_tail_mask` (without).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Union

import numpy as np
import torch

from ..content_transfer import plain_tail_mask, tail_pixel_count
from ..labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, TAIL_CLASSES, class_pixel_counts

LabelSource = Union[torch.utils.data.Dataset, Iterable]


def _labels(source: LabelSource) -> Iterable:
    """Labels [H, W] of a dataset (through its `label(i)` fast path when it has one, else
    `dataset[i][1]`) or of an iterable of labels."""
    if hasattr(source, "label") and hasattr(source, "__len__"):
        return (source.label(i) for i in range(len(source)))
    if isinstance(source, (list, tuple, torch.Tensor, np.ndarray)):  # labels themselves, [N, H, W]
        return iter(source)
    if hasattr(source, "__getitem__") and hasattr(source, "__len__"):
        return (source[i][1] for i in range(len(source)))
    return iter(source)


def _as_numpy(label) -> np.ndarray:
    if isinstance(label, torch.Tensor):
        label = label.cpu().numpy()
    return np.asarray(label).astype(np.int64)


def class_statistics(datasets_or_label_iterables, num_classes: int = NUM_CLASSES) -> dict:
    """Per-class pixel share and image share, per named label set.

    Input: a mapping name -> dataset or iterable of labels [H, W] (tensors or arrays), or a single
    one (named "labels"). Output: name -> {"pixel_share": [K], "image_share": [K],
    "num_images": int, "num_pixels": int} (shares as float64 arrays; 255 is not counted).
    """
    named = datasets_or_label_iterables if isinstance(datasets_or_label_iterables, Mapping) \
        else {"labels": datasets_or_label_iterables}
    stats = {}
    for name, source in named.items():
        pixels = np.zeros(num_classes, np.int64)
        images = np.zeros(num_classes, np.int64)
        n_images = 0
        for label in _labels(source):
            counts = class_pixel_counts(_as_numpy(label), num_classes)
            pixels += counts
            images += counts > 0
            n_images += 1
        total = int(pixels.sum())
        stats[name] = dict(pixel_share=pixels / max(total, 1), image_share=images / max(n_images, 1),
                           num_images=n_images, num_pixels=total)
    return stats


def format_class_statistics(stats: dict, class_names=CLASS_NAMES, tail_classes=TAIL_CLASSES) -> str:
    """A text table: one row per class (tail classes marked *), pixel % and image % per label set."""
    names = list(stats)
    header = f"{'id':>2} {'class':<14}" + "".join(f" | {n[:21]:>21}" for n in names)
    sub = f"{'':>2} {'':<14}" + "".join(f" | {'pixel %':>9} {'image %':>11}" for _ in names)
    lines = ["19-class protocol, * = tail class", header, sub, "-" * len(sub)]
    num_classes = len(next(iter(stats.values()))["pixel_share"]) if stats else 0
    for c in range(num_classes):
        mark = "*" if c in tail_classes else " "
        row = f"{c:>2} {class_names[c] + mark:<14}"
        for n in names:
            row += f" | {100 * stats[n]['pixel_share'][c]:>9.2f} {100 * stats[n]['image_share'][c]:>11.1f}"
        lines.append(row)
    tail = list(tail_classes)
    lines.append("-" * len(sub))
    row = f"{'':>2} {'tail total':<14}"
    for n in names:
        row += f" | {100 * stats[n]['pixel_share'][tail].sum():>9.2f} {'':>11}"
    lines.append(row)
    lines.append(f"{'':>2} {'images':<14}" + "".join(f" | {stats[n]['num_images']:>21}" for n in names))
    return "\n".join(lines)


def tail_pixel_counts(dataset, tail_classes=TAIL_CLASSES,
                      label_fn: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> np.ndarray:
    """Per-image number of tail-class pixels: int64 [N].

    `label_fn`, when given, maps each label [H, W] (long tensor) to the label whose non-255 pixels
    count (e.g. `zsct_lib.content_transfer.tail_label`, which applies the paper's co-occurrence
    rules); by default a pixel counts when its class is in `tail_classes`.
    """
    counts = []
    for label in _labels(dataset):
        label = torch.as_tensor(label).long()
        if label_fn is not None:
            counts.append(int((label_fn(label) != IGNORE_INDEX).sum()))
        else:
            counts.append(int(plain_tail_mask(label, tail_classes).sum()))
    return np.asarray(counts, dtype=np.int64)


def source_statistics(dataset, num_classes: int = NUM_CLASSES, cache_file: Path | None = None) -> dict:
    """Per-class pixel counts (for eq 7's class-balanced weights) and per-image transferable tail-pixel
    counts (eq 13 with the rules, for the median gate) over the whole source set, computed once and
    cached as JSON: {"size": N, "class_pixels": [K], "tail_pixels": [N], "image_classes": [N lists],
    "image_class_pixels": [N lists of K]} (the classes present in each image and their pixel counts, for
    rare-class sampling)."""
    if cache_file is not None and cache_file.is_file():
        cached = json.loads(cache_file.read_text())
        if cached.get("size") == len(dataset) and "image_class_pixels" in cached:
            return cached
    class_counts = np.zeros(num_classes, dtype=np.int64)
    tail_counts, image_classes, image_class_pixels = [], [], []
    label_of = getattr(dataset, "label", None) or (lambda i: dataset[i][1])
    for i in range(len(dataset)):
        label = torch.as_tensor(label_of(i)).long()
        counts = class_pixel_counts(label, num_classes)
        class_counts += counts
        image_classes.append(np.flatnonzero(counts).tolist())
        image_class_pixels.append(np.asarray(counts).tolist())
        tail_counts.append(int(tail_pixel_count(label.unsqueeze(0))[0]))
    stats = {"size": len(dataset), "class_pixels": class_counts.tolist(), "tail_pixels": tail_counts,
             "image_classes": image_classes, "image_class_pixels": image_class_pixels}
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats))
        os.replace(tmp, cache_file)
    return stats
