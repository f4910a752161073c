"""`zsct bench`: time the full training iteration (forward, every loss, backward, every optimizer step)
of a preset for each speed option, and count its FLOPs.

Timing uses CUDA events on a GPU and a monotonic clock on the CPU, after warm-up iterations; a
compiled option's first (compiling) iterations are timed apart, so its cost for a run of a given
length can be read off. The share of peak compares each row's achieved FLOP/s with a dense matmul of
the row's own dtype (fp32, tf32 or bf16) measured on the spot with the same number of threads.
"""
from __future__ import annotations

import copy
import json
import re
import resource
import time
from pathlib import Path

import torch

from ..config import Config, ConfigError, load_config
from ..training import build_optimizers, training_step
from ..training.precision import cpu_bf16_instructions, cpu_name

OPTIONS = {
    # name: config overrides applied on top of plain fp32 eager
    "fp32": {"amp": "fp32"},
    "fp32_compile": {"amp": "fp32", "compile": True},
    "tf32": {"amp": "fp32", "tf32": True},
    "bf16": {"amp": "bf16"},
    "bf16_channels_last": {"amp": "bf16", "channels_last": True},
    "bf16_fused": {"amp": "bf16", "fused_optim": True},
    "bf16_compile": {"amp": "bf16", "compile": True},
    "bf16_compile_all": {"amp": "bf16", "channels_last": True, "compile": True, "fused_optim": True},
}
GPU_ONLY = ("tf32",)                      # TensorFloat-32 is a mode of NVIDIA tensor cores


class BenchError(ConfigError):
    """An option or batch size the bench cannot run, named in one line."""


def row_dtype(option: str) -> str:
    return "bf16" if option.startswith("bf16") else ("tf32" if option == "tf32" else "fp32")


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak_tflops(device, dtype, size: int = 8192, repeats: int = 10) -> float:
    """Measured dense matmul throughput (TFLOP/s) of this device in `dtype` (the best of `repeats`)."""
    if device.type == "cpu":
        size = min(size, 1024)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e12


def measured_peaks(device) -> dict[str, float]:
    """The matmul peak of each dtype a row can use on this device (TFLOP/s)."""
    peaks = {"fp32": matmul_peak_tflops(device, torch.float32), "bf16": matmul_peak_tflops(device, torch.bfloat16)}
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        peaks["tf32"] = matmul_peak_tflops(device, torch.float32)
        torch.backends.cuda.matmul.allow_tf32 = False
    return peaks


def synthetic_batch(cfg: Config, batch_size: int, device) -> dict:
    """A batch at the training crop size drawn from the embedded benchmark (real images and labels)."""
    from ..data import StreetScenes

    d = cfg.data
    source = StreetScenes("source_train", d.benchmark, batch_size, d.crop_height, d.crop_width, d.seed)
    target = StreetScenes("target_train", d.benchmark, batch_size, d.crop_height, d.crop_width, d.seed)
    images, labels = zip(*(source[i] for i in range(batch_size)))
    return {"source_image": torch.stack(images).to(device), "source_label": torch.stack(labels).to(device),
            "target_image": torch.stack([target[i] for i in range(batch_size)]).to(device),
            "source_index": torch.arange(batch_size)}


def _model_for(cfg: Config, device):
    from ..models import build_model
    from ..training.loop import prepare_model

    return prepare_model(build_model(cfg.model).to(device), cfg)


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


def warmed_up(cfg: Config, batch: dict, device, warmup: int):
    """A model and its optimizers after `warmup` full iterations (stage 2 flags: content transfer on,
    every loss term active; a compiled option compiles here), and the next step's number."""
    model = _model_for(cfg, device)
    optimizers = build_optimizers(model, cfg)
    model.train()
    step = cfg.train.iterations
    for _ in range(warmup):
        training_step(model, optimizers, batch, step, cfg)
        step += 1
    _sync(device)
    return model, optimizers, step


def stage2_config(config: str, overrides=None) -> Config:
    """The preset with a one-iteration stage 1, so that the measured steps (from `train.iterations`
    on) are stage 2: content transfer on, every loss term active."""
    cfg = load_config(config, overrides)
    cfg.train.iterations = 1
    cfg.train.ct_iterations = max(cfg.train.ct_iterations, 1)
    return cfg


