"""The notebooks' views (zsct_lib.widgets): they build, their controls change what they show, and they answer fast.

An untrained tiny model stands in for the demo models: the views only need its outputs' shapes.
"""
import io
import time

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from zsct_lib import widgets as W
from zsct_lib.checkpoint import save_checkpoint
from zsct_lib.config import ModelConfig
from zsct_lib.content_transfer import tail_label, transfer_mask
from zsct_lib.data import StreetScenes
from zsct_lib.experiments import PAPER_ABLATION
from zsct_lib.labels import IGNORE_INDEX
from zsct_lib.models import build_model
from zsct_lib.pseudo import mpt_pseudo_label

ipywidgets = pytest.importorskip("ipywidgets")

H, W_ = 64, 128


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig()).eval()


@pytest.fixture(scope="module")
def target():
    images, labels = W.stack_split(StreetScenes("target_oracle", "gta_like", 3, H, W_), range(3))
    return images, labels


@pytest.fixture(scope="module")
def sources():
    dataset = StreetScenes("source_train", "gta_like", 12, H, W_)
    counts = [int((tail_label(dataset.label(i)) != IGNORE_INDEX).sum()) for i in range(len(dataset))]
    pool = [i for i, c in enumerate(counts) if c > 0][:3]
    images, labels = W.stack_split(dataset, pool)
    return images, labels, np.asarray(counts)[pool]


def _controls(box):
    """Every control of a widget tree, by its description."""
    found, stack = {}, [box]
    while stack:
        node = stack.pop()
        if getattr(node, "description", ""):
            found[node.description] = node
        stack.extend(getattr(node, "children", ()))
    return found


def _render_seconds(fig) -> float:
    start = time.perf_counter()
    fig.savefig(io.BytesIO(), format="png")
    return time.perf_counter() - start


# ---- notebook 04 --------------------------------------------------------------------------

def test_pseudo_label_quality_on_a_known_case():
    truth = torch.tensor([[0, 0, 1, 1, IGNORE_INDEX]])
    pseudo = torch.tensor([[0, IGNORE_INDEX, 0, 1, 1]])
    q = W.pseudo_label_quality(pseudo, truth, num_classes=2)
    assert q["coverage"] == pytest.approx(3 / 4)          # 3 of the 4 labelled pixels get a pseudo label
    assert q["accuracy"] == pytest.approx(2 / 3)          # 2 of those 3 are right
    assert q["correct"] == pytest.approx(2 / 4)
    np.testing.assert_allclose(q["class_coverage"], [1 / 2, 1 / 2])
    np.testing.assert_allclose(q["class_accuracy"], [1 / 2, 1.0])


