"""Where things lie: the repository, its committed results, and the models of the demo run.

* `repo_root`: the repository folder (found from the working directory, else beside the package);
* `RESULTS_DIR`: the committed results (`results/`, beside the package);
* `demo_checkpoint`, `load_demo_model`: the demo run's models (`zsct demo`), looked for in the folder
  named by the environment variable `DEMO_DIR_ENV` (ZSCT_DEMO_DIR), then results/demo, then runs/demo;
* `dise_stage_checkpoint`, `load_dise_stage_model`: the shipped DISE-stage models (`zsct pretrain`),
  results/dise_stage_<benchmark>/seed<k>/model.pt;
* `study_run_folder`, `load_study_model`: one run of a committed study, results/study_<name>/<row>/seed<k>,
  and the weights-only model.pt that `zsct ablate --ship-models` keeps there;
* `load_from_scratch_model`: the full method trained from scratch with DISE's own style encoders and
  generators (results/full_method_from_scratch), the series' example of style codes that do nothing;
* `relative_to_repo`: a path as the notebooks print it (no local absolute paths in saved outputs);
* `write_atomically`, `write_text_atomically`: a file written whole or not at all (checkpoints, grades,
  student notebooks), from `zsct_lib.atomic`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from .atomic import write_atomically, write_text_atomically

DEMO_DIR_ENV = "ZSCT_DEMO_DIR"
RUNS_DIR_ENV = "ZSCT_RUNS_DIR"      # where `zsct demo` writes by default (a writable folder on a read-only install)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent   # the folder that holds the zsct_lib package
RESULTS_DIR = PACKAGE_ROOT / "results"


def repo_root(start=None) -> Path:
    """The repository folder: the first of `start` (default: the working directory) and its parents
    that holds the `zsct_lib` package; else the folder above the imported package."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "zsct_lib" / "__init__.py").is_file():
            return folder
    return PACKAGE_ROOT


def demo_checkpoint(kind: str = "full", root=None) -> Optional[Path]:
    """The checkpoint of one model of the demo run (`zsct demo`): kind "full" or "nonadapt".

    Looked for in the folder named by the environment variable ZSCT_DEMO_DIR (a demo run of your
    own) when it is set, then in the committed results/demo, then in runs/demo (where `make demo`
    writes); in each, `<kind>/model.pt` (weights only) before `<kind>/checkpoint.pt`. None if absent.
    """
    if kind not in ("full", "nonadapt"):
        raise ValueError(f"kind must be 'full' or 'nonadapt', got {kind!r}")
    root = repo_root(root)
    folders = [Path(os.environ[DEMO_DIR_ENV])] if os.environ.get(DEMO_DIR_ENV) else []
    folders += [root / "results" / "demo", root / "runs" / "demo"]
    for folder in folders:
        for name in ("model.pt", "checkpoint.pt"):
            if (folder / kind / name).is_file():
                return folder / kind / name
    return None


def load_demo_model(kind: str = "full", root=None):
    """(model in eval mode, its Config, checkpoint path) of one model of the demo run; see
    `demo_checkpoint`. Raises FileNotFoundError, saying how to make the run, when there is none."""
    from .checkpoint import load_model

    path = demo_checkpoint(kind, root)
    if path is None:
        raise FileNotFoundError(f"no '{kind}' model of the demo run in results/demo or runs/demo: "
                                f"run `zsct demo --out results/demo` (a few minutes on a CPU) or set {DEMO_DIR_ENV}")
    model, cfg = load_model(path)
    return model, cfg, path


def dise_stage_checkpoint(benchmark: str = "gta_like", seed: int = 0, root=None) -> Path:
    """The shipped DISE-stage model of a benchmark variant and seed (`zsct pretrain --config dise_stage
    --seeds 3 --out results/dise_stage_gta_like`, and `dise_stage_synthia` for synthia_like)."""
    if benchmark not in ("gta_like", "synthia_like"):
        raise ValueError(f"benchmark must be 'gta_like' or 'synthia_like', got {benchmark!r}")
    return repo_root(root) / "results" / f"dise_stage_{benchmark}" / f"seed{seed}" / "model.pt"


