"""Every figure of zsct_lib.classroom.plotting and zsct_lib.classroom.widgets is readable where the notebooks show it.

JupyterLab at 1366 x 768 with the file browser open shows an output at most ~900 px wide (a wider
image is scaled down, and its text with it). So each figure is at most 900 px wide at the dpi a
notebook shows it with (its own dpi: 100 for a `Figure` or a pyplot figure), every visible text is
at least 9 pt at that size, and class names are shown whole.
"""
import json

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from zsct_lib.classroom import analysis as A
from zsct_lib.classroom import plotting as P
from zsct_lib.evaluation import confusion_matrix, summarize
from zsct_lib.labels import CLASS_NAMES, IGNORE_INDEX

MAX_PX, MIN_PT = 900, 9
H, W_ = 64, 128


def visible_texts(fig):
    """The texts a reader sees: visible, non-empty, drawn (tick labels exist only once the figure is)."""
    fig.draw_without_rendering()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def check_readable(fig, name):
    width_px = fig.get_figwidth() * fig.dpi
    assert width_px <= MAX_PX, f"{name}: {width_px:.0f} px wide at {fig.dpi:g} dpi"
    texts = visible_texts(fig)
    small = [(t.get_text()[:30], t.get_fontsize()) for t in texts if t.get_fontsize() < MIN_PT]
    assert not small, f"{name}: text below {MIN_PT} pt: {small[:5]}"


# ---- the figures, built cheaply --------------------------------------------------------------

