"""Content transfer (notebook 05): where eq 15's mask lands and the context-aware variant."""
from __future__ import annotations


import numpy as np
from matplotlib.figure import Figure

from ...content_transfer import paste, tail_label
from ...labels import IGNORE_INDEX, colorize
from ..analysis import context_transfer
from .pictures import FONT_SIZE, MAX_WIDTH, chars_per_line, mask_rgb, show_panel, to_rgb, wrap_text


def gate_histogram_figure(counts, median: float) -> Figure:
    """Histogram of the per-image tail-pixel counts of the source set, with the median gate's value."""
    counts = np.asarray(counts)
    fig = Figure(figsize=(7, 2.8))
    ax = fig.subplots()
    bins = np.linspace(0, max(int(counts.max()), 1), 40)
    ax.hist(counts[counts <= median], bins=bins, color="0.7", label=f"at or below the median: {(counts <= median).sum()}")
    ax.hist(counts[counts > median], bins=bins, color="firebrick",
            label=f"above the median (transfer): {(counts > median).sum()}")
    ax.axvline(median, color="black", ls="--", lw=1)
    ax.set_xlabel("transferable tail pixels in a source image (eq 13, co-occurrence rules)")
    ax.set_ylabel("source images")
    ax.set_title(f"the median gate: median = {median:g} pixels", fontsize=9)
    ax.legend(fontsize=FONT_SIZE)
    fig.tight_layout()
    return fig


def context_figure(source_image, source_label, target_image, target_pseudo, result: dict | None = None,
                   source_name: str = "source Is2t", target_label_name: str = "target pseudo label Ỹt") -> Figure:
    """Why plain transfer can put a rider in the sky under a camera-pitch gap, and how the context-aware
    option moves the content onto the target's ground. Dashed lines: where the ground begins (the row
    the library aligns on)."""
    r = result or context_transfer(source_image, source_label, target_pseudo)
    fig = Figure(figsize=(MAX_WIDTH, 4.4), layout="constrained")
    axes = fig.subplots(2, 4)
    plain_image = paste(r["plain_mask"][None], source_image[None], target_image[None])[0]
    aligned_image = paste(r["aligned_mask"][None], r["shifted_image"][None], target_image[None])[0]
    width, target_row = source_label.shape[-1], r["target_ground_row"]
    # (picture, title, ground row to draw, line colour), row by row: plain transfer, then context-aware
    panels = [
        (to_rgb(source_image), f"{source_name}, tail content in red", r["source_ground_row"], "yellow"),
        (to_rgb(target_image), "target It: ground begins lower", target_row, "yellow"),
        (mask_rgb(r["plain_mask"], on=(1, 0.25, 0.25)), "plain M_ct (same position)", target_row, "yellow"),
        (to_rgb(plain_image), "plain It_ct: " + ("stands on ground" if r["plain_standing"] else "floats above the ground")
         + f"\n{r['plain_sky_pixels']} pasted pixels over sky", target_row, "yellow"),
        (to_rgb(r["shifted_image"]), f"source shifted by {r['shift']} rows", target_row, "yellow"),
        (colorize(target_pseudo), target_label_name, target_row, "black"),
        (mask_rgb(r["aligned_mask"], on=(0.25, 1, 0.25)), "context-aware M_ct", target_row, "yellow"),
        (to_rgb(aligned_image), "context-aware It_ct" + ("" if r["aligned_standing"] else ": dropped (not standing)")
         + f"\n{r['aligned_sky_pixels']} pasted pixels over sky", target_row, "yellow"),
    ]
    for ax, (picture, title, ground_row, colour) in zip(axes.flat, panels):
        show_panel(ax, picture, wrap_text(title, chars_per_line(MAX_WIDTH / 4 - 0.1)))
        if not np.isnan(ground_row):
            ax.plot([0, width - 1], [ground_row, ground_row], ls="--", color=colour, lw=1.2)
    tail_tint = np.zeros(source_label.shape + (4,), np.float32)
    tail_tint[(tail_label(source_label) != IGNORE_INDEX).cpu().numpy()] = (1.0, 0.1, 0.1, 0.6)
    axes[0, 0].imshow(tail_tint, interpolation="nearest")
    return fig
