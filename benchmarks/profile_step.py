"""Where the CPU training iteration's time goes, per speed option: torch.profiler's self time of every
aten op, grouped into matrix ops (convolutions, matmuls), normalisation, casts and copies, and the
rest (elementwise, activations, reductions, resampling, the optimizers' updates).

Only the matrix ops run on the CPU's bf16 matrix units, so their share bounds what bf16 can gain:
the report also gives the iteration time if every matrix op ran at the measured matmul peak of the
row's dtype and nothing else changed (Amdahl's law), and that bound's speed-up over fp32 eager. The
time outside aten ops (Python, the autograd engine, the profiler's own cost) is its own kind.

    python benchmarks/profile_step.py [--config tiny] [--options fp32,bf16,bf16_channels_last]
        [--iterations 10 --warmup 3] [--set KEY=VALUE ...] [--out results/speed/profile_tiny.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from zsct_lib.experiments.bench import (count_flops, measured_peaks, profile_iteration, row_dtype, select_options,
                            stage2_config, synthetic_batch, with_option)
from zsct_lib.training.precision import cpu_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--options", default="fp32,bf16,bf16_channels_last")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args()

    base = stage2_config(args.config, args.set)
    device = torch.device("cpu")
    torch.set_num_threads(base.train.threads or 1)
    names = select_options(args.options, device)
    peaks = measured_peaks(device)
    batch = synthetic_batch(base, base.train.batch_size, device)
    flops = count_flops(base, batch, device)
    rows = []
    for name in names:
        cfg = with_option(base, name)
        profiled = profile_iteration(cfg, batch, device, args.iterations, args.warmup, flops)
        matrix_ms_at_peak = flops / (peaks[row_dtype(name)] * 1e12) * 1000
        bound_ms = profiled["profiled_ms_per_iteration"] - profiled["kinds"]["matrix"]["ms"] + matrix_ms_at_peak
        rows.append({"option": name, **profiled, "matrix_ms_at_peak": round(matrix_ms_at_peak, 2),
                     "bound_ms_if_matrix_at_peak": round(bound_ms, 2)})
    fp32 = next((r for r in rows if r["option"] == "fp32"), None)
    for r in rows:
        if fp32:
            r["speedup_over_fp32"] = round(fp32["profiled_ms_per_iteration"] / r["profiled_ms_per_iteration"], 2)
            r["bound_speedup_over_fp32"] = round(fp32["profiled_ms_per_iteration"] / r["bound_ms_if_matrix_at_peak"], 2)
    report = {"device": cpu_name(), "torch": torch.__version__, "config": args.config, "overrides": args.set,
              "crop": [base.data.crop_height, base.data.crop_width], "threads": torch.get_num_threads(),
              "gflop_per_iteration": round(flops / 1e9, 2),
              "matmul_peak_tflops": {k: round(v, 3) for k, v in peaks.items()},
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    kinds = list(rows[0]["kinds"]) if rows else []
    print(f"{args.config} at {report['crop'][0]}x{report['crop'][1]} on {report['device']}, {report['threads']} "
          f"thread(s); {report['gflop_per_iteration']} GFLOP/it; matmul peaks (TFLOP/s) {report['matmul_peak_tflops']}")
    print(f"{'option':<20}{'ms/it':>8}" + "".join(f"{k[:13]:>15}" for k in kinds) + f"{'matrix TF/s':>13}{'bound ms':>10}")
    for r in rows:
        shares = "".join(f"{r['kinds'][k]['ms']:>8.1f} ({100 * r['kinds'][k]['share']:>2.0f}%)" for k in kinds)
        print(f"{r['option']:<20}{r['profiled_ms_per_iteration']:>8.1f}{shares}{r['matrix_tflops']:>13}"
              f"{r['bound_ms_if_matrix_at_peak']:>10.1f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
