"""Evaluation: confusion matrix, IoU per class, mIoU and mIoU_tail under the 19/16/13-class protocols."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassConfusionMatrix
from torchmetrics.functional.classification import multiclass_confusion_matrix

from .labels import CLASS_NAMES, IGNORE_INDEX, TAIL_CLASSES, protocol_classes


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """[K,K] pixel counts, rows = truth, columns = prediction, over pixels whose truth is not ignored.

    pred, target: long [...] of the same shape (e.g. [B,H,W]).
    """
    if pred.shape != target.shape:
        raise ValueError(f"confusion_matrix: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    return multiclass_confusion_matrix(pred.long().flatten(), target.long().flatten(), num_classes,
                                       ignore_index=ignore_index, validate_args=False).long()


def iou_per_class(cm) -> np.ndarray:
    """IoU_c = TP / (TP + FP + FN) from a confusion matrix [K,K]; nan where a class is absent from both."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    tp = np.diag(cm)
    denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, tp / denominator, np.nan)


def mean_iou(iou, classes=None) -> float:
    """Mean of the IoUs of `classes` (default all) that are not nan; nan if all are."""
    values = np.asarray(iou, dtype=np.float64)
    if classes is not None:
        values = values[list(classes)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def miou_tail(iou, protocol: str = "19") -> float:
    """Mean IoU of the tail classes scored by the protocol."""
    scored = set(protocol_classes(protocol))
    return mean_iou(iou, [c for c in TAIL_CLASSES if c in scored])


def summarize(cm, protocol: str = "19", resolution=None) -> dict:
    """Confusion matrix -> {"protocol", "miou", "miou_tail", "per_class": {name: IoU}, ...}; IoU in %."""
    iou = iou_per_class(cm)
    classes = protocol_classes(protocol)
    as_percent = lambda v: None if math.isnan(v) else round(100.0 * v, 2)  # noqa: E731
    return {
        "protocol": f"{protocol}-class",
        "miou": as_percent(mean_iou(iou, classes)),
        "miou_tail": as_percent(miou_tail(iou, protocol)),
        "per_class": {CLASS_NAMES[c]: as_percent(float(iou[c])) for c in classes},
        "resolution": list(resolution) if resolution else None,
        "pixels": int(np.asarray(cm).sum()),
    }


@torch.no_grad()
def predict_labels(model, images: torch.Tensor, size) -> torch.Tensor:
    """Argmax prediction upsampled to `size` (the label's own size): images [B,3,h,w] -> [B,H,W]."""
    logits = model.predict(images)
    if tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
    return logits.argmax(dim=1)


@torch.no_grad()
def evaluate(model, loader, num_classes: int = 19, protocol: str = "19", device="cpu", max_images: int = 0,
             progress: bool = False) -> dict:
    """Score a model on a labelled loader of (image [B,3,h,w], label [B,H,W]); predictions are upsampled
    to the label size. Uses torchmetrics' confusion matrix, which sums across ranks under DDP."""
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    metric = MulticlassConfusionMatrix(num_classes, ignore_index=IGNORE_INDEX, validate_args=False).to(device)
    seen, resolution = 0, None
    for images, labels in tqdm(loader, desc="eval", disable=not progress, leave=False):
        images, labels = images.to(device), labels.to(device)
        resolution = tuple(images.shape[-2:])
        metric.update(predict_labels(model, images, labels.shape[-2:]), labels)
        seen += images.shape[0]
        if max_images and seen >= max_images:
            break
    model.train(was_training)
    return summarize(metric.compute().long().cpu(), protocol, resolution)


def format_results(results: dict, title: str = "") -> str:
    """A plain-text table of per-class IoU, mIoU and mIoU_tail that names the protocol."""
    lines = [f"{title} ({results['protocol']} protocol, scored at {results.get('resolution')})".strip()]
    for name, value in results["per_class"].items():
        mark = " (tail)" if CLASS_NAMES.index(name) in TAIL_CLASSES else ""
        lines.append(f"  {name + mark:<22} {'-' if value is None else f'{value:6.2f}'}")
    lines.append(f"  {'mIoU':<22} {results['miou']}")
    lines.append(f"  {'mIoU_tail':<22} {results['miou_tail']}")
    return "\n".join(lines)
