"""One iteration of the paper: the generator-side losses (every term of eq 19 the flags enable), the
total of eq 19, the discriminator losses, and the two updates (`training_step`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import losses as L
from ..config import Config
from ..content_transfer import transfer_batch
from ..pseudo import mpt_pseudo_label
from .distributed import average_gradients
from .precision import autocast as precision_context
from .schedule import StepFlags, flags_at, trainable_parameters


class NonFiniteLossError(RuntimeError):
    """A loss term became nan or inf; training stops and the last good checkpoint stays."""


def _requires_grad(modules, flag: bool):
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(flag)


def _stem_for_style(model, train_stem: bool):
    """The stem as the style encoders read it: the model's own, or (loss.style_trains_stem=false) the
    same function with its weights held fixed, so that the style terms' gradients still pass through
    it to the images (and the generators) but do not change the stem that Ec reads."""
    if train_stem:
        return model.stem
    fixed = {name: value.detach() for name, value in [*model.stem.named_parameters(), *model.stem.named_buffers()]}
    return lambda images: torch.func.functional_call(model.stem, fixed, (images,))


def _content_for_generators(lc, *content_maps):
    """The content maps as the generators read them: as they are, or (loss.generators_train_content=false,
    a diagnostic) detached, so that the image terms do not train Ec or the stem through the generators."""
    return content_maps if lc.generators_train_content else tuple(c.detach() for c in content_maps)


def _seg_with_aux(logits, aux_logits, label, class_weights, cfg: Config, translated=None, translated_aux=None):
    """Eq 6 on the main head, plus DISE's auxiliary head at weight w_seg_aux when the model has one."""
    loss = L.segmentation_loss(logits, translated, label, class_weights)
    if aux_logits is not None:
        loss = loss + cfg.loss.w_seg_aux * L.segmentation_loss(aux_logits, translated_aux, label, class_weights)
    return loss