def with_option(base: Config, name: str) -> Config:
    """A copy of `base` with the speed option `name`'s overrides (OPTIONS) applied."""
    cfg = copy.deepcopy(base)
    for key, value in OPTIONS[name].items():
        setattr(cfg.train, key, value)
    return cfg


def time_iteration(cfg: Config, batch: dict, device, iterations: int, warmup: int) -> dict:
    """ms per full iteration (stage 2 flags), the warm-up's seconds (a compiled option compiles there),
    and peak memory for one option."""
    warm_start = time.perf_counter()
    model, optimizers, step = warmed_up(cfg, batch, device, warmup)
    warmup_s = time.perf_counter() - warm_start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(iterations):
            training_step(model, optimizers, batch, step + i, cfg)
        end.record()
        torch.cuda.synchronize(device)
        ms = start.elapsed_time(end) / iterations
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        t0 = time.perf_counter()
        for i in range(iterations):
            training_step(model, optimizers, batch, step + i, cfg)
        ms = (time.perf_counter() - t0) * 1000 / iterations
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # process peak RSS, GiB
    return {"ms_per_iteration": round(ms, 2), "warmup_s": round(warmup_s, 2), "peak_memory_gib": round(peak, 3)}


# Where a CPU iteration's time goes: each aten op's self time, grouped. Matrix ops are the only ones
# the bf16 matrix units speed up, so their share bounds what bf16 can gain (Amdahl's law).
OP_KINDS = (
    ("matrix", re.compile(r"conv|^(mm|_?addmm_?|bmm|baddbmm|matmul|linear|_addmm_activation)$")),
    ("normalisation", re.compile(r"batch_norm|instance_norm|group_norm|layer_norm")),
    ("cast and copy", re.compile(r"^(_to_copy|copy_|clone|contiguous)$")),
)


def op_kind(name: str) -> str:
    """The kind of an aten op by its name: matrix, normalisation, cast and copy, or other (elementwise,
    activations, reductions, resampling, indexing, the optimizers' updates)."""
    bare = name.removeprefix("aten::")
    for kind, pattern in OP_KINDS:
        if pattern.search(bare):
            return kind
    return "other"


def profile_iteration(cfg: Config, batch: dict, device, iterations: int, warmup: int, flops: int) -> dict:
    """The full iteration's time per op kind (each aten op's self time, and the time outside aten ops;
    ms per iteration and share of the profiled wall time), the top ops, and the FLOP/s the matrix ops
    reach in their own time, by torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    model, optimizers, step = warmed_up(cfg, batch, device, warmup)
    wall_start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(iterations):
            training_step(model, optimizers, batch, step + i, cfg)
    wall_ms = (time.perf_counter() - wall_start) * 1000 / iterations
    ops = [(e.key, e.self_cpu_time_total / 1000 / iterations) for e in prof.key_averages() if e.key.startswith("aten::")]
    kinds: dict[str, float] = {kind: 0.0 for kind, _ in OP_KINDS} | {"other": 0.0}
    for name, ms in ops:
        kinds[op_kind(name)] += ms
    aten_ms = sum(kinds.values())
    kinds["outside aten ops"] = max(wall_ms - aten_ms, 0.0)
    top = sorted(ops, key=lambda op: -op[1])[:12]
    return {"profiled_ms_per_iteration": round(wall_ms, 2), "aten_self_ms": round(aten_ms, 2),
            "kinds": {k: {"ms": round(v, 2), "share": round(v / wall_ms, 4)} for k, v in kinds.items()},
            "matrix_tflops": round(flops / (kinds["matrix"] / 1000) / 1e12, 3) if kinds["matrix"] else None,
            "top_ops": [{"op": name, "ms": round(ms, 2), "kind": op_kind(name)} for name, ms in top]}


def select_options(options: str, device) -> list[str]:
    """The option names to run: a comma list or "all" (every option this device can run)."""
    names = [o.strip() for o in options.split(",") if o.strip()]
    if names == ["all"]:
        return [n for n in OPTIONS if device.type == "cuda" or n not in GPU_ONLY]
    unknown = [n for n in names if n not in OPTIONS]
    if unknown or not names:
        raise BenchError(f"unknown bench option(s) {', '.join(unknown) or repr(options)}: "
                         f"expected a comma list of {', '.join(OPTIONS)}, or all")
    if device.type != "cuda":
        gpu_only = [n for n in names if n in GPU_ONLY]
        if gpu_only:
            raise BenchError(f"bench option(s) {', '.join(gpu_only)}: TensorFloat-32 is a GPU mode; on this CPU "
                             f"choose from {', '.join(n for n in OPTIONS if n not in GPU_ONLY)}")
    return names


def _significant(value: float, digits: int = 4) -> float:
    """`value` to `digits` significant digits: a small model's GFLOP (0.0213) keeps its precision, which
    two decimals would not (0.02), so that a row's numbers still give its percent of peak."""
    return float(f"{value:.{digits}g}")


