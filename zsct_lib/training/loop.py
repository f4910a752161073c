"""The run: a config trained into a run folder, resumable from its checkpoint (`train`).

The folder policy (refuse to overwrite another run), the loop over steps with logging, checkpoints
and periodic evaluation, and the final evaluation. Every random draw of the data pipeline is seeded by
(seed, step), so resuming from a checkpoint gives the same weights as an uninterrupted run.
"""
from __future__ import annotations

import copy
import json
import os
import sys
import time
from pathlib import Path

import torch
import yaml

from .. import losses as L
from ..checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ..config import Config, ConfigError, flatten_config
from ..paths import resolve_checkpoint_path
from ..content_transfer import median_gate
from .distributed import barrier, distributed_context
from .precision import resolve_amp
from .sampling import make_loader, stack_batch
from .schedule import build_optimizers, set_learning_rates, total_steps
from .step import training_step


class RunDirectoryError(RuntimeError):
    """`--out` holds another run and neither --resume nor --overwrite was given."""


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


def _append_jsonl(path: Path, record: dict):
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def read_metrics(path, kind: str = "train") -> list[dict]:
    """The records of a run's metrics.jsonl of one kind: "train" (a logged step: its loss terms, lr,
    stage, seconds), "eval" (periodic evaluation: eval_miou, ...) or "pseudo_labels" (pseudo labels
    scored at a stage's end)."""
    key = {"train": "lr", "eval": "eval_miou", "pseudo_labels": "pseudo_labels"}[kind]
    records = (json.loads(line) for line in Path(path).read_text().splitlines() if line.strip())
    return [record for record in records if key in record]


