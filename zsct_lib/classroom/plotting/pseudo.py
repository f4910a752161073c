"""Pseudo labels (notebook 04): per-class confidence thresholds against the MPT rule (eq 12)."""
from __future__ import annotations


import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ...labels import CLASS_NAMES, PALETTE, TAIL_CLASSES
from .pictures import FONT_SIZE, MAX_WIDTH


# The tail classes' curves in colours apart from the head classes' grey (pole's Cityscapes colour is grey).
TAIL_CURVE_COLOURS = {c: matplotlib.colormaps["tab10"](i) for i, c in enumerate(TAIL_CLASSES)}


def threshold_curves_figure(curves: dict, mpt_quality: dict | None = None, min_pixels: int = 50) -> Figure:
    """Three panels: per-class coverage and accuracy against a fixed threshold (tail classes in colour,
    head classes grey), and each class's share of the true pixels beside its share of the MPT pseudo
    labels (`mpt_quality` from pseudo_label_quality). Classes with fewer than `min_pixels` true pixels
    are left out of the curves."""
    fig = Figure(figsize=(MAX_WIDTH, 8.2 if mpt_quality is not None else 4.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1.15, 1)) if mpt_quality is not None else (fig, None)
    axes = list(top.subplots(1, 2)) + ([bottom.subplots()] if bottom is not None else [])
    t = curves["thresholds"]
    shown = [c for c in range(len(curves["class_pixels"])) if curves["class_pixels"][c] >= min_pixels]
    for c in shown:
        tail = c in TAIL_CLASSES
        style = dict(color=TAIL_CURVE_COLOURS[c], lw=2.2, label=CLASS_NAMES[c] + " *") if tail else \
            dict(color="0.82", lw=0.9, label=None)
        axes[0].plot(t, 100 * curves["class_coverage"][:, c], **style)
        axes[1].plot(t, 100 * curves["class_accuracy"][:, c], **style)
    axes[0].plot(t, 100 * curves["correct"], color="black", ls="--", lw=1.5, label="all pixels")
    axes[1].plot(t, 100 * curves["accuracy"], color="black", ls="--", lw=1.5, label="all pixels")
    axes[0].set_title("coverage: % of a class's pixels\nthat get the right pseudo label", fontsize=9)
    axes[1].set_title("accuracy: % of pixels pseudo-labelled k\nthat truly are k", fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("fixed confidence threshold")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    top.legend(handles, names, loc="outside lower center", ncol=min(len(names), 4), fontsize=FONT_SIZE, frameon=False,
               title="tail classes in colour, head classes in grey", title_fontsize=FONT_SIZE)
    if mpt_quality is not None:
        true_share = 100 * mpt_quality["class_pixels"] / max(mpt_quality["class_pixels"].sum(), 1)
        pseudo_share = 100 * mpt_quality["pseudo_pixels"] / max(mpt_quality["pseudo_pixels"].sum(), 1)
        classes = [c for c in range(len(true_share)) if true_share[c] > 0 or pseudo_share[c] > 0]
        x = np.arange(len(classes))
        colours = [PALETTE[c] / 255.0 for c in classes]
        axes[2].bar(x - 0.2, [true_share[c] for c in classes], 0.4, color=colours, edgecolor="black", lw=0.5,
                    label="true pixels")
        axes[2].bar(x + 0.2, [pseudo_share[c] for c in classes], 0.4, color=colours, edgecolor="black", lw=0.5,
                    hatch="///", label="MPT pseudo labels")
        axes[2].set_xticks(x)
        axes[2].set_xticklabels([CLASS_NAMES[c] + ("*" if c in TAIL_CLASSES else "") for c in classes],
                                rotation=45, ha="right", rotation_mode="anchor", fontsize=FONT_SIZE)
        axes[2].set_yscale("log")
        axes[2].set_ylabel("% of pixels")
        axes[2].set_title("class shares: truth vs MPT pseudo labels (eq 12)", fontsize=9)
        axes[2].legend(fontsize=FONT_SIZE)
    return fig
