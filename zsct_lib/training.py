"""Training: one iteration of the paper (generator and discriminator updates), and the loop around it.

Stage 1 trains the UDA part (zero-style loss, cycle consistency, self-training: flags `sty`, `cyc`,
`st`); stage 2 adds content transfer (`in_ct`, `out_ct`). Every random draw of the data pipeline is
seeded by (seed, step), so resuming from a checkpoint gives the same weights as an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
import yaml

from . import losses as L
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .config import Config
from .content_transfer import (align_to_target_ground, median_gate, paste, standing_on_ground, tail_pixel_count,
                               transfer_mask)
from .pseudo import mpt_pseudo_label


class NonFiniteLossError(RuntimeError):
    """A loss term became nan or inf; training stops and the last good checkpoint stays."""


class RunDirectoryError(RuntimeError):
    """`--out` holds another run and neither --resume nor --overwrite was given."""


# ---- flags and schedules ---------------------------------------------------------------------

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
    """Stage 1 (step < iterations): sty, cyc, st (st from loss.st_start); stage 2 adds in_ct, out_ct."""
    stage2 = step >= cfg.train.iterations
    return StepFlags(
        mode=cfg.loss.mode,
        sty=cfg.loss.sty,
        cyc=cfg.loss.cyc,
        st=cfg.loss.st and step >= cfg.loss.st_start,
        in_ct=cfg.loss.in_ct and stage2,
        out_ct=cfg.loss.out_ct and stage2,
        context_ct=cfg.loss.context_ct and stage2,
    )


def total_steps(cfg: Config) -> int:
    return cfg.train.iterations + cfg.train.ct_iterations


def poly_lr(base_lr: float, step: int, cfg: Config) -> float:
    """Poly decay, restarted at the start of stage 2 (a fine-tuning stage, as in the paper)."""
    if step < cfg.train.iterations:
        progress, length = step, cfg.train.iterations
    else:
        progress, length = step - cfg.train.iterations, max(cfg.train.ct_iterations, 1)
    return base_lr * (1.0 - min(progress, length - 1) / length) ** cfg.optim.poly_power


# ---- optimizers ------------------------------------------------------------------------------

def _params(modules):
    return [p for m in modules for p in m.parameters() if p.requires_grad]


def build_optimizers(model, cfg: Config) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per module group (paper): SGD for the segmentation network (heads at
    head_lr_mult), Adam for style encoders and generators, Adam for each discriminator kind."""
    o = cfg.optim
    fused = {"fused": True} if cfg.train.fused_optim else {}
    head = _params([model.segmenter])
    body = _params([model.stem, model.content_encoder])
    optimizers = {
        "seg": torch.optim.SGD([{"params": body, "lr_mult": 1.0}, {"params": head, "lr_mult": o.head_lr_mult}],
                               lr=o.seg_lr, momentum=o.seg_momentum, weight_decay=o.weight_decay, **fused),
        "gen": torch.optim.Adam(_params(model.generator_modules()), lr=o.gen_lr, betas=(o.gen_beta1, o.gen_beta2), **fused),
        "d_out": torch.optim.Adam(_params(model.output_discriminators()), lr=o.d_out_lr,
                                  betas=(o.d_out_beta1, o.d_out_beta2), **fused),
        "d_img": torch.optim.Adam(_params(model.image_discriminators()), lr=o.d_img_lr,
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


def _requires_grad(modules, flag: bool):
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(flag)


# ---- one iteration ---------------------------------------------------------------------------

def _seg_with_aux(logits, aux_logits, label, class_weights, cfg: Config, translated=None, translated_aux=None):
    """Eq 6 on the main head, plus DISE's auxiliary head at weight w_seg_aux when the model has one."""
    loss = L.segmentation_loss(logits, translated, label, class_weights)
    if aux_logits is not None:
        loss = loss + cfg.loss.w_seg_aux * L.segmentation_loss(aux_logits, translated_aux, label, class_weights)
    return loss


def generator_losses(model, batch: dict, flags: StepFlags, cfg: Config, class_weights=None, gate=None):
    """Forward pass of the segmentation network, style encoders and generators: every loss term of
    eq 19 that the flags enable. Returns (losses: name -> weighted scalar, tensors for the D step).

    batch: source_image [B,3,H,W], source_label [B,H,W], target_image [B,3,H,W]; gate: bool [B]
    (the median gate of content transfer, per source image).
    """
    lc = cfg.loss
    Is, Ys = batch["source_image"], batch["source_label"]
    size = Is.shape[-2:]
    losses: dict[str, torch.Tensor] = {}
    stem_s, content_s, aux_s = model.encode(Is)
    logits_s, aux_logits_s = model.segment(content_s, aux_s, size)
    if flags.mode in ("source_only", "oracle"):
        losses["seg"] = lc.w_seg * _seg_with_aux(logits_s, aux_logits_s, Ys, class_weights, cfg)
        return losses, {"source_logits": logits_s}

    It = batch["target_image"]
    stem_t, content_t, aux_t = model.encode(It)
    logits_t, aux_logits_t = model.segment(content_t, aux_t, size)
    style_s = model.style_source(stem_s)                    # Es(Is)
    style_t = model.style_target(stem_t)                    # Et(It)
    Is2t = model.gen_target(style_t, content_s)             # eq 1
    It2s = model.gen_source(style_s, content_t)             # eq 2
    Is2s = model.gen_source(style_s, content_s)             # eq 11's reconstructions
    It2t = model.gen_target(style_t, content_t)
    losses["rec"] = lc.w_rec * L.reconstruction_loss(Is2s, Is, It2t, It)

    stem_s2t, content_s2t, aux_s2t = model.encode(Is2t)
    logits_s2t, aux_logits_s2t = model.segment(content_s2t, aux_s2t, size)
    l_seg = lc.w_seg * _seg_with_aux(logits_s, aux_logits_s, Ys, class_weights, cfg, logits_s2t, aux_logits_s2t)
    stem_t2s = content_t2s = None
    if flags.sty:
        l_zero = L.zero_loss(model.style_target(stem_s), model.style_source(stem_t))          # eq 5
        stem_t2s = model.stem(It2s)
        l_zero_trans = L.zero_trans_loss(model.style_source(stem_s2t), model.style_target(stem_t2s))  # eq 8
        losses["zero_style"] = L.zero_style_loss(lc.w_zero * l_zero, lc.w_zero_trans * l_zero_trans, l_seg)  # eq 9
    else:
        losses["seg"] = l_seg

    prob_t = F.softmax(logits_t, dim=1)
    losses["adv_out"] = lc.w_adv_out * L.output_adversarial_loss(model.disc_output(prob_t), is_source=True)
    if aux_logits_t is not None and model.disc_output_aux is not None:
        losses["adv_out"] = losses["adv_out"] + lc.w_adv_out_aux * L.output_adversarial_loss(
            model.disc_output_aux(F.softmax(aux_logits_t, dim=1)), is_source=True)
    losses["adv_img"] = lc.w_adv_img * (L.image_adversarial_loss(model.disc_target_image(Is2t), True)
                                        + L.image_adversarial_loss(model.disc_source_image(It2s), True))

    if flags.cyc:
        if stem_t2s is None:
            stem_t2s = model.stem(It2s)
        content_t2s, _ = model.content_encoder(stem_t2s)
        Is2t2s = model.gen_source(model.style_source(stem_t2s), content_s2t)    # eq 3
        It2s2t = model.gen_target(model.style_target(stem_s2t), content_t2s)    # eq 4
        losses["cycle"] = lc.w_cycle * L.cycle_loss(Is2t2s, Is, It2s2t, It)     # eq 10

    pseudo_t = None
    if flags.st or flags.in_ct:
        pseudo_t = mpt_pseudo_label(prob_t.detach(), lc.pseudo_quantile, lc.pseudo_cap)  # eq 12
    if flags.st:
        losses["st"] = lc.w_st * L.self_training_loss(logits_t, pseudo_t)

    extras = {}
    if flags.in_ct:
        source_content, source_label = Is2t.detach(), Ys
        if flags.context_ct:
            source_content, source_label, _ = align_to_target_ground(source_content, source_label, pseudo_t)
        mask = transfer_mask(source_label, pseudo_t)                                  # eqs 13-15
        if gate is not None:
            mask &= gate.view(-1, 1, 1)
        if flags.context_ct:
            mask &= standing_on_ground(mask, pseudo_t).view(-1, 1, 1)
        It_ct = paste(mask, source_content, It)                                      # eq 16
        logits_ct = model.predict(It_ct)
        label_ct = mpt_pseudo_label(F.softmax(logits_ct, dim=1).detach(), lc.pseudo_quantile, lc.pseudo_cap)
        if flags.out_ct:
            label_ct = paste(mask, source_label, label_ct)                           # eq 17
        losses["seg_ct"] = lc.w_seg_ct * L.content_transfer_loss(logits_ct, label_ct)  # eq 18
        extras["transfer_fraction"] = mask.float().mean().detach()

    tensors = {"source_logits": logits_s, "target_logits": logits_t, "source_aux": aux_logits_s,
               "target_aux": aux_logits_t, "s2t": Is2t, "t2s": It2s, **extras}
    return losses, tensors


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


def _check_finite(losses: dict, step: int):
    for name, value in losses.items():
        if not torch.isfinite(value.detach()).all():
            raise NonFiniteLossError(f"step {step}: loss term {name!r} is {value.item()} (not finite); "
                                     "training stopped, the last good checkpoint is kept")


def _average_gradients(modules, world_size: int):
    """Data-parallel arithmetic of DistributedDataParallel: sum gradients over ranks, divide by world size."""
    grads = [p.grad for m in modules for p in m.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def training_step(model, optimizers: dict, batch: dict, step: int, cfg: Config, class_weights=None, gate=None,
                  world_size: int = 1) -> dict[str, float]:
    """One iteration: generator/segmenter update with the discriminators frozen, then the D update."""
    flags = flags_at(cfg, step)
    uda = flags.mode == "uda"
    autocast = (torch.autocast(device_type=batch["source_image"].device.type, dtype=torch.bfloat16)
                if cfg.train.amp == "bf16" else contextlib.nullcontext())
    discriminators = model.output_discriminators() + model.image_discriminators()
    _requires_grad(discriminators, False)
    for name in ("seg", "gen"):
        optimizers[name].zero_grad(set_to_none=True)
    with autocast:
        losses, tensors = generator_losses(model, batch, flags, cfg, class_weights, gate)
    _check_finite(losses, step)
    sum(losses.values()).backward()
    trained = model.segmentation_modules() + (model.generator_modules() if uda else [])
    if world_size > 1:
        _average_gradients(trained, world_size)
    if cfg.optim.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(_params(trained), cfg.optim.grad_clip)
    optimizers["seg"].step()
    if uda:
        optimizers["gen"].step()
    _requires_grad(discriminators, True)

    record = {name: float(value.detach()) for name, value in losses.items()}
    if "transfer_fraction" in tensors:
        record["transfer_fraction"] = float(tensors["transfer_fraction"])
    if uda:
        update_image_d = step % cfg.optim.d_img_every == 0
        for name in ("d_out", "d_img"):
            optimizers[name].zero_grad(set_to_none=True)
        with autocast:
            d_losses = discriminator_losses(model, batch, tensors, update_image_d)
        _check_finite(d_losses, step)
        sum(d_losses.values()).backward()
        if world_size > 1:
            _average_gradients(model.output_discriminators() + (model.image_discriminators() if update_image_d else []),
                               world_size)
        optimizers["d_out"].step()
        if update_image_d:
            optimizers["d_img"].step()
        record.update({name: float(value.detach()) for name, value in d_losses.items()})
    return record


# ---- data: seeded, resumable sampling ---------------------------------------------------------

def sample_seed(seed: int, stream: int, position: int, kind: int = 0) -> int:
    """A 63-bit seed fixed by (run seed, data stream, position in the stream, kind): kind 0 seeds one
    sample's augmentation, kind 1 the permutation of epoch `position`."""
    return int(np.random.SeedSequence([seed, stream, kind, position]).generate_state(2, dtype=np.uint32).astype(np.uint64)
               .dot(np.array([1, 2**32], dtype=np.uint64)) % (2**63))


class StepBatchSampler(torch.utils.data.Sampler):
    """Yields, for every training step from `start_step` on, this rank's part of the global batch as
    (dataset index, sample seed) pairs. Epoch e draws a permutation seeded by (seed, stream, e), so
    the batch at step k is the same whether the run was interrupted or not, on any number of ranks."""

    def __init__(self, dataset_size: int, batch_size: int, seed: int, stream: int, start_step: int = 0,
                 rank: int = 0, world_size: int = 1):
        super().__init__()
        self.n, self.batch_size, self.seed, self.stream = dataset_size, batch_size, seed, stream
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self._permutations: dict[int, torch.Tensor] = {}

    def _index(self, position: int) -> int:
        epoch, offset = divmod(position, self.n)
        if epoch not in self._permutations:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.stream, epoch, kind=1))
            self._permutations = {epoch: torch.randperm(self.n, generator=generator)}
        return int(self._permutations[epoch][offset])

    def __iter__(self):
        step, global_batch = self.start_step, self.batch_size * self.world_size
        while True:
            first = step * global_batch + self.rank * self.batch_size
            yield [(self._index(p), sample_seed(self.seed, self.stream, p)) for p in range(first, first + self.batch_size)]
            step += 1


class SeededSamples(torch.utils.data.Dataset):
    """Wraps a dataset: item (index, seed) -> transform(dataset[index]) drawn under torch.manual_seed(seed).

    Returns (image, label, index) for labelled datasets and (image, index) for unlabelled ones.
    """

    def __init__(self, dataset, transform=None):
        self.dataset, self.transform = dataset, transform

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            item = self.dataset[index]
            image, label = (item, None) if isinstance(item, torch.Tensor) else item
            if self.transform is not None:
                image, label = self.transform(image, label)
        return (image, index) if label is None else (image, label, index)


def make_loader(dataset, cfg: Config, stream: int, start_step: int, rank: int = 0, world_size: int = 1,
                transform=None):
    sampler = StepBatchSampler(len(dataset), cfg.train.batch_size, cfg.train.seed, stream, start_step, rank, world_size)
    return torch.utils.data.DataLoader(SeededSamples(dataset, transform), batch_sampler=sampler,
                                       num_workers=cfg.data.num_workers, pin_memory=cfg.train.pin_memory,
                                       persistent_workers=cfg.data.num_workers > 0)


# ---- source statistics: class-balanced weights and the median gate ----------------------------

def source_statistics(dataset, num_classes: int, cache_file: Path | None = None) -> dict:
    """Per-class pixel counts (for eq 7's class-balanced weights) and per-image transferable tail-pixel
    counts (for the median gate) over the whole source set, computed once and cached as JSON."""
    if cache_file is not None and cache_file.is_file():
        cached = json.loads(cache_file.read_text())
        if cached.get("size") == len(dataset):
            return cached
    class_counts = np.zeros(num_classes, dtype=np.int64)
    tail_counts = []
    label_of = getattr(dataset, "label", None) or (lambda i: dataset[i][1])
    for i in range(len(dataset)):
        label = torch.as_tensor(label_of(i)).long()
        valid = label[label < num_classes]
        class_counts += np.bincount(valid.flatten().numpy(), minlength=num_classes)[:num_classes]
        tail_counts.append(int(tail_pixel_count(label.unsqueeze(0))[0]))
    stats = {"size": len(dataset), "class_pixels": class_counts.tolist(), "tail_pixels": tail_counts}
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats))
        os.replace(tmp, cache_file)
    return stats


