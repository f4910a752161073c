"""Context-aware placement of transferred content (beyond the paper).

Plain content transfer (eqs 16-17) pastes source content at the same pixel position. Under a
camera-pitch gap (SYNTHIA's raised, downward-pitched camera) a source rider can then land in the
target's sky. These functions move the source content onto the target's ground and check that what
is pasted stands on it; `content_transfer.transfer_batch(..., context_aware=True)` uses them.

Labels are long tensors [B,H,W] in train ids with 255 = ignore; images [B,C,H,W]; masks bool [B,H,W].
"""
from __future__ import annotations

import torch

from .labels import GROUND_CLASSES, IGNORE_INDEX
from .labels import isin_classes as _isin

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
