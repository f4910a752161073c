"""Maximum probability threshold (MPT) pseudo labels, eq 12."""
from __future__ import annotations

import numpy as np
import torch

from .labels import IGNORE_INDEX


def class_thresholds(prob: torch.Tensor, quantile: float = 0.5, cap: float = 0.9) -> torch.Tensor:
    """Per-map, per-class thresholds of eq 12: [B,K,H,W] probabilities -> [B,K].

    For each map and class k, the max-probabilities of the pixels predicted as k are sorted and the
    value at `quantile` from the top is taken (0.5: the median), then capped at `cap`. A class that no
    pixel of a map predicts gets threshold `cap` (no pixel can use it anyway).
    """
    if prob.ndim != 4:
        raise ValueError(f"prob must be [B,K,H,W], got shape {tuple(prob.shape)}")
    b, k = prob.shape[:2]
    max_prob, argmax = prob.max(dim=1)                           # [B,H,W]
    thresholds = torch.full((b, k), float(cap), dtype=prob.dtype, device=prob.device)
    for i in range(b):
        values, classes = max_prob[i].flatten(), argmax[i].flatten()
        for c in classes.unique().tolist():
            class_values = values[classes == c]
            # "the probability corresponding to the top 50%": quantile 1 - q of the ascending order
            thresholds[i, c] = torch.quantile(class_values.float(), 1.0 - quantile).to(prob.dtype).clamp(max=cap)
    return thresholds


def mpt_pseudo_label(prob: torch.Tensor, quantile: float = 0.5, cap: float = 0.9,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Eq 12: Ỹt = argmax_k Pt where Pt[k*] > thres[k*], else `ignore_index`.

    prob: softmax probabilities [B,K,H,W] (no gradient needed); returns a long label map [B,H,W].
    The comparison is strict: a pixel exactly at its class threshold is ignored.
    """
    with torch.no_grad():
        thresholds = class_thresholds(prob, quantile, cap)      # [B,K]
        max_prob, argmax = prob.max(dim=1)                       # [B,H,W]
        pixel_threshold = thresholds.gather(1, argmax.flatten(1)).view_as(max_prob)
        label = argmax.clone()
        label[max_prob <= pixel_threshold] = ignore_index
    return label


def pseudo_label_counts(pseudo_label: torch.Tensor, true_label: torch.Tensor, num_classes: int) -> dict:
    """Per-class counts that score pseudo labels against true labels (for diagnosis only; no training
    code reads target labels): label maps [B,H,W] (255 ignored) -> dict of int64 [K] arrays:
    "correct" (pseudo = true = k), "pseudo" (pseudo = k, true labelled), "true" (true = k)."""
    labelled = true_label != IGNORE_INDEX
    pseudo, true = pseudo_label[labelled], true_label[labelled]
    count = lambda values: torch.bincount(values[values < num_classes], minlength=num_classes)[:num_classes].cpu().numpy()  # noqa: E731
    return {"correct": count(pseudo[pseudo == true]), "pseudo": count(pseudo), "true": count(true)}


def pseudo_label_quality(counts: dict, class_names, classes) -> dict:
    """Precision (pseudo labels of class k that are right) and coverage (pixels of class k that get a
    right pseudo label), in %, for `classes`, from summed `pseudo_label_counts`. The paper's claim that
    self-training starves the tail reads as a low coverage of the tail classes."""
    correct, pseudo, true = (np.asarray(counts[key], dtype=np.float64) for key in ("correct", "pseudo", "true"))
    ratio = lambda a, b: None if b == 0 else round(100.0 * a / b, 2)  # noqa: E731
    return {class_names[c]: {"precision": ratio(correct[c], pseudo[c]), "coverage": ratio(correct[c], true[c])}
            for c in classes}
