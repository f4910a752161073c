"""The demo, the main job (`zsct demo`, `make demo`): seed 0 of the study's NonAdapt and +Out rows on the
GTA-like embedded benchmark, trained side by side, set beside the committed demo run (results/demo)."""
from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..checkpoint import export_weights
from ..config import load_config
from ..evaluation import format_results
from ..paths import RESULTS_DIR
from .ablation import QUICK, ROWS, STUDY, _dise_stage_starts, _row_config, _run


def demo_comparison(nonadapt: dict, full: dict, committed: Path) -> list[str]:
    """Lines that set a demo run's results beside the committed demo run in `committed` (results/demo):
    both runs' mIoU / mIoU_tail and precision, and the differences. Empty when none is committed."""
    files = [committed / kind / "eval.json" for kind in ("nonadapt", "full")]
    if not all(f.is_file() for f in files):
        return []
    old_nonadapt, old_full = (json.loads(f.read_text()) for f in files)

    def precision(result):
        amp = result.get("config", {}).get("train", {}).get("amp", "fp32")
        return "fp32" if amp in ("none", "fp32") else amp

    def pair(result):
        return f"{result['miou']:.2f} / {result['miou_tail']:.2f}"

    def change(new, old):
        return f"{new['miou'] - old['miou']:+.2f} / {new['miou_tail'] - old['miou_tail']:+.2f}"

    return [f"committed demo ({committed.parent.name}/{committed.name}, {precision(old_full)}): NonAdapt {pair(old_nonadapt)}, "
            f"full method {pair(old_full)} (mIoU / mIoU_tail)",
            f"this run ({precision(full)}): NonAdapt {pair(nonadapt)} ({change(nonadapt, old_nonadapt)}), "
            f"full method {pair(full)} ({change(full, old_full)})",
            "runs repeat to the last digit on one machine, not across CPU kinds or precisions; the README "
            "gives the spread measured so (What the demo shows)"]


def run_demo(out: str | Path = "runs/demo", quick: bool = False, overrides=None) -> dict:
    """The main job, seed 0 of the study's NonAdapt and +Out rows on the GTA-like embedded benchmark
    (`--config dise_stage`): NonAdapt trains on labelled source scenes from scratch; the full method (all
    five flags) fine-tunes the shipped DISE-stage model (`results/dise_stage_gta_like/seed0`), as the
    paper fine-tunes DISE's weights. The two train side by side, one core each. Prints both results
    tables, sets them beside the committed demo run and writes demo.png.
    overrides: `section.key=value` strings applied to the dise_stage config (e.g. train.amp=fp32)."""
    from ..classroom.plotting import demo_figure

    out = Path(out)
    schedule = dataclasses.replace(QUICK, start=STUDY.start, adapt=STUDY.adapt) if quick else STUDY
    base = load_config("dise_stage", overrides).to_dict()
    base["train"]["threads"] = 1                     # one core per run
    (start,) = _dise_stage_starts(base, 1)
    nonadapt_row, full_row = (next(r for r in ROWS if r.name == name) for name in ("NonAdapt", "+Out"))
    nonadapt_dir, full_dir = out / "nonadapt", out / "full"
    nonadapt_job = (_row_config(base, nonadapt_row, 0, schedule, None), str(nonadapt_dir), None)
    full_job = (_row_config(base, full_row, 0, schedule, start), str(full_dir), None)
    steps = schedule.source_only + schedule.stage1 + schedule.stage2
    print(f"[1/2] NonAdapt: source-only training from scratch, {steps} iterations -> {nonadapt_dir}")
    print(f"[2/2] Full method (Sty+Cyc+ST, then +In+Out) from the DISE-stage model {start}: "
          f"{schedule.stage1} + {schedule.stage2} iterations -> {full_dir}, side by side on the second core "
          f"(its progress: {full_dir / 'metrics.jsonl'})")
    with ProcessPoolExecutor(max_workers=1) as pool:
        full_future = pool.submit(_run, full_job)
        nonadapt = _run(nonadapt_job, progress=True)
        full = full_future.result()
    print(format_results(nonadapt, "NonAdapt (source only)"))
    print(format_results(full, "Full method: zero-style + cycle + self-training + content transfer"))
    print(f"mIoU {nonadapt['miou']} -> {full['miou']}, mIoU_tail {nonadapt['miou_tail']} -> {full['miou_tail']} "
          f"({full['protocol']} protocol, target val of the embedded benchmark)")
    committed = RESULTS_DIR / "demo"
    if not quick and out.resolve() != committed.resolve():
        for line in demo_comparison(nonadapt, full, committed):
            print(line)
    for run in (nonadapt_dir, full_dir):
        export_weights(run / "checkpoint.pt", run / "model.pt", half=True)   # what the notebooks load (fp16, as the DISE stage)
    figure = demo_figure(nonadapt_dir / "model.pt", full_dir / "model.pt", out / "demo.png")
    print(f"results: {nonadapt_dir} and {full_dir} (eval.json, model.pt, metrics.jsonl), the figure {figure}")
    return {"nonadapt": nonadapt, "full": full}