def generator_losses(model, batch: dict, flags: StepFlags, cfg: Config, class_weights=None, gate=None):
    """Forward pass of the segmentation network, style encoders and generators: every loss term of
    eq 19 that the flags enable, each under its own name and weight. Returns (terms, tensors):
    terms name -> weighted scalar ("seg" eq 6, "zero" eq 5, "zero_trans" eq 8, "rec" eq 11,
    "adv_out", "adv_img", "cycle" eq 10, "st", "seg_ct" eq 18, "style_rec", "style_prior" and "content_rec" beyond the paper;
    `losses.total_loss` adds them as
    eq 19), tensors what the discriminator step needs (and "transfer_fraction" in stage 2).

    batch: source_image [B,3,H,W], source_label [B,H,W], target_image [B,3,H,W]; gate: bool [B]
    (the median gate of content transfer, per source image).
    """
    lc = cfg.loss
    Is, Ys = batch["source_image"], batch["source_label"]
    size = Is.shape[-2:]
    terms: dict[str, torch.Tensor] = {}
    stem_s, content_s, aux_s = model.encode(Is)
    logits_s, aux_logits_s = model.segment(content_s, aux_s, size)
    if flags.mode in ("source_only", "oracle"):
        terms["seg"] = lc.w_seg * _seg_with_aux(logits_s, aux_logits_s, Ys, class_weights, cfg)
        return terms, {"source_logits": logits_s}

    It = batch["target_image"]
    stem_t, content_t, aux_t = model.encode(It)
    logits_t, aux_logits_t = model.segment(content_t, aux_t, size)
    style_stem = _stem_for_style(model, lc.style_trains_stem)
    if not lc.style_trains_stem:
        stem_s, stem_t = style_stem(Is), style_stem(It)     # what the style encoders read below
    style_s = model.style_source(stem_s)                    # Es(Is)
    style_t = model.style_target(stem_t)                    # Et(It)
    gen_content_s, gen_content_t = _content_for_generators(lc, content_s, content_t)
    Is2t = model.gen_target(style_t, gen_content_s)         # eq 1
    It2s = model.gen_source(style_s, gen_content_t)         # eq 2
    Is2s = model.gen_source(style_s, gen_content_s)         # eq 11's reconstructions
    It2t = model.gen_target(style_t, gen_content_t)
    terms["rec"] = lc.w_rec * L.reconstruction_loss(Is2s, Is, It2t, It)
    if lc.w_style_rec > 0:                                   # beyond the paper: codes drawn from N(0, I)
        random_t, random_s = torch.randn_like(style_t), torch.randn_like(style_s)
        read_t = model.style_target(style_stem(model.gen_target(random_t, gen_content_s)))
        read_s = model.style_source(style_stem(model.gen_source(random_s, gen_content_t)))
        terms["style_rec"] = lc.w_style_rec * L.style_reconstruction_loss(read_t, random_t, read_s, random_s)

    if lc.w_style_prior > 0 and len(style_s) > 1:          # beyond the paper: own codes at the prior's scale
        terms["style_prior"] = lc.w_style_prior * (L.style_prior_loss(style_s) + L.style_prior_loss(style_t))

    stem_s2t, content_s2t, aux_s2t = model.encode(Is2t)
    logits_s2t, aux_logits_s2t = model.segment(content_s2t, aux_s2t, size)
    if not lc.style_trains_stem:
        stem_s2t = style_stem(Is2t)
    translated = (logits_s2t, aux_logits_s2t) if lc.seg_on_translated else ()   # false: a diagnostic, Is only
    terms["seg"] = lc.w_seg * _seg_with_aux(logits_s, aux_logits_s, Ys, class_weights, cfg, *translated)
    stem_t2s = content_t2s = None
    if flags.sty:
        terms["zero"] = lc.w_zero * L.zero_loss(model.style_target(stem_s), model.style_source(stem_t))       # eq 5
        stem_t2s = style_stem(It2s)
        terms["zero_trans"] = lc.w_zero_trans * L.zero_trans_loss(model.style_source(stem_s2t),
                                                                  model.style_target(stem_t2s))                # eq 8

    prob_t = F.softmax(logits_t, dim=1)
    terms["adv_out"] = lc.w_adv_out * L.output_adversarial_loss(model.disc_output(prob_t), is_source=True)
    if aux_logits_t is not None and model.disc_output_aux is not None:
        terms["adv_out"] = terms["adv_out"] + lc.w_adv_out_aux * L.output_adversarial_loss(
            model.disc_output_aux(F.softmax(aux_logits_t, dim=1)), is_source=True)
    terms["adv_img"] = lc.w_adv_img * (L.image_adversarial_loss(model.disc_target_image(Is2t), True)
                                       + L.image_adversarial_loss(model.disc_source_image(It2s), True))

    if flags.cyc or lc.w_content_rec > 0:
        if stem_t2s is None:
            stem_t2s = style_stem(It2s)
        stem_for_content = stem_t2s if lc.style_trains_stem else model.stem(It2s)
        content_t2s, _ = model.content_encoder(stem_for_content)
    if lc.w_content_rec > 0:                                 # beyond the paper: a translation keeps the content map
        terms["content_rec"] = lc.w_content_rec * L.content_reconstruction_loss(content_s2t, content_s, content_t2s, content_t)
    if flags.cyc:
        cycle_content_s2t, cycle_content_t2s = _content_for_generators(lc, content_s2t, content_t2s)
        Is2t2s = model.gen_source(model.style_source(stem_t2s), cycle_content_s2t)    # eq 3
        It2s2t = model.gen_target(model.style_target(stem_s2t), cycle_content_t2s)    # eq 4
        terms["cycle"] = lc.w_cycle * L.cycle_loss(Is2t2s, Is, It2s2t, It)      # eq 10

    pseudo_t = None
    if flags.st or flags.in_ct:
        pseudo_t = mpt_pseudo_label(prob_t.detach(), lc.pseudo_quantile, lc.pseudo_cap)  # eq 12
    if flags.st:
        terms["st"] = lc.w_st * L.self_training_loss(logits_t, pseudo_t)

    extras = {}
    if flags.in_ct:
        pasted = Is if lc.in_ct_pixels == "raw" else Is2t.detach()          # raw: beyond the paper (DACS, ClassMix)
        transferred = transfer_batch(pasted, Ys, It, pseudo_t, model.predict, gate=gate,
                                     output_level=flags.out_ct, context_aware=flags.context_ct,
                                     quantile=lc.pseudo_quantile, cap=lc.pseudo_cap, objects=lc.ct_objects)  # eqs 13-17
        ct_weights = class_weights if lc.seg_ct_class_weighted else None
        terms["seg_ct"] = lc.w_seg_ct * L.content_transfer_loss(transferred.logits, transferred.label, ct_weights)  # eq 18
        extras["transfer_fraction"] = transferred.transfer_fraction.detach()
        extras["transfer_diagnostics"] = transferred.diagnostics()

    tensors = {"source_logits": logits_s, "target_logits": logits_t, "source_aux": aux_logits_s,
               "target_aux": aux_logits_t, "s2t": Is2t, "t2s": It2s, **extras}
    return terms, tensors


