"""`zsct bench`: time the full training iteration (forward, every loss, backward, every optimizer step)
of a preset for each speed option, and count its FLOPs.

Timing uses CUDA events on a GPU and a monotonic clock on the CPU, after warm-up iterations. The
share of peak compares achieved FLOP/s with a bf16 (GPU) or fp32 (CPU) matmul measured on the spot.
"""
from __future__ import annotations

import copy
import json
import resource
import time
from pathlib import Path

import torch

from .config import Config, load_config
from .training import build_optimizers, training_step

OPTIONS = {
    # name: config overrides applied on top of plain fp32 eager
    "fp32": {},
    "tf32": {"tf32": True},
    "bf16": {"amp": "bf16"},
    "bf16_channels_last": {"amp": "bf16", "channels_last": True},
    "bf16_fused": {"amp": "bf16", "fused_optim": True},
    "bf16_compile": {"amp": "bf16", "channels_last": True, "compile": True, "fused_optim": True},
}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak_tflops(device, dtype, size: int = 8192, repeats: int = 10) -> float:
    """Measured dense matmul throughput (TFLOP/s) of this device in `dtype`."""
    if device.type == "cpu":
        size = min(size, 1024)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12


def synthetic_batch(cfg: Config, batch_size: int, device) -> dict:
    """A batch at the training crop size drawn from the embedded benchmark (real images and labels)."""
    from .data import StreetScenes

    d = cfg.data
    source = StreetScenes("source_train", d.benchmark, batch_size, d.crop_height, d.crop_width, d.seed)
    target = StreetScenes("target_train", d.benchmark, batch_size, d.crop_height, d.crop_width, d.seed)
    images, labels = zip(*(source[i] for i in range(batch_size)))
    return {"source_image": torch.stack(images).to(device), "source_label": torch.stack(labels).to(device),
            "target_image": torch.stack([target[i] for i in range(batch_size)]).to(device),
            "source_index": torch.arange(batch_size)}


def _model_for(cfg: Config, device):
    from .models import build_model

    model = build_model(cfg.model).to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if cfg.train.compile:
        for name in ("stem", "content_encoder", "segmenter", "gen_source", "gen_target"):
            setattr(model, name, torch.compile(getattr(model, name)))
    return model


def count_flops(cfg: Config, batch: dict, device) -> int:
    """FLOPs of one full training iteration (stage 2: every loss term on), by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = copy.deepcopy(cfg)
    cfg.train.compile = False
    model = _model_for(cfg, device)
    optimizers = build_optimizers(model, cfg)
    with FlopCounterMode(display=False) as counter:
        training_step(model, optimizers, batch, cfg.train.iterations, cfg)
    return int(counter.get_total_flops())


def time_iteration(cfg: Config, batch: dict, device, iterations: int, warmup: int) -> dict:
    """ms per full iteration (stage 2 flags) and peak memory for one option."""
    model = _model_for(cfg, device)
    optimizers = build_optimizers(model, cfg)
    model.train()
    step = cfg.train.iterations                   # stage 2: content transfer on, every loss term active
    for i in range(warmup):
        training_step(model, optimizers, batch, step + i, cfg)
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(iterations):
            training_step(model, optimizers, batch, step + warmup + i, cfg)
        end.record()
        torch.cuda.synchronize(device)
        ms = start.elapsed_time(end) / iterations
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        t0 = time.perf_counter()
        for i in range(iterations):
            training_step(model, optimizers, batch, step + warmup + i, cfg)
        ms = (time.perf_counter() - t0) * 1000 / iterations
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # process peak RSS, GiB
    return {"ms_per_iteration": round(ms, 2), "peak_memory_gib": round(peak, 3)}


def run_bench(config="tiny", overrides=None, batch_sizes=None, options="all", iterations=10, warmup=3, out=None):
    """Print and return the table: option, batch, ms/it, images/s, GFLOP/it, TFLOP/s, % of peak, memory."""
    base = load_config(config, overrides)
    base.train.iterations = 1                     # so that `step = iterations` is stage 2
    base.train.ct_iterations = max(base.train.ct_iterations, 1)
    device = torch.device("cuda" if torch.cuda.is_available() and base.train.device in ("auto", "cuda") else "cpu")
    names = list(OPTIONS) if options == "all" else [o.strip() for o in options.split(",")]
    unknown = [n for n in names if n not in OPTIONS]
    if unknown:
        raise ValueError(f"unknown bench option(s) {unknown}: expected {', '.join(OPTIONS)} or all")
    if device.type == "cpu":
        names = [n for n in names if n in ("fp32", "bf16")]   # TF32, fused and compile are GPU options here
    peak_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    peak = matmul_peak_tflops(device, peak_dtype)
    rows = []
    for batch_size in batch_sizes or [base.train.batch_size]:
        batch = synthetic_batch(base, batch_size, device)
        flops = count_flops(base, batch, device)
        for name in names:
            cfg = copy.deepcopy(base)
            for key, value in OPTIONS[name].items():
                setattr(cfg.train, key, value)
            if cfg.train.tf32 and device.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
            timing = time_iteration(cfg, batch, device, iterations, warmup)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
            seconds = timing["ms_per_iteration"] / 1000
            achieved = flops / seconds / 1e12
            rows.append({"option": name, "batch": batch_size, **timing,
                         "images_per_s": round(batch_size / seconds, 2), "gflop_per_iteration": round(flops / 1e9, 2),
                         "tflops": round(achieved, 3), "percent_of_peak": round(100 * achieved / peak, 2)})
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "preset": base.model.preset,
              "crop": [base.data.crop_height, base.data.crop_width],
              "matmul_peak_tflops": round(peak, 2), "peak_dtype": str(peak_dtype).replace("torch.", ""),
              "rows": rows}
    print(format_bench(report))
    if out:
        Path(out).write_text(json.dumps(report, indent=2))
    return report


def format_bench(report: dict) -> str:
    lines = [f"{report['preset']} at {report['crop'][0]}x{report['crop'][1]} on {report['device']} "
             f"(torch {report['torch']}); measured {report['peak_dtype']} matmul peak {report['matmul_peak_tflops']} TFLOP/s",
             f"{'option':<20}{'batch':>6}{'ms/it':>10}{'img/s':>9}{'GFLOP/it':>10}{'TFLOP/s':>9}{'%peak':>7}{'mem GiB':>9}"]
    for r in report["rows"]:
        lines.append(f"{r['option']:<20}{r['batch']:>6}{r['ms_per_iteration']:>10}{r['images_per_s']:>9}"
                     f"{r['gflop_per_iteration']:>10}{r['tflops']:>9}{r['percent_of_peak']:>7}{r['peak_memory_gib']:>9}")
    return "\n".join(lines)
