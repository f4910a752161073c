"""Class imbalance (notebook 01): class frequencies and eq 7's class-balanced weights."""
from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from ...labels import CLASS_NAMES, TAIL_CLASSES
from .pictures import FONT_SIZE, MAX_WIDTH, SOURCE_COLOUR, TARGET_COLOUR


def class_frequency_figure(stats: dict, key: str = "pixel_share", log: bool = True, class_names=CLASS_NAMES,
                           tail_classes=TAIL_CLASSES, fig: Optional[Figure] = None) -> Figure:
    """Seaborn bar plot of one statistic of `data.class_statistics` ("pixel_share" or "image_share")
    per class, one bar per label set (e.g. per domain); tail classes are starred on a shaded band."""
    import pandas as pd
    import seaborn as sns

    rows = [{"class": name + ("*" if c in tail_classes else ""), "label set": set_name,
             "share (%)": 100.0 * float(s[key][c])}
            for set_name, s in stats.items() for c, name in enumerate(class_names[:len(s[key])])]
    if fig is None:
        fig = Figure(figsize=(MAX_WIDTH, 4.0), layout="constrained")
    else:
        fig.clear()
    ax = fig.subplots()
    sns.barplot(pd.DataFrame(rows), x="class", y="share (%)", hue="label set", ax=ax,
                palette=[SOURCE_COLOUR, TARGET_COLOUR, "tab:green", "tab:red"][:len(stats)])
    for c in tail_classes:
        if c < len(class_names):
            ax.axvspan(c - 0.5, c + 0.5, color="firebrick", alpha=0.08, lw=0)
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", rotation=60)
    for tick in ax.get_xticklabels():
        if tick.get_text().endswith("*"):
            tick.set_color("firebrick")
    # The legend beside the axes, not over them: the tallest bars of a tail class may be anywhere.
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT_SIZE, title_fontsize=FONT_SIZE,
                    frameon=False)
    what = "pixels" if key == "pixel_share" else "images that contain the class"
    ax.set_xlabel("")
    ax.set_title(f"share of {what}, per class{' (log scale)' if log else ''}; * tail class", fontsize=10)
    return fig


def class_weights_figure(counts, betas=(0.99, 0.999, 0.9999), class_names=CLASS_NAMES,
                         tail_classes=TAIL_CLASSES, fig: Optional[Figure] = None) -> Figure:
    """Seaborn bar plot of the class-balanced weights (Cui et al. 2019, `losses.class_balanced_weights`)
    of per-class pixel counts, one bar per beta, on a log scale; the dashed line is beta = 0 (equal)."""
    import pandas as pd
    import seaborn as sns
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    from ...losses import class_balanced_weights

    rows = [{"class": name + ("*" if c in tail_classes else ""), "β": f"β = {beta}", "weight": float(w)}
            for beta in betas
            for c, (name, w) in enumerate(zip(class_names, class_balanced_weights(counts, beta).tolist()))]
    if fig is None:
        fig = Figure(figsize=(MAX_WIDTH, 4.2), layout="constrained")
    else:
        fig.clear()
    ax = fig.subplots()
    sns.barplot(pd.DataFrame(rows), x="class", y="weight", hue="β", ax=ax, palette="viridis")
    ax.axhline(1.0, color="gray", ls="--", lw=1, label="β = 0 (equal weights)")
    for c in tail_classes:
        if c < len(counts):
            ax.axvspan(c - 0.5, c + 0.5, color="firebrick", alpha=0.08, lw=0)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="x", rotation=60)
    for tick in ax.get_xticklabels():
        if tick.get_text().endswith("*"):
            tick.set_color("firebrick")
    ax.set_xlabel("")
    ax.set_ylabel("weight of the class in eq 7")
    ax.legend(fontsize=FONT_SIZE, ncols=len(betas) + 1, title=None)
    ax.set_title("class-balanced weights of the source pixel counts (they sum to K = 19); * tail class", fontsize=10)
    return fig
