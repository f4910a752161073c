"""The DISE stage: the starting model of the method, trained once per benchmark variant and seed.

The paper starts every row of its ablation from DISE's trained weights: a segmenter trained on the
labelled source, and generators that translate. `pretrain` trains that start on the embedded
benchmark (source segmentation on Is and Is2t, reconstruction, output-space and image adversarial
terms: the UDA step with cycle, self-training and content transfer off; the zero-style loss as the
config says, on in `configs/dise_stage*.yaml` so that the shipped style encoders separate the
domains, off with `--set loss.sty=false` for DISE alone) and
keeps, per seed, a weights-only checkpoint in half precision (`model.pt`), its config, metrics,
evaluation, style measurements and training time. A finished seed is kept; an interrupted one
resumes from its checkpoint. With `jobs` > 1 (`zsct pretrain --jobs N`) the seeds train N at a time,
each in its own process on one CPU thread. With `source_only_iterations` (`zsct pretrain --source-only
N`) a first phase trains the segmentation network alone on the source, and the DISE stage starts from
it.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from ..checkpoint import export_weights
from ..config import load_config

# The loss terms of the DISE stage: the UDA step with the paper's cycle, self-training and content
# transfer switched off (the zero-style loss is left to the config).
DISE_STAGE = ("loss.mode=uda", "loss.cyc=false", "loss.st=false", "loss.in_ct=false",
              "loss.out_ct=false", "train.ct_iterations=0", "train.eval_every=0")


def pretrain_seed(config: str, out: Path, seed: int, overrides=(), source_only_iterations: int = 0,
                  threads: int = 0, progress: bool = True) -> dict:
    """Train (or resume, or keep) the DISE stage of one seed in `out`; returns its summary.

    threads > 0: the training's CPU threads (train.threads), left out of the summary's overrides since
    it does not change what the seed learns.

    source_only_iterations > 0: a first phase trains the segmentation network alone on the labelled
    source for that many iterations (out/source_only), and the DISE stage starts from its weights
    with a fresh schedule; a finished first phase is kept, its checkpoint removed at the end."""
    from ..checkpoint import load_checkpoint
    from ..evaluation import benchmark_style_measurements
    from ..models import build_model
    from ..training import train

    summary_file = out / "pretrain.json"
    if summary_file.is_file() and (out / "model.pt").is_file():
        return json.loads(summary_file.read_text())
    stage = [*DISE_STAGE, f"train.seed={seed}", *overrides, *([f"train.threads={threads}"] if threads > 0 else [])]
    first_phase = out / "source_only"
    started = time.perf_counter()
    if source_only_iterations > 0:
        if not (first_phase / "eval.json").is_file():
            phase_cfg = load_config(config, [*stage, "loss.mode=source_only", f"train.iterations={source_only_iterations}"])
            train(phase_cfg, first_phase, resume=(first_phase / "checkpoint.pt").is_file(), overwrite=True,
                  progress=progress)
        stage.append(f"train.init_checkpoint={first_phase / 'checkpoint.pt'}")
    cfg = load_config(config, stage)
    resumed = (out / "checkpoint.pt").is_file()
    result = train(cfg, out, resume=resumed, overwrite=True, progress=progress)
    seconds = time.perf_counter() - started
    export_weights(out / "checkpoint.pt", out / "model.pt", half=True)
    model = build_model(cfg.model)
    load_checkpoint(out / "model.pt", model)
    summary = {"seed": seed, "config": config, "overrides": list(overrides), "iterations": cfg.train.iterations,
               "source_only_iterations": source_only_iterations,
               "train_seconds": round(seconds, 1), "resumed": resumed, "threads": torch.get_num_threads(),
               "precision": result["config"]["train"]["amp"],
               "miou": result["miou"], "miou_tail": result["miou_tail"],
               "style": benchmark_style_measurements(model, cfg.data)}
    tmp = summary_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, summary_file)
    (out / "checkpoint.pt").unlink()              # the weights-only model.pt is what is kept
    (first_phase / "checkpoint.pt").unlink(missing_ok=True)
    return summary


def pretrain(config: str, out, seeds: int = 3, overrides=(), source_only_iterations: int = 0,
             jobs: int = 1) -> list[dict]:
    """The DISE stage of `config` for seeds 0..seeds-1 under out/seed<k> (see `pretrain_seed`), in seed
    order; jobs > 1: that many seeds at a time, each in its own process on one thread, without bars."""
    out = Path(out)
    if jobs <= 1 or seeds == 1:
        return [pretrain_seed(config, out / f"seed{seed}", seed, overrides, source_only_iterations)
                for seed in range(seeds)]
    with ProcessPoolExecutor(max_workers=min(jobs, seeds)) as pool:
        futures = [pool.submit(pretrain_seed, config, out / f"seed{seed}", seed, tuple(overrides),
                               source_only_iterations, threads=1, progress=False) for seed in range(seeds)]
        return [future.result() for future in futures]
