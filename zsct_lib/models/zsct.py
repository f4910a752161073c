"""The whole model: shared stem, Ec, Gc, Es, Et, Gs, Gt and the discriminators (paper Fig. 1)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .backbone import ASPP_SUMS, INPUT_CONVENTIONS, Segmenter, TinyContentEncoder, TinyStem, deeplabv2_resnet101_parts
from .discriminators import ImageDiscriminator, OutputDiscriminator
from .generator import build_generator
from .init_weights import LAYOUT_ASPP_SUM, LAYOUT_CONVENTION, detect_layout, load_init_weights, read_init_state
from .style import StyleEncoder


class ZSCTModel(nn.Module):
    """Content/style model of the paper on DISE's architecture.

    Images are [B,3,H,W] in [0,1] everywhere (inputs and generator outputs). The stem is shared by
    the content encoder and both style encoders ("the first convolutional layers of three encoders
    are shared").
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.preset = cfg.preset
        self.num_classes = cfg.num_classes
        k = cfg.num_classes
        if cfg.preset == "tiny":
            base = cfg.base_channels
            self.stem = TinyStem(base, cfg.stem_norm)
            self.content_encoder = TinyContentEncoder(base, skip=cfg.decoder == "skip",
                                                      instance_norm=cfg.content_norm == "instance")
            c = self.content_encoder.out_channels
            self.segmenter = Segmenter(c, k, dilations=(1, 2, 4, 8), hidden=c,
                                       skip_channels=self.content_encoder.skip_channels)
            style_widths = (base, 2 * base, 2 * base, 2 * base)
            gen_kwargs = dict(style_channels=c // 2, width=c, stride=self.content_encoder.stride)
            d_widths = (base, 2 * base, 4 * base, 4 * base)
        elif cfg.preset == "deeplabv2_r101":
            if cfg.decoder != "aspp":
                raise ValueError(f"model.decoder {cfg.decoder!r}: the deeplabv2_r101 preset has DeepLab-v2's ASPP only")
            if cfg.stem_norm != "batch":
                raise ValueError(f"model.stem_norm {cfg.stem_norm!r}: the deeplabv2_r101 preset keeps ResNet's "
                                 "(frozen) stem batch norm")
            self.stem, self.content_encoder = deeplabv2_resnet101_parts(resolve_input_convention(cfg.preset, cfg.input_convention))
            c = self.content_encoder.out_channels
            self.segmenter = Segmenter(c, k, aux_channels=self.content_encoder.aux_channels, summed=ASPP_SUMS[cfg.aspp_sum])
            style_widths = (64, 128, 256, 256, 256)
            # the content map is H/8 + 1 cells high (ceil-mode max-pool): the generators cut 4 pixels a side
            gen_kwargs = dict(style_channels=256, width=512, stride=self.content_encoder.stride, trim=4)
            d_widths = (64, 128, 256, 512)
        else:
            raise ValueError(f"unknown model preset {cfg.preset!r}: expected 'tiny' or 'deeplabv2_r101'")
        stem_channels = self.stem.out_channels
        self.style_source = StyleEncoder(stem_channels, cfg.style_dim, style_widths, cfg.style_norm)   # Es
        self.style_target = StyleEncoder(stem_channels, cfg.style_dim, style_widths, cfg.style_norm)   # Et
        generator = dict(kind=cfg.generator, content_channels=c, style_dim=cfg.style_dim,
                         upsample=cfg.generator_upsample, **gen_kwargs)
        self.gen_source = build_generator(**generator)                                 # Gs
        self.gen_target = build_generator(**generator)                                 # Gt
        self.disc_output = OutputDiscriminator(k, d_widths)
        self.disc_output_aux = OutputDiscriminator(k, d_widths) if self.segmenter.aux_classifier else None
        self.disc_source_image = ImageDiscriminator(d_widths)
        self.disc_target_image = ImageDiscriminator(d_widths)
        self.freeze_bn = cfg.freeze_bn
        self.input_convention = resolve_input_convention(cfg.preset, cfg.input_convention)
        self.aspp_sum = cfg.aspp_sum
        self.input_convention_origin = f"model.input_convention={cfg.input_convention}"   # build_model says more
        self.init_report = None

    # ---- module groups, one optimizer each -------------------------------------------------
    def segmentation_modules(self) -> list[nn.Module]:
        return [self.stem, self.content_encoder, self.segmenter]

    def generator_modules(self) -> list[nn.Module]:
        return [self.style_source, self.style_target, self.gen_source, self.gen_target]

    def output_discriminators(self) -> list[nn.Module]:
        return [d for d in (self.disc_output, self.disc_output_aux) if d is not None]

    def image_discriminators(self) -> list[nn.Module]:
        return [self.disc_source_image, self.disc_target_image]

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn:
            # Frozen BN (paper, DISE): pretrained statistics and affine parameters stay fixed.
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
                    for p in module.parameters():
                        p.requires_grad_(False)
        return self

    # ---- encoders --------------------------------------------------------------------------
    def encode(self, images: torch.Tensor):
        """Images [B,3,H,W] -> (stem features, content [B,C,h,w], auxiliary content or None)."""
        stem_features = self.stem(images)
        content, aux = self.content_encoder(stem_features)
        return stem_features, content, aux

    def segment(self, content, aux=None, size=None):
        """Gc: content -> (logits [B,K,H,W], aux logits or None), bilinearly upsampled to `size`."""
        logits, aux_logits = self.segmenter(content, aux)
        if size is not None:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
            if aux_logits is not None:
                aux_logits = F.interpolate(aux_logits, size=size, mode="bilinear", align_corners=False)
        return logits, aux_logits

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Ps = Gc(Ec(I)): images [B,3,H,W] -> logits [B,K,H,W]."""
        _, content, aux = self.encode(images)
        return self.segment(content, aux, size=images.shape[-2:])[0]

    def forward(self, images):
        return self.predict(images)


def resolve_input_convention(preset: str, name: str, layout: str | None = None) -> str:
    """The input convention a model of `preset` uses for `model.input_convention` = `name`: the tiny
    preset has its own ("auto": [-1, 1], RGB); for deeplabv2_r101 "auto" follows the init file's layout
    (`init_weights.LAYOUT_CONVENTION`) and is "torchvision" without one (the preset's only convention
    before conventions were recorded, so older configs keep theirs)."""
    if preset == "tiny" or name != "auto":
        return name
    return LAYOUT_CONVENTION[layout] if layout else "torchvision"


def describe_input(model: ZSCTModel) -> list[str]:
    """What the stem feeds the network and why, and what the init file gave (printed at a run's start)."""
    if model.preset == "tiny":
        return ["input: RGB in [0, 1] scaled to [-1, 1] (the tiny preset's own)"]
    convention = INPUT_CONVENTIONS[model.input_convention]
    lines = [f"input convention: {convention.name}, {convention.description}; {model.input_convention_origin}"]
    report = getattr(model, "init_report", None)
    if report:
        skipped = f", heads trained for other classes kept untrained: {', '.join(report['skipped_classifier'])}" \
            if report["skipped_classifier"] else ""
        lines.append(f"init weights: {report['layout']} layout, {report['loaded']} tensors loaded{skipped}")
        trained_sum = LAYOUT_ASPP_SUM[report["layout"]]
        if trained_sum and trained_sum != model.aspp_sum and len(report["skipped_classifier"]) < 2:
            lines.append(f"note: {report['layout']} snapshots were trained summing {trained_sum} ASPP branches, "
                         f"this model sums {model.aspp_sum} (model.aspp_sum={trained_sum} reproduces them)")
    return lines


def build_model(cfg: ModelConfig) -> ZSCTModel:
    """The model of a preset, with init weights loaded from `cfg.init_weights` when given.

    For deeplabv2_r101, `cfg.input_convention` "auto" is resolved here (from the init file's layout) and
    written back into `cfg`, so that the run's config.yaml and checkpoints record the convention the
    weights expect and evaluation, which rebuilds the model without the init file, normalises the same.
    """
    state = layout = None
    if cfg.init_weights and cfg.preset == "deeplabv2_r101":
        state = read_init_state(cfg.init_weights)
        layout = detect_layout(state, cfg.init_weights)
    if cfg.preset == "deeplabv2_r101":
        if cfg.input_convention == "auto":
            origin = (f"from the {layout} layout of model.init_weights {cfg.init_weights}" if layout
                      else "the default without init weights (model.input_convention=auto)")
        else:
            origin = "set by model.input_convention"
            if layout and cfg.input_convention != resolve_input_convention(cfg.preset, "auto", layout):
                origin += f" (the {layout} layout of {cfg.init_weights} expects " \
                          f"{resolve_input_convention(cfg.preset, 'auto', layout)})"
        cfg.input_convention = resolve_input_convention(cfg.preset, cfg.input_convention, layout)
    model = ZSCTModel(cfg)
    model.input_convention_origin = origin if cfg.preset == "deeplabv2_r101" else "the tiny preset's own"
    model.init_report = load_init_weights(model, cfg.init_weights, state) if cfg.init_weights else None
    return model
