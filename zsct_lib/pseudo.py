"""Maximum probability threshold (MPT) pseudo labels, eq 12."""
from __future__ import annotations

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
