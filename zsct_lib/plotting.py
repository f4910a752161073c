"""Every figure of the project: the notebooks' pictures and plots, and the files of figures/.

Two kinds of function, both returning a :class:`matplotlib.figure.Figure`:

* the notebooks' figures are built without pyplot (no global state, nothing shown): a notebook
  displays the returned figure, a widget redraws it, a script saves it with ``fig.savefig(path)``;
* the figures of figures/ and of the runs (`architecture_figure`, `demo_figure`, `loss_curves`,
  `ablation_figure`) use pyplot and take a `path`: given one, the figure is saved there and closed.
  `make_figures` (the `zsct figures` command) draws every file of figures/.

A script that imports this module draws off-screen (matplotlib's Agg backend); a notebook keeps its
inline backend. What the pictures show is computed in `analysis` (and the library's modules); label
maps are coloured with `labels.colorize`.

Sections: pictures in a grid (`to_rgb`, `overlay`, `error_map`, `show_images`, `show_sample`,
`show_gallery`, `gallery`, `knob_figure`); panels of the interactive views (`show_panel`, `mask_rgb`,
`class_legend`, `present_classes`, `format_percent`); class imbalance; style codes and loss curves;
translations; pseudo labels; content transfer; evaluation and ablation; the files of figures/.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

if "ipykernel" not in sys.modules:  # scripts draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .analysis import context_transfer, project_2d, scene_with_knobs  # noqa: E402
from .content_transfer import paste, tail_label  # noqa: E402
from .labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, PALETTE, TAIL_CLASSES, colorize  # noqa: E402
from .paths import RESULTS_DIR  # noqa: E402

SOURCE_COLOUR, TARGET_COLOUR = "tab:orange", "tab:blue"

# Every figure is drawn for JupyterLab at 1366 x 768 with the file browser open, where an output is shown
# at most ~900 px wide: at most MAX_WIDTH inches at the 100 dpi a notebook shows a Figure with, and no
# text below FONT_SIZE pt (9 pt at 100 dpi: 12-13 px high).
MAX_WIDTH, FONT_SIZE = 9.0, 9


def wrap_text(text: str, width: int) -> str:
    """`text` with each of its lines wrapped at `width` characters (at spaces; words stay whole)."""
    import textwrap

    return "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
                     for line in text.split("\n"))


def chars_per_line(width_inches: float, fontsize: float = FONT_SIZE) -> int:
    """How many characters of a `fontsize` pt text fit in `width_inches` (DejaVu Sans, ~0.53 em each)."""
    return max(8, int(width_inches * 72 / (0.53 * fontsize)))


# ============================================================================= pictures in a grid

def to_rgb(image) -> np.ndarray:
    """An image as float RGB [H, W, 3] in [0, 1]: from a tensor [3, H, W] (float in [0, 1]) or an
    array [H, W, 3] (uint8, or float in [0, 1])."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float().numpy()
        if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
            image = image.transpose(1, 2, 0)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = image.transpose(1, 2, 0)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def _as_array(picture) -> np.ndarray:
    return picture.detach().cpu().numpy() if isinstance(picture, torch.Tensor) else np.asarray(picture)