def run_bench(config="tiny", overrides=None, batch_sizes=None, options="all", iterations=10, warmup=3, out=None):
    """Print and return the table: option, batch, ms/it, images/s, GFLOP/it, TFLOP/s, % of the row's
    dtype peak, warm-up seconds, memory."""
    base = stage2_config(config, overrides)
    for name, value in (("iterations", iterations), ("warmup", warmup)):
        if value < 1:
            raise BenchError(f"--{name} {value}: expected a positive number of iterations")
    for batch_size in batch_sizes or []:
        if batch_size < 1:
            raise BenchError(f"--batch-size {batch_size}: expected a positive batch size")
    device = torch.device("cuda" if torch.cuda.is_available() and base.train.device in ("auto", "cuda") else "cpu")
    names = select_options(options, device)
    if base.train.threads:
        torch.set_num_threads(base.train.threads)
    peaks = measured_peaks(device)
    rows = []
    for batch_size in batch_sizes or [base.train.batch_size]:
        batch = synthetic_batch(base, batch_size, device)
        flops = count_flops(base, batch, device)
        for name in names:
            cfg = with_option(base, name)
            if cfg.train.tf32 and device.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
            try:
                timing = time_iteration(cfg, batch, device, iterations, warmup)
            except Exception as err:  # noqa: BLE001 -- a failing option (e.g. no compiler for inductor) is a row
                rows.append({"option": name, "batch": batch_size, "error": f"{type(err).__name__}: {str(err)[:200]}"})
                continue
            finally:
                torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
            seconds = timing["ms_per_iteration"] / 1000
            achieved = flops / seconds / 1e12
            dtype = row_dtype(name)
            rows.append({"option": name, "batch": batch_size, "dtype": dtype, **timing,
                         "images_per_s": round(batch_size / seconds, 2), "gflop_per_iteration": _significant(flops / 1e9),
                         "tflops": _significant(achieved), "percent_of_peak": round(100 * achieved / peaks[dtype], 2)})
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
              "torch": torch.__version__, "preset": base.model.preset, "threads": torch.get_num_threads(),
              "crop": [base.data.crop_height, base.data.crop_width],
              "bf16_instructions": list(cpu_bf16_instructions()) if device.type == "cpu" else [],
              "matmul_peak_tflops": {k: _significant(v) for k, v in peaks.items()},
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    print(format_bench(report))
    if out:
        Path(out).write_text(json.dumps(report, indent=2))
    return report


def format_bench(report: dict) -> str:
    peaks = ", ".join(f"{k} {v}" for k, v in report["matmul_peak_tflops"].items())
    lines = [f"{report['preset']} at {report['crop'][0]}x{report['crop'][1]} on {report['device']}, "
             f"{report['threads']} thread(s) (torch {report['torch']}); measured matmul peaks (TFLOP/s): {peaks}",
             f"{'option':<20}{'batch':>6}{'ms/it':>10}{'img/s':>9}{'GFLOP/it':>10}{'TFLOP/s':>9}"
             f"{'%peak':>7}{'of':>6}{'warmup s':>10}{'mem GiB':>9}"]
    for r in report["rows"]:
        if "error" in r:
            lines.append(f"{r['option']:<20}{r['batch']:>6}  failed: {r['error']}")
            continue
        lines.append(f"{r['option']:<20}{r['batch']:>6}{r['ms_per_iteration']:>10}{r['images_per_s']:>9}"
                     f"{r['gflop_per_iteration']:>10}{r['tflops']:>9}{r['percent_of_peak']:>7}{r['dtype']:>6}"
                     f"{r['warmup_s']:>10}{r['peak_memory_gib']:>9}")
    return "\n".join(lines)
