"""The paper's losses, one function per equation.

Shapes: images [B,3,H,W] in [0,1]; style codes [B,S]; logits [B,K,H,W]; labels [B,H,W] long with
255 = ignore. Norms |.|_1 are averaged over elements (the mean absolute value) rather than summed, so
that loss weights do not depend on image size or code length; eq 7 is averaged over labelled pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .labels import IGNORE_INDEX


def class_balanced_weights(counts, beta: float = 0.999) -> torch.Tensor:
    """Cui et al. (2019): w_c = (1 - beta) / (1 - beta^n_c), rescaled to sum to the number of classes.

    counts: [K] pixel (or sample) counts per class. beta = 0 gives equal weights; beta -> 1 tends to
    inverse frequency. A class with n_c = 0 gets the largest weight of the present classes (it has no
    samples to weigh, and an infinite weight would be meaningless).
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError(f"counts must be a 1-D tensor of non-negative numbers, got {counts}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")
    if beta == 0.0:
        weights = torch.ones_like(counts)
    else:
        effective_number = (1.0 - torch.pow(beta, counts)) / (1.0 - beta)
        weights = torch.where(counts > 0, 1.0 / effective_number.clamp_min(1e-12), torch.zeros_like(counts))
        present_max = weights[counts > 0].max() if (counts > 0).any() else torch.tensor(1.0, dtype=torch.float64)
        weights = torch.where(counts > 0, weights, present_max)
    weights = weights * (len(counts) / weights.sum())
    return weights.float()


# Labelled pixels of the paper's source sets, as it counts them for eq 7: GTA5 has 24,966 images of
# 1914x1052, SYNTHIA-RAND-CITYSCAPES 9,400 of 1280x760.
PAPER_SOURCE_PIXELS = {"gta5": 24_966 * 1914 * 1052, "synthia": 9_400 * 1280 * 760}


