"""Evaluation and the ablation (notebook 07): per-class IoU, confusion, the study beside the paper,
images compared model by model, learning curves."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ...labels import CLASS_NAMES, TAIL_CLASSES, colorize
from .pictures import FONT_SIZE, MAX_WIDTH, _save, chars_per_line, format_percent, show_panel, to_rgb, wrap_text


def per_class_iou_figure(results: dict, title: str = "") -> Figure:
    """Bars of per-class IoU for several summaries (name -> evaluation.summarize output); tail classes starred."""
    names = list(results)
    classes = list(results[names[0]]["per_class"])
    fig = Figure(figsize=(MAX_WIDTH, 4.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(classes))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        r = results[name]
        values = [np.nan if r["per_class"][c] is None else r["per_class"][c] for c in classes]
        ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width,
               label=f"{name}: mIoU {format_percent(r['miou'])}, mIoU_tail {format_percent(r['miou_tail'])}")
    ax.set_xticks(x)
    ax.set_xticklabels([c + (" *" if CLASS_NAMES.index(c) in TAIL_CLASSES else "") for c in classes],
                       rotation=45, ha="right", rotation_mode="anchor", fontsize=FONT_SIZE)
    for i, c in enumerate(classes):
        if CLASS_NAMES.index(c) in TAIL_CLASSES:
            ax.axvspan(i - 0.45, i + 0.45, color="gold", alpha=0.15, lw=0)
    ax.set_ylabel("IoU (%)")
    ax.set_title(title or f"per-class IoU ({results[names[0]]['protocol']} protocol; * tail, shaded)", fontsize=10)
    ax.legend(fontsize=FONT_SIZE)
    return fig


def confusion_figure(cm, title: str = "confusion matrix (rows: truth, normalised per row)") -> Figure:
    """A confusion matrix [K,K] as a heat map, each row divided by its total (what a true class becomes)."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = Figure(figsize=(7.6, 7.0), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="viridis", vmin=0, vmax=1)
    names = [n + ("*" if i in TAIL_CLASSES else "") for i, n in enumerate(CLASS_NAMES[:len(cm)])]
    ax.set_xticks(range(len(cm)))
    ax.set_yticks(range(len(cm)))
    ax.set_xticklabels(names, rotation=90, fontsize=FONT_SIZE)
    ax.set_yticklabels(names, fontsize=FONT_SIZE)
    ax.set_xlabel("prediction")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046).ax.tick_params(labelsize=FONT_SIZE)
    return fig


def _image_size(summary: dict) -> str:
    """"128x256, " where the study recorded its image size (a variant's studies at two sizes would
    otherwise draw under one title), "" for studies summarised before it was."""
    size = summary.get("image_size")
    return f"{size[0]}x{size[1]}, " if size else ""


def ablation_comparison_figure(summary: dict) -> Figure:
    """mIoU and mIoU_tail per ablation row, ours and the paper's each on its own scale (the paper's
    absolute numbers would dwarf our row-to-row changes): ours as mean ± std with each seed's value
    as a dot, the paper's rows beside them. Drawn 9 x 6 in at 100 dpi: 900 px wide, text 9 pt."""
    paper = summary.get("paper") or {}
    rows = list(summary["rows"])
    paper_rows = [name for name in paper if name != "title"]
    fig = Figure(figsize=(9, 6), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=(2.2, 1))
    y = np.arange(len(rows))[::-1]
    for line, (key, label) in enumerate((("miou", "mIoU"), ("miou_tail", "mIoU_tail"))):
        ours, theirs = fig.add_subplot(grid[line, 0]), fig.add_subplot(grid[line, 1])
        means = [np.nan if e[key] is None else e[key] for e in rows]
        spread = [0 if e[key + "_std"] is None else e[key + "_std"] for e in rows]
        ours.barh(y, means, xerr=spread, color="tab:blue", alpha=0.75, capsize=3)
        for yi, entry in zip(y, rows):
            seeds = [r[key] for r in entry["per_seed"] if r[key] is not None]
            ours.plot(seeds, [yi] * len(seeds), "k.", ms=4)
        low = np.nanmin([m - s for m, s in zip(means, spread)] + [np.inf])
        ours.set_xlim(max(0.0, low - 3), np.nanmax([m + s for m, s in zip(means, spread)]) + 2)
        ours.set_yticks(y)
        ours.set_yticklabels([e["row"] for e in rows], fontsize=9)
        ours.set_xlabel(f"{label} (%), ours: mean ± std, dots = seeds", fontsize=9)
        ours.tick_params(axis="x", labelsize=9)
        y_paper = np.arange(len(paper_rows))[::-1]
        theirs.barh(y_paper, [paper[n][line] for n in paper_rows], color="0.6")
        theirs.set_yticks(y_paper)
        theirs.set_yticklabels(paper_rows, fontsize=9)
        theirs.set_xlabel(f"{label} (%), paper", fontsize=9)
        theirs.tick_params(axis="x", labelsize=9)
        if paper_rows:
            values = [paper[n][line] for n in paper_rows]
            theirs.set_xlim(max(0.0, min(values) - 5), max(values) + 2)
    fig.suptitle(f"ours: {summary['benchmark']}, {summary['protocol']}, {_image_size(summary)}{summary['seeds']} seeds; "
                 f"paper: {paper.get('title', '-')}", fontsize=9)
    fig.tight_layout()
    return fig


