"""Figures for the notebooks and the report.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state,
no backend needed, nothing shown): a notebook displays it, a script saves it with
``fig.savefig(path)``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .labels import IGNORE_INDEX, colorize


# ----------------------------------------------------------------------------- images and labels

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


def _label_array(label) -> np.ndarray:
    if isinstance(label, torch.Tensor):
        label = label.detach().cpu().numpy()
    return np.asarray(label).astype(np.int64)


def overlay(image, label, alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised label over the image: float RGB [H, W, 3] in [0, 1].

    image: tensor [3, H, W] or array [H, W, 3]; label [H, W] in train ids. Ignored pixels (255)
    show the image alone. A label of another size is resized (nearest) to the image.
    """
    rgb = to_rgb(image)
    label = _label_array(label)
    if label.shape != rgb.shape[:2]:
        rows = (np.arange(rgb.shape[0]) * label.shape[0] // rgb.shape[0])
        cols = (np.arange(rgb.shape[1]) * label.shape[1] // rgb.shape[1])
        label = label[rows][:, cols]
    colours = colorize(label).astype(np.float32) / 255.0
    weight = np.where(label == IGNORE_INDEX, 0.0, alpha).astype(np.float32)[:, :, None]
    return rgb * (1 - weight) + colours * weight


_overlay = overlay  # show_gallery's `overlay` flag shadows the function's name


# ----------------------------------------------------------------------------- the two domains

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
        panel_w = 3.2
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
                        label_ax.imshow(colorize(_label_array(label)))
                    else:
                        label_ax.text(0.5, 0.5, "unlabelled", ha="center", va="center", transform=label_ax.transAxes)
            if r == 0:
                image_ax.set_title(title + (" + label" if overlay else ""))
                if label_ax is not None:
                    label_ax.set_title(title + " label")
            for ax in (image_ax, label_ax):
                if ax is not None:
                    ax.set_axis_off()
    fig.tight_layout()
    return fig


def gallery(benchmark="gta_like", n: int = 4, height: int = 128, width: int = 256, seed: int = 0,
            overlay: bool = True) -> Figure:
    """The embedded benchmark's first n source and target scenes, with their labels."""
    from .data.synthetic import StreetScenes  # the figures do not need the data package otherwise

    source = StreetScenes("source_train", benchmark, size=n, height=height, width=width, seed=seed)
    target = StreetScenes("target_oracle", benchmark, size=n, height=height, width=width, seed=seed)
    name = source.config.name
    return show_gallery(source, target, n=n, overlay=overlay,
                        titles=(f"{name} source", f"{name} target"))


# ============================================================================= notebooks 00-03
# Helpers of the first notebooks: where the demo run lies, scenes with turned knobs, class
# frequencies, style codes in 2-D, translations and their error maps. Figures as above: built
# without pyplot and returned.

import dataclasses  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from .labels import CLASS_NAMES, TAIL_CLASSES  # noqa: E402

DEMO_DIR_ENV = "ZSCT_DEMO_DIR"
SOURCE_COLOUR, TARGET_COLOUR = "tab:orange", "tab:blue"


def repo_root(start=None) -> Path:
    """The repository folder: the first of `start` (default: the working directory) and its parents
    that holds the `zsct_lib` package; else the folder above the imported package."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "zsct_lib" / "__init__.py").is_file():
            return folder
    return Path(__file__).resolve().parent.parent


def demo_checkpoint(kind: str = "full", root=None) -> Optional[Path]:
    """The checkpoint of one model of the demo run (`zsct demo`): kind "full" or "nonadapt".

    Looked for in the folder named by the environment variable ZSCT_DEMO_DIR (a demo run of your
    own) when it is set, then in the committed results/demo, then in runs/demo (where `make demo`
    writes); in each, `<kind>/model.pt` (weights only) before `<kind>/checkpoint.pt`. None if absent.
    """
    if kind not in ("full", "nonadapt"):
        raise ValueError(f"kind must be 'full' or 'nonadapt', got {kind!r}")
    root = repo_root(root)
    folders = [Path(os.environ[DEMO_DIR_ENV])] if os.environ.get(DEMO_DIR_ENV) else []
    folders += [root / "results" / "demo", root / "runs" / "demo"]
    for folder in folders:
        for name in ("model.pt", "checkpoint.pt"):
            if (folder / kind / name).is_file():
                return folder / kind / name
    return None


def load_demo_model(kind: str = "full", root=None):
    """(model in eval mode, its Config, checkpoint path) of one model of the demo run; see
    `demo_checkpoint`. Raises FileNotFoundError, saying how to make the run, when there is none."""
    path = demo_checkpoint(kind, root)
    if path is None:
        raise FileNotFoundError(f"no '{kind}' model of the demo run in results/demo or runs/demo: "
                                f"run `zsct demo --out results/demo` (a few minutes on a CPU) or set {DEMO_DIR_ENV}")
    from .figures import _load_model

    model, cfg = _load_model(path)
    return model, cfg, path


def relative_to_repo(path, root=None) -> str:
    """A path as the notebooks print it: relative to the repository when inside it, else its name."""
    path, root = Path(path).resolve(), repo_root(root)
    try:
        return str(path.relative_to(root))
    except ValueError:
        return f"<{DEMO_DIR_ENV}>/{path.parent.name}/{path.name}"


# ----------------------------------------------------------------------------- pictures in a grid

def _as_array(picture) -> np.ndarray:
    return picture.detach().cpu().numpy() if isinstance(picture, torch.Tensor) else np.asarray(picture)


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
        rgb = colorize(_label_array(picture)).astype(np.float32) / 255.0
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
    inch = panel_width / width                                    # inches per pixel of a panel
    band = int(round(0.3 / inch)) if any(titles) else 0           # title band above each row
    gap = max(1, int(round(0.08 / inch)))
    mosaic = np.ones((nrows * (band + height) + (nrows - 1) * gap, ncols * width + (ncols - 1) * gap, 3), np.float32)
    for i, picture in enumerate(images):
        if picture is None:
            continue
        r, c = divmod(i, ncols)
        top, left = r * (band + height + gap) + band, c * (width + gap)
        mosaic[top:top + height, left:left + width] = _tile(picture, (height, width), cmap, vmax)
    bar = 0.9 if heat else 0.0
    head = 0.35 if suptitle else 0.0
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
                    ha="center", va="center", fontsize=8)
    if heat:
        from matplotlib import cm, colors

        cax = fig.add_axes((1.0 - (bar - 0.15) / size[0], 0.12, 0.12 / size[0], 0.7 * (1.0 - head / size[1])))
        fig.colorbar(cm.ScalarMappable(colors.Normalize(0.0, vmax), cmap), cax=cax).set_label(colorbar_label, fontsize=8)
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
    return show_images([image, _label_array(label)], [title, "label"], panel_width=panel_width, fig=fig)


def error_map(image, reference) -> np.ndarray:
    """Per-pixel L1 error |image - reference|, averaged over the colour channels: float [H, W].

    Its mean over pixels is the |.|_1 of eqs 10 and 11 (as the library averages it) for one image.
    """
    return np.abs(to_rgb(image) - to_rgb(reference)).mean(axis=2)


# ----------------------------------------------------------------------------- the benchmark's knobs

def _knob_fields():
    from .data.synthetic import SceneGeometry, SceneStyle

    return ({f.name for f in dataclasses.fields(SceneStyle)}, {f.name for f in dataclasses.fields(SceneGeometry)})


def scene_with_knobs(benchmark="gta_like", domain: str = "target", index: int = 0, height: int = 128,
                     width: int = 256, seed: int = 0, **knobs):
    """One scene of the embedded benchmark with some knobs turned: (image uint8 [H, W, 3], label uint8 [H, W]).

    `knobs` are fields of the domain's SceneStyle (exposure, saturation, hue_shift, haze, noise, ...)
    or SceneGeometry (horizon, camera_height, focal, object_scale, ...); the others keep the domain's
    values. The layout of the scene does not depend on them, so one scene can be redrawn knob by knob.
    """
    from .data.synthetic import generate_scene, get_benchmark

    style_fields, geometry_fields = _knob_fields()
    unknown = sorted(set(knobs) - style_fields - geometry_fields)
    if unknown:
        raise ValueError(f"unknown knob(s) {unknown}: SceneStyle has {sorted(style_fields)}, "
                         f"SceneGeometry has {sorted(geometry_fields)}")
    config = get_benchmark(benchmark)
    dom = config.domain(domain)
    dom = dataclasses.replace(
        dom, style=dataclasses.replace(dom.style, **{k: v for k, v in knobs.items() if k in style_fields}),
        geometry=dataclasses.replace(dom.geometry, **{k: v for k, v in knobs.items() if k in geometry_fields}))
    config = dataclasses.replace(config, **{domain: dom})
    return generate_scene(config, domain, seed, index, height, width)


def knob_figure(benchmark="gta_like", domain: str = "target", index: int = 0, height: int = 128,
                width: int = 256, seed: int = 0, alpha: float = 0.5, **knobs) -> Figure:
    """`scene_with_knobs` drawn: the image and its label overlay, the turned knobs in the title."""
    image, label = scene_with_knobs(benchmark, domain, index, height, width, seed, **knobs)
    turned = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in knobs.items())
    return show_images([image, _overlay(image, label, alpha)], [f"{domain} scene {index}", "with its label"],
                       panel_width=3.6, suptitle=turned or "the domain's own knobs")


# ----------------------------------------------------------------------------- class imbalance

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
        fig = Figure(figsize=(11, 3.8), layout="constrained")
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
        fig = Figure(figsize=(11, 3.6), layout="constrained")
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
    ax.legend(fontsize=8, ncols=len(betas) + 1, title=None)
    ax.set_title("class-balanced weights of the source pixel counts (they sum to K = 19); * tail class", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- style codes, losses over steps

def project_2d(codes, return_explained: bool = False):
    """PCA to 2-D: codes [N, S] (tensor or array) -> float64 [N, 2], centred, along the two directions
    of largest variance (numpy SVD). Each axis's sign is fixed (its largest loading positive), so a
    picture is the same on every run. With `return_explained`, also the share of variance per axis."""
    x = np.asarray(codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    axes = vt[:2].copy()
    while axes.shape[0] < 2:  # a code of one dimension: the second axis is flat
        axes = np.vstack([axes, np.zeros((1, x.shape[1]))])
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    points = x @ axes.T
    if not return_explained:
        return points
    variance = singular ** 2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return points, np.pad(explained, (0, 2 - len(explained)))


def style_code_figure(panels: dict, fig: Optional[Figure] = None) -> Figure:
    """Style codes projected to 2-D (`project_2d`), one panel per entry `title -> (codes [N, S],
    domains [N])` with domains named "source" / "target"; one colour per domain."""
    if fig is None:
        fig = Figure(figsize=(4.2 * len(panels), 3.8), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, (codes, domains)) in zip(axes, panels.items()):
        points, explained = project_2d(codes, return_explained=True)
        domains = np.asarray(domains)
        for name, colour in (("source", SOURCE_COLOUR), ("target", TARGET_COLOUR)):
            chosen = domains == name
            if chosen.any():
                ax.scatter(points[chosen, 0], points[chosen, 1], s=14, alpha=0.75, color=colour, label=f"{name} images")
        ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}%)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    return fig


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
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


# ----------------------------------------------------------------------------- translations

@torch.no_grad()
def translate_pair(model, source: torch.Tensor, target: torch.Tensor) -> dict:
    """Every image of eqs 1-4 and 11 for source images Is and target images It ([B,3,H,W] or [3,H,W]):

    Is2t = Gt(Et(It), Ec(Is)) (1), It2s = Gs(Es(Is), Ec(It)) (2), Is2t2s = Gs(Es(It2s), Ec(Is2t)) (3),
    It2s2t = Gt(Et(Is2t), Ec(It2s)) (4), Is2s = Gs(Es(Is), Ec(Is)) and It2t = Gt(Et(It), Ec(It)) (11);
    the inputs under "Is" and "It". The computations of `training.generator_losses`, without
    gradients, in whatever mode the model is in (call `model.eval()` first to look at a trained model).
    Source and target batches pair up image by image.
    """
    single = source.ndim == 3
    Is, It = (source[None], target[None]) if single else (source, target)
    stem_s, content_s, _ = model.encode(Is)
    stem_t, content_t, _ = model.encode(It)
    style_s, style_t = model.style_source(stem_s), model.style_target(stem_t)
    out = {"Is": Is, "It": It}
    out["Is2t"] = model.gen_target(style_t, content_s)
    out["It2s"] = model.gen_source(style_s, content_t)
    stem_s2t, content_s2t, _ = model.encode(out["Is2t"])
    stem_t2s, content_t2s, _ = model.encode(out["It2s"])
    out["Is2t2s"] = model.gen_source(model.style_source(stem_t2s), content_s2t)
    out["It2s2t"] = model.gen_target(model.style_target(stem_s2t), content_t2s)
    out["Is2s"] = model.gen_source(style_s, content_s)
    out["It2t"] = model.gen_target(style_t, content_t)
    return {k: v[0] for k, v in out.items()} if single else out


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
