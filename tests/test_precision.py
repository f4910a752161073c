"""train.amp: auto picks bf16 only where the device computes it natively, the run records its choice."""
import pytest
import torch
import yaml

from zsct_lib.config import ConfigError, load_config
from zsct_lib.training import precision, train


def test_auto_follows_the_cpu_instructions(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_bf16_instructions", lambda: ("avx512_bf16",))
    assert precision.resolve_amp("auto", cpu)[0] == "bf16"
    monkeypatch.setattr(precision, "cpu_bf16_instructions", lambda: ())
    chosen, why = precision.resolve_amp("auto", cpu)
    assert chosen == "fp32" and "no bf16 instructions" in why
    assert precision.resolve_amp("bf16", cpu)[0] == "bf16"              # forced
    assert precision.resolve_amp("fp32", cpu)[0] == "fp32"
    assert precision.resolve_amp("none", cpu)[0] == "fp32"              # the older spelling of fp32


def test_cpu_flags_are_read_from_proc_cpuinfo(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor : 0\nflags : fpu sse2 avx512f avx512_bf16 amx_tile\n")
    precision.cpu_bf16_instructions.cache_clear()
    real_path = precision.Path
    monkeypatch.setattr(precision, "Path", lambda p: real_path(fake) if p == "/proc/cpuinfo" else real_path(p))
    try:
        assert precision.cpu_bf16_instructions() == ("avx512_bf16",)
    finally:
        precision.cpu_bf16_instructions.cache_clear()


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="train.amp"):
        load_config("tiny", ["train.amp=fp16"])


@pytest.mark.parametrize("forced", ["fp32", "bf16"])
def test_the_run_records_the_precision_it_used(tmp_path, forced, capsys):
    cfg = load_config("tiny", ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
                               "train.iterations=1", "train.ct_iterations=0", "loss.mode=source_only",
                               f"train.amp={forced}"])
    train(cfg, tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["amp"] == forced
    assert f"precision: {forced}" in capsys.readouterr().out
    assert cfg.train.amp == forced                                      # the caller's config is not changed


def test_auto_is_resolved_before_it_is_recorded(tmp_path):
    cfg = load_config("tiny", ["model.base_channels=8", "data.source_size=4", "data.target_size=4", "data.val_size=2",
                               "train.iterations=1", "train.ct_iterations=0", "loss.mode=source_only", "train.amp=auto"])
    train(cfg, tmp_path / "run", progress=False)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["amp"] == precision.resolve_amp("auto", torch.device("cpu"))[0]
    assert cfg.train.amp == "auto"
