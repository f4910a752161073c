import math

import numpy as np
import torch

from zsct_lib.evaluation import confusion_matrix, iou_per_class, mean_iou, miou_tail, summarize


def test_confusion_matrix_rows_truth_columns_prediction():
    target = torch.tensor([[0, 0, 1, 255]])
    pred = torch.tensor([[0, 1, 1, 0]])
    cm = confusion_matrix(pred, target, num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]


def test_iou_known_values_and_nan_for_absent():
    cm = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    iou = iou_per_class(cm)
    assert iou[0] == 0.5 and iou[1] == 0.5 and math.isnan(iou[2])
    assert mean_iou(iou) == 0.5


def test_summary_names_protocol_and_tail():
    cm = np.eye(19, dtype=np.int64) * 10
    cm[5, 0] = 10                                     # pole predicted as road: IoU(pole) = 0.5
    result = summarize(cm, "19")
    assert result["protocol"] == "19-class"
    assert result["per_class"]["pole"] == 50.0
    assert result["miou_tail"] == round(100 * (0.5 + 5) / 6, 2)
    assert len(summarize(cm, "16")["per_class"]) == 16 and "pole" not in summarize(cm, "13")["per_class"]
    assert miou_tail(iou_per_class(cm), "13") == 1.0  # 13-class protocol has no pole
