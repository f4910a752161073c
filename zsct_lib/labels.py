"""Label tables: Cityscapes train ids, the official palette, tail classes and the 19/16/13 protocols.

`CITYSCAPES_LABELS` is the official table of the Cityscapes benchmark (`cityscapesscripts.helpers.labels`
of the cityscapesScripts package, Cordts et al. 2016), kept here as data so that one table does not bring in
a package; tests/test_labels.py checks it against the official ids. See METHOD.md §5.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Label(NamedTuple):
    """One row of the Cityscapes label table (the fields of cityscapesScripts' `Label`)."""
    name: str
    id: int               # the label id of the annotation images (GTA5 uses the same ids)
    trainId: int          # 0..18 for the 19 evaluated classes, 255 (or -1) for the rest
    category: str
    categoryId: int
    hasInstances: bool
    ignoreInEval: bool
    color: tuple[int, int, int]


CITYSCAPES_LABELS: tuple[Label, ...] = (
    Label("unlabeled",               0, 255, "void",         0, False, True,  (0, 0, 0)),
    Label("ego vehicle",             1, 255, "void",         0, False, True,  (0, 0, 0)),
    Label("rectification border",    2, 255, "void",         0, False, True,  (0, 0, 0)),
    Label("out of roi",              3, 255, "void",         0, False, True,  (0, 0, 0)),
    Label("static",                  4, 255, "void",         0, False, True,  (0, 0, 0)),
    Label("dynamic",                 5, 255, "void",         0, False, True,  (111, 74, 0)),
    Label("ground",                  6, 255, "void",         0, False, True,  (81, 0, 81)),
    Label("road",                    7,   0, "flat",         1, False, False, (128, 64, 128)),
    Label("sidewalk",                8,   1, "flat",         1, False, False, (244, 35, 232)),
    Label("parking",                 9, 255, "flat",         1, False, True,  (250, 170, 160)),
    Label("rail track",             10, 255, "flat",         1, False, True,  (230, 150, 140)),
    Label("building",               11,   2, "construction",  2, False, False, (70, 70, 70)),
    Label("wall",                   12,   3, "construction",  2, False, False, (102, 102, 156)),
    Label("fence",                  13,   4, "construction",  2, False, False, (190, 153, 153)),
    Label("guard rail",             14, 255, "construction",  2, False, True,  (180, 165, 180)),
    Label("bridge",                 15, 255, "construction",  2, False, True,  (150, 100, 100)),
    Label("tunnel",                 16, 255, "construction",  2, False, True,  (150, 120, 90)),
    Label("pole",                   17,   5, "object",       3, False, False, (153, 153, 153)),
    Label("polegroup",              18, 255, "object",       3, False, True,  (153, 153, 153)),
    Label("traffic light",          19,   6, "object",       3, False, False, (250, 170, 30)),
    Label("traffic sign",           20,   7, "object",       3, False, False, (220, 220, 0)),
    Label("vegetation",             21,   8, "nature",       4, False, False, (107, 142, 35)),
    Label("terrain",                22,   9, "nature",       4, False, False, (152, 251, 152)),
    Label("sky",                    23,  10, "sky",          5, False, False, (70, 130, 180)),
    Label("person",                 24,  11, "human",        6, True,  False, (220, 20, 60)),
    Label("rider",                  25,  12, "human",        6, True,  False, (255, 0, 0)),
    Label("car",                    26,  13, "vehicle",      7, True,  False, (0, 0, 142)),
    Label("truck",                  27,  14, "vehicle",      7, True,  False, (0, 0, 70)),
    Label("bus",                    28,  15, "vehicle",      7, True,  False, (0, 60, 100)),
    Label("caravan",                29, 255, "vehicle",      7, True,  True,  (0, 0, 90)),
    Label("trailer",                30, 255, "vehicle",      7, True,  True,  (0, 0, 110)),
    Label("train",                  31,  16, "vehicle",      7, True,  False, (0, 80, 100)),
    Label("motorcycle",             32,  17, "vehicle",      7, True,  False, (0, 0, 230)),
    Label("bicycle",                33,  18, "vehicle",      7, True,  False, (119, 11, 32)),
    Label("license plate",          -1,  -1, "vehicle",      7, False, True,  (0, 0, 142)),
)

IGNORE_INDEX = 255
NUM_CLASSES = 19

_train_labels = sorted((l for l in CITYSCAPES_LABELS if 0 <= l.trainId < 255), key=lambda l: l.trainId)
CLASS_NAMES: tuple[str, ...] = tuple(l.name for l in _train_labels)
PALETTE = np.array([l.color for l in _train_labels], dtype=np.uint8)  # [19, 3]

# Cityscapes label id -> train id (255 for every id the benchmark ignores). GTA5 uses the same ids.
LABEL_ID_TO_TRAIN_ID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _l in CITYSCAPES_LABELS:
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
