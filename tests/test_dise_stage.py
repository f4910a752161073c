"""The shipped DISE-stage models (results/dise_stage_*): they load, their measurements recomputed from
the weights equal the committed ones, and their style codes steer the generators: colour correlation at
least 0.8, own/other code ratios at least 5 for Es and Et, a style effect larger than the benchmark's own
per-image style variation (what a code that carried exactly each image's style would show), and
reconstructions better than the content map's grid alone allows."""
import json

import pytest

from zsct_lib.evaluation import benchmark_style_measurements
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
    assert style["colour_correlation"] >= 0.8
    assert style["own_other_ratio_source"] >= 5 and style["own_other_ratio_target"] >= 5


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