def load_dise_stage_model(benchmark: str = "gta_like", seed: int = 0, root=None):
    """(model in eval mode, its Config, checkpoint path) of a shipped DISE-stage model; see
    `dise_stage_checkpoint`. Raises FileNotFoundError, saying how to make it, when it is absent."""
    from .checkpoint import load_model

    path = dise_stage_checkpoint(benchmark, seed, root)
    if not path.is_file():
        config = "dise_stage" if benchmark == "gta_like" else "dise_stage_synthia"
        raise FileNotFoundError(f"no DISE-stage model at {path}: run `zsct pretrain --config {config} --seeds {seed + 1} "
                                f"--out {path.parent.parent}`")
    model, cfg = load_model(path)
    return model, cfg, path


def study_run_folder(study_dir, row: str, seed: int) -> Path:
    """The folder of one run of a study: <study_dir>/<row, "+" read "plus_", spaces "_">/seed<k>
    ("+Out context-aware" seed 0 -> plus_Out_context-aware/seed0)."""
    return Path(study_dir) / row.replace(" ", "_").replace("+", "plus_") / f"seed{seed}"


def load_study_model(study: str = "gta_like_128x256", row: str = "+Out", seed: int = 0, root=None):
    """(model in eval mode, its Config, checkpoint path) of one row of a committed study
    (results/study_<study>/<row>/seed<k>/model.pt, weights only, kept by `zsct ablate --ship-models`).
    Raises FileNotFoundError, saying how to make it, when it is absent."""
    from .checkpoint import load_model

    folder = repo_root(root) / "results" / f"study_{study}"
    path = study_run_folder(folder, row, seed) / "model.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no model of row {row!r} seed {seed} at {path}: the study ships seed 0 of the rows "
                                f"its command names with --ship-models (`make ablate-128x256` for study_gta_like_128x256)")
    model, cfg = load_model(path)
    return model, cfg, path


def load_from_scratch_model(root=None):
    """(model in eval mode, its Config, checkpoint path) of the full method trained from scratch on the
    GTA-like benchmark: the tiny preset with DISE's batch-norm style encoders and transposed-convolution
    generators, 1,200 source-only iterations, then 120 + 80 of the full method, in fp32
    (results/full_method_from_scratch; the demo run before `zsct demo` started from the DISE stage).
    Notebooks 02 and 03 set it beside the DISE stage: its style codes do not steer its generator."""
    from .checkpoint import load_model

    path = repo_root(root) / "results" / "full_method_from_scratch" / "model.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no model at {path}: it is committed with the repository; restore it with "
                                "`git checkout -- results/full_method_from_scratch`")
    model, cfg = load_model(path)
    return model, cfg, path


def resolve_checkpoint_path(path) -> Path:
    """A checkpoint path as a config gives it: as is when absolute or found from the working directory,
    else relative to the repository (the committed study configs name `results/...` so)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return repo_root() / path


def relative_to_repo(path, root=None) -> str:
    """A path as the notebooks print it: relative to the repository when inside it, else its name."""
    path, root = Path(path).resolve(), repo_root(root)
    try:
        return str(path.relative_to(root))
    except ValueError:
        return f"<{DEMO_DIR_ENV}>/{path.parent.name}/{path.name}"


__all__ = ["DEMO_DIR_ENV", "RUNS_DIR_ENV", "PACKAGE_ROOT", "RESULTS_DIR", "repo_root", "demo_checkpoint", "load_demo_model",
           "dise_stage_checkpoint", "load_dise_stage_model", "load_from_scratch_model", "study_run_folder", "load_study_model",
           "resolve_checkpoint_path", "relative_to_repo", "write_atomically", "write_text_atomically"]