def _metrics(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def plotting_figures(target, rider, fake_ablation_summary, tmp_path):
    """name -> a zero-argument function drawing one figure of zsct_lib.classroom.plotting."""
    images, labels = target
    source_label, target_label = rider
    prob = torch.softmax(torch.randn(3, 19, H, W_, generator=torch.Generator().manual_seed(0)), dim=1)
    curves = A.threshold_curves(prob, labels, thresholds=[0.0, 0.25, 0.5, 0.75])
    mpt = A.pseudo_label_quality(A.fixed_threshold_pseudo_label(prob, 0.1), labels)
    cm = confusion_matrix(labels.roll(2, dims=2), labels, 19)
    every_class = torch.arange(19).repeat_interleave(4).reshape(1, 4, 19)     # every class present
    cm_all = confusion_matrix(every_class.roll(1, dims=2), every_class, 19) + confusion_matrix(every_class, every_class, 19)
    rng = np.random.default_rng(0)
    stats = {name: {"pixel_share": rng.dirichlet(np.ones(19)), "image_share": rng.random(19)}
             for name in ("source", "target")}
    codes = {name: (torch.randn(16, 8), ["source"] * 8 + ["target"] * 8)
             for name in ("untrained", "short loop (section 3)", "demo: full method", "DISE stage")}
    translations = {k: torch.rand(2, 3, H, W_) for k in ("Is", "It", "Is2t", "It2s", "Is2t2s", "It2s2t", "Is2s", "It2t")}
    (tmp_path / "run").mkdir()
    metrics = _metrics(tmp_path / "run" / "metrics.jsonl", [
        {"seg": 2.0 - 0.1 * s, "zero": 0.5, "zero_trans": 0.4, "rec": 0.2, "cycle": 0.3, "st": 0.1,
         "step": s, "stage": 1, "lr": 0.01} for s in range(1, 6)])
    tail = ("pole", "traffic light", "traffic sign", "rider", "motorcycle", "bicycle")
    for name in ("candidate_a", "candidate_b"):
        (tmp_path / name).mkdir()
        _metrics(tmp_path / name / "metrics.jsonl", [
            {"step": s, "eval_miou": 10.0 + s, "eval_miou_tail": 5.0 + s,
             "eval_per_class": {c: float(s) for c in tail}} for s in (100, 200)])
    error = P.error_map(images[0], images[1])
    return {
        "show_images": lambda: P.show_images([images[0], labels[0], error, None], ["image", "label", "error", ""],
                                             ncols=2),
        "show_images (4 in a row)": lambda: P.show_images([images[0], labels[0], images[1], error],
                                                          ["image", "truth", "prediction", "wrong pixels"]),
        "show_images (5 columns)": lambda: P.show_images([images[0]] * 10, [f"content {i}, style {i}" for i in range(10)],
                                                         ncols=5, panel_width=2.4),
        "show_sample": lambda: P.show_sample(images[0], labels[0]),
        "show_sample (side by side)": lambda: P.show_sample(images[0], labels[0], overlay=False),
        "gallery": lambda: P.gallery("gta_like", n=2, height=H, width=W_),
        "gallery (no overlay)": lambda: P.gallery("gta_like", n=2, height=H, width=W_, overlay=False),
        "knob_figure": lambda: P.knob_figure("gta_like", "target", 0, H, W_, haze=0.5),
        "class_frequency_figure": lambda: P.class_frequency_figure(stats),
        "class_weights_figure": lambda: P.class_weights_figure(np.arange(1, 20) * 1000),
        "style_code_figure": lambda: P.style_code_figure(codes),
        "loss_history_figure": lambda: P.loss_history_figure({"rec": np.linspace(1, 0, 20), "cycle": np.ones(20)},
                                                             title="style encoders and generators, 20 steps"),
        "loss_curves": lambda: P.loss_curves(metrics).figure,
        "translation_figure": lambda: P.translation_figure(translations),
        "translation_figure (no errors)": lambda: P.translation_figure(translations, errors=False),
        "threshold_curves_figure": lambda: P.threshold_curves_figure(curves, mpt),
        "threshold_curves_figure (curves only)": lambda: P.threshold_curves_figure(curves),
        "gate_histogram_figure": lambda: P.gate_histogram_figure(np.array([0, 5, 50, 80, 3, 90, 0, 60]), 27.5),
        "context_figure": lambda: P.context_figure(torch.rand(3, 16, 32), source_label, torch.rand(3, 16, 32),
                                                   target_label),
        "per_class_iou_figure": lambda: P.per_class_iou_figure({"shifted": summarize(cm), "all": summarize(cm_all)}),
        "confusion_figure": lambda: P.confusion_figure(cm_all),
        "ablation_comparison_figure": lambda: P.ablation_comparison_figure(fake_ablation_summary),
        "ablation_figure": lambda: P.ablation_figure(fake_ablation_summary),
        "learning_curves_figure": lambda: P.learning_curves_figure(
            {n: tmp_path / n for n in ("candidate_a", "candidate_b")}),
        "architecture_figure": lambda: P.architecture_figure(),
    }


def widget_figures(model, target):
    """name -> a zero-argument function drawing one figure of the notebooks' views (and qualitative_figure)."""
    from zsct_lib.classroom import widgets as W
    from zsct_lib.classroom.analysis import stack_split
    from zsct_lib.config import ModelConfig
    from zsct_lib.content_transfer import tail_label
    from zsct_lib.data import StreetScenes
    from zsct_lib.models import build_model

    images, labels = target
    dataset = StreetScenes("source_train", "gta_like", 12, H, W_)
    counts = [int((tail_label(dataset.label(i)) != IGNORE_INDEX).sum()) for i in range(len(dataset))]
    pool = [i for i, c in enumerate(counts) if c > 0][:2]
    s_images, s_labels = stack_split(dataset, pool)
    counts = np.asarray(counts)[pool]
    comparison = W.ModelComparisonView({"NonAdapt": model, "full method": build_model(ModelConfig()).eval()},
                                       images, labels)
    return {
        "PseudoLabelView": lambda: W.PseudoLabelView(model, images, labels).figure(),
        "ContentTransferView": lambda: W.ContentTransferView(model, s_images, s_labels, images,
                                                             float(np.median(counts)), counts).figure(),
        "ModelComparisonView": lambda: comparison.figure(),
        "ModelComparisonView (no errors)": lambda: comparison.figure(1, errors=False),
        "qualitative_figure": lambda: P.qualitative_figure(comparison, [0, 1]),
    }


def test_plotting_figures_fit_900_px_with_9_pt_text(target, rider_on_a_high_road, fake_ablation_summary, tmp_path):
    failures = []
    for name, draw in plotting_figures(target, rider_on_a_high_road, fake_ablation_summary, tmp_path).items():
        fig = draw()
        try:
            check_readable(fig, name)
        except AssertionError as error:
            failures.append(str(error))
        plt.close(fig)
    assert not failures, "\n".join(failures)


def test_view_figures_fit_900_px_with_9_pt_text(model, target):
    failures = []
    for name, draw in widget_figures(model, target).items():
        try:
            check_readable(draw(), name)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_confusion_figure_shows_whole_class_names(target):
    _, labels = target
    cm = confusion_matrix(labels, labels, 19)
    fig = P.confusion_figure(cm)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        shown = [t.get_text().rstrip("*") for t in ticks]
        assert shown == list(CLASS_NAMES)
        assert "vegetation" in shown and "traffic light" in shown


def test_threshold_curves_figure_shows_whole_class_names(target):
    images, labels = target
    prob = torch.softmax(torch.randn(3, 19, H, W_, generator=torch.Generator().manual_seed(0)), dim=1)
    curves = A.threshold_curves(prob, labels, thresholds=[0.0, 0.5])
    mpt = A.pseudo_label_quality(A.fixed_threshold_pseudo_label(prob, 0.1), labels)
    fig = P.threshold_curves_figure(curves, mpt)
    fig.draw_without_rendering()
    shown = {t.get_text().rstrip("*") for ax in fig.axes for t in ax.get_xticklabels()}
    present = {CLASS_NAMES[c] for c in range(19) if mpt["class_pixels"][c] > 0 or mpt["pseudo_pixels"][c] > 0}
    assert present <= shown


# ---- every panel draws something ----------------------------------------------------------------

def empty_panels(fig) -> list[str]:
    """The axes of a figure that show nothing: no image with varying data, no line with points, no
    collection (scatter, mesh), no patch (bar) and no text of their own. An axes switched off with
    nothing in it is a grid's unused slot, not an empty panel."""
    empty = []
    for number, ax in enumerate(fig.axes, 1):
        images = [im for im in ax.images if np.ptp(np.asarray(im.get_array(), dtype=float)) > 0]
        lines = [line for line in ax.lines if len(line.get_xdata()) > 0]
        collections = [c for c in ax.collections if len(c.get_paths()) > 0 or getattr(c, "get_offsets", lambda: [])().__len__()]
        texts = [t for t in ax.texts if t.get_text().strip()]
        if images or lines or collections or ax.patches or texts:
            continue
        if ax.axison:
            empty.append(f"axes {number} ({ax.get_title()[:40]!r}) draws nothing")
    return empty


def test_the_panel_check_finds_an_empty_axes():
    fig = Figure(figsize=(4, 2))
    full, blank = fig.subplots(1, 2)
    full.plot([0, 1], [1, 0])
    blank.set_title("codes")
    assert empty_panels(fig) == ["axes 2 ('codes') draws nothing"]
    blank.scatter([0], [0])
    assert empty_panels(fig) == []


def test_every_figure_draws_something_in_each_panel(target, rider_on_a_high_road, fake_ablation_summary, tmp_path):
    failures = []
    for name, draw in plotting_figures(target, rider_on_a_high_road, fake_ablation_summary, tmp_path).items():
        fig = draw()
        failures += [f"{name}: {problem}" for problem in empty_panels(fig)]
        plt.close(fig)
    assert not failures, "\n".join(failures)


def test_every_view_draws_something_in_each_panel(model, target):
    failures = []
    for name, draw in widget_figures(model, target).items():
        failures += [f"{name}: {problem}" for problem in empty_panels(draw())]
    assert not failures, "\n".join(failures)


def test_style_code_figure_draws_the_five_panels_of_notebook_02():
    """Notebook 02 draws five models' codes: five scatter panels of 64 points, the sixth slot switched off."""
    codes = {name: (torch.randn(64, 8, generator=torch.Generator().manual_seed(i)), ["source"] * 32 + ["target"] * 32)
             for i, name in enumerate(("untrained", "short loop", "trained from scratch", "DISE stage", "full method"))}
    fig = P.style_code_figure(codes)
    drawn = [ax for ax in fig.axes if ax.collections]
    assert len(drawn) == 5
    assert all(sum(len(c.get_offsets()) for c in ax.collections) == 64 for ax in drawn)
    assert not fig.axes[5].axison and empty_panels(fig) == []


def test_colour_bar_label_of_notebook_00_is_whole_inside_the_figure(target):
    """Notebook 00's four panels in a row are short: the bar's label wraps instead of running off the figure."""
    images, labels = target
    wrong = (labels[0] != labels[0].roll(3, dims=1)).float()
    fig = P.show_images([images[0], labels[0], labels[0].roll(3, dims=1), wrong],
                        ["target image", "true label", "prediction: moved 3 px", "wrong pixels"],
                        panel_width=3.0, colorbar_label="wrong (1) or right (0)")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    label = fig.axes[-1].yaxis.label
    box, page = label.get_window_extent(renderer), fig.bbox
    assert label.get_text().replace("\n", " ") == "wrong (1) or right (0)"
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)
    check_readable(fig, "show_images (notebook 00)")


def test_threshold_curves_draw_every_tail_class_in_a_colour_not_grey(target):
    images, labels = target
    prob = torch.softmax(torch.randn(3, 19, H, W_, generator=torch.Generator().manual_seed(0)), dim=1)
    fig = P.threshold_curves_figure(A.threshold_curves(prob, labels, thresholds=[0.0, 0.5]))
    from matplotlib.colors import to_rgb
    for line in fig.axes[0].lines:
        if line.get_label().endswith(" *"):
            r, g, b = to_rgb(line.get_color())
            assert max(r, g, b) - min(r, g, b) > 0.1, f"{line.get_label()} is drawn grey"