def test_fixed_threshold_keeps_exactly_the_pixels_above_it():
    prob = torch.softmax(3 * torch.randn(2, 5, 6, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    for threshold in (0.3, 0.6, 0.9):
        label = W.fixed_threshold_pseudo_label(prob, threshold)
        max_prob, argmax = prob.max(dim=1)
        expected = torch.where(max_prob > threshold, argmax, torch.full_like(argmax, IGNORE_INDEX))
        assert torch.equal(label, expected)


def test_threshold_curves_fall_with_the_threshold(model, target):
    images, labels = target
    curves = W.threshold_curves(W.predict_probabilities(model, images), labels, thresholds=[0.0, 0.5, 0.99])
    assert curves["class_coverage"].shape == (3, 19)
    assert curves["coverage"][0] >= curves["coverage"][1] >= curves["coverage"][2]
    assert isinstance(W.threshold_curves_figure(curves), Figure)


def test_pseudo_label_view_sliders_change_coverage_fast(model, target):
    view = W.PseudoLabelView(model, *target)
    assert isinstance(view.figure(), Figure)
    default = view.last["coverage"]
    box = view.widget()
    controls = _controls(box)
    start = time.perf_counter()
    controls["quantile"].value = 0.9                       # the callback runs eq 12 again and redraws
    callback_seconds = time.perf_counter() - start
    assert view.last["quantile"] == 0.9 and view.last["coverage"] > default
    controls["cap"].value = 0.1
    assert view.last["cap"] == 0.1 and torch.all(view.last["thresholds"] <= 0.1)
    controls["image"].value = 2
    assert view.last["index"] == 2
    start = time.perf_counter()
    view.compute(1, 0.3, 0.9)
    assert time.perf_counter() - start < 0.5
    assert callback_seconds < 5.0                          # compute + figure (generous: shared CI machines)


# ---- notebook 05 --------------------------------------------------------------------------

def test_content_transfer_view_switches(model, target, sources):
    s_images, s_labels, counts = sources
    median = float(np.median(counts))                      # one of the three passes the gate, at least one does not
    view = W.ContentTransferView(model, s_images, s_labels, target[0], median, counts)
    assert isinstance(view.figure(), Figure)
    passing = next(i for i in range(len(counts)) if view.passes_gate(i))
    failing = next(i for i in range(len(counts)) if not view.passes_gate(i))

    full = view.compute(source=passing, target=0)
    expected = transfer_mask(s_labels[passing][None], view.target_pseudo[0][None])[0]
    assert torch.equal(full["mask"], expected)            # eq 15 as the library computes it
    assert torch.equal(full["label_ct"][full["mask"]], s_labels[passing][full["mask"]])   # eq 17
    naive = view.compute(source=passing, target=0, head=False)
    assert naive["transferred_pixels"] >= full["transferred_pixels"]
    assert torch.equal(naive["mask"], tail_label(s_labels[passing]) != IGNORE_INDEX)
    no_output = view.compute(source=passing, target=0, output=False)
    assert torch.equal(no_output["label_ct"], no_output["pseudo_ct"])
    gated = view.compute(source=failing, target=0)
    assert gated["blocked"] and gated["transferred_pixels"] == 0
    assert torch.equal(gated["transferred"], target[0][0])
    ungated = view.compute(source=failing, target=0, gate=False)
    assert not ungated["blocked"]

    box = view.widget()
    controls = _controls(box)
    controls["source"].value = passing
    start = time.perf_counter()
    controls["head mask Mt_head"].value = False
    callback_seconds = time.perf_counter() - start
    assert view.last["head"] is False and view.last["transferred_pixels"] == naive["transferred_pixels"]
    controls["output-level transfer"].value = False
    assert view.last["output"] is False
    start = time.perf_counter()
    view.compute(source=passing, target=1, rules=False, head=True)
    assert time.perf_counter() - start < 0.5
    assert callback_seconds < 5.0


def test_context_transfer_moves_content_onto_target_ground():
    source_label = torch.full((16, 32), 10)                # sky above row 4, road below: a high horizon
    source_label[4:] = 0
    source_label[2:4, 10:12] = 12                          # a rider standing on that road
    source_label[3, 12] = 18                               # with a bicycle
    target_label = torch.full((16, 32), 10)                # the target: sky, buildings from row 4, road from row 10
    target_label[4:10] = 2
    target_label[10:] = 0
    r = W.context_transfer(torch.rand(3, 16, 32), source_label, target_label)
    assert r["shift"] == 6
    assert r["plain_mask"].any() and not r["plain_standing"] and r["plain_sky_pixels"] > 0
    assert r["aligned_standing"] and r["aligned_sky_pixels"] == 0
    rows = torch.nonzero(r["aligned_mask"])[:, 0]
    assert rows.max() == 9                                 # the lowest pasted row sits just above the target road
    assert isinstance(W.context_figure(torch.rand(3, 16, 32), source_label, torch.rand(3, 16, 32), target_label), Figure)

    stats = W.landing_statistics(source_label[None], target_label[None])
    assert stats["plain_standing"] == 0 and stats["aligned_standing"] == 1
    assert stats["plain_sky_percent"] == 100.0 and stats["aligned_sky_percent"] == 0.0
    assert W.pick_context_example(source_label[None], target_label[None]) == (0, 0)


def test_pick_sources_and_gate_histogram():
    counts = np.array([0, 5, 50, 80, 3, 90, 0, 60])
    median = float(np.median(counts))
    assert W.pick_sources(counts, median, above=2, below=1) == [1, 2, 3]
    assert isinstance(W.gate_histogram_figure(counts, median), Figure)


# ---- notebook 07 --------------------------------------------------------------------------

def test_model_comparison_view(model, target):
    images, labels = target
    other = build_model(ModelConfig()).eval()
    view = W.ModelComparisonView({"A": model, "B": other}, images, labels)
    assert isinstance(view.figure(), Figure)
    assert isinstance(W.qualitative_figure(view, [0, 1]), Figure)
    assert torch.equal(view.last["wrong"]["A"], (view.predictions["A"][0] != labels[0]) & (labels[0] != IGNORE_INDEX))
    controls = _controls(view.widget())
    start = time.perf_counter()
    controls["image"].value = 2
    assert time.perf_counter() - start < 5.0
    assert view.last["index"] == 2
    controls["show errors"].value = False
    assert view.last["errors"] is False
    fig = view.figure(1, errors=False)
    assert _render_seconds(fig) < 5.0


def _fake_summary():
    rows = []
    for i, name in enumerate(["NonAdapt", "Sty", "+Cyc", "+ST", "+In", "+Out", "+Out context-aware", "Oracle"]):
        rows.append({"row": name, "miou": 10.0 + i, "miou_std": 0.5, "miou_tail": 5.0 + i, "miou_tail_std": 0.2,
                     "per_class": {}, "per_seed": [{"miou": 10.0 + i, "miou_tail": 5.0 + i}],
                     "flags": {}, "seeds": 1})
    return {"benchmark": "gta_like", "protocol": "19-class", "seeds": 1, "rows": rows,
            "paper": PAPER_ABLATION["gta_like"]}


def test_ablation_comparison_sets_rows_beside_the_paper():
    text = W.ablation_comparison(_fake_summary())
    lines = {line.split()[0]: line for line in text.splitlines()[1:-1]}
    assert "46.6" in lines["Sty"] and "30.9" in lines["Sty"]              # the paper's Table 3 row
    assert "+1.1" in lines["+ST"] and "-0.7" in lines["+ST"]              # the paper's steps: 46.9 -> 48.0, 30.6 -> 29.9
    assert "+1.0" in lines["+Cyc"]                                        # ours: 11 -> 12
    assert isinstance(W.ablation_comparison_figure(_fake_summary()), Figure)


def test_per_class_and_confusion_figures(target):
    _, labels = target
    from zsct_lib.evaluation import confusion_matrix, summarize

    cm = confusion_matrix(labels.roll(2, dims=2), labels, 19)
    assert isinstance(W.per_class_iou_figure({"shifted": summarize(cm)}), Figure)
    assert isinstance(W.confusion_figure(cm), Figure)
    scores = W.per_image_scores(labels, labels)
    assert all(s["miou"] == 100.0 for s in scores)


# ---- notebook 06 --------------------------------------------------------------------------

def test_checkpoints_equal(tmp_path, model):
    save_checkpoint(tmp_path / "a.pt", model, {}, 1, {})
    save_checkpoint(tmp_path / "b.pt", model, {}, 1, {})
    assert W.checkpoints_equal(tmp_path / "a.pt", tmp_path / "b.pt")
    assert W.largest_weight_difference(tmp_path / "a.pt", tmp_path / "b.pt") == 0.0
    changed = build_model(ModelConfig())
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        next(changed.parameters()).add_(0.5)
    save_checkpoint(tmp_path / "c.pt", changed, {}, 1, {})
    assert not W.checkpoints_equal(tmp_path / "a.pt", tmp_path / "c.pt")
    assert W.largest_weight_difference(tmp_path / "a.pt", tmp_path / "c.pt") == pytest.approx(0.5)


def test_mpt_on_view_matches_library(model, target):
    view = W.PseudoLabelView(model, *target)
    r = view.compute(0, 0.5, 0.9)
    assert torch.equal(r["pseudo"], mpt_pseudo_label(view.probs[:1])[0])
