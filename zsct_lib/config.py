"""Configuration as dataclasses, loaded from YAML files in `configs/` with `--set a.b=value` overrides.

An unknown key is an error that lists the valid keys; a value of the wrong type is an error that
names the key, the value and the expected type.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """A configuration file or override that does not fit the dataclasses below."""


@dataclass
class DataConfig:
    source: str = "synthetic"          # synthetic | gta5 | synthia
    target: str = "synthetic"          # synthetic | cityscapes
    source_root: str = ""              # local dataset roots for the real datasets
    target_root: str = ""
    benchmark: str = "gta_like"        # embedded benchmark variant: gta_like | synthia_like
    seed: int = 0                      # changes every generated scene, keeps the domain definitions
    height: int = 64                   # size images are generated at / resized to
    width: int = 128
    crop_height: int = 64              # training crop
    crop_width: int = 128
    scale_min: float = 1.0             # random rescale before the crop
    scale_max: float = 1.0
    flip: bool = True
    source_size: int = 400             # number of images per split (embedded benchmark)
    target_size: int = 400
    val_size: int = 100
    val_split: str = "val"             # Cityscapes split scored by `zsct eval` / periodic evaluation
    num_workers: int = 0
    rare_class_temperature: float = 0.0  # beyond the paper: DAFormer's rare-class sampling of source images at T (0.01); 0 = off
    rare_class_min_pixels: float = 3000.0  # rare-class sampling draws images with more than this many pixels of the class, counted at DAFormer's scale (a 1914x1052 GTA5 label) and scaled to data.height x data.width; 0 = any image with the class, one crop (the rule before)
    style_jitter_scale: float = 1.0    # embedded benchmark: multiplies the per-image exposure / white-balance jitter (1: the variant's own)


@dataclass
class ModelConfig:
    preset: str = "tiny"               # tiny | deeplabv2_r101
    num_classes: int = 19
    style_dim: int = 8                 # DISE's style code
    base_channels: int = 32            # tiny preset width
    init_weights: str = ""             # local path: torchvision ResNet-101 or DeepLab init state dict
    freeze_bn: bool = False            # True for pretrained backbones (the paper); False to train BN from scratch
    decoder: str = "aspp"              # aspp (predicts at the content's stride) | skip (tiny: + stem skip, stride 2)
    generator: str = "dise"            # dise (code concatenated, DISE) | adain (code sets AdaIN scales, MUNIT)
    generator_upsample: str = "transposed"  # transposed (DISE) | resize (nearest x2 + conv: no checkerboard)
    style_norm: str = "batch"          # batch (DISE's style encoder) | none (MUNIT's: keeps each image's statistics)
    stem_norm: str = "batch"           # tiny preset's stem: batch | none (the stem's output keeps the domain's colour)
    content_norm: str = "none"         # tiny preset's Ec input: none | instance (per image and channel: each image's own gain and offset removed)
    aspp_sum: str = "four"             # deeplabv2_r101: four (the ASPP's four branches summed, BDL) | two (the first two, as AdaptSegNet's and DISE's code runs)
    input_convention: str = "auto"     # deeplabv2_r101: auto (follows model.init_weights' layout) | torchvision | deeplab | dise; the run records the one it used


@dataclass
class LossConfig:
    mode: str = "uda"                  # uda | source_only (NonAdapt) | oracle (target labels; an upper bound)
    sty: bool = True                   # zero-style loss, eq 9
    cyc: bool = True                   # cycle loss, eq 10
    st: bool = True                    # self-training on MPT pseudo labels, eq 12
    in_ct: bool = True                 # input-level content transfer, eq 16 (stage 2)
    out_ct: bool = True                # output-level content transfer, eq 17 (stage 2)
    context_ct: bool = False           # context-aware placement of transferred content (beyond the paper)
    st_with_ct: bool = False           # beyond the paper: keep L_st beside L_seg_ct in stage 2 (eq 19 replaces it)
    ct_objects: str = "eq15"           # eq15 (M_ct = Mt_head ⊙ Ms_tail, the paper) | whole (beyond the paper: whole source tail objects that cover no target tail pixel)
    class_balance_beta: float = 0.999  # Cui et al. 2019; 0 gives equal weights
    class_balance_counts: str = "paper_scale"  # paper_scale (the source's class shares over the paper's GTA5/SYNTHIA pixel total: near-equal weights, as the paper's) | dataset (this set's own counts; beyond the paper: inverse frequency on a small set)
    pseudo_quantile: float = 0.5
    pseudo_cap: float = 0.9
    st_start: int = 0                  # iteration at which self-training begins
    w_seg: float = 1.0
    w_seg_aux: float = 0.1
    w_zero: float = 1.0
    w_zero_trans: float = 1.0
    w_cycle: float = 1.0
    w_rec: float = 0.5
    w_adv_out: float = 0.001
    w_adv_out_aux: float = 0.0002
    w_adv_img: float = 0.01
    w_st: float = 1.0
    w_seg_ct: float = 1.0
    seg_ct_class_weighted: bool = False  # beyond the paper: L_seg_ct with L_seg's class-balanced weights
    in_ct_pixels: str = "translated"   # translated (Is2t, the paper) | raw (Is's own pixels, as DACS/ClassMix paste)
    w_style_prior: float = 0.0         # beyond the paper: own-domain codes held at N(0, I) batch moments; 0 = off
    style_trains_stem: bool = True     # the style encoders' terms train the shared stem too (DISE); false: they read it fixed
    w_style_rec: float = 0.0           # beyond the paper: |Et(Gt(z, Ec(Is))) - z| for z ~ N(0, I) (MUNIT); 0 = off
    w_content_rec: float = 0.0         # beyond the paper: |Ec(Is2t) - Ec(Is)| + |Ec(It2s) - Ec(It)| (MUNIT); 0 = off
    # Diagnostics of what the DISE stage costs the tail (docs/report/02_dise_stage.md, "What the adaptation stage costs"):
    seg_on_translated: bool = True     # eq 6 on Is and Is2t (DISE); false: on Is only
    generators_train_content: bool = True  # the generators' terms train Ec and the stem (DISE); false: they read the content map fixed


@dataclass
class OptimConfig:
    seg_lr: float = 2.5e-4             # SGD for stem, content encoder and segmenter
    seg_momentum: float = 0.9
    weight_decay: float = 5e-4
    head_lr_mult: float = 10.0         # classifier heads learn faster (DeepLab convention)
    gen_lr: float = 1e-3               # Adam for style encoders and generators
    gen_beta1: float = 0.5
    gen_beta2: float = 0.999
    d_out_lr: float = 1e-4             # Adam for the output-space discriminator
    d_out_beta1: float = 0.9
    d_out_beta2: float = 0.99
    d_img_lr: float = 1e-4             # Adam for the image discriminators
    d_img_beta1: float = 0.5
    d_img_beta2: float = 0.999
    d_img_every: int = 5               # image discriminators update every N iterations (DISE)
    poly_power: float = 0.9
    lr_decay: str = "per_stage"        # per_stage (poly restarted at stage 2) | whole_run (one poly decay over both stages, the paper's fine-tuning)
    grad_clip: float = 0.0             # 0 disables


@dataclass
class TrainConfig:
    iterations: int = 400              # stage 1: UDA
    ct_iterations: int = 200           # stage 2: UDA + content transfer (flags in_ct, out_ct)
    batch_size: int = 2
    seed: int = 0
    init_checkpoint: str = ""          # start from these model weights (the paper starts from DISE's)
    eval_every: int = 200
    checkpoint_every: int = 100
    log_every: int = 10
    device: str = "auto"               # auto | cpu | cuda | cuda:N
    threads: int = 0                   # CPU threads (0: torch's default)
    amp: str = "none"                  # auto (bf16 where the device computes it natively) | fp32 | bf16; none = fp32
    tf32: bool = False
    channels_last: bool = False
    compile: bool = False
    fused_optim: bool = False
    pin_memory: bool = False
    deterministic: bool = False       # torch.use_deterministic_algorithms: CPU runs reproduce without it (tested) and it doubles the CPU step time


@dataclass
class EvalConfig:
    protocol: str = "19"               # 19 | 16 | 13
    batch_size: int = 4
    max_images: int = 0                # 0: the whole split
    pseudo_label_images: int = 100     # labelled target training images that score the pseudo labels at each stage's end (diagnosis only); 0 = off


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _coerce(value, expected_type, key: str):
    """Check (and where lossless, convert) a value to a dataclass field's type."""
    if expected_type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif expected_type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif expected_type is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif expected_type is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"config key {key!r}: value {value!r} is not a valid {expected_type.__name__}")


