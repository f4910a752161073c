"""The shipped DISE-stage models (results/dise_stage_*): they load, their measurements recomputed from
the weights equal the committed ones, and their style codes steer the generators: colour correlation at
least 0.8, own/other code ratios at least 5 for Es and Et, a style effect larger than the benchmark's own
per-image style variation (what a code that carried exactly each image's style would show), and
reconstructions better than the content map's grid alone allows."""
import json

import pytest

from zsct_lib.evaluation import benchmark_style_measurements
from zsct_lib.paths import PACKAGE_ROOT as ROOT
from zsct_lib.paths import RESULTS_DIR, dise_stage_checkpoint, load_dise_stage_model, load_from_scratch_model

SHIPPED = [(benchmark, seed) for benchmark in ("gta_like", "synthia_like") for seed in range(3)]


@pytest.mark.parametrize("benchmark,seed", SHIPPED)
def test_shipped_dise_stage_models_steer_with_their_style_codes(benchmark, seed):
    model, cfg, path = load_dise_stage_model(benchmark, seed)
    summary = json.loads((path.parent / "pretrain.json").read_text())
    assert cfg.data.benchmark == benchmark and summary["seed"] == seed == cfg.train.seed
    style = benchmark_style_measurements(model, cfg.data)
    for key in ("style_effect", "colour_correlation", "own_other_ratio_source", "own_other_ratio_target",
                "psnr_rec_target"):
        assert style[key] == pytest.approx(summary["style"][key], rel=0.05), key   # the committed numbers
    assert style["style_effect"] > style["style_variation_target"] > 0.02       # from scratch: 1e-5 (below)
    assert style["psnr_rec_target"] > style["psnr_bound_target"]
    assert style["colour_correlation"] >= 0.75
    assert style["own_other_ratio_source"] >= 5 and style["own_other_ratio_target"] >= 5


@pytest.mark.parametrize("benchmark", ("gta_like", "synthia_like"))
def test_shipped_dise_stage_translations_keep_colour_on_average(benchmark):
    """Translated colours follow the target's: colour correlation at least 0.8 over the three seeds (the
    committed measurements; each seed's is recomputed above)."""
    correlations = [json.loads((dise_stage_checkpoint(benchmark, seed).parent / "pretrain.json").read_text())
                    ["style"]["colour_correlation"] for seed in range(3)]
    assert sum(correlations) / 3 >= 0.8, correlations


@pytest.mark.parametrize("benchmark,seed", SHIPPED)
def test_the_shipped_start_is_biased_toward_the_head(benchmark, seed):
    """The paper's premise: the start predicts fewer tail pixels than exist on target val (ratio <= 1 over
    the tail as a whole), recomputed from the weights and equal to the committed `zsct eval` output."""
    import torch

    from zsct_lib.data import build_datasets
    from zsct_lib.evaluation import evaluate

    model, cfg, path = load_dise_stage_model(benchmark, seed)
    committed = json.loads((path.parent / "eval_model.json").read_text())
    _, _, val = build_datasets(cfg.data)
    result = evaluate(model, torch.utils.data.DataLoader(val, batch_size=cfg.eval.batch_size), cfg.model.num_classes,
                      cfg.eval.protocol)
    assert result["bias"]["tail_predicted_over_true"] == pytest.approx(committed["bias"]["tail_predicted_over_true"], abs=0.02)
    assert result["bias"]["tail_predicted_over_true"] <= 1.0


def test_the_full_method_trained_from_scratch_ignores_its_style_code():
    """The counter-example notebooks 02 and 03 show: DISE's batch-norm style encoders and transposed-convolution
    generators, trained from scratch for 200 iterations of the full method, draw the same image whatever the code."""
    model, cfg, _ = load_from_scratch_model()
    assert cfg.model.style_norm == "batch" and cfg.model.generator_upsample == "transposed"
    style = benchmark_style_measurements(model, cfg.data)
    assert style["style_effect"] < 1e-3 < style["style_variation_target"]
    assert style["colour_correlation"] < 0.8


def test_missing_dise_stage_model_says_how_to_make_it(tmp_path):
    (tmp_path / "zsct_lib").mkdir()
    (tmp_path / "zsct_lib" / "__init__.py").write_text("")
    with pytest.raises(FileNotFoundError, match="zsct pretrain --config dise_stage_synthia --seeds 2"):
        load_dise_stage_model("synthia_like", 1, root=tmp_path)
    with pytest.raises(ValueError, match="gta_like"):
        dise_stage_checkpoint("cityscapes")
    assert dise_stage_checkpoint("gta_like", 0) == RESULTS_DIR / "dise_stage_gta_like" / "seed0" / "model.pt"


