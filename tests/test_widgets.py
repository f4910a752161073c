"""The notebooks' views (zsct_lib.classroom.widgets): they build, their controls change what they show, and they answer fast.

An untrained tiny model stands in for the demo models: the views only need its outputs' shapes.
"""
import io
import time

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from zsct_lib.classroom import widgets as W
from zsct_lib.classroom.analysis import stack_split
from zsct_lib.config import ModelConfig
from zsct_lib.content_transfer import paste, plain_tail_mask, tail_label, transfer_mask
from zsct_lib.data import StreetScenes
from zsct_lib.labels import IGNORE_INDEX
from zsct_lib.models import build_model
from zsct_lib.classroom.plotting import qualitative_figure
from zsct_lib.pseudo import mpt_pseudo_label

ipywidgets = pytest.importorskip("ipywidgets")

H, W_ = 64, 128


@pytest.fixture(scope="module")
def sources():
    dataset = StreetScenes("source_train", "gta_like", 12, H, W_)
    counts = [int((tail_label(dataset.label(i)) != IGNORE_INDEX).sum()) for i in range(len(dataset))]
    pool = [i for i, c in enumerate(counts) if c > 0][:3]
    images, labels = stack_split(dataset, pool)
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


def test_widgets_holds_the_three_views():
    assert sorted(W.__all__) == ["ContentTransferView", "ModelComparisonView", "PseudoLabelView"]


# ---- notebook 04 --------------------------------------------------------------------------

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


def test_mpt_on_view_matches_library(model, target):
    view = W.PseudoLabelView(model, *target)
    r = view.compute(0, 0.5, 0.9)
    assert torch.equal(r["pseudo"], mpt_pseudo_label(view.probs[:1])[0])


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
    literal = view.compute(source=passing, target=0, rules=False, head=False)
    assert torch.equal(literal["mask"], plain_tail_mask(s_labels[passing]))             # eq 13 without the rules
    no_output = view.compute(source=passing, target=0, output=False)
    assert torch.equal(no_output["label_ct"], no_output["pseudo_ct"])
    gated = view.compute(source=failing, target=0)
    assert gated["blocked"] and gated["transferred_pixels"] == 0
    assert torch.equal(gated["transferred"], target[0][0])
    assert torch.equal(gated["label_ct"], view.target_pseudo[0])
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


def test_content_transfer_view_is_the_trainers_pipeline(model, target, sources):
    """The view's It_ct and labels are eqs 16-17 of its masks, and Ỹt_ct is MPT on the model's
    prediction of It_ct: what `content_transfer.transfer_batch` gives the trainer."""
    s_images, s_labels, counts = sources
    view = W.ContentTransferView(model, s_images, s_labels, target[0], 0.0, counts)
    for s in range(len(counts)):
        for t in range(len(target[0])):
            r = view.compute(source=s, target=t, rules=False, head=True)
            image = paste(r["mask"][None], view.s2t[s, t][None], target[0][t][None])      # eq 16
            assert torch.equal(r["transferred"], image[0])
            with torch.no_grad():
                pseudo = mpt_pseudo_label(torch.softmax(model.predict(image), dim=1))[0]  # eq 12 on It_ct
            assert (r["pseudo_ct"] != pseudo).float().mean() < 1e-3
            assert torch.equal(r["label_ct"], paste(r["mask"][None], s_labels[s][None], r["pseudo_ct"][None])[0])


# ---- notebook 07 --------------------------------------------------------------------------

def test_model_comparison_view(model, target):
    images, labels = target
    other = build_model(ModelConfig()).eval()
    view = W.ModelComparisonView({"A": model, "B": other}, images, labels)
    assert isinstance(view.figure(), Figure)
    assert isinstance(qualitative_figure(view, [0, 1]), Figure)
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


def test_controls_grid_lays_the_controls_out_in_rows_and_redraws():
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    from zsct_lib.classroom.widgets import controls_grid

    drawn = []

    def draw(**values):
        drawn.append(values)
        return Figure(figsize=(1, 1))

    controls = {f"knob{i}": widgets.FloatSlider(0.5, min=0, max=1) for i in range(11)}
    view = controls_grid(draw, controls, columns=3)
    grid, output = view.children
    assert grid.layout.grid_template_columns == "repeat(3, minmax(0, 1fr))" and len(grid.children) == 11
    assert drawn[-1]["knob0"] == 0.5 and len(output.outputs) == 1
    controls["knob4"].value = 0.8
    assert drawn[-1]["knob4"] == 0.8 and len(drawn) == 2
    with pytest.raises(TypeError, match="not ipywidgets controls"):
        controls_grid(draw, {"x": 3})