def qualitative_figure(view, indices) -> Figure:
    """A grid of target images: image, ground truth and each model's prediction, one row per index, from
    `view` (a `widgets.ModelComparisonView`: its models, names and images)."""
    columns = 2 + len(view.names)
    panel = min(2.8, MAX_WIDTH / columns)
    height, width = view.images.shape[-2:]
    fig = Figure(figsize=(panel * columns, (panel * height / width + 0.3) * len(indices) + 0.45), layout="constrained")
    axes = fig.subplots(len(indices), columns, squeeze=False)
    for row, i in enumerate(indices):
        title = row == 0
        show_panel(axes[row, 0], to_rgb(view.images[i]), "target image" if title else None)
        show_panel(axes[row, 1], colorize(view.labels[i]), "ground truth" if title else None)
        for j, name in enumerate(view.names):
            show_panel(axes[row, 2 + j], colorize(view.predictions[name][i]),
                       wrap_text(name, chars_per_line(panel - 0.1)) if title else None)
            axes[row, 2 + j].set_xlabel(f"mIoU {format_percent(view.scores[name][i]['miou'])}", fontsize=FONT_SIZE)
    return fig


def ablation_figure(summary: dict, path=None):
    """Bar chart of mIoU and mIoU_tail per ablation row, mean ± std over seeds (seaborn)."""
    import seaborn as sns

    records = []
    for entry in summary["rows"]:
        for seed_result in entry["per_seed"]:
            for key, label in (("miou", "mIoU"), ("miou_tail", "mIoU_tail")):
                if seed_result[key] is not None:
                    records.append({"row": entry["row"], "metric": label, "IoU (%)": seed_result[key]})
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 4))
    if records:
        import pandas as pd

        sns.barplot(pd.DataFrame(records), x="row", y="IoU (%)", hue="metric", errorbar="sd", ax=ax)
    ax.set_title(f"ablation on {summary['benchmark']} ({summary['protocol']} protocol, {_image_size(summary)}"
                 f"{summary['seeds']} seed{'' if summary['seeds'] == 1 else 's'})")
    # long row names ("+Out dataset class weights") slant and end under their bars, so neighbours never overlap
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    fig.tight_layout()
    return _save(fig, path)


def learning_curves_figure(runs: dict, classes=("pole", "traffic light", "traffic sign", "rider", "motorcycle",
                                                  "bicycle"), path=None):
    """Periodic evaluations of several runs: mIoU, mIoU_tail and each tail class against iterations.

    runs: name -> run folder (its metrics.jsonl holds eval_miou, eval_miou_tail, eval_per_class lines;
    its eval.json the final point).
    """
    panels = ("mIoU", "mIoU_tail", *classes)
    fig, axes = plt.subplots(2, (len(panels) + 1) // 2, figsize=(MAX_WIDTH, 5.6), sharex=True)
    for name, folder in runs.items():
        folder = Path(folder)
        points = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()
                  if line and "eval_miou" in line]
        final = json.loads((folder / "eval.json").read_text()) if (folder / "eval.json").is_file() else None
        steps = [p["step"] for p in points] + ([final["step"]] if final else [])
        values = {"mIoU": [p["eval_miou"] for p in points] + ([final["miou"]] if final else []),
                  "mIoU_tail": [p["eval_miou_tail"] for p in points] + ([final["miou_tail"]] if final else [])}
        for c in classes:
            values[c] = [p.get("eval_per_class", {}).get(c) for p in points] + ([final["per_class"][c]] if final else [])
        for ax, panel in zip(axes.flat, panels):
            ax.plot(steps, [np.nan if v is None else v for v in values[panel]], marker="o", ms=3, label=name)
    for ax, panel in zip(axes.flat, panels):
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    axes.flat[0].set_ylabel("IoU (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()      # below the panels: no curve hidden
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=FONT_SIZE, frameon=False)
    fig.tight_layout(rect=(0, 0.04 * -(-len(labels) // 3) + 0.02, 1, 1))
    return _save(fig, path)