CANDIDATES = RESULTS_DIR / "archive" / "dise_stage_candidates"


def _candidate(name):
    """(config, pretrain.json) of an archived candidate: measured by its command when it was trained (its
    weights are not kept; docs/report/02_dise_stage.md gives the command)."""
    import yaml

    run = CANDIDATES / name / "seed0"
    assert not (run / "model.pt").exists()
    return yaml.safe_load((run / "config.yaml").read_text()), json.loads((run / "pretrain.json").read_text())


def test_a_dise_stage_twice_as_long_reconstructed_target_images_above_24_db():
    """The PSNR target is reached with 5,000 iterations instead of 2,500 (docs/report/02_dise_stage.md,
    "Against the targets", which quotes 24.4 dB)."""
    cfg, summary = _candidate("iterations_5000")
    assert cfg["train"]["iterations"] == 5000 and summary["seed"] == 0
    assert summary["style"]["psnr_rec_target"] >= 24.0
    assert f"{summary['style']['psnr_rec_target']:.1f} dB" in (ROOT / "docs" / "report" / "02_dise_stage.md").read_text()


def test_three_times_the_per_image_style_variation_was_carried_only_in_part():
    """On a benchmark whose per-image exposure and white balance vary three times as much
    (data.style_jitter_scale=3), the DISE stage's code still followed the style image's colour, but moved
    the image by less than half of the variation there was to carry (docs/report/02_dise_stage.md)."""
    cfg, summary = _candidate("style_jitter_3")
    style = summary["style"]
    assert cfg["data"]["style_jitter_scale"] == 3.0
    assert style["style_variation_target"] > 0.09
    assert style["colour_correlation"] >= 0.8
    assert style["style_effect"] < style["style_variation_target"] / 2


def test_the_content_map_carries_most_of_each_target_image_own_style():
    """evaluation.style_paths: the same scenes in their mean style give 0 on every path; a generator that
    ignores its code carries nothing through it; the DISE stage reproduces each image's own style almost
    whole, most of it through the content map (docs/report/02_dise_stage.md, "Against the targets")."""
    import torch

    from zsct_lib.evaluation import style_paths

    model, cfg, _ = load_dise_stage_model("gta_like", 0)
    images = torch.rand(2, 3, cfg.data.height, cfg.data.width)
    assert all(v == 0 for v in style_paths(model, images, images).values())
    style = benchmark_style_measurements(model, cfg.data)
    assert style["style_through_content"] > style["style_through_code"] > 0.005
    assert style["style_through_both"] == pytest.approx(style["style_variation_target"], rel=0.1)
    scratch, cfg, _ = load_from_scratch_model()
    assert benchmark_style_measurements(scratch, cfg.data)["style_through_code"] < 1e-3


def test_the_content_reconstruction_term_did_not_keep_style_out_of_the_content_map():
    """loss.w_content_rec=1 (MUNIT's content reconstruction) on the DISE stage of seed 0, as measured when it
    was trained, against the shipped seed 0 measured now: the content map carried more of each image's own
    style, the code less (docs/report/02_dise_stage.md, "Against the targets")."""
    cfg, summary = _candidate("content_rec_1")
    assert cfg["loss"]["w_content_rec"] == 1.0
    model, shipped_cfg, _ = load_dise_stage_model("gta_like", 0)
    shipped = benchmark_style_measurements(model, shipped_cfg.data)
    assert summary["style"]["style_through_content"] > shipped["style_through_content"]
    assert summary["style"]["style_through_code"] < shipped["style_through_code"]


def test_an_instance_normalised_content_input_moved_each_image_own_style_to_the_code():
    """model.content_norm=instance on the DISE stage of seed 0, as measured when it was trained: the code
    carried more of each image's own style than the content map, the reverse of the shipped model
    (docs/report/02_dise_stage.md, "Against the targets")."""
    cfg, summary = _candidate("content_norm_instance")
    style = summary["style"]
    assert cfg["model"]["content_norm"] == "instance"
    assert style["style_through_code"] > style["style_through_content"]
    assert style["colour_correlation"] >= 0.8
