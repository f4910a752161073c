"""The files of figures/ (`zsct figures`) and of the demo run: the architecture (the paper's Fig. 1),
the demo's predictions, and `make_figures`, which draws them all from code and the committed results."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from ...labels import colorize
from ...paths import RESULTS_DIR
from .evaluation import ablation_comparison_figure, learning_curves_figure
from .pictures import FONT_SIZE, MAX_WIDTH, _save, chars_per_line, gallery, wrap_text


def architecture_figure(path=None):
    """Fig. 1 of the paper as boxes and arrows: shared stem, Ec/Es/Et, Gc, Gs/Gt, the losses, content transfer."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 6.6))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.01)
    ax.set_xlim(0, 8.2)
    ax.set_ylim(-2.9, 5.3)
    ax.axis("off")

    def box(x, y, text, color, w=1.5, h=0.6):
        ax.add_patch(plt.Rectangle((x - w / 2, y - h / 2), w, h, facecolor=color, edgecolor="black", lw=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1, text=""):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1))
        if text:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, text, fontsize=FONT_SIZE, ha="center", color="dimgray")

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
    ax.text(0.1, 0.6, losses, fontsize=FONT_SIZE, va="top", bbox=dict(facecolor="white", edgecolor="gray"))
    ct = ("content transfer (stage 2)\n"
          "Ms_tail (eq 13) ⊙ Mt_head (eq 14) = M_ct (eq 15)\n"
          "It_ct = M_ct ⊙ Is2t + (1 - M_ct) ⊙ It   (eq 16, input level)\n"
          "Ỹ't_ct = M_ct ⊙ Ys + (1 - M_ct) ⊙ Ỹt_ct   (eq 17, output level)\n"
          "L_seg_ct = CE(Gc(Ec(It_ct)), Ỹ't_ct)   (eq 18)")
    ax.text(0.1, -1.0, ct, fontsize=FONT_SIZE, va="top", bbox=dict(facecolor="#fff5f5", edgecolor="firebrick"))
    ax.set_title("Zero-style loss and tail-class content transfer on DISE's architecture\n(the paper's Fig. 1)",
                 fontsize=11)
    return _save(fig, path)


@torch.no_grad()
def demo_figure(nonadapt_checkpoint, full_checkpoint, path=None, n=4):
    """Target val images: input, ground truth, NonAdapt and full-method predictions; and a source image
    translated to the target style (eq 1) by the full model."""
    from ...checkpoint import load_model
    from ...data import build_datasets

    nonadapt, cfg = load_model(nonadapt_checkpoint)
    full, _ = load_model(full_checkpoint)
    source, _, val = build_datasets(cfg.data)
    fig, axes = plt.subplots(n, 5, figsize=(MAX_WIDTH, 1.05 * n + 0.5), layout="constrained")
    for row in range(n):
        image, label = val[row]
        pred_na = nonadapt.predict(image[None])[0].argmax(0)
        pred_full = full.predict(image[None])[0].argmax(0)
        source_image, _ = source[row]
        _, content_s, _ = full.encode(source_image[None])
        stem_t, _, _ = full.encode(image[None])
        translated = full.gen_target(full.style_target(stem_t), content_s)[0]
        panels = [(image.permute(1, 2, 0).numpy(), "target image"), (colorize(label), "ground truth"),
                  (colorize(pred_na), "NonAdapt"), (colorize(pred_full), "full method"),
                  (translated.permute(1, 2, 0).clamp(0, 1).numpy(), "a source image in this style (Is2t)")]
        for col, (picture, title) in enumerate(panels):
            axes[row, col].imshow(picture)
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(wrap_text(title, chars_per_line(MAX_WIDTH / 5 - 0.1)), fontsize=FONT_SIZE)
    return _save(fig, path)


def make_figures(out="figures") -> list[Path]:
    """Every figure of figures/ (README and notebooks): drawn from code and the committed results."""
    out = Path(out)
    written = [architecture_figure(out / "architecture.png")]
    written.append(_save(gallery("gta_like", n=4), out / "benchmark_gta_like.png"))
    written.append(_save(gallery("synthia_like", n=4), out / "benchmark_synthia_like.png"))
    for variant in ("gta_like", "synthia_like"):         # the study of Tables 3 and 4 (zsct ablate --study)
        summary = RESULTS_DIR / f"study_{variant}" / "ablation.json"
        if summary.is_file():
            written.append(_save(ablation_comparison_figure(json.loads(summary.read_text())),
                                 out / f"ablation_{variant}.png"))
    candidates = RESULTS_DIR / "archive" / "tail_candidates"
    if candidates.is_dir():
        runs = {run.name: run for run in sorted(candidates.iterdir()) if (run / "metrics.jsonl").is_file()}
        if runs:
            written.append(learning_curves_figure(runs, path=out / "tail_candidates.png"))
    return written
