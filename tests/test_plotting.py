"""The project's figures (zsct_lib.classroom.plotting): each draws a Figure from what `analysis` and the library
compute, the pyplot ones save to a path, and the loss curves read old and new metrics.jsonl files."""
import json

import numpy as np
import torch
from matplotlib.figure import Figure

from zsct_lib.classroom import analysis as A
from zsct_lib.classroom import plotting as P
from zsct_lib.evaluation import confusion_matrix, summarize
from zsct_lib.labels import IGNORE_INDEX

H, W_ = 64, 128


# ---- pictures in a grid -------------------------------------------------------------------

def test_show_images_takes_images_label_maps_and_error_maps(target):
    images, labels = target
    error = P.error_map(images[0], images[1])
    assert error.shape == (H, W_) and error.min() >= 0
    fig = P.show_images([images[0], labels[0], error, None], ["image", "label", "error", ""], ncols=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 2          # the mosaic and one colour bar
    for overlay in (True, False):
        assert isinstance(P.show_sample(images[0], labels[0], overlay=overlay), Figure)
    assert isinstance(P.show_sample(images[0]), Figure)
    assert isinstance(P.knob_figure("gta_like", "target", 0, 32, 64, haze=0.5), Figure)


def test_panel_helpers(target):
    _, labels = target
    mask = labels[0] == 0
    rgb = P.mask_rgb(mask, on=(1.0, 0.0, 0.0))
    assert rgb.shape == (H, W_, 3) and (rgb[mask.numpy()] == (1.0, 0.0, 0.0)).all() and rgb[~mask.numpy()].max() == 0
    assert P.present_classes(torch.tensor([[0, 5, IGNORE_INDEX]]), torch.tensor([[18, 5]])) == [0, 5, 18]
    assert P.format_percent(None) == "-" and P.format_percent(12.345) == "12.3"


# ---- pseudo labels, content transfer, evaluation ------------------------------------------

def test_threshold_curves_figure(target):
    images, labels = target
    prob = torch.softmax(torch.randn(3, 19, H, W_, generator=torch.Generator().manual_seed(0)), dim=1)
    curves = A.threshold_curves(prob, labels, thresholds=[0.0, 0.5])
    assert isinstance(P.threshold_curves_figure(curves), Figure)
    mpt = A.pseudo_label_quality(A.fixed_threshold_pseudo_label(prob, 0.1), labels)
    assert isinstance(P.threshold_curves_figure(curves, mpt), Figure)


def test_context_and_gate_figures(rider_on_a_high_road):
    source_label, target_label = rider_on_a_high_road
    assert isinstance(P.context_figure(torch.rand(3, 16, 32), source_label, torch.rand(3, 16, 32), target_label), Figure)
    counts = np.array([0, 5, 50, 80, 3, 90, 0, 60])
    assert isinstance(P.gate_histogram_figure(counts, float(np.median(counts))), Figure)


def test_per_class_and_confusion_figures(target):
    _, labels = target
    cm = confusion_matrix(labels.roll(2, dims=2), labels, 19)
    assert isinstance(P.per_class_iou_figure({"shifted": summarize(cm)}), Figure)
    assert isinstance(P.confusion_figure(cm), Figure)


def test_ablation_figures(tmp_path, fake_ablation_summary):
    assert isinstance(P.ablation_comparison_figure(fake_ablation_summary), Figure)
    assert P.ablation_figure(fake_ablation_summary, tmp_path / "a.png") == tmp_path / "a.png"
    assert (tmp_path / "a.png").stat().st_size > 0


def test_ablation_figures_name_the_image_size_the_study_recorded(fake_ablation_summary):
    titles = lambda summary: (P.ablation_comparison_figure(summary)._suptitle.get_text(),  # noqa: E731
                              P.ablation_figure(summary).axes[0].get_title())
    assert not any("128x256" in title for title in titles(fake_ablation_summary))
    for title in titles({**fake_ablation_summary, "image_size": [128, 256]}):
        assert "gta_like" in title and "128x256" in title


def test_architecture_figure_saves_to_a_path(tmp_path):
    assert P.architecture_figure(tmp_path / "sub" / "arch.png").is_file()


# ---- loss curves --------------------------------------------------------------------------

def _metrics(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_loss_curves_draw_the_trainers_terms(tmp_path):
    new = _metrics(tmp_path / "new.jsonl", [
        {"seg": 2.0 - 0.1 * s, "zero": 0.5, "zero_trans": 0.4, "rec": 0.2, "cycle": 0.3, "st": 0.1, "d_out": 0.7,
         "step": s, "stage": 1, "lr": 0.01} for s in range(1, 4)] + [{"eval": True}])
    ax = P.loss_curves(new, ax=Figure().subplots())
    assert [line.get_label() for line in ax.lines] == ["seg", "zero", "zero_trans", "st", "rec", "cycle"]
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert P.loss_curves(new, keys=("st", "seg_ct"), path=tmp_path / "c.png") == tmp_path / "c.png"


def test_loss_curves_read_files_that_log_eq_9_as_one_term(tmp_path):
    old = _metrics(tmp_path / "old.jsonl", [
        {"zero_style": 3.0, "rec": 0.2, "cycle": 0.3, "st": 0.1, "step": s, "stage": 1, "lr": 0.01} for s in (10, 20)])
    ax = P.loss_curves(old, ax=Figure().subplots())
    assert [line.get_label() for line in ax.lines] == ["zero_style", "st", "rec", "cycle"]
    ax = P.loss_curves(old, keys=("rec",), ax=Figure().subplots())      # eq 9's parts not asked for
    assert [line.get_label() for line in ax.lines] == ["rec"]
