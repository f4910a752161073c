"""Style codes and loss curves (notebooks 02 and 06), translations (notebook 03)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..analysis import project_2d
from .pictures import FONT_SIZE, MAX_WIDTH, SOURCE_COLOUR, TARGET_COLOUR, _save, chars_per_line, error_map, show_images, wrap_text


def style_code_figure(panels: dict, fig: Optional[Figure] = None) -> Figure:
    """Style codes projected to 2-D (`project_2d`), one panel per entry `title -> (codes [N, S],
    domains [N])` with domains named "source" / "target"; one colour per domain."""
    if fig is None:
        fig = Figure(figsize=_style_code_size(len(panels)), layout="constrained")
    else:
        fig.clear()
    ncols = min(len(panels), 2)
    axes = list(fig.subplots(-(-len(panels) // ncols), ncols, squeeze=False).flat)  # a list: .flat is used up once read
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    for ax, (title, (codes, domains)) in zip(axes, panels.items()):
        points, explained = project_2d(codes, return_explained=True)
        domains = np.asarray(domains)
        for name, colour in (("source", SOURCE_COLOUR), ("target", TARGET_COLOUR)):
            chosen = domains == name
            if chosen.any():
                ax.scatter(points[chosen, 0], points[chosen, 1], s=14, alpha=0.75, color=colour, label=f"{name} images")
        ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}%)")
        ax.set_title(wrap_text(title, chars_per_line(MAX_WIDTH / ncols - 0.6, 10)), fontsize=10)
        ax.legend(fontsize=FONT_SIZE)
    return fig


def _style_code_size(panels: int) -> tuple[float, float]:
    """Two panels a row (one alone when there is one), 900 px wide at most."""
    return (min(4.5 * min(panels, 2), MAX_WIDTH), 3.8 * -(-panels // 2))


def loss_history_figure(history: dict, log: bool = False, title: str = "", smooth: int = 5,
                        fig: Optional[Figure] = None) -> Figure:
    """Curves of a training loop: `name -> values per step`, each drawn faintly with a moving
    average over `smooth` steps on top."""
    if fig is None:
        fig = Figure(figsize=(7.5, 3.4), layout="constrained")
    else:
        fig.clear()
    ax = fig.subplots()
    for i, (name, values) in enumerate(history.items()):
        values = np.asarray(values, dtype=np.float64)
        steps = np.arange(1, len(values) + 1)
        colour = f"C{i}"
        ax.plot(steps, values, color=colour, alpha=0.3, lw=1)
        if smooth > 1 and len(values) >= smooth:
            kernel = np.ones(smooth) / smooth
            ax.plot(steps[smooth - 1:], np.convolve(values, kernel, mode="valid"), color=colour, lw=2, label=name)
        else:
            ax.plot(steps, values, color=colour, lw=2, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend(fontsize=FONT_SIZE)
    ax.set_title(title, fontsize=10)
    return fig


# The weighted terms `loss_curves` draws by default, as the trainer logs them in metrics.jsonl.
LOSS_CURVE_KEYS = ("seg", "zero", "zero_trans", "st", "seg_ct", "rec", "cycle")
# Files written before the trainer logged eq 9's parts apart hold their sum under one older name.
LEGACY_LOSS_KEYS = {"zero_style": ("seg", "zero", "zero_trans")}


def loss_curves(metrics_file, keys=LOSS_CURVE_KEYS, path=None, ax=None):
    """Training curves from a metrics.jsonl file: one line per loss term against the iteration.

    Draws the requested `keys` that the file holds. A file of an older run that logged eq 9 as one
    term, "zero_style", shows that term where its parts ("seg", "zero", "zero_trans") were requested.
    """
    records = [json.loads(line) for line in Path(metrics_file).read_text().splitlines() if line.strip()]
    records = [r for r in records if "lr" in r]
    logged = set().union(*records) if records else set()
    shown = []
    for key in keys:
        for legacy, parts in LEGACY_LOSS_KEYS.items():
            if key in parts and legacy in logged and legacy not in keys and legacy not in shown:
                shown.append(legacy)
        if key not in shown:
            shown.append(key)
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in shown:
        points = [(r["step"], r[key]) for r in records if key in r]
        if points:
            ax.plot(*zip(*points), label=key)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=FONT_SIZE)
    ax.set_title(f"losses in {Path(metrics_file).parent.name}")
    return _save(fig, path) if fig is not None else ax



TRANSLATION_TITLES = {
    "Is": "source image Is", "It": "target image It",
    "Is2t": "Is2t = Gt(Et(It), Ec(Is))  (1)", "It2s": "It2s = Gs(Es(Is), Ec(It))  (2)",
    "Is2t2s": "Is2t2s = Gs(Es(It2s), Ec(Is2t))  (3)", "It2s2t": "It2s2t = Gt(Et(Is2t), Ec(It2s))  (4)",
    "Is2s": "Is2s = Gs(Es(Is), Ec(Is))  (11)", "It2t": "It2t = Gt(Et(It), Ec(It))  (11)",
}


def translation_figure(translations: dict, index: int = 0, errors: bool = True, vmax: Optional[float] = None,
                       panel_width: float = 2.3, fig: Optional[Figure] = None) -> Figure:
    """Two rows, from `translate_pair`: the source chain Is, Is2t, Is2t2s, Is2s and the target chain
    It, It2s, It2s2t, It2t; with `errors`, each row ends with the error maps of its cycle (eq 10) and
    its reconstruction (eq 11), on one colour scale."""
    pick = lambda key: translations[key][index] if translations[key].ndim == 4 else translations[key]  # noqa: E731
    rows = (("Is", "Is2t", "Is2t2s", "Is2s"), ("It", "It2s", "It2s2t", "It2t"))
    images, titles = [], []
    for first, translated, cycled, rec in rows:
        images += [pick(k) for k in (first, translated, cycled, rec)]
        titles += [TRANSLATION_TITLES[k] for k in (first, translated, cycled, rec)]
        if errors:
            images += [error_map(pick(cycled), pick(first)), error_map(pick(rec), pick(first))]
            titles += [f"|{cycled} - {first}|  (eq 10)", f"|{rec} - {first}|  (eq 11)"]
    return show_images(images, titles, ncols=6 if errors else 4, panel_width=panel_width, vmax=vmax, fig=fig)
