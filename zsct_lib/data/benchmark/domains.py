"""The knobs of the embedded benchmark: a domain's style, camera geometry and content, a
benchmark as a pair of domains, and its two variants (:data:`BENCHMARKS`)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

__all__ = ["SceneStyle", "SceneGeometry", "SceneContent", "DomainConfig", "BenchmarkConfig", "BENCHMARKS",
           "get_benchmark", "with_style_jitter", "without_style_jitter"]


@dataclass(frozen=True)
class SceneStyle:
    """Appearance of a domain: everything a style encoder can capture. Layout never depends on it.

    The image is made of material colours, lit faces, material texture, then a global transform
    in this order: haze -> exposure -> white balance -> hue -> saturation -> contrast -> gamma ->
    vignette -> blur -> sensor noise.
    """
    exposure: float = 1.0                 # global gain
    exposure_jitter: float = 0.08         # per-image std of log exposure (time of day within a domain)
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)   # per-channel gains (R, G, B)
    white_balance_jitter: float = 0.02    # per-image std of each gain
    hue_shift: float = 0.0                # degrees, rotation of the chroma plane (YIQ)
    saturation: float = 1.0               # 0 grey, 1 as painted, > 1 vivid
    contrast: float = 1.0                 # around mid grey
    gamma: float = 1.0                    # out = in ** gamma (> 1 darker mid tones)
    haze: float = 0.0                     # strength of atmospheric haze, grows with depth
    haze_colour: tuple[float, float, float] = (0.78, 0.80, 0.82)
    visibility: float = 150.0             # metres at which the haze reaches 63 % of its strength
    sun_strength: float = 0.5             # 0 overcast (faces equally lit, no cast shadows) .. 1 hard sun
    texture: float = 1.0                  # amplitude of material texture (asphalt, foliage, facade detail)
    instance_jitter: float = 0.06         # per-object colour jitter: brightness std 2.5x, hue 0.5x this
    noise: float = 0.0                    # std of per-pixel sensor noise, in [0, 1] units
    blur: float = 0.0                     # Gaussian blur sigma as a fraction of the image width
    vignette: float = 0.0                 # darkening at the corners (0 none)


@dataclass(frozen=True)
class SceneGeometry:
    """Camera and scale of a domain. Changing one moves or resizes the same scene."""
    horizon: float = 0.43                 # horizon row, fraction of the image height (camera pitch)
    horizon_jitter: float = 0.025         # per-image std of the horizon row
    camera_height: float = 1.3            # metres above the road
    focal: float = 1.1                    # focal length in image widths
    yaw_jitter: float = 0.06              # per-image std of the vanishing point's column (widths)
    object_scale: float = 1.0             # size of every object (vehicles, people, poles, trees)
    ego_vehicle: float = 0.0              # height of the ego hood at the bottom (fraction), labelled ignore


@dataclass(frozen=True)
class SceneContent:
    """How often each part of the grammar appears: the class frequencies, long-tailed like Cityscapes."""
    p_signal_poles: float = 0.33          # share of images with poles carrying traffic lights / signs
    p_lamp_posts: float = 0.12            # share of images with bare poles (street lamps)
    p_riders: float = 0.28                # share of images with riders on motorcycles / bicycles
    p_parked_two_wheelers: float = 0.10   # share of images with parked bicycles / motorcycles
    p_motorcycle: float = 0.4             # a two-wheeler is a motorcycle (else a bicycle)
    p_persons: float = 0.65               # share of images with pedestrians
    mean_persons: float = 3.0             # when present
    mean_cars: float = 4.0                # moving and parked
    p_truck: float = 0.14
    p_bus: float = 0.09
    p_train: float = 0.06                 # trams on rails
    p_trees: float = 0.55                 # per side of the street
    p_terrain: float = 0.35               # grass strip between sidewalk and buildings, per side
    p_crosswalk: float = 0.2
    p_street_end: float = 0.6             # a building closes the street (else it runs to the horizon)


@dataclass(frozen=True)
class DomainConfig:
    """One domain: appearance, camera and content."""
    style: SceneStyle = field(default_factory=SceneStyle)
    geometry: SceneGeometry = field(default_factory=SceneGeometry)
    content: SceneContent = field(default_factory=SceneContent)


@dataclass(frozen=True)
class BenchmarkConfig:
    """A source domain (labelled) and a target domain (unlabelled for training)."""
    name: str
    source: DomainConfig
    target: DomainConfig
    description: str = ""

    def domain(self, domain: str) -> DomainConfig:
        if domain not in ("source", "target"):
            raise ValueError(f"domain must be 'source' or 'target', got {domain!r}")
        return self.source if domain == "source" else self.target


# Cityscapes look: overcast, grey-green, low contrast, textured, noisy, slightly soft, hood visible.
TARGET_STYLE = SceneStyle(exposure=0.97, white_balance=(0.94, 1.02, 0.96), hue_shift=6.0, saturation=0.62,
                          contrast=1.12, gamma=1.12, haze=0.25, sun_strength=0.18, texture=1.0,
                          instance_jitter=0.06, noise=0.025, blur=0.0016, vignette=0.25)
TARGET_GEOMETRY = SceneGeometry(horizon=0.43, horizon_jitter=0.025, camera_height=1.3, focal=1.1,
                                yaw_jitter=0.05, object_scale=1.0, ego_vehicle=0.07)
# GTA5 look: sunny, warm, saturated, contrasty, clean flat textures, sharp and noiseless.
SOURCE_STYLE = SceneStyle(exposure=1.08, white_balance=(1.07, 1.0, 0.9), hue_shift=-4.0, saturation=1.35,
                          contrast=1.18, gamma=0.92, haze=0.12, sun_strength=0.6, texture=0.35,
                          instance_jitter=0.06, noise=0.0, blur=0.0, vignette=0.0)
GTA_GEOMETRY = SceneGeometry(horizon=0.47, horizon_jitter=0.045, camera_height=1.45, focal=1.0,
                             yaw_jitter=0.07, object_scale=1.0, ego_vehicle=0.0)
# SYNTHIA's camera is mounted high and pitched down: horizon near the top, objects seen from above.
SYNTHIA_GEOMETRY = SceneGeometry(horizon=0.2, horizon_jitter=0.05, camera_height=3.5, focal=1.0,
                                 yaw_jitter=0.07, object_scale=1.0, ego_vehicle=0.0)

BENCHMARKS: dict[str, BenchmarkConfig] = {
    "gta_like": BenchmarkConfig(
        name="gta_like",
        source=DomainConfig(style=SOURCE_STYLE, geometry=GTA_GEOMETRY),
        target=DomainConfig(style=TARGET_STYLE, geometry=TARGET_GEOMETRY),
        description="GTA5 -> Cityscapes: a style gap and a small geometry gap"),
    "synthia_like": BenchmarkConfig(
        name="synthia_like",
        source=DomainConfig(style=SOURCE_STYLE, geometry=SYNTHIA_GEOMETRY),
        target=DomainConfig(style=TARGET_STYLE, geometry=TARGET_GEOMETRY),
        description="SYNTHIA -> Cityscapes: the same style gap and a strong camera-pitch gap"),
}


def with_style_jitter(benchmark: Union[str, BenchmarkConfig], scale: float) -> BenchmarkConfig:
    """The same benchmark with each domain's per-image exposure and white-balance jitter multiplied by
    `scale`. The random streams draw the same numbers, so scene k is the same scene, lit and balanced
    `scale` times as far from its domain's mean style: more (or less) for a per-image style code to carry."""
    config = get_benchmark(benchmark)
    scaled = lambda domain: replace(domain, style=replace(  # noqa: E731
        domain.style, exposure_jitter=scale * domain.style.exposure_jitter,
        white_balance_jitter=scale * domain.style.white_balance_jitter))
    return replace(config, source=scaled(config.source), target=scaled(config.target))


def without_style_jitter(benchmark: Union[str, BenchmarkConfig]) -> BenchmarkConfig:
    """The same benchmark with every image in its domain's mean style (no per-image exposure or white
    balance jitter): scene k lit and balanced as its domain's average, what a per-image style code
    has to carry."""
    return with_style_jitter(benchmark, 0.0)


def get_benchmark(benchmark: Union[str, BenchmarkConfig]) -> BenchmarkConfig:
    """A variant by name ("gta_like", "synthia_like") or a BenchmarkConfig as given."""
    if isinstance(benchmark, BenchmarkConfig):
        return benchmark
    try:
        return BENCHMARKS[benchmark]
    except KeyError:
        raise ValueError(f"unknown benchmark {benchmark!r}: expected one of {sorted(BENCHMARKS)}") from None