def paper_scale_counts(counts, source: str) -> torch.Tensor:
    """Eq 7's pixel counts at the paper's scale: the same class shares, over the pixel total of the
    paper's source set `source` ("gta5" or "synthia"). counts [K] -> [K] float64.

    Cui et al.'s effective number saturates near 1 / (1 - beta) samples. The paper counts about 5e10
    GTA5 pixels, so even its rarest class has millions and any usual beta gives near-equal weights;
    the embedded benchmark's 3e6 pixels would give inverse-frequency weights instead (20x between road
    and sign), a regime the paper never ran in (`loss.class_balance_counts=dataset` keeps it)."""
    if source not in PAPER_SOURCE_PIXELS:
        raise ValueError(f"source must be one of {sorted(PAPER_SOURCE_PIXELS)}, got {source!r}")
    counts = torch.as_tensor(counts, dtype=torch.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("counts hold no labelled pixel")
    return counts / total * PAPER_SOURCE_PIXELS[source]


def cross_entropy(logits: torch.Tensor, label: torch.Tensor, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Eq 7: L_CE(P, Y) = -sum_hwk Y log P, here averaged over labelled pixels (weighted mean).

    logits [B,K,H,W], label [B,H,W] (255 ignored). Returns 0 (with a graph) when no pixel is labelled.
    """
    if (label != IGNORE_INDEX).any():
        return F.cross_entropy(logits, label, weight=class_weights, ignore_index=IGNORE_INDEX)
    return logits.sum() * 0.0


def zero_loss(target_style_of_source: torch.Tensor, source_style_of_target: torch.Tensor) -> torch.Tensor:
    """Eq 5: L_zero = |Et(Is) - 0|_1 + |Es(It) - 0|_1; codes [B,S]."""
    return target_style_of_source.abs().mean() + source_style_of_target.abs().mean()


def segmentation_loss(source_logits, translated_logits, source_label, class_weights=None) -> torch.Tensor:
    """Eq 6: L_seg = CE(Ps, Ys) + CE(Ps2t, Ys2t) with Ys2t = Ys and class-balanced weights (eq 7).

    source_logits = Gc(Ec(Is)), translated_logits = Gc(Ec(Is2t)): [B,K,H,W]; source_label [B,H,W].
    translated_logits may be None (source-only training has no translation).
    """
    loss = cross_entropy(source_logits, source_label, class_weights)
    if translated_logits is not None:
        loss = loss + cross_entropy(translated_logits, source_label, class_weights)
    return loss


def zero_trans_loss(source_style_of_s2t: torch.Tensor, target_style_of_t2s: torch.Tensor) -> torch.Tensor:
    """Eq 8: L_zero_trans = |Es(Is2t)|_1 + |Et(It2s)|_1; codes [B,S]."""
    return source_style_of_s2t.abs().mean() + target_style_of_t2s.abs().mean()


def zero_style_loss(l_zero: torch.Tensor, l_zero_trans: torch.Tensor, l_seg: torch.Tensor) -> torch.Tensor:
    """Eq 9: L_zero_style = L_zero + L_zero_trans + L_seg (scalars)."""
    return l_zero + l_zero_trans + l_seg


def cycle_loss(source_cycled, source_image, target_cycled, target_image) -> torch.Tensor:
    """Eq 10: L_cycle = |Is2t2s - Is|_1 + |It2s2t - It|_1; images [B,3,H,W]."""
    return F.l1_loss(source_cycled, source_image) + F.l1_loss(target_cycled, target_image)


def reconstruction_loss(source_rec, source_image, target_rec, target_image) -> torch.Tensor:
    """Eq 11: L_rec = |Is2s - Is|_1 + |It2t - It|_1 with Is2s = Gs(Es(Is), Ec(Is)), It2t = Gt(Et(It), Ec(It))."""
    return F.l1_loss(source_rec, source_image) + F.l1_loss(target_rec, target_image)


def style_reconstruction_loss(target_code_of_s2t, target_code, source_code_of_t2s, source_code) -> torch.Tensor:
    """Beyond the paper (MUNIT's latent reconstruction): |Et(Gt(z_t, Ec(Is))) - z_t|_1 + |Es(Gs(z_s, Ec(It))) - z_s|_1
    for codes z drawn from N(0, I); codes [B,S]. A code the generator ignores cannot be read back."""
    return F.l1_loss(target_code_of_s2t, target_code) + F.l1_loss(source_code_of_t2s, source_code)


def content_reconstruction_loss(content_of_s2t, content_s, content_of_t2s, content_t) -> torch.Tensor:
    """Beyond the paper (MUNIT's content reconstruction): |Ec(Is2t) - Ec(Is)|_1 + |Ec(It2s) - Ec(It)|_1 on
    content maps [B,C,h,w], the originals' maps held fixed. A translation changes the style only, so a
    content map that still changes with it carries style (`evaluation.style_paths` measures how much)."""
    return F.l1_loss(content_of_s2t, content_s.detach()) + F.l1_loss(content_of_t2s, content_t.detach())


def style_prior_loss(code: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Beyond the paper: KL(N(mu, sigma^2) || N(0, 1)) of the batch's own-domain codes, per dimension,
    averaged: 0.5 (mu^2 + sigma^2 - log sigma^2 - 1), mu and sigma^2 the batch mean and variance of
    the code [B,S] (B >= 2). It holds the own domain's codes at the scale of the N(0, I) codes that
    the style reconstruction draws (DRIT's and MUNIT-VAE's prior, on batch moments). Without it the
    zero loss (eq 5), which is not invariant to a rescaling of the codes, shrinks every code."""
    mean = code.float().mean(dim=0)
    var = code.float().var(dim=0, unbiased=False).clamp_min(eps)
    return 0.5 * (mean ** 2 + var - var.log() - 1).mean()


def output_adversarial_loss(disc_logits: torch.Tensor, is_source: bool) -> torch.Tensor:
    """Output-space GAN (AdaptSegNet/DISE): BCE of D_out(softmax P) against the domain label, source = 1.

    The segmenter minimises it with is_source=True on target maps (fool D); D minimises it with the
    true domains. disc_logits: [B,1,h,w].
    """
    target = torch.full_like(disc_logits, 1.0 if is_source else 0.0)
    return F.binary_cross_entropy_with_logits(disc_logits, target)


def image_adversarial_loss(disc_scores: torch.Tensor, is_real: bool) -> torch.Tensor:
    """Image GAN (LSGAN, DISE): mean (D(I) - 1)^2 for real, D(I)^2 for fake; scores [B,1,h,w]."""
    return ((disc_scores - (1.0 if is_real else 0.0)) ** 2).mean()


def self_training_loss(target_logits: torch.Tensor, pseudo_label: torch.Tensor) -> torch.Tensor:
    """CE(Pt, Ỹt) on MPT pseudo labels (eq 12); unweighted: target class frequencies are unknown."""
    return cross_entropy(target_logits, pseudo_label)


def content_transfer_loss(transferred_logits: torch.Tensor, transferred_label: torch.Tensor,
                          class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Eq 18: L_seg_ct = CE(Pt_ct, Ỹ't_ct); logits [B,K,H,W], label [B,H,W]. The paper's term is
    unweighted; class_weights [K] (beyond the paper, loss.seg_ct_class_weighted) gives the pasted tail
    pixels the weights they have in L_seg (eq 7)."""
    return cross_entropy(transferred_logits, transferred_label, class_weights)


# Eq 19's terms in the order they are added (the order is kept so that sums repeat to the last bit).
TOTAL_LOSS_ORDER = ("rec", "zero_style", "adv_out", "adv_img", "cycle", "st", "seg_ct", "style_rec", "style_prior",
                    "content_rec")


def total_loss(terms: dict) -> torch.Tensor:
    """Eq 19: L_total = L_DISE + L_zero_style + L_cycle + L_seg_ct, each term already weighted.

    L_DISE holds L_rec (eq 11) and the adversarial terms. terms: name -> scalar, as
    `training.step.generator_losses` returns them: "seg" (eq 6), "zero" (eq 5), "zero_trans" (eq 8),
    "rec" (eq 11), "adv_out", "adv_img", "cycle" (eq 10), "seg_ct" (eq 18); "st" is eq 12's
    self-training on the target image, the +ST row of Tables 3 and 4 before content transfer starts
    (eq 19 has no L_st: with transfer on, self-training happens on the transferred image, eq 18; the
    trainer keeps "st" beside "seg_ct" only with loss.st_with_ct, beyond the paper); beyond the paper,
    "style_rec" (`style_reconstruction_loss`), "style_prior" (`style_prior_loss`) and "content_rec"
    (`content_reconstruction_loss`). Absent terms are off. With "zero" present, "seg", "zero" and
    "zero_trans" enter as eq 9's zero-style loss; without it (source-only, oracle, or the zero-style
    loss switched off) L_seg enters alone.
    """
    grouped = dict(terms)
    if "zero" in grouped:
        grouped["zero_style"] = zero_style_loss(grouped.pop("zero"), grouped.pop("zero_trans"), grouped.pop("seg"))
    else:
        grouped["zero_style"] = grouped.pop("seg")
    unknown = set(grouped) - set(TOTAL_LOSS_ORDER)
    if unknown:
        raise KeyError(f"total_loss: unknown loss terms {sorted(unknown)}; expected {list(TOTAL_LOSS_ORDER)}")
    return sum(grouped[name] for name in TOTAL_LOSS_ORDER if name in grouped)
