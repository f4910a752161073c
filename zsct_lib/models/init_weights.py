"""Load init weights for the DeepLab-v2 ResNet-101 preset from a local file (nothing is downloaded).

Each file is read as one of four layouts, told apart by its keys, and loaded key by key into the
module it was trained as; a file that fits none, or whose heads sit on the wrong layer, is refused
with the key named. The layout also says which input the weights expect (`LAYOUT_CONVENTION`).

| layout | where it comes from | keys | heads |
|---|---|---|---|
| torchvision | torchvision's ImageNet ResNet-101 | conv1, bn1, layer1..4, fc | none (fc dropped) |
| deeplab_v2 | the DeepLab-v2 init (`DeepLab_resnet_pretrained_init-f81d91e8.pth`), BDL's and AdaptSegNet's single-head `Deeplab` snapshots | [Scale.]conv1, bn1, layer1..4, layer5 | layer5 = main head on layer4 (2048 channels) |
| deeplab_multi | AdaptSegNet's and BDL's `DeeplabMulti` snapshots, DISE's `seg_model.DeeplabMulti` | conv1, bn1, layer1..4, layer5, layer6 | layer5 = auxiliary head on layer3 (1024), layer6 = main head on layer4 (2048) |
| dise | DISE's `enc_shared.pth` (its SharedEncoder wraps `DeeplabMulti`) | layer0.0 (conv1), layer0.1 (bn1), layer1..4, final1, final2 | final1 = auxiliary (1024), final2 = main (2048) |

`module.` (DataParallel) and `Scale.` (the Caffe conversion) prefixes are stripped; a checkpoint dict
holding the state dict under `state_dict`, `model`, `enc_shared` or `seg_model` is unwrapped. A head
trained for another number of classes (the init file's 21 PASCAL classes) is skipped whole and
reported; a head is never loaded in part.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch


class InitWeightsError(ValueError):
    """An init-weights file that is missing, unreadable or does not match the model."""


LAYOUT_CONVENTION = {"torchvision": "torchvision", "deeplab_v2": "deeplab", "deeplab_multi": "deeplab", "dise": "dise"}

# How the reference code that wrote each layout summed its ASPP branches (None: no head, or either).
LAYOUT_ASPP_SUM = {"torchvision": None, "deeplab_v2": None, "deeplab_multi": "two", "dise": "two"}

# Head name in a layout -> (our classifier, the input channels it reads).
HEADS = {
    "deeplab_v2": {"layer5": ("classifier", 2048)},
    "deeplab_multi": {"layer5": ("aux_classifier", 1024), "layer6": ("classifier", 2048)},
    "dise": {"final1": ("aux_classifier", 1024), "final2": ("classifier", 2048)},
}
WRAPPERS = ("state_dict", "model", "enc_shared", "seg_model")
DISE_OTHER_FILES = {"cnn.": "private (style) encoder, enc_s.pth or enc_t.pth", "mlp_att.": "private decoder, dec_s.pth",
                    "main.": "private decoder, dec_s.pth"}


def read_init_state(path: str | Path) -> dict:
    """The state dict of tensors in `path`, unwrapped from a checkpoint dict, prefixes stripped."""
    path = Path(path)
    if not path.is_file():
        raise InitWeightsError(f"init weights file {path} does not exist (give a local path to a torchvision "
                               "ResNet-101, DeepLab-v2, AdaptSegNet/BDL or DISE state dict)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise InitWeightsError(f"init weights file {path} could not be read as a torch state dict: {err}") from None
    for key in WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InitWeightsError(f"init weights file {path}: expected a state dict of tensors")
    stripped = {}
    for key, tensor in state.items():
        for prefix in ("module.", "Scale."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        stripped[key] = tensor
    return stripped


def detect_layout(state: dict, path: str | Path = "?") -> str:
    """Which of the four layouts a (stripped) state dict is in; InitWeightsError naming a key if none."""
    keys = list(state)
    for prefix, what in DISE_OTHER_FILES.items():
        if any(k.startswith(prefix) for k in keys):
            raise InitWeightsError(f"init weights file {path}: key {next(k for k in keys if k.startswith(prefix))!r} "
                                   f"looks like DISE's {what}; the preset loads DISE's segmentation network, "
                                   "enc_shared.pth (keys layer0.*, layer1..4.*, final1.*, final2.*)")
    if any(k.startswith(("layer0.", "final1.", "final2.")) for k in keys):
        return "dise"
    if any(k.startswith("layer6.") for k in keys):
        return "deeplab_multi"
    if any(k.startswith("layer5.") for k in keys):
        weight = state.get("layer5.conv2d_list.0.weight")
        return "deeplab_multi" if weight is not None and weight.dim() == 4 and weight.shape[1] == 1024 else "deeplab_v2"
    if "conv1.weight" in state:
        return "torchvision"
    if any(k.startswith(("stem.", "content_encoder.")) for k in keys):
        raise InitWeightsError(f"init weights file {path} holds this library's own model (key {keys[0]!r}): "
                               "give it as train.init_checkpoint, not model.init_weights")
    raise InitWeightsError(f"init weights file {path}: no known layout has key {keys[0]!r} (expected a torchvision "
                           "ResNet-101, DeepLab-v2, AdaptSegNet/BDL DeeplabMulti or DISE enc_shared state dict)")


def map_keys(state: dict, layout: str, path: str | Path = "?") -> tuple[dict, list]:
    """Key by key: ({our key: their key}, [their keys not used: torchvision's fc]). Refuses a key that no
    module of the layout owns, and a head on the wrong layer (it would load crosswise)."""
    mapping, unused, unknown = {}, [], []
    heads = HEADS.get(layout, {})
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        if layout == "torchvision" and key.startswith("fc."):
            unused.append(key)               # the ImageNet classifier
            continue
        if layout == "dise" and key.startswith(("layer0.0.", "layer0.1.")):
            module = "conv1" if key.startswith("layer0.0.") else "bn1"
            mapping["stem." + module + key[len("layer0.0"):]] = key
            continue
        if layout != "dise" and key.startswith(("conv1.", "bn1.")):
            mapping["stem." + key] = key
            continue
        if re.match(r"layer[1-4]\.", key):
            mapping["content_encoder." + key] = key
            continue
        match = re.match(r"(\w+)\.conv2d_list\.(\d+)\.(weight|bias)$", key)
        if match and match.group(1) in heads:
            ours, channels = heads[match.group(1)]
            if key.endswith("weight") and (tensor.dim() != 4 or tensor.shape[1] != channels):
                raise InitWeightsError(
                    f"init weights file {path}: {key} reads {tuple(tensor.shape)[1:2]} channels, but in the {layout} "
                    f"layout {match.group(1)} is the {ours.replace('_', ' ')} on {channels} channels; refused "
                    "rather than loaded into the other head")
            mapping[f"segmenter.{ours}.branches.{match.group(2)}.{match.group(3)}"] = key
            continue
        unknown.append(key)
    if unknown:
        raise InitWeightsError(f"init weights file {path}: {len(unknown)} keys belong to no module of the {layout} "
                               f"layout, e.g. {unknown[:3]}")
    return mapping, unused


def load_init_weights(model: torch.nn.Module, path: str | Path, state: dict | None = None) -> dict:
    """Copy the backbone and, where they were trained for the model's classes, the heads from `path`.

    Returns {"layout", "input_convention" (the layout's), "loaded": n tensors, "skipped_classifier":
    [heads trained for another class count], "unused": [keys dropped]}. Raises InitWeightsError naming
    the file and the keys when the file does not cover the backbone or a shape differs.
    """
    state = read_init_state(path) if state is None else state
    if getattr(model, "preset", None) != "deeplabv2_r101":
        raise InitWeightsError(f"init weights file {path}: model.init_weights is for the deeplabv2_r101 preset, "
                               f"not {getattr(model, 'preset', '?')!r}")
    layout = detect_layout(state, path)
    mapping, unused = map_keys(state, layout, path)
    own = model.state_dict()
    heads_in_file = {".".join(ours.split(".")[:2]) for ours in mapping if ours.startswith("segmenter.")}
    skipped = sorted(head for head in heads_in_file
                     if any(own[o].shape != state[t].shape for o, t in mapping.items() if o.startswith(head + ".")))
    wrong_shape = [f"{t}: file {tuple(state[t].shape)} vs model {tuple(own[o].shape)}"
                   for o, t in mapping.items() if o in own and not o.startswith("segmenter.") and own[o].shape != state[t].shape]
    absent = [t for o, t in mapping.items() if o not in own]
    backbone = {k for k in own if k.startswith(("stem.", "content_encoder.")) and not k.endswith("num_batches_tracked")}
    missing = sorted(backbone - mapping.keys())
    if wrong_shape or missing or absent:
        details = []
        if wrong_shape:
            details.append(f"{len(wrong_shape)} shape mismatches, e.g. {wrong_shape[:3]}")
        if missing:
            details.append(f"{len(missing)} backbone keys missing, e.g. {missing[:3]}")
        if absent:
            details.append(f"{len(absent)} keys with no place in the model, e.g. {absent[:3]}")
        raise InitWeightsError(f"init weights file {path} ({layout} layout) does not match the "
                               f"{model.preset} model: " + "; ".join(details))
    loaded = {o: state[t] for o, t in mapping.items() if not any(o.startswith(h + ".") for h in skipped)}
    model.load_state_dict(loaded, strict=False)
    return {"layout": layout, "input_convention": LAYOUT_CONVENTION[layout], "loaded": len(loaded),
            "skipped_classifier": skipped, "unused": unused}