def _apply(section, values: dict, prefix: str):
    hints = typing.get_type_hints(type(section))
    valid = [f.name for f in dataclasses.fields(section)]
    for name, value in values.items():
        key = f"{prefix}{name}"
        if name not in valid:
            raise ConfigError(f"unknown config key {key!r}; valid keys under {prefix or 'the top level'}: "
                              f"{', '.join(prefix + v for v in valid)}")
        current = getattr(section, name)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {key!r} is a section: expected a mapping, got {value!r}")
            _apply(current, value, key + ".")
        else:
            setattr(section, name, _coerce(value, hints[name], key))


def config_from_dict(values: dict | None) -> Config:
    cfg = Config()
    _apply(cfg, values or {}, "")
    validate(cfg)
    return cfg


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path as given, or a name in `configs/` ("tiny" -> configs/tiny.yaml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = CONFIG_DIR / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    raise ConfigError(f"config file {str(name_or_path)!r} not found (neither a file nor a name in {CONFIG_DIR}: {known})")


def parse_overrides(overrides: list[str] | None) -> dict:
    """["train.iterations=10", "loss.st=false"] -> nested dict, values parsed as YAML scalars."""
    nested: dict = {}
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else ""
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def flatten_config(config: dict, prefix: str = "") -> dict:
    """A nested config dict as {"section.key": value}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def load_config(name_or_path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (or the defaults when None) and apply `section.key=value` overrides."""
    values: dict = {}
    if name_or_path is not None:
        path = resolve_config_path(name_or_path)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path}: not valid YAML ({err})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path}: expected a mapping of sections, got {type(values).__name__}")
    try:
        return config_from_dict(_merge(values, parse_overrides(overrides)))
    except ConfigError as err:
        where = f"config file {name_or_path}: " if name_or_path is not None else ""
        raise ConfigError(f"{where}{err}") from None