def overlay(image, label, alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised label over the image: float RGB [H, W, 3] in [0, 1].

    image: tensor [3, H, W] or array [H, W, 3]; label [H, W] in train ids. Ignored pixels (255)
    show the image alone. A label of another size is resized (nearest) to the image.
    """
    rgb = to_rgb(image)
    label = _as_array(label).astype(np.int64)
    if label.shape != rgb.shape[:2]:
        rows = (np.arange(rgb.shape[0]) * label.shape[0] // rgb.shape[0])
        cols = (np.arange(rgb.shape[1]) * label.shape[1] // rgb.shape[1])
        label = label[rows][:, cols]
    colours = colorize(label).astype(np.float32) / 255.0
    weight = np.where(label == IGNORE_INDEX, 0.0, alpha).astype(np.float32)[:, :, None]
    return rgb * (1 - weight) + colours * weight


_overlay = overlay  # show_gallery's `overlay` flag shadows the function's name


def error_map(image, reference) -> np.ndarray:
    """Per-pixel L1 error |image - reference|, averaged over the colour channels: float [H, W].

    Its mean over pixels is the |.|_1 of eqs 10 and 11 (as the library averages it) for one image.
    """
    return np.abs(to_rgb(image) - to_rgb(reference)).mean(axis=2)


def _picture_shape(picture) -> tuple[int, int]:
    array = _as_array(picture)
    return tuple(array.shape) if array.ndim == 2 else to_rgb(picture).shape[:2]


def _is_label_map(picture) -> bool:
    if isinstance(picture, torch.Tensor):
        return picture.ndim == 2 and not picture.is_floating_point()
    picture = np.asarray(picture)
    return picture.ndim == 2 and np.issubdtype(picture.dtype, np.integer)


def _tile(picture, shape, cmap, vmax) -> np.ndarray:
    """One panel as float RGB [H, W, 3] of `shape` (nearest resize when it differs)."""
    if _is_label_map(picture):
        rgb = colorize(picture).astype(np.float32) / 255.0
    else:
        array = _as_array(picture)
        if array.ndim == 2:
            from matplotlib import colormaps

            rgb = colormaps[cmap](np.clip(array.astype(np.float64) / vmax, 0.0, 1.0))[..., :3].astype(np.float32)
        else:
            rgb = to_rgb(picture)
    if rgb.shape[:2] != tuple(shape):
        rows = np.arange(shape[0]) * rgb.shape[0] // shape[0]
        cols = np.arange(shape[1]) * rgb.shape[1] // shape[1]
        rgb = rgb[rows][:, cols]
    return rgb


def show_images(images, titles=None, ncols: Optional[int] = None, panel_width: float = 2.6,
                vmax: Optional[float] = None, cmap: str = "magma", fig: Optional[Figure] = None,
                suptitle: Optional[str] = None, colorbar_label: str = "|error| (mean over RGB)") -> Figure:
    """A grid of pictures with a title above each (None leaves a panel empty):

    * RGB images: tensors [3, H, W] in [0, 1] or arrays [H, W, 3];
    * label maps: integer [H, W] in train ids, drawn with the Cityscapes palette;
    * float maps [H, W] (e.g. `error_map`): drawn with `cmap` from 0 to `vmax` (default: their
      largest value), with one shared colour bar.

    The panels are laid out as one mosaic in a single axes, so that a widget redraws it quickly;
    every panel takes the size of the first one.
    """
    images = list(images)
    titles = list(titles) if titles is not None else [""] * len(images)
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    height, width = _picture_shape(next(p for p in images if p is not None))
    heat = [_as_array(p) for p in images if p is not None and not _is_label_map(p) and _as_array(p).ndim == 2]
    if vmax is None and heat:
        vmax = max(float(h.max()) for h in heat) or 1.0
    bar = 0.9 if heat else 0.0          # the colour bar's strip; widened below when its label wraps
    panel_width = min(panel_width, (MAX_WIDTH - bar - 0.08 * (ncols - 1)) / ncols)   # at most 900 px in all
    inch = panel_width / width                                    # inches per pixel of a panel
    titles = [wrap_text(t, chars_per_line(panel_width)) if t else t for t in titles]
    lines = max([t.count("\n") + 1 for t in titles[:len(images)] if t] or [0])
    band = int(round((0.06 + 0.17 * lines) / inch)) if lines else 0   # title band above each row
    gap = max(1, int(round(0.08 / inch)))
    mosaic = np.ones((nrows * (band + height) + (nrows - 1) * gap, ncols * width + (ncols - 1) * gap, 3), np.float32)
    for i, picture in enumerate(images):
        if picture is None:
            continue
        r, c = divmod(i, ncols)
        top, left = r * (band + height + gap) + band, c * (width + gap)
        mosaic[top:top + height, left:left + width] = _tile(picture, (height, width), cmap, vmax)
    head = 0.35 if suptitle else 0.0
    if heat:   # the bar's label runs along the bar: wrapped to the bar's height, one strip of width per line
        bar_height = 0.7 * mosaic.shape[0] * inch
        colorbar_label = wrap_text(colorbar_label, chars_per_line(bar_height))
        bar = 0.8 + 0.17 * colorbar_label.count("\n")
    inch = min(inch, (MAX_WIDTH - bar) / mosaic.shape[1])         # the gaps' rounding kept within 900 px
    size = (mosaic.shape[1] * inch + bar, mosaic.shape[0] * inch + head)
    if fig is None:
        fig = Figure(figsize=size)
    else:
        fig.clear()
        fig.set_size_inches(*size)
    ax = fig.add_axes((0.0, 0.0, 1.0 - bar / size[0], 1.0 - head / size[1]))
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    for i, title in enumerate(titles[:len(images)]):
        if title and images[i] is not None:
            r, c = divmod(i, ncols)
            ax.text(c * (width + gap) + width / 2, r * (band + height + gap) + band * 0.55, title,
                    ha="center", va="center", fontsize=FONT_SIZE)
    if heat:
        from matplotlib import cm, colors

        cax = fig.add_axes((1.0 - (bar - 0.12) / size[0], 0.12, 0.12 / size[0], 0.7 * (1.0 - head / size[1])))
        fig.colorbar(cm.ScalarMappable(colors.Normalize(0.0, vmax), cmap), cax=cax).set_label(colorbar_label, fontsize=FONT_SIZE)
    if suptitle:
        fig.text(0.5, 1.0 - 0.5 * head / size[1], suptitle, ha="center", va="center", fontsize=10)
    return fig


def show_sample(image, label=None, overlay: bool = True, alpha: float = 0.5, title: str = "",
                panel_width: float = 4.0, fig: Optional[Figure] = None) -> Figure:
    """One sample: the label blended over the image (`overlay=True`), or the image and its label side
    by side; an unlabelled sample shows the image alone."""
    if label is None:
        return show_images([image], [title + " (unlabelled)"], panel_width=panel_width, fig=fig)
    if overlay:
        return show_images([_overlay(image, label, alpha)], [title + " + label"], panel_width=panel_width, fig=fig)
    return show_images([image, label], [title, "label"], panel_width=panel_width, fig=fig)


def _split_sample(sample):
    """(image, label) or a bare image (unlabelled) -> (image, label or None)."""
    if isinstance(sample, (tuple, list)):
        return sample[0], (sample[1] if len(sample) > 1 else None)
    return sample, None


def _take(samples, n: int) -> list:
    """The first n samples of a list or a dataset."""
    if hasattr(samples, "__len__") and hasattr(samples, "__getitem__"):
        return [samples[i] for i in range(min(n, len(samples)))]
    return list(samples)[:n]


def show_gallery(source_samples, target_samples, n: int = 4, overlay: bool = True, alpha: float = 0.5,
                 fig: Optional[Figure] = None, titles: Sequence[str] = ("source", "target")) -> Figure:
    """Source and target samples side by side, one row per sample.

    Samples: lists (or datasets) of ``(image, label)`` or of bare images (unlabelled target).
    With ``overlay=True`` each panel blends the label over the image; otherwise the label gets its
    own panel next to the image. Draws into `fig` (cleared) when given.
    """
    columns = []
    for title, samples in zip(titles, (source_samples, target_samples)):
        columns.append((title, [_split_sample(s) for s in _take(samples, n)]))
    rows = max(len(c[1]) for c in columns)
    panels_per_domain = 1 if overlay else 2
    if fig is None:
        first = next(s for _, c in columns for s in c)
        height, width = to_rgb(first[0]).shape[:2]
        panel_w = min(3.2, MAX_WIDTH / (panels_per_domain * len(columns)))
        fig = Figure(figsize=(panel_w * panels_per_domain * len(columns), panel_w * height / width * rows + 0.5))
    else:
        fig.clear()
    axes = fig.subplots(rows, panels_per_domain * len(columns), squeeze=False)
    for d, (title, samples) in enumerate(columns):
        for r in range(rows):
            image_ax = axes[r, d * panels_per_domain]
            label_ax = axes[r, d * panels_per_domain + 1] if not overlay else None
            if r < len(samples):
                image, label = samples[r]
                if overlay and label is not None:
                    image_ax.imshow(_overlay(image, label, alpha))
                else:
                    image_ax.imshow(to_rgb(image))
                if label_ax is not None:
                    if label is not None:
                        label_ax.imshow(colorize(label))
                    else:
                        label_ax.text(0.5, 0.5, "unlabelled", ha="center", va="center", transform=label_ax.transAxes,
                                      fontsize=10)
            if r == 0:
                image_ax.set_title(title + (" + label" if overlay else ""), fontsize=10)
                if label_ax is not None:
                    label_ax.set_title(title + " label", fontsize=10)
            for ax in (image_ax, label_ax):
                if ax is not None:
                    ax.set_axis_off()
    fig.tight_layout()
    return fig


def gallery(benchmark="gta_like", n: int = 4, height: int = 128, width: int = 256, seed: int = 0,
            overlay: bool = True) -> Figure:
    """The embedded benchmark's first n source and target scenes, with their labels."""
    from .data.benchmark import StreetScenes  # the other figures do not need the data package

    source = StreetScenes("source_train", benchmark, size=n, height=height, width=width, seed=seed)
    target = StreetScenes("target_oracle", benchmark, size=n, height=height, width=width, seed=seed)
    name = source.config.name
    return show_gallery(source, target, n=n, overlay=overlay,
                        titles=(f"{name} source", f"{name} target"))


def knob_figure(benchmark="gta_like", domain: str = "target", index: int = 0, height: int = 128,
                width: int = 256, seed: int = 0, alpha: float = 0.5, **knobs) -> Figure:
    """`scene_with_knobs` drawn: the image and its label overlay, the turned knobs in the title."""
    image, label = scene_with_knobs(benchmark, domain, index, height, width, seed, **knobs)
    turned = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in knobs.items())
    return show_images([image, _overlay(image, label, alpha)], [f"{domain} scene {index}", "with its label"],
                       panel_width=3.6, suptitle=turned or "the domain's own knobs")


