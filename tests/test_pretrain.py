"""zsct pretrain: the DISE stage per seed, weights-only in half precision, finished seeds kept."""
import json

import torch

from zsct_lib.checkpoint import load_checkpoint, read_checkpoint
from zsct_lib.cli import main
from zsct_lib.config import load_config
from zsct_lib.models import build_model

SMALL = ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
         "train.iterations=2", "train.log_every=1", "train.amp=fp32", "model.generator=adain",
         "model.generator_upsample=resize"]


def test_pretrain_writes_half_weights_keeps_finished_seeds_and_only_dise_terms(tmp_path, capsys):
    argv = ["pretrain", "--config", "tiny", "--seeds", "1", "--out", str(tmp_path / "pre")]
    for item in [*SMALL, "loss.sty=false"]:
        argv += ["--set", item]
    assert main(argv) == 0
    run = tmp_path / "pre" / "seed0"
    summary = json.loads((run / "pretrain.json").read_text())
    assert summary["iterations"] == 2 and set(summary["style"]) >= {"style_effect", "colour_correlation", "psnr_rec_target"}
    assert not (run / "checkpoint.pt").exists()                            # only the weights-only model is kept
    state = read_checkpoint(run / "model.pt")
    assert all(v.dtype == torch.float16 for v in state["model"].values() if v.is_floating_point())
    model = build_model(load_config("tiny", [*SMALL, "loss.sty=false"]).model)
    load_checkpoint(run / "model.pt", model)                               # loads back into an fp32 model
    assert next(model.parameters()).dtype == torch.float32
    terms = set().union(*(json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()))
    assert {"seg", "rec", "adv_out", "adv_img", "d_out"} <= terms
    assert not terms & {"zero", "zero_trans", "cycle", "st", "seg_ct"}     # the DISE stage alone (loss.sty=false)
    assert "seed 0: mIoU" in capsys.readouterr().out
    before = (run / "model.pt").stat().st_mtime_ns
    assert main(argv) == 0                                                 # a finished seed is kept as it is
    assert (run / "model.pt").stat().st_mtime_ns == before


def test_pretrain_refuses_zero_seeds(capsys):
    assert main(["pretrain", "--config", "tiny", "--seeds", "0", "--out", "unused"]) == 2
    assert "--seeds 0" in capsys.readouterr().err


def test_dise_stage_configs_train_the_zero_style_loss_and_the_style_remedies(tmp_path):
    """configs/dise_stage*.yaml: the shipped stage adds eqs 5, 8 and the two style terms beyond the paper."""
    for config in ("dise_stage", "dise_stage_synthia"):
        out = tmp_path / config
        argv = ["pretrain", "--config", config, "--seeds", "1", "--out", str(out)]
        for item in ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
                     "train.iterations=2", "train.log_every=1", "train.amp=fp32"]:
            argv += ["--set", item]
        assert main(argv) == 0
        terms = set().union(*(json.loads(line) for line in (out / "seed0" / "metrics.jsonl").read_text().splitlines()))
        assert {"seg", "rec", "zero", "zero_trans", "style_rec", "style_prior", "adv_img"} <= terms
        assert not terms & {"cycle", "st", "seg_ct"}


def test_pretrain_with_a_source_only_first_phase(tmp_path, capsys):
    out = tmp_path / "pre"
    argv = ["pretrain", "--config", "dise_stage", "--seeds", "1", "--out", str(out), "--source-only", "3"]
    for item in ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
                 "train.iterations=2", "train.log_every=1", "train.amp=fp32"]:
        argv += ["--set", item]
    assert main(argv) == 0
    run, first = out / "seed0", out / "seed0" / "source_only"
    first_terms = [r for r in map(json.loads, (first / "metrics.jsonl").read_text().splitlines()) if "lr" in r]
    assert [r["step"] for r in first_terms] == [1, 2, 3] and all("rec" not in r for r in first_terms)   # source only
    assert (first / "eval.json").is_file() and not (first / "checkpoint.pt").exists()
    stage = load_config(run / "config.yaml")
    assert stage.train.init_checkpoint == str(first / "checkpoint.pt") and stage.loss.mode == "uda"
    assert [r["step"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "lr" in r] == [1, 2]
    assert json.loads((run / "pretrain.json").read_text())["source_only_iterations"] == 3
    assert main(["pretrain", "--config", "dise_stage", "--out", str(out), "--source-only", "-1"]) == 2
    assert "--source-only -1" in capsys.readouterr().err


def test_pretrain_jobs_trains_seeds_in_parallel_as_one_after_another(tmp_path, capsys):
    """--jobs 2: each seed in its own process on one thread learns what it learns alone on one thread."""
    def run(out, *extra):
        argv = ["pretrain", "--config", "tiny", "--seeds", "2", "--out", str(out), *extra]
        for item in [*SMALL, "loss.sty=false"]:
            argv += ["--set", item]
        assert main(argv) == 0

    run(tmp_path / "parallel", "--jobs", "2")
    run(tmp_path / "serial", "--set", "train.threads=1")
    assert capsys.readouterr().out.count("seed 1: mIoU") == 2
    for seed in ("seed0", "seed1"):
        parallel = read_checkpoint(tmp_path / "parallel" / seed / "model.pt")["model"]
        serial = read_checkpoint(tmp_path / "serial" / seed / "model.pt")["model"]
        assert parallel.keys() == serial.keys() and all(torch.equal(parallel[k], serial[k]) for k in parallel)
        assert load_config(tmp_path / "parallel" / seed / "config.yaml").train.threads == 1
        summary = json.loads((tmp_path / "parallel" / seed / "pretrain.json").read_text())
        assert summary["threads"] == 1 and not any(o.startswith("train.threads") for o in summary["overrides"])
    a = read_checkpoint(tmp_path / "parallel" / "seed0" / "model.pt")["model"]
    b = read_checkpoint(tmp_path / "parallel" / "seed1" / "model.pt")["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)                       # two seeds, two models
    assert main(["pretrain", "--config", "tiny", "--out", str(tmp_path / "x"), "--jobs", "0"]) == 2
    assert "--jobs 0" in capsys.readouterr().err
