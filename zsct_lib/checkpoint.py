"""Checkpoints: written atomically (temporary file, fsync, rename), read with weights_only=True."""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

import torch

from .atomic import write_atomically

FORMAT = "zsct-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or made for another model."""


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to a temporary file beside `path`, then rename over it.

    A crash or a full disk during the write leaves any previous file at `path` untouched and no
    half-written file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink()  # left by a process killed mid-write (SIGKILL cannot be caught)
    needed, free = tensor_bytes(obj), shutil.disk_usage(path.parent).free
    if needed > free:
        raise CheckpointError(f"checkpoint {path} needs about {_megabytes(needed)} but its disk has {_megabytes(free)} "
                              f"free: free some space or write the run elsewhere (--out); nothing was written")
    try:
        write_atomically(path, lambda handle: torch.save(obj, handle), binary=True)
    except (OSError, RuntimeError) as err:
        if not _disk_full(err):
            raise
        # torch reports a full disk as a RuntimeError whose context is the OSError
        raise CheckpointError(f"checkpoint {path} could not be written: its disk is full (about {_megabytes(needed)} "
                              f"needed); the previous file, if any, is kept") from None


def tensor_bytes(obj) -> int:
    """Bytes of the tensors in a nested dict/list/tuple: what `torch.save` will write, less pickle overhead."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(value) for value in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(value) for value in obj)
    return 0


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def _disk_full(err: BaseException | None) -> bool:
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        err = err.__cause__ or err.__context__
    return False


def save_checkpoint(path, model, optimizers: dict, step: int, config: dict) -> None:
    """Model and optimizer states, the step reached, the config and torch's RNG state."""
    state = {
        "format": FORMAT,
        "step": int(step),
        "preset": model.preset,
        "num_classes": int(model.num_classes),
        "config": config,
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "torch_rng": torch.get_rng_state(),
    }
    atomic_save(state, path)


def read_checkpoint(path) -> dict:
    """Load a checkpoint dict (weights_only=True) and check its format."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, corrupt or foreign files all end here
        raise CheckpointError(f"checkpoint {path} could not be read ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a zsct checkpoint (expected format {FORMAT!r})")
    return state


def load_checkpoint(path, model, optimizers: dict | None = None, state: dict | None = None) -> dict:
    """Restore model (and optimizer) states from `path` (or from `state`, the dict `read_checkpoint(path)`
    already returned); refuse a checkpoint of another preset or class count."""
    state = read_checkpoint(path) if state is None else state
    if state["preset"] != model.preset:
        raise CheckpointError(f"checkpoint {path} was made for preset {state['preset']!r}, "
                              f"but the model is {model.preset!r}")
    if state["num_classes"] != model.num_classes:
        raise CheckpointError(f"checkpoint {path} predicts {state['num_classes']} classes, "
                              f"but the model has {model.num_classes}")
    saved = state.get("config", {}).get("model", {}).get("input_convention", "auto")
    if saved == "auto" and model.preset != "tiny":
        saved = "torchvision"            # written before conventions were recorded: the preset's only one then
    if saved != getattr(model, "input_convention", saved):
        raise CheckpointError(f"checkpoint {path} was trained on inputs in the {saved!r} convention, but the model "
                              f"normalises for {model.input_convention!r}: set model.input_convention={saved}")
    model.load_state_dict(state["model"])
    for name, opt in (optimizers or {}).items():
        if name not in state["optimizers"]:
            raise CheckpointError(f"checkpoint {path} has no state for optimizer {name!r}")
        opt.load_state_dict(state["optimizers"][name])
    return state


def export_weights(checkpoint, out, half: bool = False) -> Path:
    """A weights-only copy of a checkpoint (no optimizer states): small enough to ship with notebooks,
    loadable with `load_checkpoint(out, model)`. half: floating-point tensors stored as float16 (half
    the size; `load_state_dict` casts them back to the model's dtype)."""
    state = read_checkpoint(checkpoint)
    state["optimizers"] = {}
    if half:
        state["model"] = {k: (v.half() if v.is_floating_point() else v) for k, v in state["model"].items()}
    atomic_save(state, out)
    return Path(out)


def ship_weights(run) -> None:
    """A run folder's weights-only float16 model.pt from its checkpoint.pt, unless one as new is there
    (`zsct ablate --ship-models`). A run whose checkpoint is gone (a fresh clone keeps eval.json and
    model.pt only) keeps the model.pt it has."""
    checkpoint, model = Path(run) / "checkpoint.pt", Path(run) / "model.pt"
    if not checkpoint.exists():
        if not model.exists():
            print(f"no model.pt shipped for {run}: its checkpoint.pt is gone; remove {run} and run the study again")
        return
    if not model.exists() or model.stat().st_mtime < checkpoint.stat().st_mtime:
        export_weights(checkpoint, model, half=True)
        print(f"shipped {model} (weights only, float16)")


def load_model(path):
    """(model in eval mode, its Config) rebuilt from a checkpoint: the config it was trained with
    (without its initial weights: the checkpoint's weights replace them), then its weights."""
    from .config import config_from_dict
    from .models import build_model

    state = read_checkpoint(path)
    cfg = config_from_dict(state["config"])
    cfg.model.init_weights = ""
    model = build_model(cfg.model)
    load_checkpoint(path, model, state=state)
    return model.eval(), cfg
