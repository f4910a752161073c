import pytest

from zsct_lib.config import CONFIG_DIR, ConfigError, load_config


def test_every_shipped_config_loads():
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    assert "tiny" in names
    for name in names:
        load_config(name)


def test_every_committed_run_config_loads():
    """Every run under results/ can be rebuilt from its config.yaml with the current keys."""
    from zsct_lib.paths import RESULTS_DIR

    paths = sorted(RESULTS_DIR.rglob("config.yaml"))
    assert paths
    for path in paths:
        load_config(path)


def test_overrides_and_types():
    cfg = load_config("tiny", ["train.iterations=7", "loss.st=false", "optim.seg_lr=1e-3"])
    assert cfg.train.iterations == 7 and cfg.loss.st is False and cfg.optim.seg_lr == 1e-3


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key 'train\.iteration'.*train\.iterations"):
        load_config("tiny", ["train.iteration=3"])


def test_wrong_type_names_key_and_value():
    with pytest.raises(ConfigError, match=r"'train\.batch_size': value 'two'"):
        load_config("tiny", ["train.batch_size=two"])


def test_bad_yaml_file_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  iterations: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)
    bad.write_text("loss:\n  bogus: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*loss\.bogus"):
        load_config(bad)


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="in_ct"):
        load_config("tiny", ["loss.in_ct=false", "loss.out_ct=true"])
    with pytest.raises(ConfigError, match="model.preset"):
        load_config("tiny", ["model.preset=resnet9000"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("no_such_config")