# ============================================================================= panels of the interactive views

def show_panel(ax, picture, title=None, fontsize=FONT_SIZE):
    """Draw one picture (RGB [H, W, 3], e.g. `to_rgb`, `colorize` or `mask_rgb`) into an axes, without
    ticks, with a small title."""
    ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def mask_rgb(mask, on=(1.0, 1.0, 1.0)) -> np.ndarray:
    """A bool mask [H, W] as float RGB [H, W, 3]: colour `on` where it is set, black elsewhere."""
    mask = torch.as_tensor(mask).cpu().numpy().astype(bool)
    out = np.zeros(mask.shape + (3,), np.float32)
    out[mask] = on
    return out


def class_legend(fig, classes, ncol=5, y=0.0, fontsize=FONT_SIZE):
    """A legend of class colours (the Cityscapes palette) along the bottom of a figure; tail classes starred.
    In a figure with a constrained layout it goes below the axes, which make room for it."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=PALETTE[c] / 255.0, label=CLASS_NAMES[c] + (" *" if c in TAIL_CLASSES else ""))
               for c in classes]
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if handles and isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=fontsize, frameon=False)
    elif handles:
        fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=fontsize, frameon=False,
                   bbox_to_anchor=(0.5, y))


def present_classes(*labels) -> list[int]:
    """The train ids (0..K-1) that occur in any of the label maps, in order: what a legend must list."""
    seen = set()
    for label in labels:
        seen |= set(torch.as_tensor(label).unique().tolist())
    return [c for c in range(NUM_CLASSES) if c in seen]


def format_percent(value) -> str:
    """An IoU of a summary (a percentage, or None when no pixel of the classes occurs) as text."""
    return "-" if value is None else f"{value:.1f}"


# ============================================================================= class imbalance (notebook 01)

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

    from .losses import class_balanced_weights

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


# ============================================================================= style codes, loss curves (02, 06)

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


# ============================================================================= translations (notebook 03)

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


# ============================================================================= pseudo labels (notebook 04)

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


# ============================================================================= content transfer (notebook 05)

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


# ============================================================================= evaluation, ablation (notebook 07)

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
    fig.suptitle(f"ours: {summary['benchmark']}, {summary['protocol']}, {summary['seeds']} seeds; "
                 f"paper: {paper.get('title', '-')}", fontsize=9)
    fig.tight_layout()
    return fig


def qualitative_figure(view: ModelComparisonView, indices) -> Figure:
    """A grid of target images: image, ground truth and each model's prediction, one row per index."""
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
    ax.set_title(f"ablation on {summary['benchmark']} ({summary['protocol']} protocol, {summary['seeds']} seeds)")
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


# ============================================================================= figures/ and the demo run

def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path
    return fig


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
    from .checkpoint import load_model
    from .data import build_datasets

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
    candidates = RESULTS_DIR / "tail_candidates"
    if candidates.is_dir():
        runs = {run.name: run for run in sorted(candidates.iterdir()) if (run / "metrics.jsonl").is_file()}
        if runs:
            written.append(learning_curves_figure(runs, path=out / "tail_candidates.png"))
    return written
