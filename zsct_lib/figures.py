"""Figures of the project, each drawn by code: `zsct figures` (or `make figures`) writes them all."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from .labels import CLASS_NAMES, TAIL_CLASSES, colorize  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def architecture_figure(path=None):
    """Fig. 1 of the paper as boxes and arrows: shared stem, Ec/Es/Et, Gc, Gs/Gt, the losses, content transfer."""
    fig, ax = plt.subplots(figsize=(12, 5.6))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 6)
    ax.axis("off")

    def box(x, y, text, color, w=1.5, h=0.6):
        ax.add_patch(plt.Rectangle((x - w / 2, y - h / 2), w, h, facecolor=color, edgecolor="black", lw=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1, text=""):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1))
        if text:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, text, fontsize=7, ha="center", color="dimgray")

    box(0.8, 4.6, "source Is, Ys", "#ffe9c6")
    box(0.8, 1.6, "target It", "#d4ecff")
    box(2.7, 3.1, "shared stem", "#eeeeee", h=2.6, w=1.2)
    box(4.6, 4.8, "Es (style)", "#ffe9c6")
    box(4.6, 3.1, "Ec (content)", "#e3f5d9")
    box(4.6, 1.4, "Et (style)", "#d4ecff")
    box(7.0, 4.8, "Gs -> It2s, Is2s", "#ffe9c6", w=2.0)
    box(7.0, 3.1, "Gc -> Ps, Pt, Ps2t", "#e3f5d9", w=2.0)
    box(7.0, 1.4, "Gt -> Is2t, It2t", "#d4ecff", w=2.0)
    for x, y in ((0.8, 4.6), (0.8, 1.6)):
        arrow(x + 0.75, y, 2.1, 3.1 + (0.5 if y > 3 else -0.5))
    for y in (4.8, 3.1, 1.4):
        arrow(3.3, 3.1, 3.85, y)
    arrow(5.35, 4.8, 6.0, 4.8, "style")
    arrow(5.35, 1.4, 6.0, 1.4, "style")
    arrow(5.35, 3.1, 6.0, 3.1, "content")
    arrow(5.35, 3.1, 6.0, 4.6)
    arrow(5.35, 3.1, 6.0, 1.6)
    losses = ("zero-style (eqs 5-9): |Et(Is)|, |Es(It)|, |Es(Is2t)|, |Et(It2s)|, L_seg\n"
              "cycle (eqs 3, 4, 10) and reconstruction (eq 11)\n"
              "adversarial: output space (Pt) and images (Is2t, It2s)\n"
              "self-training: MPT pseudo label Ỹt (eq 12)")
    ax.text(8.3, 4.2, losses, fontsize=8, va="center", bbox=dict(facecolor="white", edgecolor="gray"))
    ct = ("content transfer (stage 2)\n"
          "Ms_tail (eq 13) ⊙ Mt_head (eq 14) = M_ct (eq 15)\n"
          "It_ct = M_ct ⊙ Is2t + (1 - M_ct) ⊙ It   (eq 16, input level)\n"
          "Ỹ't_ct = M_ct ⊙ Ys + (1 - M_ct) ⊙ Ỹt_ct   (eq 17, output level)\n"
          "L_seg_ct = CE(Gc(Ec(It_ct)), Ỹ't_ct)   (eq 18)")
    ax.text(8.3, 1.6, ct, fontsize=8, va="center", bbox=dict(facecolor="#fff5f5", edgecolor="firebrick"))
    ax.set_title("Zero-style loss and tail-class content transfer on DISE's architecture (the paper's Fig. 1)")
    return _save(fig, path)


def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path
    return fig


def label_image(label) -> np.ndarray:
    return colorize(np.asarray(label))


def _load_model(checkpoint):
    from .checkpoint import load_checkpoint, read_checkpoint
    from .config import config_from_dict
    from .models import build_model

    state = read_checkpoint(checkpoint)
    cfg = config_from_dict(state["config"])
    cfg.model.init_weights = ""
    model = build_model(cfg.model)
    load_checkpoint(checkpoint, model)
    return model.eval(), cfg


@torch.no_grad()
def demo_figure(nonadapt_checkpoint, full_checkpoint, path=None, n=4):
    """Target val images: input, ground truth, NonAdapt and full-method predictions; and a source image
    translated to the target style (eq 1) by the full model."""
    from .data import build_datasets

    nonadapt, cfg = _load_model(nonadapt_checkpoint)
    full, _ = _load_model(full_checkpoint)
    source, _, val = build_datasets(cfg.data)
    fig, axes = plt.subplots(n, 5, figsize=(15, 2.0 * n))
    for row in range(n):
        image, label = val[row]
        pred_na = nonadapt.predict(image[None])[0].argmax(0)
        pred_full = full.predict(image[None])[0].argmax(0)
        source_image, _ = source[row]
        _, content_s, _ = full.encode(source_image[None])
        stem_t, _, _ = full.encode(image[None])
        translated = full.gen_target(full.style_target(stem_t), content_s)[0]
        panels = [(image.permute(1, 2, 0).numpy(), "target image"), (label_image(label), "ground truth"),
                  (label_image(pred_na), "NonAdapt"), (label_image(pred_full), "full method"),
                  (translated.permute(1, 2, 0).clamp(0, 1).numpy(), "a source image in this style (Is2t)")]
        for col, (picture, title) in enumerate(panels):
            axes[row, col].imshow(picture)
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def loss_curves(metrics_file, keys=("seg", "zero_style", "st", "seg_ct", "rec", "cycle"), path=None, ax=None):
    """Training curves from a metrics.jsonl file: one line per loss term against the iteration."""
    records = [json.loads(line) for line in Path(metrics_file).read_text().splitlines() if line.strip()]
    records = [r for r in records if "lr" in r]
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in keys:
        points = [(r["step"], r[key]) for r in records if key in r]
        if points:
            ax.plot(*zip(*points), label=key)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(f"losses in {Path(metrics_file).parent.name}")
    return _save(fig, path) if fig is not None else ax


def ablation_figure(summary: dict, path=None):
    """Bar chart of mIoU and mIoU_tail per ablation row, mean ± std over seeds (seaborn)."""
    import seaborn as sns

    records = []
    for entry in summary["rows"]:
        for seed_result in entry["per_seed"]:
            for key, label in (("miou", "mIoU"), ("miou_tail", "mIoU_tail")):
                if seed_result[key] is not None:
                    records.append({"row": entry["row"], "metric": label, "IoU (%)": seed_result[key]})
    fig, ax = plt.subplots(figsize=(10, 4))
    if records:
        import pandas as pd

        sns.barplot(pd.DataFrame(records), x="row", y="IoU (%)", hue="metric", errorbar="sd", ax=ax)
    ax.set_title(f"ablation on {summary['benchmark']} ({summary['protocol']} protocol, {summary['seeds']} seeds)")
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return _save(fig, path)


def make_figures(out="figures") -> list[Path]:
    """Every figure of figures/ (README and notebooks): drawn from code and the committed results."""
    from .visual import gallery

    out = Path(out)
    written = [architecture_figure(out / "architecture.png")]
    written.append(_save(gallery("gta_like", n=4), out / "benchmark_gta_like.png"))
    written.append(_save(gallery("synthia_like", n=4), out / "benchmark_synthia_like.png"))
    for name in ("ablation_gta_like", "ablation_synthia_like"):
        summary = RESULTS_DIR / name / "ablation.json"
        if summary.is_file():
            written.append(ablation_figure(json.loads(summary.read_text()), out / f"{name}.png"))
    return written
