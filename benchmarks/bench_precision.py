"""bf16 against fp32: the same tiny-preset run in both precisions, side by side.

Trains the tiny preset from the same seed twice, `train.amp=fp32` and `train.amp=bf16` (stage 1:
UDA, stage 2: + content transfer), and reports per precision the wall time, the mean loss of each
logged term over the run, the largest gap between the two smoothed curves of the total generator
loss, and the final mIoU / mIoU_tail on target val. The tolerance stated in the README:
the curves' mean relative gap within 10 % and the final mIoU within 3 points (one seed's run-to-run
spread across seeds of the committed studies is about 1.3 mIoU).

    python benchmarks/bench_precision.py [--iterations 200 --ct-iterations 100] [--out results/bench_precision.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from zsct_lib.config import load_config
from zsct_lib.training import read_metrics, train

TERMS = ("seg", "zero", "zero_trans", "rec", "cycle", "st", "seg_ct", "adv_out", "adv_img")


def curve(records, smooth: int = 5) -> np.ndarray:
    """The generator-side total of each logged step (the sum of eq 19's logged terms), smoothed."""
    totals = np.array([sum(r.get(k, 0.0) for k in TERMS) for r in records if "seg" in r])
    kernel = np.ones(smooth) / smooth
    return np.convolve(totals, kernel, mode="valid")


def run(precision: str, args, out: Path) -> dict:
    overrides = [f"train.amp={precision}", f"train.iterations={args.iterations}",
                 f"train.ct_iterations={args.ct_iterations}", "train.log_every=5", f"train.seed={args.seed}"]
    cfg = load_config(args.config, overrides)
    started = time.perf_counter()
    result = train(cfg, out / precision, overwrite=True, progress=False)
    seconds = time.perf_counter() - started
    records = read_metrics(out / precision / "metrics.jsonl")
    return {"seconds": round(seconds, 1), "miou": result["miou"], "miou_tail": result["miou_tail"],
            "records": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--ct-iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default="runs/bench_precision", help="run folders")
    parser.add_argument("--out", default=None, help="write the comparison as JSON here")
    args = parser.parse_args()
    out = Path(args.runs)
    runs = {precision: run(precision, args, out) for precision in ("fp32", "bf16")}
    fp32, bf16 = (curve(runs[p]["records"]) for p in ("fp32", "bf16"))
    n = min(len(fp32), len(bf16))
    relative_gap = np.abs(fp32[:n] - bf16[:n]) / np.maximum(np.abs(fp32[:n]), 1e-8)
    report = {
        "config": args.config, "iterations": args.iterations + args.ct_iterations, "seed": args.seed,
        "seconds": {p: runs[p]["seconds"] for p in runs},
        "speedup": round(runs["fp32"]["seconds"] / runs["bf16"]["seconds"], 2),
        "final_miou": {p: runs[p]["miou"] for p in runs}, "final_miou_tail": {p: runs[p]["miou_tail"] for p in runs},
        "miou_gap": round(abs(runs["fp32"]["miou"] - runs["bf16"]["miou"]), 2),
        "loss_curve_mean_relative_gap": round(float(relative_gap.mean()), 4),
        "loss_curve_max_relative_gap": round(float(relative_gap.max()), 4),
        "mean_term": {p: {k: round(float(np.mean([r[k] for r in runs[p]["records"] if k in r])), 4)
                          for k in TERMS if any(k in r for r in runs[p]["records"])} for p in runs},
        "tolerance": {"loss_curve_mean_relative_gap": 0.10, "miou_gap": 3.0},
    }
    report["within_tolerance"] = (report["loss_curve_mean_relative_gap"] <= 0.10 and report["miou_gap"] <= 3.0)
    print(json.dumps({k: v for k, v in report.items() if k != "mean_term"}, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
