"""Where things lie (zsct_lib.paths): the repository, the committed results, the demo run's models."""
from pathlib import Path

import pytest

from zsct_lib import paths
from zsct_lib.checkpoint import load_model, save_checkpoint
from zsct_lib.config import load_config
from zsct_lib.models import build_model

REPO = Path(__file__).resolve().parents[1]


def test_repo_root_and_results_dir(tmp_path):
    assert paths.repo_root(REPO / "notebooks") == REPO
    assert paths.repo_root(tmp_path) == paths.PACKAGE_ROOT == REPO   # outside any clone: beside the package
    assert paths.RESULTS_DIR == REPO / "results"


def test_relative_to_repo(tmp_path):
    assert paths.relative_to_repo(REPO / "results" / "demo" / "full" / "model.pt", REPO) == "results/demo/full/model.pt"
    assert paths.relative_to_repo(tmp_path / "full" / "model.pt", REPO) == f"<{paths.DEMO_DIR_ENV}>/full/model.pt"


def test_demo_checkpoint_prefers_the_env_folder_and_weights_only(tmp_path, monkeypatch):
    with pytest.raises(ValueError):
        paths.demo_checkpoint("oracle")
    cfg = load_config("tiny")
    model = build_model(cfg.model)
    for name in ("checkpoint.pt", "model.pt"):
        save_checkpoint(tmp_path / "full" / name, model, {}, 3, cfg.to_dict())
    monkeypatch.setenv(paths.DEMO_DIR_ENV, str(tmp_path))
    assert paths.demo_checkpoint("full", REPO) == tmp_path / "full" / "model.pt"
    loaded, loaded_cfg, path = paths.load_demo_model("full", REPO)
    assert path == tmp_path / "full" / "model.pt" and not loaded.training
    assert loaded_cfg.model.preset == cfg.model.preset
    same, _ = load_model(path)
    assert all((a == b).all() for a, b in zip(same.state_dict().values(), model.state_dict().values()))


def test_load_demo_model_says_how_to_make_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.DEMO_DIR_ENV, raising=False)
    (tmp_path / "zsct_lib").mkdir()
    (tmp_path / "zsct_lib" / "__init__.py").write_text("")            # a clone without results/demo
    assert paths.demo_checkpoint("nonadapt", tmp_path) is None
    with pytest.raises(FileNotFoundError, match="zsct demo"):
        paths.load_demo_model("nonadapt", tmp_path)
