"""Label tables: Cityscapes train ids, the official palette, tail classes and the 19/16/13 protocols.

The table is read from `cityscapesscripts.helpers.labels` (the official one), never typed in
by hand. See METHOD.md §5.
"""
from __future__ import annotations

import numpy as np
import torch
from cityscapesscripts.helpers.labels import labels as _CITYSCAPES_LABELS

IGNORE_INDEX = 255
NUM_CLASSES = 19

_train_labels = sorted((l for l in _CITYSCAPES_LABELS if 0 <= l.trainId < 255), key=lambda l: l.trainId)
CLASS_NAMES: tuple[str, ...] = tuple(l.name for l in _train_labels)
PALETTE = np.array([l.color for l in _train_labels], dtype=np.uint8)  # [19, 3]

# Cityscapes label id -> train id (255 for every id the benchmark ignores). GTA5 uses the same ids.
LABEL_ID_TO_TRAIN_ID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _l in _CITYSCAPES_LABELS:
    if 0 <= _l.id < 256 and 0 <= _l.trainId < 255:
        LABEL_ID_TO_TRAIN_ID[_l.id] = _l.trainId

# Train ids by name, for the classes the method's rules refer to (checked against the table below).
ROAD, SIDEWALK, POLE, LIGHT, SIGN, SKY, RIDER, MOTORCYCLE, BICYCLE = 0, 1, 5, 6, 7, 10, 12, 17, 18
assert CLASS_NAMES[ROAD] == "road" and CLASS_NAMES[SIDEWALK] == "sidewalk" and CLASS_NAMES[SKY] == "sky"
assert [CLASS_NAMES[c] for c in (POLE, LIGHT, SIGN, RIDER, MOTORCYCLE, BICYCLE)] == [
    "pole", "traffic light", "traffic sign", "rider", "motorcycle", "bicycle"]

# The paper's tail classes: pole, traffic light, traffic sign, rider, motorcycle, bicycle.
TAIL_CLASSES: tuple[int, ...] = (POLE, LIGHT, SIGN, RIDER, MOTORCYCLE, BICYCLE)
# Where transferred things can stand (context-aware transfer).
GROUND_CLASSES: tuple[int, ...] = (ROAD, SIDEWALK)
# Riders and the two-wheelers they ride (the co-occurrence rule of eq 13).
TWO_WHEELER_CLASSES: tuple[int, ...] = (RIDER, MOTORCYCLE, BICYCLE)
HEAD_CLASSES: tuple[int, ...] = tuple(c for c in range(NUM_CLASSES) if c not in TAIL_CLASSES)

# SYNTHIA's 16 classes (train ids in the 19-class table) and the 13-class subset of mIoU*.
SYNTHIA_16 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)
SYNTHIA_13 = tuple(c for c in SYNTHIA_16 if c not in (3, 4, 5))
PROTOCOLS: dict[str, tuple[int, ...]] = {
    "19": tuple(range(NUM_CLASSES)),
    "16": SYNTHIA_16,
    "13": SYNTHIA_13,
}


def protocol_classes(protocol: str) -> tuple[int, ...]:
    """Train ids scored under a protocol name ("19", "16" or "13")."""
    try:
        return PROTOCOLS[str(protocol)]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}: expected one of {sorted(PROTOCOLS)}") from None


def colorize(label) -> np.ndarray:
    """Map a train-id label [H, W] (array or tensor) to RGB uint8 [H, W, 3] with the official palette;
    ignore is black."""
    if hasattr(label, "detach"):
        label = label.detach().cpu().numpy()
    label = np.asarray(label)
    return _COLOUR_LUT[label.astype(np.int64).clip(0, 255)]


def isin_classes(label, classes):
    """Bool map of the pixels of `label` (a long tensor, any shape) whose class is in `classes`."""
    return torch.isin(label, torch.as_tensor(tuple(classes), device=label.device, dtype=label.dtype))


def class_pixel_counts(label, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Pixels of each class in a label map or a stack of them (any shape; 255 and other ids >= K are
    not counted): -> int64 [K]."""
    if hasattr(label, "detach"):
        label = label.detach().cpu().numpy()
    flat = np.asarray(label).astype(np.int64).ravel()
    flat = flat[(flat >= 0) & (flat < num_classes)]
    return np.bincount(flat, minlength=num_classes)[:num_classes]


_COLOUR_LUT = np.zeros((256, 3), dtype=np.uint8)
_COLOUR_LUT[:NUM_CLASSES] = PALETTE