def discriminator_losses(model, batch: dict, tensors: dict, update_image_d: bool) -> dict[str, torch.Tensor]:
    """D step: the output-space D tells source (1) from target (0) predictions (BCE); the image Ds tell
    real images (1) from translations (0) (LSGAN). Inputs are detached: only D learns here."""
    out = {}
    d_out = (L.output_adversarial_loss(model.disc_output(F.softmax(tensors["source_logits"].detach(), 1)), True)
             + L.output_adversarial_loss(model.disc_output(F.softmax(tensors["target_logits"].detach(), 1)), False))
    if model.disc_output_aux is not None and tensors.get("source_aux") is not None:
        d_out = d_out + (
            L.output_adversarial_loss(model.disc_output_aux(F.softmax(tensors["source_aux"].detach(), 1)), True)
            + L.output_adversarial_loss(model.disc_output_aux(F.softmax(tensors["target_aux"].detach(), 1)), False))
    out["d_out"] = d_out / 2
    if update_image_d:
        out["d_img"] = (L.image_adversarial_loss(model.disc_source_image(batch["source_image"]), True)
                        + L.image_adversarial_loss(model.disc_source_image(tensors["t2s"].detach()), False)
                        + L.image_adversarial_loss(model.disc_target_image(batch["target_image"]), True)
                        + L.image_adversarial_loss(model.disc_target_image(tensors["s2t"].detach()), False)) / 2
    return out


def check_finite(terms: dict, step: int):
    for name, value in terms.items():
        if not torch.isfinite(value.detach()).all():
            raise NonFiniteLossError(f"step {step}: loss term {name!r} is {value.item()} (not finite); "
                                     "training stopped, the last good checkpoint is kept")


def training_step(model, optimizers: dict, batch: dict, step: int, cfg: Config, class_weights=None, gate=None,
                  world_size: int = 1) -> dict[str, float]:
    """One iteration: generator/segmenter update on eq 19 with the discriminators frozen, then the D
    update. Returns each loss term's value under its own name (and transfer_fraction in stage 2)."""
    flags = flags_at(cfg, step)
    uda = flags.mode == "uda"
    autocast = precision_context(cfg.train.amp, batch["source_image"].device)
    discriminators = model.output_discriminators() + model.image_discriminators()
    _requires_grad(discriminators, False)
    for name in ("seg", "gen"):
        optimizers[name].zero_grad(set_to_none=True)
    with autocast:
        terms, tensors = generator_losses(model, batch, flags, cfg, class_weights, gate)
    check_finite(terms, step)
    L.total_loss(terms).backward()                                                   # eq 19
    trained = model.segmentation_modules() + (model.generator_modules() if uda else [])
    if world_size > 1:
        average_gradients(trained, world_size)
    if cfg.optim.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(trainable_parameters(trained), cfg.optim.grad_clip)
    optimizers["seg"].step()
    if uda:
        optimizers["gen"].step()
    _requires_grad(discriminators, True)

    record = {name: float(value.detach()) for name, value in terms.items()}
    if "transfer_fraction" in tensors:
        record["transfer_fraction"] = float(tensors["transfer_fraction"])
        record.update(tensors["transfer_diagnostics"])
    if uda:
        update_image_d = step % cfg.optim.d_img_every == 0
        for name in ("d_out", "d_img"):
            optimizers[name].zero_grad(set_to_none=True)
        with autocast:
            d_losses = discriminator_losses(model, batch, tensors, update_image_d)
        check_finite(d_losses, step)
        sum(d_losses.values()).backward()
        if world_size > 1:
            average_gradients(model.output_discriminators() + (model.image_discriminators() if update_image_d else []),
                              world_size)
        optimizers["d_out"].step()
        if update_image_d:
            optimizers["d_img"].step()
        record.update({name: float(value.detach()) for name, value in d_losses.items()})
    return record
