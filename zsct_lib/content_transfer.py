"""Tail-class content transfer, eqs 13-17, and a context-aware placement (beyond the paper).

One function per equation (`tail_label` eq 13, `head_mask` eq 14, `transfer_mask` eq 15, `paste`
eqs 16-17), the paper's median gate, and `transfer_batch`, which runs the whole pipeline of one
batch (gate, masks, paste, MPT on the transferred image, eq 17) for the trainer and the notebook
views alike. The context-aware placement (beyond the paper) lives in `context_transfer.py`.

Labels are long tensors [B,H,W] in train ids with 255 = ignore; images [B,C,H,W]; masks bool [B,H,W].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .context_transfer import align_to_target_ground, standing_on_ground
from .labels import BICYCLE, IGNORE_INDEX, LIGHT, MOTORCYCLE, POLE, RIDER, SIGN, TAIL_CLASSES
from .labels import isin_classes as _isin
from .pseudo import mpt_pseudo_label


def plain_tail_mask(label: torch.Tensor, tail_classes=TAIL_CLASSES) -> torch.Tensor:
    """Eq 13 read literally, without the co-occurrence rules: every tail-class pixel (bool, same shape)."""
    return _isin(label, tail_classes)


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


def source_tail_mask(source_label: torch.Tensor, tail_classes=TAIL_CLASSES, ignore_index: int = IGNORE_INDEX,
                     cooccurrence_rules: bool = True) -> torch.Tensor:
    """Ms_tail, the binary mask of eq 13's Ys_tail (bool, same shape); without the co-occurrence rules
    when `cooccurrence_rules` is False (a teaching switch)."""
    if not cooccurrence_rules:
        return plain_tail_mask(source_label, tail_classes)
    return tail_label(source_label, tail_classes, ignore_index) != ignore_index


def transfer_mask(source_label: torch.Tensor, target_pseudo: torch.Tensor, tail_classes=TAIL_CLASSES,
                  ignore_index: int = IGNORE_INDEX, cooccurrence_rules: bool = True,
                  use_head_mask: bool = True) -> torch.Tensor:
    """Eq 15: M_ct = Mt_head ⊙ Ms_tail, bool [B,H,W]; Ms_tail is the binary mask of eq 13's Ys_tail.

    `cooccurrence_rules=False` drops eq 13's rules and `use_head_mask=False` drops eq 14's mask (all of
    Ms_tail is pasted): switches for the notebook that shows what each refinement does.
    """
    source_tail = source_tail_mask(source_label, tail_classes, ignore_index, cooccurrence_rules)
    if not use_head_mask:
        return source_tail
    return source_tail & head_mask(target_pseudo, tail_classes, ignore_index)


def connected_components(mask: torch.Tensor) -> torch.Tensor:
    """Labels of the 8-connected components of a bool mask [B,H,W] -> long [B,H,W]: 0 off the mask,
    one positive id per component (ids unique over the batch, not consecutive). Each pixel takes the
    largest id in its 3x3 neighbourhood on the mask until nothing changes."""
    batch, height, width = mask.shape
    ids = torch.arange(1, batch * height * width + 1, dtype=torch.float64, device=mask.device).view(batch, height, width)
    ids = ids * mask
    while True:
        grown = F.max_pool2d(ids.unsqueeze(1), 3, stride=1, padding=1).squeeze(1) * mask
        if torch.equal(grown, ids):
            return ids.long()
        ids = grown


def whole_object_mask(source_label: torch.Tensor, target_pseudo: torch.Tensor, tail_classes=TAIL_CLASSES,
                      ignore_index: int = IGNORE_INDEX, cooccurrence_rules: bool = True) -> torch.Tensor:
    """Beyond the paper (loss.ct_objects=whole): the source's tail objects whole, bool [B,H,W]. An object
    is a connected component of Ms_tail (eq 13); it is pasted entire unless it would cover a pixel the
    target's pseudo label (eq 12) calls a tail class. Eq 15's head mask keeps only the object's pixels
    that land on confident head pixels, which at the median threshold of eq 12 cuts objects into
    slivers; this keeps eq 14's purpose (never paste over the target's own tail) without cutting."""
    source_tail = source_tail_mask(source_label, tail_classes, ignore_index, cooccurrence_rules)
    objects = connected_components(source_tail)
    target_tail = _isin(target_pseudo, tail_classes) & source_tail
    covers_tail = torch.zeros(int(objects.max()) + 1, dtype=torch.bool, device=objects.device)
    covers_tail[objects[target_tail]] = True
    return source_tail & ~covers_tail[objects]


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


# ---- the pipeline of one batch, eqs 13-17 ------------------------------------------------------

@dataclass
class TransferredBatch:
    """What content transfer makes of one batch (B pairs of source and target images).

    mask: M_ct bool [B,H,W] as pasted (after the gate); image: It_ct [B,3,H,W] (eq 16); logits: the
    segmenter's logits on It_ct [B,K,H,W] (with gradient, for eq 18); pseudo: Ỹt_ct = MPT(It_ct's
    prediction) [B,H,W]; label: the training label of eq 18, Ỹ't_ct (eq 17) at the output level,
    else Ỹt_ct; shifts: rows each source was moved by (context-aware placement; zeros otherwise).
    """
    mask: torch.Tensor
    image: torch.Tensor
    logits: torch.Tensor
    pseudo: torch.Tensor
    label: torch.Tensor
    shifts: torch.Tensor
    source_label: torch.Tensor | None = None     # Ys as pasted (shifted when context-aware) [B,H,W]

    @property
    def transfer_fraction(self) -> torch.Tensor:
        """Share of the batch's pixels that were pasted (a scalar)."""
        return self.mask.float().mean()

    @torch.no_grad()
    def diagnostics(self, tail_classes=TAIL_CLASSES, ignore_index: int = IGNORE_INDEX) -> dict[str, float]:
        """What the transfer gave the model, as floats: "pasted_pixels" (pixels of the batch pasted),
        "pasted_recognised" (share of them the model already labels as their source class in It_ct),
        and eq 17's label mix at them under Ỹt_ct, the MPT label of It_ct: "pasted_ignored", "pasted_right"
        (the source's class), "pasted_other_tail", "pasted_head" (shares that sum to 1). The shares are
        nan when nothing was pasted."""
        pasted = self.mask
        count = int(pasted.sum())
        out = {"pasted_pixels": float(count)}
        truth = self.source_label[pasted]
        pseudo = self.pseudo[pasted]
        share = lambda selected: float(selected.float().mean()) if count else float("nan")  # noqa: E731
        out["pasted_recognised"] = share(self.logits.argmax(dim=1)[pasted] == truth)
        ignored = pseudo == ignore_index
        right = pseudo == truth
        tail = _isin(pseudo, tail_classes)
        out["pasted_ignored"] = share(ignored)
        out["pasted_right"] = share(right)
        out["pasted_other_tail"] = share(tail & ~right)
        out["pasted_head"] = share(~ignored & ~tail)
        return out


