"""Pictures in a grid (`to_rgb`, `overlay`, `error_map`, `show_images`, `show_sample`, `show_gallery`,
`gallery`, `knob_figure`) and the panels of the interactive views (`show_panel`, `mask_rgb`, `class_legend`,
`present_classes`, `format_percent`): the pieces every other figure is drawn with."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ...labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, PALETTE, TAIL_CLASSES, colorize
from ..analysis import scene_with_knobs


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
    from ...data.benchmark import StreetScenes  # the other figures do not need the data package

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



def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path
    return fig