def validate(cfg: Config) -> None:
    """Cross-field checks the types alone cannot express."""
    choices = {
        "data.source": (cfg.data.source, ("synthetic", "gta5", "synthia")),
        "data.target": (cfg.data.target, ("synthetic", "cityscapes")),
        "data.benchmark": (cfg.data.benchmark, ("gta_like", "synthia_like")),
        "model.preset": (cfg.model.preset, ("tiny", "deeplabv2_r101")),
        "model.generator": (cfg.model.generator, ("dise", "adain")),
        "model.decoder": (cfg.model.decoder, ("aspp", "skip")),
        "model.generator_upsample": (cfg.model.generator_upsample, ("transposed", "resize")),
        "model.style_norm": (cfg.model.style_norm, ("batch", "none")),
        "model.stem_norm": (cfg.model.stem_norm, ("batch", "none")),
        "model.content_norm": (cfg.model.content_norm, ("none", "instance")),
        "model.aspp_sum": (cfg.model.aspp_sum, ("four", "two")),
        "model.input_convention": (cfg.model.input_convention, ("auto", "torchvision", "deeplab", "dise")),
        "loss.mode": (cfg.loss.mode, ("uda", "source_only", "oracle")),
        "loss.in_ct_pixels": (cfg.loss.in_ct_pixels, ("translated", "raw")),
        "loss.class_balance_counts": (cfg.loss.class_balance_counts, ("paper_scale", "dataset")),
        "loss.ct_objects": (cfg.loss.ct_objects, ("eq15", "whole")),
        "optim.lr_decay": (cfg.optim.lr_decay, ("per_stage", "whole_run")),
        "train.amp": (cfg.train.amp, ("auto", "fp32", "bf16", "none")),
        "eval.protocol": (cfg.eval.protocol, ("19", "16", "13")),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"config key {key!r}: {value!r} is not one of {', '.join(allowed)}")
    if cfg.model.content_norm != "none" and cfg.model.preset != "tiny":
        raise ConfigError(f"config key 'model.content_norm': {cfg.model.content_norm!r} is for the tiny preset only")
    if cfg.model.preset == "tiny" and (cfg.model.aspp_sum, cfg.model.input_convention) != ("four", "auto"):
        raise ConfigError("config keys 'model.aspp_sum' and 'model.input_convention' are for the deeplabv2_r101 preset; "
                          "the tiny preset sums its four branches and scales its input to [-1, 1] (aspp_sum=four, "
                          f"input_convention=auto), got {cfg.model.aspp_sum!r}, {cfg.model.input_convention!r}")
    if cfg.loss.out_ct and not cfg.loss.in_ct:
        raise ConfigError("config key 'loss.out_ct': output-level transfer relabels the input-level "
                          "transferred image, so it needs loss.in_ct=true")
    if cfg.loss.context_ct and not cfg.loss.in_ct:
        raise ConfigError("config key 'loss.context_ct' needs loss.in_ct=true")
    if cfg.data.rare_class_temperature < 0:
        raise ConfigError(f"config key 'data.rare_class_temperature': {cfg.data.rare_class_temperature} is negative "
                          "(0 turns rare-class sampling off; DAFormer uses 0.01)")
    if cfg.data.rare_class_min_pixels < 0:
        raise ConfigError(f"config key 'data.rare_class_min_pixels': {cfg.data.rare_class_min_pixels} is negative "
                          "(DAFormer uses 3000; 0 takes any image that holds the class)")
    if cfg.data.style_jitter_scale < 0:
        raise ConfigError(f"config key 'data.style_jitter_scale': {cfg.data.style_jitter_scale} is negative "
                          "(1 keeps the benchmark's own per-image style variation, 0 removes it)")
    if not 0.0 <= cfg.loss.class_balance_beta < 1.0:
        raise ConfigError(f"config key 'loss.class_balance_beta': {cfg.loss.class_balance_beta} is not in [0, 1)")
    if cfg.data.crop_height > cfg.data.height * cfg.data.scale_max or cfg.data.crop_width > cfg.data.width * cfg.data.scale_max:
        raise ConfigError(f"config keys 'data.crop_height/crop_width' ({cfg.data.crop_height}x{cfg.data.crop_width}) "
                          f"exceed the largest scaled image ({cfg.data.height}x{cfg.data.width} x {cfg.data.scale_max})")
    for key in ("iterations", "batch_size"):
        if getattr(cfg.train, key) < 1:
            raise ConfigError(f"config key 'train.{key}' must be at least 1")
    for key in ("ct_iterations", "eval_every", "threads"):
        if getattr(cfg.train, key) < 0:
            raise ConfigError(f"config key 'train.{key}': {getattr(cfg.train, key)} is negative")
    for key in ("log_every", "checkpoint_every"):
        if getattr(cfg.train, key) < 1:
            raise ConfigError(f"config key 'train.{key}' must be at least 1")
    stride = 8 if cfg.model.preset == "deeplabv2_r101" else 4       # the content map's stride: the generators draw back up
    for key in ("height", "width", "crop_height", "crop_width"):
        if getattr(cfg.data, key) % stride:
            raise ConfigError(f"config key 'data.{key}': {getattr(cfg.data, key)} is not a multiple of {stride}, "
                              f"the output stride of the {cfg.model.preset} preset")
    if cfg.model.num_classes not in (16, 19):
        raise ConfigError(f"config key 'model.num_classes': {cfg.model.num_classes} is not 19 (GTA5) or 16 (SYNTHIA)")
