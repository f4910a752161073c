import math

import numpy as np
import pytest
import torch

from zsct_lib.evaluation import confusion_matrix, iou_per_class, mean_iou, miou_tail, summarize


def test_confusion_matrix_rows_truth_columns_prediction():
    target = torch.tensor([[0, 0, 1, 255]])
    pred = torch.tensor([[0, 1, 1, 0]])
    cm = confusion_matrix(pred, target, num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]


def test_iou_known_values_and_nan_for_absent():
    cm = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    iou = iou_per_class(cm)
    assert iou[0] == 0.5 and iou[1] == 0.5 and math.isnan(iou[2])
    assert mean_iou(iou) == 0.5


def test_summary_names_protocol_and_tail():
    cm = np.eye(19, dtype=np.int64) * 10
    cm[5, 0] = 10                                     # pole predicted as road: IoU(pole) = 0.5
    result = summarize(cm, "19")
    assert result["protocol"] == "19-class"
    assert result["per_class"]["pole"] == 50.0
    assert result["miou_tail"] == round(100 * (0.5 + 5) / 6, 2)
    assert len(summarize(cm, "16")["per_class"]) == 16 and "pole" not in summarize(cm, "13")["per_class"]
    assert miou_tail(iou_per_class(cm), "13") == 1.0  # 13-class protocol has no pole


class _ColourModel(torch.nn.Module):
    """A hand-built model whose target code is the image's mean colour and whose generators paint the
    code: the translation takes exactly the colour of the style image."""

    def encode(self, images):
        return images, images, None

    def style_target(self, stem):
        return stem.mean(dim=(2, 3)) * (stem[:, 2:3].mean(dim=(2, 3)) > 0.5)     # only blue-ish images: target

    def style_source(self, stem):
        return stem.mean(dim=(2, 3)) * (stem[:, 2:3].mean(dim=(2, 3)) <= 0.5)

    def gen_target(self, code, content):
        return code[:, :, None, None].expand_as(content)

    gen_source = gen_target


def test_style_measurements_on_a_model_with_known_answers():
    from zsct_lib.evaluation import psnr, style_measurements

    g = torch.Generator().manual_seed(0)
    source = torch.rand(4, 3, 8, 8, generator=g) * 0.4                         # blue mean <= 0.5
    target = 0.6 + torch.rand(5, 3, 8, 8, generator=g) * 0.4                   # blue mean > 0.5
    m = style_measurements(_ColourModel(), source, target)
    assert m["colour_correlation"] == pytest.approx(1.0, abs=1e-5)            # Gt(Et(It_j), .) has It_j's colour
    assert m["style_effect"] == pytest.approx(float(target.mean(dim=(2, 3))[torch.arange(4) % 5].mean()), rel=1e-4)
    assert m["code_size"]["Et(Is)"] == 0 and m["own_other_ratio_target"] > 1e6  # the other domain's code is 0
    flat = target.mean(dim=(2, 3), keepdim=True).expand_as(target)
    assert m["psnr_rec_target"] == pytest.approx(float(psnr(flat, target).mean()), rel=1e-4)
    assert float(psnr(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.1))[0]) == pytest.approx(20.0, abs=1e-4)


def test_resolution_bound_psnr_known_values():
    from zsct_lib.evaluation import resolution_bound_psnr

    flat = torch.full((1, 3, 8, 16), 0.3)
    assert resolution_bound_psnr(flat, 4) == pytest.approx(100.0)           # nothing finer than the grid: exact
    checker = ((torch.arange(8)[:, None] + torch.arange(16)[None, :]) % 2).float().expand(1, 3, 8, 16)
    assert resolution_bound_psnr(checker, 2) == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-4)   # all detail lost


def test_benchmark_style_variation_is_zero_without_jitter_and_positive_with_it():
    from zsct_lib.data.benchmark import get_benchmark, without_style_jitter
    from zsct_lib.evaluation import benchmark_style_variation

    flat = without_style_jitter("gta_like")
    assert flat.target.style.exposure_jitter == 0 and flat.source.style.white_balance_jitter == 0
    assert flat.target.style.haze == get_benchmark("gta_like").target.style.haze          # only the jitter goes
    assert benchmark_style_variation(flat, images=3) == 0.0                                 # the same scenes exactly
    assert 0.005 < benchmark_style_variation("gta_like", images=3) < 0.2


def test_style_jitter_scale_scales_the_per_image_style_variation_and_keeps_the_scenes():
    """data.style_jitter_scale repaints the same scenes (same labels) with the per-image exposure and white
    balance k times as far from the domain's mean style; the variation measured grows about k-fold."""
    from zsct_lib.config import ConfigError, load_config
    from zsct_lib.data import StreetScenes, build_datasets, scenes_benchmark
    from zsct_lib.data.benchmark import with_style_jitter
    from zsct_lib.evaluation import benchmark_style_variation

    cfg = load_config(None, ["data.style_jitter_scale=3", "data.val_size=2", "data.source_size=2", "data.target_size=2"])
    tripled = scenes_benchmark(cfg.data)
    assert tripled.target.style.exposure_jitter == pytest.approx(3 * 0.08)
    assert tripled.source.style.white_balance_jitter == pytest.approx(3 * 0.02)
    assert scenes_benchmark(load_config(None).data) == "gta_like"                    # 1: the variant itself
    base, more = benchmark_style_variation("gta_like", images=4), benchmark_style_variation(tripled, images=4)
    assert 2.0 * base < more < 3.5 * base
    _, _, val = build_datasets(cfg.data)
    plain = StreetScenes("target_val", "gta_like", 2)
    assert torch.equal(val[0][1], plain[0][1]) and not torch.equal(val[0][0], plain[0][0])   # same scene, other look
    assert with_style_jitter("gta_like", 1.0) == StreetScenes("target_val", "gta_like", 1).config
    with pytest.raises(ConfigError, match="data.style_jitter_scale"):
        load_config(None, ["data.style_jitter_scale=-1"])


def test_tail_bias_from_a_hand_built_confusion_matrix():
    """Truth 10 pole and 10 sign pixels, 80 road. The model calls 30 road pixels pole and gets 5 poles
    and 10 signs right: it predicts 45 tail pixels against 20 true (2.25x), precision 15/45, recall 15/20."""
    from zsct_lib.evaluation import format_results, tail_bias

    cm = np.zeros((19, 19), dtype=np.int64)
    cm[0, 0], cm[0, 5] = 50, 30            # road: 30 taken for pole
    cm[5, 5], cm[5, 0] = 5, 5              # pole: half found
    cm[7, 7] = 10                          # sign: all found
    bias = tail_bias(cm)
    assert bias["predicted_over_true"]["pole"] == 3.5 and bias["predicted_over_true"]["traffic sign"] == 1.0
    assert bias["predicted_over_true"]["bicycle"] is None                  # absent: no ratio
    assert bias["tail_predicted_over_true"] == 2.25
    assert bias["tail_precision"] == round(100 * 15 / 45, 2) and bias["tail_recall"] == 75.0
    assert bias["road_iou"] == round(100 * 50 / 85, 2)
    result = summarize(cm)
    assert result["bias"] == bias and result["confusion_matrix"][0][5] == 30
    assert "tail pixels predicted / true: 2.25" in format_results(result)