def transfer_batch(source_content: torch.Tensor, source_label: torch.Tensor, target_image: torch.Tensor,
                   target_pseudo: torch.Tensor, segment: Callable[[torch.Tensor], torch.Tensor],
                   gate: Optional[torch.Tensor] = None, output_level: bool = True, context_aware: bool = False,
                   quantile: float = 0.5, cap: float = 0.9, cooccurrence_rules: bool = True,
                   use_head_mask: bool = True, objects: str = "eq15") -> TransferredBatch:
    """Content transfer of one batch, eqs 13-17: the masks, the paste, the pseudo label of the result.

    source_content [B,3,H,W]: what is pasted (the paper's Is2t, translated into the target's style);
    source_label Ys [B,H,W]; target_image It [B,3,H,W]; target_pseudo Ỹt [B,H,W] (eq 12);
    segment: images [N,3,H,W] -> logits [N,K,H,W] (the model's prediction, with gradient when
    training); gate: bool [B], the median gate per source image (None: every pair may transfer).

    1. context_aware: shift each source onto the target's ground (`context_transfer.align_to_target_ground`);
    2. M_ct = Mt_head ⊙ Ms_tail (eqs 13-15; objects="whole": `whole_object_mask`, beyond the paper),
       cut by the gate, and, context-aware, by `standing_on_ground`;
    3. It_ct = M_ct ⊙ source + (1 - M_ct) ⊙ It (eq 16), segmented;
    4. Ỹt_ct = MPT of that prediction (eq 12); at the output level, Ys pasted into it (eq 17).
    """
    shifts = torch.zeros(len(source_label), dtype=torch.long, device=source_label.device)
    if context_aware:
        source_content, source_label, shifts = align_to_target_ground(source_content, source_label, target_pseudo)
    if objects == "whole":
        mask = whole_object_mask(source_label, target_pseudo, cooccurrence_rules=cooccurrence_rules)
    elif objects == "eq15":
        mask = transfer_mask(source_label, target_pseudo, cooccurrence_rules=cooccurrence_rules,
                             use_head_mask=use_head_mask)                              # eqs 13-15
    else:
        raise ValueError(f"objects must be 'eq15' or 'whole', got {objects!r}")
    if gate is not None:
        mask &= gate.view(-1, 1, 1)
    if context_aware:
        mask &= standing_on_ground(mask, target_pseudo).view(-1, 1, 1)
    image = paste(mask, source_content, target_image)                                 # eq 16
    logits = segment(image)
    pseudo = mpt_pseudo_label(F.softmax(logits, dim=1).detach(), quantile, cap)         # eq 12 on It_ct
    label = paste(mask, source_label, pseudo) if output_level else pseudo               # eq 17
    return TransferredBatch(mask=mask, image=image, logits=logits, pseudo=pseudo, label=label, shifts=shifts,
                            source_label=source_label)
