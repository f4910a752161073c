"""The notebooks' analysis functions (zsct_lib.classroom.analysis): pseudo-label quality, content-transfer landing,
per-image scores, the ablation beside the paper, checkpoint comparison. Numbers only: no figure here.

An untrained tiny model stands in for the demo models: the functions only need its outputs' shapes.
"""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from zsct_lib.classroom import analysis as A
from zsct_lib.checkpoint import save_checkpoint
from zsct_lib.config import ModelConfig
from zsct_lib.data import StreetScenes
from zsct_lib.labels import IGNORE_INDEX
from zsct_lib.models import build_model

H, W_ = 64, 128


def test_analysis_draws_nothing():
    """The analysis module imports no drawing or widget library, nor the modules that draw (its own
    imports, lazy ones included; torchmetrics, under evaluation, loads matplotlib by itself)."""
    tree = ast.parse(Path(A.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert imported and not {m for m in imported if m.split(".")[0] in ("matplotlib", "ipywidgets", "seaborn")}
    assert not imported & {".plotting", ".widgets", "zsct_lib.classroom.plotting", "zsct_lib.classroom.widgets"}


def test_stack_split_and_predictions(model, target):
    images, labels = target
    assert images.shape == (3, 3, H, W_) and labels.shape == (3, H, W_)
    unlabelled, none = A.stack_split(StreetScenes("target_train", "gta_like", 2, H, W_), [0, 1])
    assert unlabelled.shape == (2, 3, H, W_) and none is None
    logits = A.predict_logits(model, images, batch_size=2)
    probs = A.predict_probabilities(model, images, batch_size=2)
    assert logits.shape == probs.shape == (3, 19, H, W_) and not logits.requires_grad
    torch.testing.assert_close(probs, torch.softmax(logits, dim=1))


# ---- notebook 04 --------------------------------------------------------------------------

def test_pseudo_label_quality_on_a_known_case():
    truth = torch.tensor([[0, 0, 1, 1, IGNORE_INDEX]])
    pseudo = torch.tensor([[0, IGNORE_INDEX, 0, 1, 1]])
    q = A.pseudo_label_quality(pseudo, truth, num_classes=2)
    assert q["coverage"] == pytest.approx(3 / 4)          # 3 of the 4 labelled pixels get a pseudo label
    assert q["accuracy"] == pytest.approx(2 / 3)          # 2 of those 3 are right
    assert q["correct"] == pytest.approx(2 / 4)
    np.testing.assert_allclose(q["class_coverage"], [1 / 2, 1 / 2])
    np.testing.assert_allclose(q["class_accuracy"], [1 / 2, 1.0])


def test_fixed_threshold_keeps_exactly_the_pixels_above_it():
    prob = torch.softmax(3 * torch.randn(2, 5, 6, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    for threshold in (0.3, 0.6, 0.9):
        label = A.fixed_threshold_pseudo_label(prob, threshold)
        max_prob, argmax = prob.max(dim=1)
        expected = torch.where(max_prob > threshold, argmax, torch.full_like(argmax, IGNORE_INDEX))
        assert torch.equal(label, expected)


def test_threshold_curves_fall_with_the_threshold(model, target):
    images, labels = target
    curves = A.threshold_curves(A.predict_probabilities(model, images), labels, thresholds=[0.0, 0.5, 0.99])
    assert curves["class_coverage"].shape == (3, 19)
    assert curves["coverage"][0] >= curves["coverage"][1] >= curves["coverage"][2]


# ---- notebook 05 --------------------------------------------------------------------------


def test_context_transfer_moves_content_onto_target_ground(rider_on_a_high_road):
    source_label, target_label = rider_on_a_high_road
    r = A.context_transfer(torch.rand(3, 16, 32), source_label, target_label)
    assert r["shift"] == 6
    assert r["plain_mask"].any() and not r["plain_standing"] and r["plain_sky_pixels"] > 0
    assert r["aligned_standing"] and r["aligned_sky_pixels"] == 0
    rows = torch.nonzero(r["aligned_mask"])[:, 0]
    assert rows.max() == 9                                 # the lowest pasted row sits just above the target road

    stats = A.landing_statistics(source_label[None], target_label[None])
    assert stats["plain_standing"] == 0 and stats["aligned_standing"] == 1
    assert stats["plain_sky_percent"] == 100.0 and stats["aligned_sky_percent"] == 0.0
    assert A.pick_context_example(source_label[None], target_label[None]) == (0, 0)


def test_pick_sources():
    counts = np.array([0, 5, 50, 80, 3, 90, 0, 60])
    median = float(np.median(counts))
    assert A.pick_sources(counts, median, above=2, below=1) == [1, 2, 3]


# ---- notebook 07 --------------------------------------------------------------------------


def test_ablation_comparison_sets_rows_beside_the_paper(fake_ablation_summary):
    text = A.ablation_comparison(fake_ablation_summary)
    lines = {line.split()[0]: line for line in text.splitlines()[1:-1]}
    assert "46.6" in lines["Sty"] and "30.9" in lines["Sty"]              # the paper's Table 3 row
    assert "+1.1" in lines["+ST"] and "-0.7" in lines["+ST"]              # the paper's steps: 46.9 -> 48.0, 30.6 -> 29.9
    assert "+1.0" in lines["+Cyc"]                                        # ours: 11 -> 12
    assert "19-class protocol, 1 seed(s)" in text.splitlines()[-1]        # a summary without its size
    sized = A.ablation_comparison({**fake_ablation_summary, "image_size": [128, 256]})
    assert "19-class protocol, 128x256, 1 seed(s)" in sized.splitlines()[-1]


def test_per_image_scores(target):
    _, labels = target
    scores = A.per_image_scores(labels, labels)
    assert len(scores) == 3 and all(s["miou"] == 100.0 for s in scores)


# ---- notebook 06 --------------------------------------------------------------------------

def test_checkpoints_equal(tmp_path, model):
    save_checkpoint(tmp_path / "a.pt", model, {}, 1, {})
    save_checkpoint(tmp_path / "b.pt", model, {}, 1, {})
    assert A.checkpoints_equal(tmp_path / "a.pt", tmp_path / "b.pt")
    assert A.largest_weight_difference(tmp_path / "a.pt", tmp_path / "b.pt") == 0.0
    changed = build_model(ModelConfig())
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        next(changed.parameters()).add_(0.5)
    save_checkpoint(tmp_path / "c.pt", changed, {}, 1, {})
    assert not A.checkpoints_equal(tmp_path / "a.pt", tmp_path / "c.pt")
    assert A.largest_weight_difference(tmp_path / "a.pt", tmp_path / "c.pt") == pytest.approx(0.5)


# ---- notebooks 01-03 ----------------------------------------------------------------------

def test_project_2d_is_centred_and_its_signs_are_fixed():
    codes = torch.randn(20, 5, generator=torch.Generator().manual_seed(2))
    points, explained = A.project_2d(codes, return_explained=True)
    assert points.shape == (20, 2) and np.allclose(points.mean(axis=0), 0)
    assert 0 < explained[1] <= explained[0] <= 1
    order = torch.randperm(20, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(A.project_2d(codes[order]), points[order.numpy()], atol=1e-9)  # signs are fixed
    np.testing.assert_allclose(A.project_2d(-codes), -points, atol=1e-9)    # by the loadings, not by SVD's luck
    assert A.project_2d(np.ones((4, 1))).shape == (4, 2)                    # one dimension: a flat second axis


def test_scene_with_knobs_repaints_one_scene():
    image, label = A.scene_with_knobs("gta_like", "target", 0, 32, 64)
    hazy, same_label = A.scene_with_knobs("gta_like", "target", 0, 32, 64, haze=0.9)
    assert image.shape == (32, 64, 3) and (label == same_label).all() and (image != hazy).any()
    with pytest.raises(ValueError, match="unknown knob"):
        A.scene_with_knobs("gta_like", "target", 0, 32, 64, brightness=2.0)


def test_translate_pair_gives_every_image_of_eqs_1_to_4_and_11(model, target):
    images, _ = target
    out = A.translate_pair(model, images[:2], images[1:])
    assert set(out) == {"Is", "It", "Is2t", "It2s", "Is2t2s", "It2s2t", "Is2s", "It2t"}
    assert all(v.shape == (2, 3, H, W_) for v in out.values())
    single = A.translate_pair(model, images[0], images[1])
    torch.testing.assert_close(single["Is2t"], out["Is2t"][0])


# ---- sentences from the numbers -------------------------------------------------------------------

def _quality(true_pole, pseudo_pole, true_road=900, pseudo_road=900, coverage_pole=0.5):
    """A pseudo_label_quality-like dict: pole (tail) and road (head) pixels only."""
    class_pixels, pseudo_pixels = np.zeros(19), np.zeros(19)
    class_pixels[[0, 5]] = true_road, true_pole
    pseudo_pixels[[0, 5]] = pseudo_road, pseudo_pole
    coverage = np.full(19, np.nan)
    coverage[[0, 5]] = 0.9, coverage_pole
    return {"class_pixels": class_pixels, "pseudo_pixels": pseudo_pixels, "class_coverage": coverage}


def test_tail_bias_sentence_says_over_or_under_from_the_numbers():
    over = A.tail_bias_sentence("NonAdapt", _quality(true_pole=100, pseudo_pole=300, pseudo_road=700))
    assert over.startswith("NonAdapt's pseudo labels are 30.00% tail against 10.00% true tail pixels: "
                           "it predicts the tail 3.0 times as often as it occurs (over-predicts it)")
    assert "more pseudo-label pixels than true pixels: pole" in over
    under = A.tail_bias_sentence("start", _quality(true_pole=100, pseudo_pole=25, pseudo_road=975))
    assert "2.50% tail against 10.00%" in under and "0.25 of the rate it occurs at (under-predicts it)" in under
    assert "fewer: pole" in under and "over-predicts" not in under


def test_tail_change_sentence_follows_the_direction():
    start, end = _quality(100, 300, pseudo_road=700, coverage_pole=0.3), _quality(100, 100, coverage_pole=0.6)
    assert A.tail_change_sentence("NonAdapt", start, "full", end) == (
        "From NonAdapt to full the tail's share of the MPT pseudo labels falls from 30.00% to 10.00% (true share "
        "10.00%); the coverage of a tail class rises for pole.")
    assert "rises from 10.00% to 30.00%" in A.tail_change_sentence("a", end, "b", start)


def test_confusion_sentence_counts_where_the_tail_goes():
    cm = np.zeros((19, 19))
    cm[5, 5], cm[5, 2] = 30, 70         # 100 true pole pixels: 30 right, 70 to building (head)
    cm[2, 5], cm[2, 2] = 10, 890        # 10 building pixels predicted pole
    sentence = A.confusion_sentence("full", cm)
    assert sentence == ("full predicts 40 pixels as tail against 100 true tail pixels: it predicts the tail at 0.40 "
                        "of the rate it occurs at (under-predicts it). Of the true tail pixels 30% get their own "
                        "class and 70% a head class; of the pixels it predicts as tail, 25% are head pixels.")


def test_study_findings_reads_the_paired_differences(fake_ablation_summary):
    import copy

    summary = copy.deepcopy(fake_ablation_summary)
    for entry in summary["rows"]:                      # three seeds, +Out's tail below +ST's on every seed
        value = entry["miou_tail"]
        entry["per_seed"] = [{"miou": entry["miou"] + d, "miou_tail": value + d} for d in (-0.1, 0.0, 0.1)]
        if entry["row"] == "+Out":
            entry["per_seed"] = [{"miou": entry["miou"] + d, "miou_tail": 1.0 + d} for d in (-0.1, 0.0, 0.1)]
    text = A.study_findings(summary)
    # fake rows: NonAdapt 10, +Out 15, Oracle 17 (mIoU) -> 5 / 7 of the gap
    assert "closes 71% of the NonAdapt -> Oracle gap in mIoU" in text
    assert "+ST -> +Out lowers mIoU_tail" in text and "+Cyc -> +ST raises mIoU" in text


def test_ablation_tables_are_narrow_and_hold_every_class(fake_ablation_summary):
    import copy

    summary = copy.deepcopy(fake_ablation_summary)
    for i, entry in enumerate(summary["rows"]):
        entry["per_class"] = {name: [float(i), 0.5] for name in A.CLASS_NAMES}
        entry["pseudo_labels"] = {"tail_precision": 20.0, "tail_coverage": 40.0, "head_precision": 60.0,
                                  "head_coverage": 30.0}
    tables = A.ablation_tables(summary)
    shown = [c for title, t in tables.items() if title.startswith("IoU") for c in t.columns]
    assert sorted(shown) == sorted(A.CLASS_NAMES)
    assert all(len(t.columns) <= A.TABLE_COLUMNS for t in tables.values())
    assert list(tables["IoU of the tail classes (%, mean over seeds)"].columns)[0] == "pole"
    assert tables["scores (%, mean ± std over seeds)"].loc["+Out", "mIoU"] == "15.0 ± 0.5"
    assert A.pseudo_label_sentence(summary, "+ST") == (
        "+ST's pseudo labels cover 40% of the tail's pixels against 30% of the head's (more of the tail) and are "
        "right on 20% of the tail pixels they label against 60% on the head (less often right on the tail).")


def test_style_steering_sentence_reads_effect_and_correlation():
    steering = {"style_effect": 0.05, "colour_correlation": 0.93, "own_other_ratio_source": 1757.8,
                "own_other_ratio_target": 653.0}
    assert A.style_steering_sentence("DISE stage", steering) == (
        "DISE stage: the code steers its generator (style effect 0.050, colour correlation 0.93); "
        "own/other ratios Es 1757.8, Et 653.0.")
    ignored = dict(steering, style_effect=0.0004, colour_correlation=0.02)
    assert "does not steer" in A.style_steering_sentence("scratch", ignored)


def test_pick_transfer_example_takes_the_pair_that_pastes_most():
    sources = torch.zeros(2, 8, 8, dtype=torch.long)             # road everywhere
    sources[0, 1:3, 1:3] = 12                                   # a small rider ...
    sources[0, 3, 1:3] = 18                                     # ... on a bicycle: 6 tail pixels
    sources[1, 1:6, 1:6] = 12                                   # a large rider on a bicycle: 30 tail pixels
    sources[1, 6, 1:6] = 18
    targets = torch.zeros(3, 8, 8, dtype=torch.long)            # head everywhere ...
    targets[0] = IGNORE_INDEX                                    # ... except target 0: nothing confident
    targets[2, :4] = IGNORE_INDEX                                # and target 2: only its lower half
    assert A.pick_transfer_example(sources, targets) == (1, 1)


def test_regime_sentence_reads_the_tail_ratio_and_names_the_start_s_bias():
    rows = [{"row": name, "bias": {"tail_predicted_over_true": ratio}}
            for name, ratio in (("NonAdapt", 1.1), ("Sty", 0.63), ("+ST", 0.36), ("+Out", 0.65))]
    sentence = A.regime_sentence({"rows": rows})
    assert sentence == ("Tail pixels predicted / true on target val: NonAdapt 1.10, Sty 0.63, +ST 0.36, +Out 0.65; "
                        "the start (Sty) is biased toward the head (0.63 < 1), the paper's premise.")
    rows[1]["bias"]["tail_predicted_over_true"] = 5.09
    assert "over-predicts the tail (5.09 > 1), the opposite" in A.regime_sentence({"rows": rows})
    assert A.regime_sentence({"rows": [{"row": "Sty"}]}) == ""          # a study from before the measurement


def test_regime_sentence_calls_a_start_biased_only_when_every_seed_is():
    def study(*seed_ratios):
        per_seed = [{"tail_predicted_over_true": r} for r in seed_ratios]
        mean = round(sum(seed_ratios) / len(seed_ratios), 2)
        return {"rows": [{"row": "Sty", "bias": {"tail_predicted_over_true": mean}, "per_seed": per_seed}]}
    assert "biased toward the head (0.63 < 1, 0.46 to 0.79 over 3 seeds), the paper's premise" in \
        A.regime_sentence(study(0.46, 0.64, 0.79))
    # a mean below 1 from seeds on both sides of it is no head bias
    neither = A.regime_sentence(study(1.13, 0.49, 1.01))
    assert "not biased either way in every seed (0.88, 0.49 to 1.13 over 3 seeds;" in neither and "premise" in neither
    assert "head (" not in neither
    assert "over-predicts the tail (5.02 > 1, 4.76 to 5.20 over 3 seeds)" in A.regime_sentence(study(5.09, 4.76, 5.2))
    assert "either way in every seed (0.95; a bias needs every seed below 0.9 or above 1.1)" in \
        A.regime_sentence(study(0.95))                                            # one seed, within the margin


def test_transfer_sentence_reads_what_stage_2_pasted():
    transfer = {"pasted_pixels": 643.2, "transfer_fraction": 0.0098, "pasted_recognised": 0.18, "pasted_ignored": 0.52,
                "pasted_right": 0.11, "pasted_other_tail": 0.02, "pasted_head": 0.34}
    summary = {"rows": [{"row": "+ST"}, {"row": "+In", "transfer": transfer}]}
    assert A.transfer_sentence(summary, "+In") == (
        "+In pasted 643 pixels a batch (0.98% of it); the model labelled 18% of them as their source class, and the "
        "MPT label of It_ct there was: ignored 52%, the right tail class 11%, another tail class 2%, a head class 34%.")
    assert A.transfer_sentence(summary, "+ST") == ""                   # no content transfer, nothing pasted
    assert A.transfer_sentence(summary, "+Out") == ""                  # a row the study did not train
