"""Load init weights for the DeepLab-v2 ResNet-101 preset from a local file (nothing is downloaded).

Accepted: a torchvision ImageNet ResNet-101 state dict (`conv1.*`, `bn1.*`, `layer1..4.*`, `fc.*`)
or a DeepLab-v2 init (`Scale.`/`module.` prefixes, `layer5.conv2d_list.i.*` classifier, optional
`layer6.*` auxiliary classifier), or a checkpoint dict holding one of them under `state_dict`/`model`.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch


class InitWeightsError(ValueError):
    """An init-weights file that is missing, unreadable or does not match the model."""


def _map_key(key: str) -> str | None:
    """Name in a ResNet/DeepLab state dict -> name in ZSCTModel (None: not part of the model)."""
    for prefix in ("module.", "Scale.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key.startswith("fc."):
        return None  # ImageNet classifier
    if key.startswith(("conv1.", "bn1.")):
        return "stem." + key
    if re.match(r"layer[1-4]\.", key):
        return "content_encoder." + key
    match = re.match(r"layer5\.conv2d_list\.(\d+)\.(.*)", key)
    if match:
        return f"segmenter.classifier.branches.{match.group(1)}.{match.group(2)}"
    match = re.match(r"layer6\.conv2d_list\.(\d+)\.(.*)", key)
    if match:
        return f"segmenter.aux_classifier.branches.{match.group(1)}.{match.group(2)}"
    return key  # unknown: reported as unexpected


def load_init_weights(model: torch.nn.Module, path: str | Path) -> dict:
    """Copy backbone (and, where shapes match, classifier) weights from `path` into `model`.

    Returns {"loaded": n, "skipped_classifier": [...]}. Raises InitWeightsError naming the file and
    the keys when the file does not cover the backbone or a shape differs.
    """
    path = Path(path)
    if not path.is_file():
        raise InitWeightsError(f"init weights file {path} does not exist (give a local path to a "
                               "torchvision ResNet-101 or DeepLab-v2 state dict)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise InitWeightsError(f"init weights file {path} could not be read as a torch state dict: {err}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InitWeightsError(f"init weights file {path}: expected a state dict of tensors")

    own = model.state_dict()
    backbone_keys = {k for k in own if k.startswith(("stem.", "content_encoder.")) and not k.endswith("num_batches_tracked")}
    mapped, unexpected, wrong_shape, skipped = {}, [], [], []
    for key, tensor in state.items():
        name = _map_key(key)
        if name is None or name.endswith("num_batches_tracked"):
            continue
        if name not in own:
            unexpected.append(key)
        elif own[name].shape != tensor.shape:
            if name.startswith("segmenter."):
                skipped.append(name)  # a classifier for another number of classes: keep ours
            else:
                wrong_shape.append(f"{key}: file {tuple(tensor.shape)} vs model {tuple(own[name].shape)}")
        else:
            mapped[name] = tensor
    missing = sorted(backbone_keys - mapped.keys())
    if wrong_shape or missing:
        details = []
        if wrong_shape:
            details.append(f"{len(wrong_shape)} shape mismatches, e.g. {wrong_shape[:3]}")
        if missing:
            details.append(f"{len(missing)} backbone keys missing, e.g. {missing[:3]}")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected keys, e.g. {unexpected[:3]}")
        raise InitWeightsError(f"init weights file {path} does not match the {getattr(model, 'preset', '?')} "
                               f"model: " + "; ".join(details))
    model.load_state_dict(mapped, strict=False)
    return {"loaded": len(mapped), "skipped_classifier": skipped, "unexpected": unexpected}
