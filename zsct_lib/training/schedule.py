"""The schedule: which loss terms are on at a step (the ablation's columns), the poly learning rate,
and one optimizer per module group (the paper's and DISE's choices)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import Config


@dataclass(frozen=True)
class StepFlags:
    """The loss terms active at one iteration (the ablation columns of Tables 3 and 4)."""
    mode: str = "uda"
    sty: bool = True
    cyc: bool = True
    st: bool = True
    in_ct: bool = False
    out_ct: bool = False
    context_ct: bool = False


def flags_at(cfg: Config, step: int) -> StepFlags:
    """Stage 1 (step < iterations): sty, cyc, st (st from loss.st_start); stage 2 adds in_ct, out_ct.

    Eq 19 holds L_seg_ct and no L_st: with input-level transfer on, self-training happens on the
    transferred image (eq 18) in place of eq 12's image, so st is off in stage 2 unless
    loss.st_with_ct keeps both (beyond the paper)."""
    stage2 = step >= cfg.train.iterations
    in_ct = cfg.loss.in_ct and stage2
    return StepFlags(
        mode=cfg.loss.mode,
        sty=cfg.loss.sty,
        cyc=cfg.loss.cyc,
        st=cfg.loss.st and step >= cfg.loss.st_start and (not in_ct or cfg.loss.st_with_ct),
        in_ct=in_ct,
        out_ct=cfg.loss.out_ct and stage2,
        context_ct=cfg.loss.context_ct and stage2,
    )


def total_steps(cfg: Config) -> int:
    return cfg.train.iterations + cfg.train.ct_iterations


def poly_lr(base_lr: float, step: int, cfg: Config) -> float:
    """Poly decay: base_lr * (1 - progress / length) ** poly_power. optim.lr_decay=whole_run decays once
    over both stages (the paper fine-tunes DISE so); per_stage restarts the decay at stage 2."""
    if cfg.optim.lr_decay == "whole_run":
        progress, length = step, max(total_steps(cfg), 1)
    elif step < cfg.train.iterations:
        progress, length = step, cfg.train.iterations
    else:
        progress, length = step - cfg.train.iterations, max(cfg.train.ct_iterations, 1)
    return base_lr * (1.0 - min(progress, length - 1) / length) ** cfg.optim.poly_power


def trainable_parameters(modules) -> list:
    return [p for m in modules for p in m.parameters() if p.requires_grad]


def build_optimizers(model, cfg: Config) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per module group (paper): SGD for the segmentation network (heads at
    head_lr_mult), Adam for style encoders and generators, Adam for each discriminator kind."""
    o = cfg.optim
    fused = {"fused": True} if cfg.train.fused_optim else {}
    head = trainable_parameters([model.segmenter])
    body = trainable_parameters([model.stem, model.content_encoder])
    optimizers = {
        "seg": torch.optim.SGD([{"params": body, "lr_mult": 1.0}, {"params": head, "lr_mult": o.head_lr_mult}],
                               lr=o.seg_lr, momentum=o.seg_momentum, weight_decay=o.weight_decay, **fused),
        "gen": torch.optim.Adam(trainable_parameters(model.generator_modules()), lr=o.gen_lr,
                                betas=(o.gen_beta1, o.gen_beta2), **fused),
        "d_out": torch.optim.Adam(trainable_parameters(model.output_discriminators()), lr=o.d_out_lr,
                                  betas=(o.d_out_beta1, o.d_out_beta2), **fused),
        "d_img": torch.optim.Adam(trainable_parameters(model.image_discriminators()), lr=o.d_img_lr,
                                  betas=(o.d_img_beta1, o.d_img_beta2), **fused),
    }
    for opt in optimizers.values():
        for group in opt.param_groups:
            group.setdefault("lr_mult", 1.0)
            group["base_lr"] = group["lr"] * group["lr_mult"]
    return optimizers


def set_learning_rates(optimizers: dict, step: int, cfg: Config) -> float:
    for opt in optimizers.values():
        for group in opt.param_groups:
            group["lr"] = poly_lr(group["base_lr"], step, cfg)
    return optimizers["seg"].param_groups[0]["lr"]