def _truncate_metrics(path: Path, step: int):
    """On resume, drop metric lines written after the checkpoint (they will be written again)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line).get("step", -1) <= step]
    path.write_text("".join(line + "\n" for line in kept))


def _logged_seconds(path: Path) -> float:
    """The training seconds of the last line of metrics.jsonl (0 for a new run): a resumed run's clock goes
    on from where its checkpoint's step logged it, so that a run's last line is its whole training time."""
    if not path.exists():
        return 0.0
    logged = [json.loads(line).get("seconds") for line in path.read_text().splitlines() if line]
    return next((s for s in reversed(logged) if s is not None), 0.0)


COMPILED_MODULES = ("stem", "content_encoder", "segmenter", "gen_source", "gen_target")

# Config keys a resumed run cannot take new values for: the weights, the data stream and the
# meaning of a step are fixed by the checkpoint. Every other key (rates, loss weights and flags,
# schedule length, logging) applies from the resumed step on.
FIXED_ON_RESUME = ("model.", "data.", "train.seed", "train.batch_size", "loss.mode")
NOT_A_CHANGE_ON_RESUME = ("data.num_workers", "model.init_weights", "train.init_checkpoint")
OPTIMIZER_HYPER_PARAMETERS = ("base_lr", "momentum", "weight_decay", "betas")


def resume_changes(saved: dict, current: dict) -> dict[str, tuple]:
    """Keys whose value differs between a checkpoint's config and the config of its resumption:
    key -> (saved, current). Raises ConfigError, naming them, for keys in FIXED_ON_RESUME."""
    old, new = flatten_config(saved), flatten_config(current)
    changes = {key: (old.get(key), new[key]) for key in new
               if key in old and old[key] != new[key] and key not in NOT_A_CHANGE_ON_RESUME}
    fixed = [key for key in changes if key.startswith(FIXED_ON_RESUME)]
    if fixed:
        listed = ", ".join(f"{key} {changes[key][0]!r} -> {changes[key][1]!r}" for key in fixed)
        raise ConfigError(f"--resume: {listed} cannot change within a run (the checkpoint's weights and data "
                          "stream depend on it); start a new --out instead")
    return changes


# What content transfer gave the model at a step (`content_transfer.TransferredBatch.diagnostics`).
TRANSFER_KEYS = ("transfer_fraction", "pasted_pixels", "pasted_recognised", "pasted_ignored", "pasted_right",
                 "pasted_other_tail", "pasted_head")


def mean_transfer(records: list[dict]) -> dict:
    """Records of TRANSFER_KEYS (one per step or per logged line) averaged: the share and the number of
    pasted pixels per batch as plain means, the shares among pasted pixels weighted by how many were
    pasted (None when nothing was)."""
    pixels = sum(r["pasted_pixels"] for r in records)
    out = {"transfer_fraction": sum(r["transfer_fraction"] for r in records) / len(records),
           "pasted_pixels": pixels / len(records)}
    for key in TRANSFER_KEYS[2:]:
        weighted = [(r[key], r["pasted_pixels"]) for r in records if r["pasted_pixels"] > 0 and r[key] == r[key]]
        out[key] = (sum(v * n for v, n in weighted) / sum(n for _, n in weighted)) if weighted else None
    return out


def paper_source(data) -> str:
    """The paper's source set that a run's source stands for: GTA5 or SYNTHIA (the embedded
    benchmark's variants by their names)."""
    if data.source in L.PAPER_SOURCE_PIXELS:
        return data.source
    return "gta5" if data.benchmark == "gta_like" else "synthia"


def source_class_weights(class_pixels, cfg: Config) -> torch.Tensor:
    """Eq 7's class-balanced weights [K] from the source set's pixel counts [K]: counted at the paper's
    scale (`losses.paper_scale_counts`, near-equal weights) unless loss.class_balance_counts=dataset."""
    counts = class_pixels
    if cfg.loss.class_balance_counts == "paper_scale":
        counts = L.paper_scale_counts(class_pixels, paper_source(cfg.data))
    return L.class_balanced_weights(counts, cfg.loss.class_balance_beta)


def prepare_model(model, cfg: Config):
    """The speed options that change the model itself: channels-last memory format, and torch.compile
    of the modules every step runs several times (in place, so checkpoints keep their keys)."""
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if cfg.train.compile:
        for name in COMPILED_MODULES:
            getattr(model, name).compile()
    return model


def train(cfg: Config, out: str | Path, resume: bool = False, overwrite: bool = False, init_from: str | None = None,
          progress: bool = True, max_steps: int | None = None) -> dict:
    """Train a config into the run folder `out`: config.yaml, checkpoint.pt (latest), stage1.pt (end of
    stage 1), metrics.jsonl, eval.json. Returns the final evaluation.

    resume: continue from out/checkpoint.pt. init_from: start from another run's checkpoint (weights,
    optimizers and step), e.g. a shared stage-1 checkpoint. max_steps: stop early after this step
    (for tests of interruption).
    """
    from tqdm.auto import tqdm

    from ..data import build_datasets, joint_transform
    from ..data.build import labelled_target_train
    from ..data.stats import source_statistics
    from ..evaluation import evaluate, pseudo_label_diagnostics
    from ..models import build_model, describe_input

    cfg = copy.deepcopy(cfg)                  # the run resolves train.amp in its own copy
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
    cfg.train.amp, why = resolve_amp(cfg.train.amp, device)       # config.yaml records what the run used
    if rank == 0 and progress:
        print(f"precision: {cfg.train.amp} ({why})", flush=True)
    if rank == 0 and cfg.model.freeze_bn and not (cfg.model.init_weights or cfg.train.init_checkpoint or resume or init_from):
        print("warning: model.freeze_bn=true without model.init_weights: every batch norm stays at the statistics "
              "of a random initialisation, and the losses usually turn nan within a few steps; give "
              "model.init_weights=PATH (a DeepLab-v2 or torchvision ResNet-101 state dict) or "
              "--set model.freeze_bn=false", file=sys.stderr, flush=True)
    torch.manual_seed(cfg.train.seed)
    if cfg.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False

    source_train, target_train, target_val = build_datasets(cfg.data, oracle=cfg.loss.mode == "oracle")
    model = prepare_model(build_model(cfg.model).to(device), cfg)
    if rank == 0 and progress and cfg.model.preset != "tiny":
        print("\n".join(describe_input(model)), flush=True)
    optimizers = build_optimizers(model, cfg)

    start_step = 0
    if resume and (out / "checkpoint.pt").exists():
        configured = {name: [{k: group[k] for k in OPTIMIZER_HYPER_PARAMETERS if k in group} for group in opt.param_groups]
                      for name, opt in optimizers.items()}
        state = read_checkpoint(out / "checkpoint.pt")
        changes = resume_changes(state["config"], cfg.to_dict())      # refuses before any weight is loaded
        start_step = load_checkpoint(out / "checkpoint.pt", model, optimizers, state=state)["step"]
        for name, opt in optimizers.items():        # the config's rates, not the checkpoint's
            for group, values in zip(opt.param_groups, configured[name]):
                group.update(values)
        if rank == 0 and progress:
            for key, (old, new) in changes.items():
                print(f"resume: {key} changed from {old!r} to {new!r}, applied from step {start_step}", flush=True)
    elif init_from:
        start_step = load_checkpoint(init_from, model, optimizers)["step"]
    elif cfg.train.init_checkpoint:
        load_checkpoint(resolve_checkpoint_path(cfg.train.init_checkpoint), model)  # weights only: a fresh schedule from step 0
    if rank == 0:
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        _truncate_metrics(out / "metrics.jsonl", start_step)

    # every rank computes the same statistics; only rank 0 writes the cache file
    stats = source_statistics(source_train, cfg.model.num_classes, out / "source_stats.json" if rank == 0 else None)
    class_weights = source_class_weights(stats["class_pixels"], cfg).to(device)
    _, gate_by_index = median_gate(stats["tail_pixels"])
    gate_by_index = torch.as_tensor(gate_by_index)

    transform = joint_transform(cfg.data)
    source_loader = iter(make_loader(source_train, cfg, 0, start_step, rank, world_size, transform, source_stats=stats))
    target_loader = (iter(make_loader(target_train, cfg, 1, start_step, rank, world_size, transform))
                     if cfg.loss.mode == "uda" else None)
    val_loader = torch.utils.data.DataLoader(target_val, batch_size=cfg.eval.batch_size, shuffle=False)
    diagnosis_loader = None
    if cfg.eval.pseudo_label_images > 0 and rank == 0:
        try:
            diagnosis_loader = torch.utils.data.DataLoader(labelled_target_train(cfg.data, cfg.eval.pseudo_label_images),
                                                           batch_size=cfg.eval.batch_size, shuffle=False)
        except (OSError, ValueError) as error:      # a Cityscapes tree without train labels: no diagnosis
            print(f"pseudo-label diagnostics off: {error}", file=sys.stderr, flush=True)

    def diagnose_pseudo_labels(done: int) -> dict | None:
        """Eq 12's pseudo labels of the current model scored on labelled target training images (for
        diagnosis only), logged to metrics.jsonl under "pseudo_labels"."""
        if diagnosis_loader is None:
            return None
        quality = pseudo_label_diagnostics(model, diagnosis_loader, cfg.model.num_classes, cfg.loss.pseudo_quantile,
                                           cfg.loss.pseudo_cap, device, cfg.eval.pseudo_label_images, cfg.eval.protocol)
        _append_jsonl(metrics_path, {"step": done, "pseudo_labels": quality})
        return quality

    end = total_steps(cfg) if max_steps is None else min(max_steps, total_steps(cfg))
    model.train()
    metrics_path = out / "metrics.jsonl"
    started = time.perf_counter() - _logged_seconds(metrics_path)
    transfer_records: list[dict] = []
    bar = tqdm(range(start_step, end), initial=start_step, total=total_steps(cfg), desc="train",
               disable=not progress or rank != 0)
    for step in bar:
        lr = set_learning_rates(optimizers, step, cfg)
        source_batch = next(source_loader)
        target_batch = next(target_loader) if target_loader is not None else None
        batch = stack_batch(source_batch, target_batch, device, non_blocking=cfg.train.pin_memory)
        gate = gate_by_index[batch["source_index"]].to(device)
        record = training_step(model, optimizers, batch, step, cfg, class_weights, gate, world_size)
        if "transfer_fraction" in record:
            transfer_records.append({key: record[key] for key in TRANSFER_KEYS})
        done = step + 1
        if rank == 0 and (done % cfg.train.log_every == 0 or done == end):
            record.update(step=done, stage=1 if step < cfg.train.iterations else 2, lr=lr,
                          seconds=round(time.perf_counter() - started, 3))
            if transfer_records:         # what was pasted over the steps since the last line
                record.update(mean_transfer(transfer_records))
                transfer_records.clear()
            _append_jsonl(metrics_path, record)
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k in ("seg", "zero", "st", "seg_ct")})
        if rank == 0 and done == cfg.train.iterations and cfg.train.ct_iterations > 0:
            diagnose_pseudo_labels(done)
            save_checkpoint(out / "stage1.pt", model, optimizers, done, cfg.to_dict())
        if rank == 0 and (done % cfg.train.checkpoint_every == 0 or done == end):
            save_checkpoint(out / "checkpoint.pt", model, optimizers, done, cfg.to_dict())
        if cfg.train.eval_every and done % cfg.train.eval_every == 0 and done != end:
            result = evaluate(model, val_loader, cfg.model.num_classes, cfg.eval.protocol, device, cfg.eval.max_images)
            if rank == 0:
                _append_jsonl(metrics_path, {"step": done, "eval_miou": result["miou"], "eval_miou_tail": result["miou_tail"],
                                             "eval_per_class": result["per_class"]})
    barrier(world_size)
    result = evaluate(model, val_loader, cfg.model.num_classes, cfg.eval.protocol, device, cfg.eval.max_images)
    result.update(step=end, config=cfg.to_dict())
    if rank == 0:
        result["pseudo_labels"] = diagnose_pseudo_labels(end)
        stage1 = [r for r in read_metrics(metrics_path, "pseudo_labels")
                  if r["step"] == cfg.train.iterations and cfg.train.ct_iterations > 0]
        if stage1:
            result["pseudo_labels_stage1"] = stage1[-1]["pseudo_labels"]
        transferred = [r for r in read_metrics(metrics_path) if r.get("stage") == 2 and "pasted_pixels" in r]
        if transferred:
            result["transfer"] = mean_transfer(transferred)
        tmp = out / "eval.json.tmp"
        tmp.write_text(json.dumps(result, indent=2))
        os.replace(tmp, out / "eval.json")
    return result
