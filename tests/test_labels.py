"""The Cityscapes label table kept in zsct_lib.labels: the official ids, train ids, names and colours.

The known answers are those of the benchmark (cityscapesScripts' helpers/labels.py); where that package
happens to be installed, the whole table is compared with it too.
"""
import numpy as np
import pytest

from zsct_lib.labels import CITYSCAPES_LABELS, CLASS_NAMES, LABEL_ID_TO_TRAIN_ID, PALETTE, colorize

# Cityscapes label id -> train id of the 19 evaluated classes (every other id is ignored: 255).
OFFICIAL_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
                      25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
OFFICIAL_NAMES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                  "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                  "motorcycle", "bicycle")


def test_label_ids_map_to_the_official_train_ids():
    for label_id in range(256):
        assert LABEL_ID_TO_TRAIN_ID[label_id] == OFFICIAL_TRAIN_IDS.get(label_id, 255), label_id


def test_class_names_and_palette():
    assert CLASS_NAMES == OFFICIAL_NAMES
    assert PALETTE.shape == (19, 3) and PALETTE.dtype == np.uint8
    assert PALETTE[0].tolist() == [128, 64, 128]          # road
    assert PALETTE[10].tolist() == [70, 130, 180]         # sky
    assert PALETTE[18].tolist() == [119, 11, 32]          # bicycle
    assert colorize(np.array([[0, 255]])).tolist() == [[[128, 64, 128], [0, 0, 0]]]


def test_table_rows():
    assert len(CITYSCAPES_LABELS) == 35
    assert [row.id for row in CITYSCAPES_LABELS] == list(range(34)) + [-1]
    assert len({row.name for row in CITYSCAPES_LABELS}) == 35
    assert sum(not row.ignoreInEval for row in CITYSCAPES_LABELS) == 19


def test_same_table_as_cityscapesscripts_when_installed():
    official = pytest.importorskip("cityscapesscripts.helpers.labels")
    assert [tuple(row) for row in CITYSCAPES_LABELS] == [tuple(row) for row in official.labels]
