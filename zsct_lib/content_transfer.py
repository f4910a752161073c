"""Tail-class content transfer, eqs 13-17, and a context-aware placement (beyond the paper).

Labels are long tensors [B,H,W] in train ids with 255 = ignore; images [B,C,H,W]; masks bool [B,H,W].
"""
from __future__ import annotations

import numpy as np
import torch

from .labels import IGNORE_INDEX, TAIL_CLASSES

POLE, LIGHT, SIGN, RIDER, MOTORCYCLE, BICYCLE = 5, 6, 7, 12, 17, 18
GROUND_CLASSES = (0, 1)  # road, sidewalk: where transferred things can stand


def _isin(label: torch.Tensor, classes) -> torch.Tensor:
    return torch.isin(label, torch.as_tensor(tuple(classes), device=label.device, dtype=label.dtype))


def tail_label(label: torch.Tensor, tail_classes=TAIL_CLASSES, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Eq 13: Ys_tail = Ys on tail-class pixels, `ignore_index` elsewhere; [B,H,W] or [H,W] -> same.

    Co-occurrence rules of the paper, per image: a pole counts only when the image also has a
    traffic light or sign (a pole carries them); a rider only with a motorcycle or bicycle (a rider
    rides one). Poles or riders without their companion are dropped.
    """
    single = label.ndim == 2
    labels = label.unsqueeze(0) if single else label
    keep = _isin(labels, tail_classes)
    flat = labels.flatten(1)
    has_light_or_sign = _isin(flat, (LIGHT, SIGN)).any(dim=1).view(-1, 1, 1)
    has_two_wheeler = _isin(flat, (MOTORCYCLE, BICYCLE)).any(dim=1).view(-1, 1, 1)
    if POLE in tail_classes:
        keep &= ~((labels == POLE) & ~has_light_or_sign)
    if RIDER in tail_classes:
        keep &= ~((labels == RIDER) & ~has_two_wheeler)
    out = torch.where(keep, labels, torch.full_like(labels, ignore_index))
    return out[0] if single else out


def head_mask(pseudo_label: torch.Tensor, tail_classes=TAIL_CLASSES, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Eq 14: Mt_head = Ỹt · K_head, as bool [B,H,W]: a confident pseudo label of a head class.

    Ignored pixels (not confident) are not head: content is only pasted over what we know is head.
    """
    return (pseudo_label != ignore_index) & ~_isin(pseudo_label, tail_classes)


def transfer_mask(source_label: torch.Tensor, target_pseudo: torch.Tensor, tail_classes=TAIL_CLASSES,
                  ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Eq 15: M_ct = Mt_head ⊙ Ms_tail, bool [B,H,W]; Ms_tail is the binary mask of eq 13's Ys_tail."""
    source_tail = tail_label(source_label, tail_classes, ignore_index) != ignore_index
    return source_tail & head_mask(target_pseudo, tail_classes, ignore_index)


def paste(mask: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eqs 16 and 17: M ⊙ source + (1 - M) ⊙ target.

    mask bool [B,H,W]; source/target images [B,C,H,W] (eq 16: Is2t into It) or labels [B,H,W]
    (eq 17: Ys into Ỹt_ct).
    """
    if source.shape != target.shape:
        raise ValueError(f"paste: source {tuple(source.shape)} and target {tuple(target.shape)} differ in shape")
    if source.ndim == 4:
        mask = mask.unsqueeze(1)
    return torch.where(mask, source, target)


def tail_pixel_count(label: torch.Tensor, tail_classes=TAIL_CLASSES, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Number of transferable tail pixels per image (eq 13 with co-occurrence rules): [B,H,W] -> [B]."""
    return (tail_label(label, tail_classes, ignore_index) != ignore_index).flatten(1).sum(dim=1)


def median_gate(tail_counts) -> tuple[float, np.ndarray]:
    """The paper's gate: transfer from a source image only if its tail-pixel count is above the median
    of that count over the source set. tail_counts: [N] -> (median, bool [N])."""
    counts = np.asarray(tail_counts, dtype=np.float64)
    if counts.size == 0:
        raise ValueError("median_gate needs the tail-pixel counts of at least one source image")
    median = float(np.median(counts))
    return median, counts > median


# ---- context-aware placement (beyond the paper) ------------------------------------------------

def ground_top_row(label: torch.Tensor, ground_classes=GROUND_CLASSES, percentile: float = 0.05) -> torch.Tensor:
    """Row where the ground (road, sidewalk) begins in each label map: [B,H,W] -> [B] float (nan if none).

    The low `percentile` of ground pixel rows rather than their minimum, so a few stray ground pixels
    of a noisy pseudo label do not move it.
    """
    rows = []
    for single in label:
        ground_rows = torch.nonzero(_isin(single, ground_classes), as_tuple=True)[0]
        rows.append(torch.quantile(ground_rows.float(), percentile) if ground_rows.numel() else torch.tensor(float("nan")))
    return torch.stack(rows).to(label.device)


def shift_rows(x: torch.Tensor, shift: int, fill) -> torch.Tensor:
    """Shift a map [..., H, W] down by `shift` rows (up if negative), filling uncovered rows with `fill`."""
    out = torch.full_like(x, fill)
    h = x.shape[-2]
    if abs(shift) >= h:
        return out
    if shift >= 0:
        out[..., shift:, :] = x[..., : h - shift, :]
    else:
        out[..., : h + shift, :] = x[..., -shift:, :]
    return out


def align_to_target_ground(source_image: torch.Tensor, source_label: torch.Tensor, target_pseudo: torch.Tensor,
                           ground_classes=GROUND_CLASSES, ignore_index: int = IGNORE_INDEX):
    """Context-aware content transfer: move source content vertically so it stands on the target's ground.

    Plain transfer (eqs 16-17) pastes at the same pixel position, so under a camera-pitch gap a
    source rider can land in the target's sky. Here each source image and label are shifted by the
    difference between where the ground begins in the target's pseudo label and in the source label
    (a horizon alignment), so the pasted objects keep their footing. When either map shows no ground,
    the pair is left unshifted.

    source_image [B,C,H,W], source_label [B,H,W], target_pseudo [B,H,W] ->
    (shifted image, shifted label, shifts [B] long).
    """
    source_rows = ground_top_row(source_label, ground_classes)
    target_rows = ground_top_row(target_pseudo, ground_classes)
    shifts = torch.nan_to_num(target_rows - source_rows, nan=0.0).round().long()
    images, labels = [], []
    for i, shift in enumerate(shifts.tolist()):
        images.append(shift_rows(source_image[i], shift, 0.0))
        labels.append(shift_rows(source_label[i], shift, ignore_index))
    return torch.stack(images), torch.stack(labels), shifts


def standing_on_ground(mask: torch.Tensor, target_pseudo: torch.Tensor, ground_classes=GROUND_CLASSES,
                       margin: int = 2) -> torch.Tensor:
    """Per image, whether the bottom edge of the pasted region rests on target ground: [B,H,W] -> bool [B].

    For each column of the mask, the pixels just below its lowest masked pixel (up to `margin` rows)
    must include a ground class of the target pseudo label; an image passes when most of its pasted
    columns do. An empty mask passes (nothing is pasted).
    """
    b, h, w = mask.shape
    ok = torch.ones(b, dtype=torch.bool, device=mask.device)
    ground = _isin(target_pseudo, ground_classes)
    rows = torch.arange(h, device=mask.device).view(1, h, 1)
    lowest = torch.where(mask, rows, torch.full_like(rows, -1)).amax(dim=1)      # [B,W], -1 = empty column
    for i in range(b):
        columns = torch.nonzero(lowest[i] >= 0, as_tuple=True)[0]
        if columns.numel() == 0:
            continue
        supported = 0
        for col in columns.tolist():
            start = int(lowest[i, col]) + 1
            supported += bool(ground[i, start:start + margin, col].any()) or start >= h
        ok[i] = supported >= 0.5 * columns.numel()
    return ok