# ---- the run ----------------------------------------------------------------------------------

RUN_FILES = ("config.yaml", "checkpoint.pt", "stage1.pt", "metrics.jsonl", "eval.json", "source_stats.json")


def prepare_run_dir(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to write into a folder that holds another run unless --resume or --overwrite says so."""
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not (resume or overwrite):
        raise RunDirectoryError(f"--out {out} already holds a run ({', '.join(existing)}); "
                                "pass --resume to continue it or --overwrite to replace it")
    if overwrite and not resume:
        for name in existing:
            (out / name).unlink()
    out.mkdir(parents=True, exist_ok=True)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def distributed_context():
    """(rank, world_size, local_rank) from torchrun's environment; initialises the process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if world_size > 1 else 0
    return rank, world_size, int(os.environ.get("LOCAL_RANK", "0"))


def _append_jsonl(path: Path, record: dict):
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _truncate_metrics(path: Path, step: int):
    """On resume, drop metric lines written after the checkpoint (they will be written again)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line).get("step", -1) <= step]
    path.write_text("".join(line + "\n" for line in kept))


def _stack_batch(source_batch, target_batch, device, non_blocking=False) -> dict:
    batch = {"source_image": source_batch[0].to(device, non_blocking=non_blocking),
             "source_label": source_batch[1].to(device, non_blocking=non_blocking),
             "source_index": source_batch[2]}
    if target_batch is not None:
        batch["target_image"] = target_batch[0].to(device, non_blocking=non_blocking)
    return batch


def train(cfg: Config, out: str | Path, resume: bool = False, overwrite: bool = False, init_from: str | None = None,
          progress: bool = True, max_steps: int | None = None) -> dict:
    """Train a config into the run folder `out`: config.yaml, checkpoint.pt (latest), stage1.pt (end of
    stage 1), metrics.jsonl, eval.json. Returns the final evaluation.

    resume: continue from out/checkpoint.pt. init_from: start from another run's checkpoint (weights,
    optimizers and step), e.g. a shared stage-1 checkpoint. max_steps: stop early after this step
    (for tests of interruption).
    """
    from tqdm.auto import tqdm

    from .data import build_datasets, joint_transform
    from .evaluation import evaluate
    from .models import build_model

    out = Path(out)
    rank, world_size, local_rank = distributed_context()
    if rank == 0:
        prepare_run_dir(out, resume, overwrite)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", local_rank)
    if cfg.train.tf32:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.train.seed)
    if cfg.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False

    source_train, target_train, target_val = build_datasets(cfg.data, oracle=cfg.loss.mode == "oracle")
    model = build_model(cfg.model).to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizers = build_optimizers(model, cfg)

    start_step = 0
    if resume and (out / "checkpoint.pt").exists():
        start_step = load_checkpoint(out / "checkpoint.pt", model, optimizers)["step"]
    elif init_from:
        start_step = load_checkpoint(init_from, model, optimizers)["step"]
    elif cfg.train.init_checkpoint:
        load_checkpoint(cfg.train.init_checkpoint, model)  # weights only: a fresh schedule from step 0
    if rank == 0:
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        _truncate_metrics(out / "metrics.jsonl", start_step)

    # every rank computes the same statistics; only rank 0 writes the cache file
    stats = source_statistics(source_train, cfg.model.num_classes, out / "source_stats.json" if rank == 0 else None)
    class_weights = L.class_balanced_weights(stats["class_pixels"], cfg.loss.class_balance_beta).to(device)
    _, gate_by_index = median_gate(stats["tail_pixels"])
    gate_by_index = torch.as_tensor(gate_by_index)

    transform = joint_transform(cfg.data)
    source_loader = iter(make_loader(source_train, cfg, 0, start_step, rank, world_size, transform))
    target_loader = (iter(make_loader(target_train, cfg, 1, start_step, rank, world_size, transform))
                     if cfg.loss.mode == "uda" else None)
    val_loader = torch.utils.data.DataLoader(target_val, batch_size=cfg.eval.batch_size, shuffle=False)

    end = total_steps(cfg) if max_steps is None else min(max_steps, total_steps(cfg))
    model.train()
    metrics_path = out / "metrics.jsonl"
    started = time.perf_counter()
    bar = tqdm(range(start_step, end), initial=start_step, total=total_steps(cfg), desc="train",
               disable=not progress or rank != 0)
    for step in bar:
        lr = set_learning_rates(optimizers, step, cfg)
        source_batch = next(source_loader)
        target_batch = next(target_loader) if target_loader is not None else None
        batch = _stack_batch(source_batch, target_batch, device, non_blocking=cfg.train.pin_memory)
        gate = gate_by_index[batch["source_index"]].to(device)
        record = training_step(model, optimizers, batch, step, cfg, class_weights, gate, world_size)
        done = step + 1
        if rank == 0 and (done % cfg.train.log_every == 0 or done == end):
            record.update(step=done, stage=1 if step < cfg.train.iterations else 2, lr=lr,
                          seconds=round(time.perf_counter() - started, 3))
            _append_jsonl(metrics_path, record)
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k in ("seg", "zero_style", "st", "seg_ct")})
        if rank == 0 and done == cfg.train.iterations and cfg.train.ct_iterations > 0:
            save_checkpoint(out / "stage1.pt", model, optimizers, done, cfg.to_dict())
        if rank == 0 and (done % cfg.train.checkpoint_every == 0 or done == end):
            save_checkpoint(out / "checkpoint.pt", model, optimizers, done, cfg.to_dict())
        if cfg.train.eval_every and done % cfg.train.eval_every == 0 and done != end:
            result = evaluate(model, val_loader, cfg.model.num_classes, cfg.eval.protocol, device, cfg.eval.max_images)
            if rank == 0:
                _append_jsonl(metrics_path, {"step": done, "eval_miou": result["miou"], "eval_miou_tail": result["miou_tail"]})
    if world_size > 1:
        dist.barrier()
    result = evaluate(model, val_loader, cfg.model.num_classes, cfg.eval.protocol, device, cfg.eval.max_images)
    result.update(step=end, config=cfg.to_dict())
    if rank == 0:
        tmp = out / "eval.json.tmp"
        tmp.write_text(json.dumps(result, indent=2))
        os.replace(tmp, out / "eval.json")
    return result
