"""The command line: every subcommand has --help, train/eval/stats/bench run on tiny sizes, errors are clear."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zsct_lib.cli import main

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--set", "model.base_channels=8", "--set", "data.source_size=6", "--set", "data.target_size=6",
         "--set", "data.val_size=2", "--set", "train.threads=1"]


@pytest.mark.parametrize("command", ["train", "eval", "demo", "pretrain", "ablate", "bench", "stats", "figures", "grade"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: zsct " + command in capsys.readouterr().out


def test_console_script_entry_point():
    done = subprocess.run([sys.executable, "-m", "zsct_lib.cli", "--help"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "train" in done.stdout


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--out", str(out), *SMALL, "--set", "train.iterations=2",
                 "--set", "train.ct_iterations=1"]) == 0
    printed = capsys.readouterr().out
    assert "19-class protocol" in printed and "mIoU_tail" in printed
    result = json.loads((out / "eval.json").read_text())
    assert set(result["per_class"]) >= {"road", "pole", "bicycle"}
    assert main(["eval", "--checkpoint", str(out / "checkpoint.pt"), "--out", str(tmp_path / "e.json")]) == 0
    again = json.loads((tmp_path / "e.json").read_text())
    assert again["miou"] == result["miou"]
    assert main(["eval", "--checkpoint", str(out / "checkpoint.pt"), "--style", "--out", str(tmp_path / "s.json")]) == 0
    style = json.loads((tmp_path / "s.json").read_text())["style"]
    assert set(style) >= {"style_effect", "colour_correlation", "own_other_ratio_target", "psnr_rec_target"}
    assert "style_effect" in capsys.readouterr().out


def test_clear_errors_and_exit_code_2(tmp_path, capsys):
    assert main(["train", "--config", "tiny", "--out", str(tmp_path), "--set", "train.iterationz=1"]) == 2
    assert "unknown config key 'train.iterationz'" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--config", "tiny", "--out", str(tmp_path / "r"), "--set", "data.source=gta5",
                 "--set", f"data.source_root={tmp_path / 'nowhere'}"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_stats_prints_both_domains(capsys):
    assert main(["stats", "--size", "12"]) == 0
    printed = capsys.readouterr().out
    assert "source" in printed and "target" in printed and "pole" in printed


def test_bench_on_cpu(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--config", "tiny", "--set", "model.base_channels=8", "--options", "fp32,bf16",
                 "--iterations", "1", "--warmup", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["option"] for r in report["rows"]] == ["fp32", "bf16"]
    for row in report["rows"]:
        assert row["ms_per_iteration"] > 0 and row["gflop_per_iteration"] > 0 and row["percent_of_peak"] > 0
    assert "ms/it" in capsys.readouterr().out


def test_bench_options_are_the_listed_ones_and_mistakes_are_one_line(capsys):
    from zsct_lib.experiments.bench import OPTIONS

    helped = build_parser_help("bench")
    for name in OPTIONS:
        assert name in helped, name                                   # --help names every real option
    for argv, expected in ((["--options", "channels_last"], "unknown bench option(s) channels_last"),
                           (["--options", "tf32"], "TensorFloat-32 is a GPU mode"),
                           (["--batch-size", "0"], "--batch-size 0"),
                           (["--iterations", "0"], "--iterations 0")):
        assert main(["bench", "--config", "tiny", *argv]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def build_parser_help(command):
    from zsct_lib.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()


def test_bench_rows_compare_with_the_peak_of_their_own_dtype(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--config", "tiny", "--set", "model.base_channels=8", "--options", "fp32,bf16_channels_last",
                 "--iterations", "1", "--warmup", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    peaks = report["matmul_peak_tflops"]
    for row in report["rows"]:
        achieved = row["gflop_per_iteration"] / row["ms_per_iteration"]         # GFLOP per ms = TFLOP/s
        assert row["percent_of_peak"] == pytest.approx(100 * achieved / peaks[row["dtype"]], rel=0.05)
    assert [r["dtype"] for r in report["rows"]] == ["fp32", "bf16"]


@pytest.mark.parametrize("op,kind", [
    ("aten::convolution_backward", "matrix"), ("aten::mkldnn_convolution", "matrix"), ("aten::addmm", "matrix"),
    ("aten::upsample_bilinear2d", "other"), ("aten::native_batch_norm_backward", "normalisation"),
    ("aten::_to_copy", "cast and copy"), ("aten::linalg_vector_norm", "other"), ("aten::add_", "other")])
def test_profile_groups_ops_by_what_the_matrix_units_can_speed_up(op, kind):
    from zsct_lib.experiments.bench import op_kind
    assert op_kind(op) == kind


def test_profile_of_an_iteration_accounts_for_its_time():
    from zsct_lib.experiments.bench import count_flops, profile_iteration, synthetic_batch
    from zsct_lib.config import load_config

    cfg = load_config("tiny", ["model.base_channels=8", "train.iterations=1", "train.ct_iterations=1", "train.amp=fp32"])
    batch = synthetic_batch(cfg, 2, torch.device("cpu"))
    flops = count_flops(cfg, batch, torch.device("cpu"))
    report = profile_iteration(cfg, batch, torch.device("cpu"), iterations=1, warmup=1, flops=flops)
    shares = [kind["share"] for kind in report["kinds"].values()]
    assert sum(shares) == pytest.approx(1, abs=1e-3)          # every ms is in one kind
    assert report["kinds"]["matrix"]["share"] > 0.2                # convolutions are the model's work
    assert report["aten_self_ms"] <= report["profiled_ms_per_iteration"]
    assert report["top_ops"][0]["kind"] == "matrix"                 # the costliest op is a convolution's


@pytest.mark.parametrize("argv,expected", [
    (["train", "--config", "tiny", "--set", "data.height=66", "--set", "data.crop_height=66"],
     "'data.height': 66 is not a multiple of 4"),
    (["train", "--config", "deeplabv2_r101_gta5", "--set", "data.crop_width=500"], "'data.crop_width': 500 is not a multiple of 8"),
    (["train", "--config", "tiny", "--set", "train.ct_iterations=-2"], "'train.ct_iterations': -2 is negative"),
    (["train", "--config", "tiny", "--set", "train.log_every=0"], "'train.log_every' must be at least 1"),
    (["demo", "--set", "train.batch_size=0"], "'train.batch_size' must be at least 1"),
    (["ablate", "--config", "tiny", "--seeds", "0"], "--seeds 0: expected at least 1"),
    (["ablate", "--config", "tiny", "--jobs", "-1"], "--jobs -1: expected at least 1"),
    (["ablate", "--config", "tiny", "--schedule", "0,5,5"], "SOURCE_ONLY and STAGE1 must be at least 1"),
    (["ablate", "--config", "tiny", "--rows", "+Foo"], "unknown ablation row(s) ['+Foo']"),
    (["pretrain", "--config", "dise_stage", "--seeds", "-1"], "--seeds -1: expected at least 1"),
    (["stats", "--size", "-3"], "--size -3: expected at least 1"),
    (["eval", "--checkpoint", "missing.pt"], "checkpoint missing.pt does not exist"),
])
def test_mistakes_in_every_subcommand_are_one_line_errors(argv, expected, tmp_path, capsys):
    if argv[0] in ("train", "ablate", "pretrain", "demo"):
        argv = [*argv, "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.pt"))   # nothing trained


def test_demo_writes_where_zsct_runs_dir_says_and_an_unwritable_folder_is_one_line(tmp_path, monkeypatch, capsys):
    """A read-only install: the demo's default folder follows ZSCT_RUNS_DIR, and a folder that cannot be
    written is a one-line error naming it (simulated: tests run as root, which writes through file modes)."""
    import errno

    import zsct_lib.experiments.demo as experiments

    written = []
    monkeypatch.setattr(experiments, "run_demo", lambda out, quick=False, overrides=None: written.append(out))
    monkeypatch.setenv("ZSCT_RUNS_DIR", str(tmp_path / "mine"))
    assert main(["demo", "--quick"]) == 0 and written == [str(tmp_path / "mine" / "demo")]
    monkeypatch.delenv("ZSCT_RUNS_DIR")
    assert main(["demo", "--quick"]) == 0 and written[-1] == str(Path("runs") / "demo")

    def read_only(out, quick=False, overrides=None):
        raise PermissionError(errno.EROFS, "Read-only file system", "/srv/zsct/runs/demo")

    monkeypatch.setattr(experiments, "run_demo", read_only)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "cannot write /srv/zsct/runs/demo (Read-only file system)" in err and "ZSCT_RUNS_DIR" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    def full_disk(out, quick=False, overrides=None):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/zsct/runs/demo/metrics.jsonl")

    monkeypatch.setattr(experiments, "run_demo", full_disk)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "cannot write /srv/zsct/runs/demo/metrics.jsonl: the disk is full" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
