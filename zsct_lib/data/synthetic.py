"""The embedded benchmark: a procedural generator of two street-scene domains.

The real benchmarks are tens of gigabytes behind registrations, so the library draws its own: the
default data of every notebook, demo, test and quick training run. A *source* domain plays
GTA5 / SYNTHIA (the synthetic look: saturated, sunny, clean, sharp) and a *target* domain plays
Cityscapes (the real look: grey-green, overcast, textured, noisy, slightly blurred, with the ego
vehicle's hood at the bottom). Both domains share one scene grammar over the 19 Cityscapes train
ids, so the gap between them is the one the paper adapts across:

* a **style gap**: a smooth, mostly global change of appearance (exposure, white balance, hue,
  saturation, contrast, gamma, haze, sun strength, vignetting) plus texture, sensor noise and
  blur. Every knob is a field of :class:`SceneStyle`; an image-to-image translator (the paper's
  generators Gs, Gt with style codes Es, Et) can learn it;
* a **geometry gap**: camera pitch (horizon row), camera height, focal length, object scale, the
  ego hood. Every knob is a field of :class:`SceneGeometry`.

How often each part of the grammar appears is :class:`SceneContent` (the same in both domains by
default). The scene is built in a 3-D street frame in metres -- camera at ``(X, Y, Z) = (0, h, 0)``
looking down +Z, ground at ``Y = 0`` -- from convex polygons, projected with a pinhole camera to
normalised image coordinates::

    x = vx + focal * X / Z                  (fraction of the image width)
    y = horizon + focal * aspect * (h - Y) / Z   (fraction of the image height, aspect = 2)

and painted far to near (painter's order) into a map of face ids at the requested resolution.
The label is a table lookup on that map; the image is drawn from it by the domain's style. The
scene depends on ``(seed, domain, index)`` and the domain's content and geometry, never on the
resolution or the style: a style knob repaints the same scene, a geometry knob moves the camera
(objects are placed where the camera sees them) while drawing the same random numbers.

Two variants (:data:`BENCHMARKS`): ``gta_like`` (style gap, small geometry gap) and
``synthia_like`` (the same style gap, plus SYNTHIA's elevated, downward-pitched camera).
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..labels import IGNORE_INDEX, NUM_CLASSES

__all__ = ["SceneStyle", "SceneGeometry", "SceneContent", "DomainConfig", "BenchmarkConfig", "BENCHMARKS",
           "Scene", "layout_scene", "rasterise", "render_label", "render_image", "generate_scene",
           "generate_label", "StreetScenes",
           "SPLITS", "VAL_INDEX_OFFSET", "get_benchmark"]

# Train ids, named once for the grammar below.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY = range(11)
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = range(11, 19)

ASPECT = 2.0  # width / height the scenes are designed for; other sizes stretch the same scene


# ============================================================================ the knobs

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


def get_benchmark(benchmark: Union[str, BenchmarkConfig]) -> BenchmarkConfig:
    """A variant by name ("gta_like", "synthia_like") or a BenchmarkConfig as given."""
    if isinstance(benchmark, BenchmarkConfig):
        return benchmark
    try:
        return BENCHMARKS[benchmark]
    except KeyError:
        raise ValueError(f"unknown benchmark {benchmark!r}: expected one of {sorted(BENCHMARKS)}") from None


# ============================================================================ materials and colours

# Material of a face: decides its texture pattern in the image (never the label).
M_SKY, M_PLAIN, M_ROAD, M_PAVING, M_FACADE, M_FOLIAGE, M_GRASS, M_GLASS, M_LAMP, M_FENCE, M_WALL, M_HOOD = range(12)
# Luminance texture amplitude of each material at SceneStyle.texture = 1.
_TEXTURE_AMPLITUDE = np.array([0.03, 0.05, 0.12, 0.10, 0.10, 0.40, 0.30, 0.08, 0.0, 0.12, 0.10, 0.03], np.float32)

# Facing of a face: decides how the sun lights it.
F_SKY, F_FRONT, F_LEFT, F_RIGHT, F_TOP, F_GROUND, F_EMIT = range(7)
_FACING_NORMALS = np.array([[0, 0, 0], [0, 0, -1], [-1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0]], np.float32)

_C = lambda *rgb: tuple(v / 255.0 for v in rgb)  # noqa: E731 -- palettes read easier in 0..255
PALETTES = {
    "asphalt": [_C(84, 84, 88), _C(96, 95, 97), _C(72, 74, 79), _C(104, 100, 98)],
    "paving": [_C(148, 143, 138), _C(166, 153, 140), _C(133, 133, 140), _C(153, 115, 107), _C(176, 170, 160)],
    "facade": [_C(191, 173, 140), _C(140, 140, 145), _C(153, 89, 71), _C(209, 204, 194), _C(128, 102, 82),
               _C(217, 199, 140), _C(128, 143, 158), _C(180, 150, 130), _C(110, 105, 100)],
    "window": [_C(38, 43, 51), _C(70, 85, 100), _C(55, 50, 48)],
    "wall": [_C(153, 148, 140), _C(128, 122, 115), _C(140, 128, 107), _C(170, 165, 155)],
    "fence": [_C(77, 82, 84), _C(64, 90, 71), _C(128, 97, 64), _C(150, 150, 150)],
    "foliage": [_C(64, 107, 38), _C(46, 89, 31), _C(82, 115, 51), _C(56, 97, 56), _C(90, 110, 40)],
    "trunk": [_C(89, 69, 46), _C(70, 60, 50)],
    "grass": [_C(107, 140, 64), _C(128, 140, 77), _C(140, 122, 89), _C(95, 125, 60)],
    "sky": [_C(90, 140, 217), _C(120, 165, 225), _C(178, 189, 199), _C(150, 170, 190)],
    "sky_horizon": [_C(190, 210, 235), _C(205, 220, 235), _C(215, 218, 222), _C(200, 205, 210)],
    "car": [_C(217, 217, 217), _C(26, 26, 28), _C(153, 158, 163), _C(77, 79, 84), _C(166, 31, 26),
            _C(38, 64, 140), _C(25, 35, 70), _C(191, 179, 153), _C(60, 90, 70), _C(120, 20, 30)],
    "truck": [_C(224, 224, 219), _C(217, 122, 26), _C(51, 89, 166), _C(140, 140, 140), _C(180, 30, 30)],
    "bus": [_C(230, 220, 190), _C(200, 40, 35), _C(235, 235, 230), _C(60, 110, 170), _C(230, 190, 40)],
    "train": [_C(204, 38, 38), _C(217, 217, 204), _C(230, 191, 51), _C(40, 90, 160)],
    "glass": [_C(31, 36, 43), _C(45, 55, 65)],
    "tyre": [_C(20, 20, 20)],
    "cloth": [_C(26, 26, 31), _C(51, 56, 77), _C(89, 89, 97), _C(153, 153, 158), _C(128, 26, 26),
              _C(38, 77, 128), _C(191, 179, 153), _C(77, 64, 51), _C(217, 217, 217), _C(102, 128, 77)],
    "skin": [_C(217, 173, 140), _C(153, 115, 89), _C(102, 71, 51), _C(60, 45, 35)],
    "metal": [_C(115, 120, 122), _C(64, 69, 71), _C(89, 102, 97), _C(140, 140, 135)],
    "light_casing": [_C(31, 31, 31), _C(51, 51, 46), _C(204, 178, 51)],
    "lamp_on": [_C(255, 40, 25), _C(255, 180, 25), _C(50, 255, 130)],
    "lamp_off": [_C(40, 32, 28)],
    "sign": [_C(26, 77, 179), _C(204, 26, 26), _C(235, 235, 235), _C(242, 204, 26), _C(30, 120, 60)],
    "bike": [_C(26, 26, 26), _C(179, 26, 26), _C(38, 64, 153), _C(166, 166, 166), _C(38, 115, 64)],
    "spokes": [_C(110, 110, 115)],
    "hood": [_C(25, 25, 30)],
}


_WINDOW_COLOURS = np.array(PALETTES["window"], np.float32)


# ============================================================================ the scene

@dataclass
class Camera:
    """Pinhole camera in normalised image coordinates (see the module docstring)."""
    vx: float       # vanishing point column (fraction of width)
    horizon: float  # horizon row (fraction of height)
    fx: float       # focal length in widths
    fy: float       # focal length in heights (= fx * ASPECT)
    height: float   # metres

    def project(self, points: np.ndarray) -> np.ndarray:
        """[N, 3] street-frame points (X, Y, Z) -> [N, 2] normalised (x, y)."""
        z = np.maximum(points[:, 2], 0.05)
        return np.stack([self.vx + self.fx * points[:, 0] / z,
                         self.horizon + self.fy * (self.height - points[:, 1]) / z], axis=1)


@dataclass
class Scene:
    """A laid-out scene, resolution-free: convex polygons in painter's order plus a table of faces.

    Face 0 is the sky (the background). Polygons with a face id of -1 are cast shadows: they only
    darken the image and never reach the label.
    """
    camera: Camera
    vertices: np.ndarray            # [N, 2] normalised (x, y) vertices of all polygons, far to near
    polygon_offsets: np.ndarray     # [P + 1] polygon k owns vertices[offsets[k]:offsets[k + 1]]
    polygon_face: np.ndarray        # [P] int: face id, or -1 for a shadow
    polygon_shadow: np.ndarray      # [P] float: darkness weight of a shadow polygon
    face_class: np.ndarray          # [F] uint8 train id (255 for the ego hood)
    face_colour: np.ndarray         # [F, 3] material colour before style
    face_jitter: np.ndarray         # [F, 3] standard normal colour jitter shared by one object's faces
    face_material: np.ndarray       # [F] int
    face_facing: np.ndarray         # [F] int
    face_depth: np.ndarray          # [F] metres (for haze)
    face_params: np.ndarray         # [F, 8] material parameters (facade windows, fence bars, ...)
    sun: np.ndarray                 # [3] unit vector towards the sun
    sky_horizon: np.ndarray         # [3] sky colour at the horizon
    lane_lines: np.ndarray          # [L, 2] (X, dashed) road markings along the street
    road_span: tuple                # (X left, X right) of the carriageway
    crosswalk: tuple                # (Z near, Z far) or ()
    rails: tuple                    # X of the tram track centre, or ()


class _Builder:
    """Collects faces and polygons; sorts them into painter's order (layer, then far to near)."""

    def __init__(self, camera: Camera):
        self.camera = camera
        self.items = []  # (layer, -depth, sequence, points [n, 3], face id or -1 for a shadow, shadow weight)
        self.faces = [dict(cls=SKY, colour=(0.5, 0.6, 0.8), jitter=np.zeros(3), material=M_SKY,
                           facing=F_SKY, depth=1e4, params=np.zeros(8))]

    def face(self, points: np.ndarray, cls: int, colour, jitter, material: int, facing: int,
             layer: int, depth: float, params=None) -> None:
        """One convex polygon [n, 3] in the street frame, painted as a face of class `cls`; `depth`
        (metres) orders it within its layer and sets its haze."""
        self.faces.append(dict(cls=cls, colour=colour, jitter=jitter, material=material, facing=facing,
                               depth=depth, params=np.zeros(8) if params is None else params))
        self.items.append((layer, -depth, len(self.items), points, len(self.faces) - 1, 0.0))

    def shadow(self, points: np.ndarray, weight: float, layer: int, depth: float) -> None:
        self.items.append((layer, -depth, len(self.items), points, -1, weight))

    def build(self, **extra) -> Scene:
        items = sorted(self.items, key=lambda it: it[:3])
        counts = [len(it[3]) for it in items]
        flat = self.camera.project(np.concatenate([it[3] for it in items]).astype(np.float64))
        f = self.faces
        return Scene(camera=self.camera, vertices=flat, polygon_offsets=np.concatenate([[0], np.cumsum(counts)]),
                     polygon_face=np.array([it[4] for it in items], np.int32),
                     polygon_shadow=np.array([it[5] for it in items], np.float32),
                     face_class=np.array([d["cls"] for d in f], np.uint8),
                     face_colour=np.array([d["colour"] for d in f], np.float32),
                     face_jitter=np.array([d["jitter"] for d in f], np.float32),
                     face_material=np.array([d["material"] for d in f], np.int64),
                     face_facing=np.array([d["facing"] for d in f], np.int64),
                     face_depth=np.array([d["depth"] for d in f], np.float32),
                     face_params=np.array([d["params"] for d in f], np.float32), **extra)


# Painter's layers: sky (background), far backdrop, ground, street walls (facades, walls, fences,
# hedges), objects (sorted far to near), ego hood.
L_BACKDROP, L_GROUND, L_GROUND_SHADOW, L_STREET_WALL, L_OBJECT, L_HOOD = range(6)


# ---------------------------------------------------------------------------- shape helpers

_UNIT_CIRCLES: dict[int, np.ndarray] = {}


def _ngon(cu: float, cv: float, ru: float, rv: float, n: int = 10) -> np.ndarray:
    """Convex n-gon approximating an ellipse in a plane's (u, v) coordinates: [n, 2]."""
    if n not in _UNIT_CIRCLES:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        _UNIT_CIRCLES[n] = np.stack([np.cos(a), np.sin(a)], axis=1)
    return _UNIT_CIRCLES[n] * (ru, rv) + (cu, cv)


def _bar(u0: float, v0: float, u1: float, v1: float, thickness: float) -> np.ndarray:
    """A straight bar of given thickness from (u0, v0) to (u1, v1): [4, 2]."""
    d = np.array([u1 - u0, v1 - v0])
    n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-9) * thickness / 2
    return np.array([[u0, v0] + n, [u1, v1] + n, [u1, v1] - n, [u0, v0] - n])


def _rect(u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    return np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], dtype=np.float64)


def _in_plane(uv: np.ndarray, origin_x: float, origin_z: float, heading: float = 0.0) -> np.ndarray:
    """(u, v) in a vertical plane through (X, Z) = origin whose u axis has angle `heading` from +X
    towards +Z (0: facing the camera) -> [n, 3] street-frame points."""
    points = np.empty((len(uv), 3))
    points[:, 0] = origin_x + uv[:, 0] * math.cos(heading)
    points[:, 1] = uv[:, 1]
    points[:, 2] = origin_z + uv[:, 0] * math.sin(heading)
    return points


def _ground(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[x0, 0, z0], [x1, 0, z0], [x1, 0, z1], [x0, 0, z1]], dtype=np.float64)


def _side_wall(x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x, y0, z0], [x, y1, z0], [x, y1, z1], [x, y0, z1]], dtype=np.float64)


def _box_faces(x0, x1, y0, y1, z0, z1, camera_height: float):
    """Visible faces of an axis-aligned box seen from (0, h, 0): [(points [4, 3], facing)]."""
    faces = [(np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]], float), F_FRONT)]
    if x0 > 0:
        faces.append((_side_wall(x0, z0, z1, y0, y1), F_LEFT))
    elif x1 < 0:
        faces.append((_side_wall(x1, z0, z1, y0, y1), F_RIGHT))
    if y1 < camera_height:
        faces.append((np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]], float), F_TOP))
    return faces


class _Draw:
    """The layout random stream plus the drawing vocabulary of the grammar."""

    def __init__(self, rng: np.random.Generator, builder: _Builder, geometry: SceneGeometry):
        self.rng = rng
        self.b = builder
        self.cam = builder.camera
        self.s = geometry.object_scale
        self.bottom = 0.97 - geometry.ego_vehicle  # lowest row where a ground contact stays visible
        self._buffer: list = []

    # Scalar draws come from a buffer refilled in blocks: one generator call per 256 numbers
    # instead of one per number (the sequence is still fixed by the seed).
    def _uniform(self) -> float:
        if not self._buffer:
            self._buffer = self.rng.random(256).tolist()[::-1]
        return self._buffer.pop()

    def u(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self._uniform()

    def chance(self, p: float) -> bool:
        return self._uniform() < p

    def index(self, n: int) -> int:
        return min(int(self._uniform() * n), n - 1)

    def categorical(self, probabilities) -> int:
        return int(np.searchsorted(np.cumsum(probabilities), self._uniform() * sum(probabilities), side="right"))

    def pick(self, palette: str):
        options = PALETTES[palette]
        return options[self.index(len(options))]

    def jitter(self) -> np.ndarray:
        return self.rng.standard_normal(3)

    def depth_in_view(self, x: float, near: float, far: float, margin: float = 0.04, feet: bool = False) -> float:
        """A depth for an object at lateral X so that it stays inside the frame (and, with `feet`,
        so that its ground contact is above the bottom edge and the ego hood): log-uniform between
        the nearest such depth (or `near`) and `far`. One draw, whatever the camera."""
        t = self._uniform()
        if x > 0:
            edge = max(1.0 - margin - self.cam.vx, 0.05)
        else:
            edge = max(self.cam.vx - margin, 0.05)
        lo = max(near, self.cam.fx * abs(x) / edge)
        if feet:
            lo = max(lo, self.cam.fy * self.cam.height / max(self.bottom - self.cam.horizon, 0.05))
        hi = max(far, lo * 1.05)
        return float(lo * (hi / lo) ** t)

    # -- objects standing in a vertical plane ------------------------------------------------
    def part(self, uv, x, z, heading, cls, colour, jitter, depth, material=M_PLAIN, facing=F_FRONT):
        self.b.face(_in_plane(uv, x, z, heading), cls, colour, jitter, material, facing, L_OBJECT, depth)

    def contact_shadow(self, x, z, half_width, half_depth, depth, weight=0.7):
        self.b.shadow(_ground(x - half_width, x + half_width, z - half_depth, z + half_depth), weight, L_OBJECT, depth)


# ============================================================================ the scene grammar

def _street(d: _Draw, content: SceneContent):
    """Carriageway, sidewalks, grass strips and the building lines on both sides. Returns the spans."""
    road_left, road_right = -d.u(3.0, 9.5), d.u(1.8, 4.8)
    walk_left, walk_right = d.u(1.8, 4.5), d.u(1.8, 4.5)
    grass_left = d.u(1.0, 3.5) if d.chance(content.p_terrain) else 0.0
    grass_right = d.u(1.0, 3.5) if d.chance(content.p_terrain) else 0.0
    end = d.u(45, 160) if d.chance(content.p_street_end) else 0.0
    far = end if end else 400.0
    road_colour, walk_colour, grass_colour = d.pick("asphalt"), d.pick("paving"), d.pick("grass")
    jit = d.jitter()
    d.b.face(_ground(road_left, road_right, 0.5, far), ROAD, road_colour, jit, M_ROAD, F_GROUND, L_GROUND, 2 * far)
    line_l = road_left - walk_left - grass_left
    line_r = road_right + walk_right + grass_right
    for x0, x1 in ((road_left - walk_left, road_left), (road_right, road_right + walk_right)):
        d.b.face(_ground(x0, x1, 0.5, far), SIDEWALK, walk_colour, jit, M_PAVING, F_GROUND, L_GROUND, 2 * far)
    # kerbs: the sidewalk's 12 cm step faces the road
    d.b.face(_side_wall(road_left, 0.5, far, 0, 0.12), SIDEWALK, walk_colour, jit, M_PAVING, F_RIGHT, L_GROUND, far)
    d.b.face(_side_wall(road_right, 0.5, far, 0, 0.12), SIDEWALK, walk_colour, jit, M_PAVING, F_LEFT, L_GROUND, far)
    if grass_left:
        d.b.face(_ground(line_l, road_left - walk_left, 0.5, far), TERRAIN, grass_colour, d.jitter(), M_GRASS, F_GROUND, L_GROUND, 2 * far)
    if grass_right:
        d.b.face(_ground(road_right + walk_right, line_r, 0.5, far), TERRAIN, grass_colour, d.jitter(), M_GRASS, F_GROUND, L_GROUND, 2 * far)
    return dict(road=(road_left, road_right), walk=(walk_left, walk_right), line=(line_l, line_r),
                grass=(grass_left, grass_right), end=end, far=far)


def _facade_params(d: _Draw, plane_kind: int, plane_value: float, u_offset: float) -> np.ndarray:
    """Window grid of a facade: plane (0: X = value, 1: Z = value), u offset of the grid, spacing
    along u and v (metres), window share along u and v, ground-floor (shop) height or 0."""
    return np.array([plane_kind, plane_value, u_offset, d.u(2.4, 4.0), d.u(2.9, 3.6), d.u(0.35, 0.6),
                     d.u(0.4, 0.62), d.u(3.0, 4.5) if d.chance(0.6) else 0.0], np.float32)


def _backdrop(d: _Draw, street: dict) -> None:
    """What closes the view: a building across the street's end, or a distant skyline / tree line."""
    if street["end"]:
        z = street["end"]
        h = d.u(10, 30)
        x0, x1 = street["line"][0] - 30, street["line"][1] + 30
        pts = np.array([[x0, 0, z], [x1, 0, z], [x1, h, z], [x0, h, z]], float)
        d.b.face(pts, BUILDING, d.pick("facade"), d.jitter(), M_FACADE, F_FRONT, L_BACKDROP, z,
                 params=_facade_params(d, 1, z, x0))
    else:
        z = 380.0
        kind = VEGETATION if d.chance(0.5) else BUILDING
        x = -500.0
        while x < 500:  # a skyline of blocks of varying height
            w, h = d.u(40, 120), d.u(8, 30) if kind == BUILDING else d.u(6, 14)
            pts = np.array([[x, 0, z], [x + w, 0, z], [x + w, h, z], [x, h, z]], float)
            if kind == BUILDING:
                d.b.face(pts, BUILDING, d.pick("facade"), d.jitter(), M_FACADE, F_FRONT, L_BACKDROP, z,
                         params=_facade_params(d, 1, z, x))
            else:
                d.b.face(pts, VEGETATION, d.pick("foliage"), d.jitter(), M_FOLIAGE, F_FRONT, L_BACKDROP, z)
            x += w


def _street_walls(d: _Draw, street: dict, sun: np.ndarray) -> None:
    """Both sides of the street, segment by segment along Z: buildings, parks, walls, fences, side streets."""
    for side, line in ((-1, street["line"][0]), (1, street["line"][1])):
        facing = F_RIGHT if side < 0 else F_LEFT  # the wall's normal points at the street centre
        z = 1.0
        while z < street["far"]:
            length = d.u(9, 28) * (1 + z / 40)
            z1 = min(z + length, street["far"])
            kind = d.categorical((0.62, 0.14, 0.08, 0.08, 0.08))  # building, park, wall, fence, side street
            setback = d.u(0.0, 1.2)
            x = line + side * setback
            height = d.u(7, 26)
            if kind == 4:  # a side street: the carriageway turns off; across it, the next block's end wall
                x_far = line + side * d.u(14, 30)
                d.b.face(_ground(min(line, x_far), max(line, x_far), z + 1, z1 - 1), ROAD, d.pick("asphalt"),
                         d.jitter(), M_ROAD, F_GROUND, L_GROUND, 2 * street["far"])
                end_wall = np.array([[line, 0, z1], [x_far, 0, z1], [x_far, height, z1], [line, height, z1]], float)
                d.b.face(end_wall, BUILDING, d.pick("facade"), d.jitter(), M_FACADE, F_FRONT, L_STREET_WALL,
                         z1 + 100, params=_facade_params(d, 1, z1, line))
                z = z1
                continue
            if kind == 0:
                d.b.face(_side_wall(x, z, z1, 0, height), BUILDING, d.pick("facade"), d.jitter(), M_FACADE,
                         facing, L_STREET_WALL, z1 + 50 * setback, params=_facade_params(d, 0, x, z))
            else:  # a park or yard behind a hedge, wall or fence: trees stand behind it
                back = x + side * d.u(1.0, 5.0)
                if kind == 1 or d.chance(0.5):
                    _tree_wall(d, back, z, z1, d.u(5, 12), facing)
                else:
                    d.b.face(_side_wall(back + side * 4, z, z1, 0, height), BUILDING, d.pick("facade"), d.jitter(),
                             M_FACADE, facing, L_STREET_WALL, z1 + 60, params=_facade_params(d, 0, back + side * 4, z))
                d.b.face(_ground(min(line, back), max(line, back), z, z1), TERRAIN, d.pick("grass"), d.jitter(),
                         M_GRASS, F_GROUND, L_GROUND, street["far"])
                if kind == 2:
                    d.b.face(_side_wall(x, z, z1, 0, d.u(0.8, 2.4)), WALL, d.pick("wall"), d.jitter(), M_WALL,
                             facing, L_STREET_WALL, z1, params=np.array([0, x, z, 0.35, 0.25, 0, 0, 0], np.float32))
                elif kind == 3:
                    d.b.face(_side_wall(x, z, z1, 0, d.u(1.0, 2.2)), FENCE, d.pick("fence"), d.jitter(), M_FENCE,
                             facing, L_STREET_WALL, z1, params=np.array([0, x, z, d.u(0.12, 0.3), 0, 0, 0, 0], np.float32))
            # buildings cast their shadow across the street on the side away from the sun
            if kind == 0 and sun[0] * side < 0:
                reach = height * abs(sun[0]) / max(sun[1], 0.2)
                x_shadow = line - side * reach
                d.b.shadow(_ground(min(line, x_shadow), max(line, x_shadow), z, z1), 1.0, L_GROUND_SHADOW, z1)
            z = z1


def _tree_wall(d: _Draw, x: float, z0: float, z1: float, height: float, facing: int) -> None:
    """A row of tree crowns seen from the street: vertical strips with ragged tops (vegetation)."""
    colour, jit = d.pick("foliage"), d.jitter()
    n = int(min(max((z1 - z0) / 4, 2), 12))
    zs = np.linspace(z0, z1, n + 1)
    tops = height * (0.75 + 0.5 * d.rng.random(n + 1))
    for i in range(n):
        pts = np.array([[x, 0, zs[i]], [x, tops[i], zs[i]], [x, tops[i + 1], zs[i + 1]], [x, 0, zs[i + 1]]])
        d.b.face(pts, VEGETATION, colour, jit, M_FOLIAGE, facing, L_STREET_WALL, z1 + 10)


def _tree(d: _Draw, x: float, z: float) -> None:
    s = d.s * d.u(0.8, 1.25)
    trunk_h, crown = 2.6 * s, d.u(1.4, 2.4) * s
    d.part(_rect(-0.18 * s, 0.18 * s, 0, trunk_h + crown * 0.5), x, z, 0, VEGETATION, d.pick("trunk"), d.jitter(), z)
    colour, jit = d.pick("foliage"), d.jitter()
    for du, dv, r in ((0, 0.9, 1.0), (-0.55, 0.55, 0.75), (0.55, 0.6, 0.75), (0.1, 1.45, 0.7)):
        ru = r * crown * d.u(0.85, 1.15)
        d.part(_ngon(du * crown, trunk_h + dv * crown, ru, ru * 0.95, 9), x, z, 0, VEGETATION, colour, jit, z,
               material=M_FOLIAGE)


def _car(d: _Draw, x: float, z: float, oncoming: bool) -> float:
    """A car as two boxes (body, glass cabin) with wheels and lamps. Returns its length."""
    s = d.s
    w, length, h_body = d.u(1.7, 1.95) * s, d.u(3.9, 4.9) * s, d.u(0.85, 1.05) * s
    h_cab = h_body + d.u(0.45, 0.62) * s
    colour, jit, glass = d.pick("car"), d.jitter(), d.pick("glass")
    x0, x1, z1 = x - w / 2, x + w / 2, z + length
    depth = z + length / 2
    d.contact_shadow(x, depth, w / 2 + 0.15, length / 2 + 0.2, depth, 0.8)
    for pts, facing in _box_faces(x0, x1, 0.25 * s, h_body, z, z1, d.cam.height):
        d.b.face(pts, CAR, colour, jit, M_PLAIN, facing, L_OBJECT, depth)
    inset = 0.12 * s
    cab_z0, cab_z1 = z + length * d.u(0.22, 0.3), z + length * d.u(0.7, 0.78)
    for pts, facing in _box_faces(x0 + inset, x1 - inset, h_body, h_cab, cab_z0, cab_z1, d.cam.height):
        d.b.face(pts, CAR, glass if facing != F_TOP else colour, jit, M_GLASS if facing != F_TOP else M_PLAIN,
                 facing, L_OBJECT, depth)
    # wheels on the visible side, lamps and the dark gap under the bumper on the front face
    tyre = d.pick("tyre")
    side_x = x0 if x0 > 0 else (x1 if x1 < 0 else None)
    if side_x is not None:
        for wz in (z + 0.8 * s, z1 - 0.8 * s):
            wheel = _ngon(wz, 0.33 * s, 0.33 * s, 0.33 * s, 8)
            pts = np.stack([np.full(8, side_x), wheel[:, 1], wheel[:, 0]], axis=1)
            d.b.face(pts, CAR, tyre, jit, M_PLAIN, F_LEFT if x0 > 0 else F_RIGHT, L_OBJECT, depth)
    for u0, u1 in ((0.05, 0.3), (w / s - 0.3, w / s - 0.05)):
        d.b.face(np.array([[x0 + u0 * s, 0.0, z], [x0 + u1 * s, 0.0, z], [x0 + u1 * s, 0.25 * s, z], [x0 + u0 * s, 0.25 * s, z]]),
                 CAR, tyre, jit, M_PLAIN, F_FRONT, L_OBJECT, depth)
        lamp = (0.95, 0.92, 0.8) if oncoming else (0.85, 0.08, 0.06)
        d.b.face(np.array([[x0 + u0 * s, h_body - 0.25 * s, z], [x0 + u1 * s, h_body - 0.25 * s, z],
                           [x0 + u1 * s, h_body - 0.1 * s, z], [x0 + u0 * s, h_body - 0.1 * s, z]]),
                 CAR, lamp, np.zeros(3), M_LAMP, F_EMIT, L_OBJECT, depth)
    return length


def _big_vehicle(d: _Draw, x: float, z: float, cls: int) -> float:
    """Truck (cab + cargo box), bus or tram (stacked boxes with a window band). Returns its length."""
    s = d.s
    jit, glass, tyre = d.jitter(), d.pick("glass"), d.pick("tyre")
    if cls == TRUCK:
        w, length, h = d.u(2.3, 2.55) * s, d.u(6.5, 9.5) * s, d.u(3.0, 3.8) * s
        colour = d.pick("truck")
        bands = [(0.35 * s, 0.95 * s, tyre, M_PLAIN), (0.95 * s, h, colour, M_PLAIN)]
    elif cls == BUS:
        w, length, h = d.u(2.5, 2.6) * s, d.u(11, 13) * s, d.u(3.0, 3.3) * s
        colour = d.pick("bus")
        bands = [(0.3 * s, 1.2 * s, colour, M_PLAIN), (1.2 * s, 2.5 * s, glass, M_GLASS), (2.5 * s, h, colour, M_PLAIN)]
    else:
        w, length, h = d.u(2.4, 2.65) * s, d.u(22, 32) * s, d.u(3.3, 3.6) * s
        colour = d.pick("train")
        bands = [(0.45 * s, 1.3 * s, colour, M_PLAIN), (1.3 * s, 2.6 * s, glass, M_GLASS),
                 (2.6 * s, h, PALETTES["train"][1] if colour != PALETTES["train"][1] else PALETTES["train"][0], M_PLAIN)]
    depth = z + min(length, 12) / 2
    d.contact_shadow(x, z + length / 2, w / 2 + 0.2, length / 2 + 0.2, depth, 0.8)
    x0, x1 = x - w / 2, x + w / 2
    for y0, y1, col, mat in bands:
        for pts, facing in _box_faces(x0, x1, y0, y1, z, z + length, d.cam.height if y1 >= h - 1e-6 else -1):
            d.b.face(pts, cls, col, jit, mat, facing, L_OBJECT, depth)
    d.b.face(np.array([[x0, 0, z], [x1, 0, z], [x1, bands[0][0], z], [x0, bands[0][0], z]]), cls, tyre, jit,
             M_PLAIN, F_FRONT, L_OBJECT, depth)
    return length


def _person(d: _Draw, x: float, z: float) -> None:
    """A pedestrian facing the camera: legs (walking stride), torso, arms and head."""
    h = d.u(1.55, 1.92) * d.s
    cloth_top, cloth_legs, skin = d.pick("cloth"), d.pick("cloth"), d.pick("skin")
    jit = d.jitter()
    stride = d.u(-0.12, 0.12) * h
    d.contact_shadow(x, z, 0.35 * h, 0.25, z, 0.6)
    for sign in (-1, 1):
        d.part(_bar(sign * 0.06 * h, 0.47 * h, sign * 0.06 * h + sign * stride, 0.0, 0.12 * h), x, z, 0, PERSON,
               cloth_legs, jit, z)
    torso = np.array([[-0.11 * h, 0.46 * h], [0.11 * h, 0.46 * h], [0.14 * h, 0.8 * h], [-0.14 * h, 0.8 * h]])
    d.part(torso, x, z, 0, PERSON, cloth_top, jit, z)
    for sign in (-1, 1):
        d.part(_bar(sign * 0.16 * h, 0.78 * h, sign * (0.17 * h + abs(stride) * 0.3), 0.47 * h, 0.065 * h), x, z,
               0, PERSON, cloth_top, jit, z)
    d.part(_ngon(0, 0.885 * h, 0.07 * h, 0.075 * h, 8), x, z, 0, PERSON, skin, jit, z)


def _two_wheeler(d: _Draw, x: float, z: float, heading: float, motorcycle: bool, with_rider: bool) -> None:
    """A bicycle or motorcycle seen from its side, in a vertical plane turned by `heading`, with or
    without a rider on it (a rider is never drawn without one)."""
    s = d.s
    cls = MOTORCYCLE if motorcycle else BICYCLE
    base = d.pick("bike")
    jit = d.jitter()
    tyre, spokes = d.pick("tyre"), d.pick("spokes")
    flip = 1.0 if d.chance(0.5) else -1.0  # which way it points along its plane
    base_u = (0.7 if motorcycle else 0.53) * s
    r = (0.33 if motorcycle else 0.34) * s
    d.contact_shadow(x, z, 0.6 * s, 0.6 * s, z, 0.5)

    def part(uv, c, colour, material=M_PLAIN):
        uv = np.asarray(uv, float) * np.array([flip, 1.0])
        d.part(uv, x, z, heading, c, colour, jit, z, material)

    for wu in (-base_u, base_u):
        part(_ngon(wu, r, r, r, 12), cls, tyre)
        part(_ngon(wu, r, r * (0.45 if motorcycle else 0.8), r * (0.45 if motorcycle else 0.8), 10), cls, spokes)
    if motorcycle:
        part(np.array([[-0.45, 0.35], [0.35, 0.3], [0.5, 0.7], [-0.35, 0.75]]) * s, cls, d.pick("metal"))
        part(np.array([[-0.6, 0.7], [0.45, 0.68], [0.55, 0.95], [-0.5, 0.92]]) * s, cls, base)
        part(_bar(0.45 * s, 0.95 * s, base_u, r, 0.1 * s), cls, d.pick("metal"))
        part(_bar(0.4 * s, 1.05 * s, 0.6 * s, 1.1 * s, 0.08 * s), cls, tyre)
    else:
        t = 0.075 * s
        for (u0, v0), (u1, v1) in (((-0.08, 0.36), (-0.2, 0.92)), ((-0.2, 0.88), (0.36, 0.9)), ((0.0, 0.36), (0.36, 0.86)),
                                   ((-base_u / s, r / s), (0.0, 0.36)), ((-base_u / s, r / s), (-0.2, 0.88)),
                                   ((0.36, 0.9), (base_u / s, r / s)), ((0.34, 0.9), (0.32, 1.05))):
            part(_bar(u0 * s, v0 * s, u1 * s, v1 * s, t), cls, base)
        part(_rect(-0.3 * s, -0.08 * s, 0.92 * s, 0.99 * s), cls, tyre)
        part(_bar(0.24 * s, 1.06 * s, 0.42 * s, 1.05 * s, 0.06 * s), cls, tyre)
    if not with_rider:
        return
    top, legs, skin = d.pick("cloth"), d.pick("cloth"), d.pick("skin")
    head = d.pick("car") if motorcycle else skin  # a helmet on a motorcycle
    seat = (-0.2 * s, (0.95 if motorcycle else 0.98) * s)
    hand = ((0.42 if motorcycle else 0.34) * s, (1.1 if motorcycle else 1.05) * s)
    lean = 0.25 if motorcycle else 0.15
    shoulder = (seat[0] + lean * s, seat[1] + 0.58 * s)
    knee = (seat[0] + 0.38 * s, seat[1] - 0.2 * s)
    foot = (knee[0] - 0.05 * s, (0.45 if motorcycle else 0.3) * s)
    part(_bar(*seat, *knee, 0.16 * s), RIDER, legs)
    part(_bar(*knee, *foot, 0.13 * s), RIDER, legs)
    part(_bar(seat[0], seat[1] - 0.03 * s, shoulder[0], shoulder[1], 0.3 * s), RIDER, top)
    part(_bar(*shoulder, *hand, 0.1 * s), RIDER, top)
    hr = (0.14 if motorcycle else 0.11) * s
    part(_ngon(shoulder[0] + 0.06 * s, shoulder[1] + hr + 0.04 * s, hr, hr * 1.05, 8), RIDER, head)


def _signal_pole(d: _Draw, x: float, z: float, toward_road: float, want_light: bool, want_sign: bool) -> None:
    """A pole carrying a traffic light (on top or on an arm over the road) and/or a traffic sign."""
    s = d.s
    width, height = d.u(0.24, 0.32) * s, d.u(3.4, 5.6) * s
    pole_colour, jit = d.pick("metal"), d.jitter()
    d.part(_rect(-width / 2, width / 2, 0, height), x, z, 0, POLE, pole_colour, jit, z)
    if want_light:
        cu, top = 0.0, height
        if d.chance(0.35):  # an arm reaching over the carriageway, the light hanging from its end
            reach = d.u(1.5, 3.5) * s * toward_road
            d.part(_bar(0, height - 0.15 * s, reach, height - 0.15 * s, 0.16 * s), x, z, 0, POLE, pole_colour, jit, z)
            cu, top = reach, height - 0.2 * s
        lw, lh = d.u(0.5, 0.62) * s, d.u(1.2, 1.5) * s  # larger than life: still a few pixels at 64x128
        casing = d.pick("light_casing")
        d.part(_rect(cu - lw / 2, cu + lw / 2, top - lh, top), x, z, 0, LIGHT, casing, jit, z)
        if d.chance(0.8):  # we see its lamps; otherwise its back
            lit = int(d.index(3))
            for k in range(3):
                colour = PALETTES["lamp_on"][k] if k == lit else PALETTES["lamp_off"][0]
                d.part(_ngon(cu, top - lh * (0.2 + 0.3 * k), lw * 0.32, lw * 0.32, 8), x, z, 0, LIGHT, colour,
                       np.zeros(3), z, M_LAMP if k == lit else M_PLAIN, F_EMIT if k == lit else F_FRONT)
    if want_sign:
        size = d.u(0.8, 1.1) * s
        v = d.u(2.1, 2.9) * s if want_light else height - size * 0.55
        kind = int(d.index(4))
        outer, inner = d.pick("sign"), d.pick("sign")
        if kind == 0:
            shapes = (_ngon(0, v, size / 2, size / 2, 10), _ngon(0, v, size * 0.36, size * 0.36, 10))
        elif kind == 1:
            tri = np.array([[-size / 2, v + size * 0.4], [size / 2, v + size * 0.4], [0, v - size * 0.45]])
            shapes = (tri, (tri - [0, v]) * 0.62 + [0, v + 0.02 * size])
        elif kind == 2:
            shapes = (_rect(-size / 2, size / 2, v - size * 0.4, v + size * 0.4),
                      _rect(-size * 0.4, size * 0.4, v - size * 0.3, v + size * 0.3))
        else:
            shapes = (_ngon(0, v, size * 0.55, size * 0.55, 4), _ngon(0, v, size * 0.38, size * 0.38, 4))
        d.part(shapes[0], x, z, 0, SIGN, outer, jit, z)
        d.part(shapes[1], x, z, 0, SIGN, inner if inner != outer else PALETTES["sign"][2], jit, z)


def _lamp_post(d: _Draw, x: float, z: float, toward_road: float) -> None:
    s = d.s
    height, colour, jit = d.u(6.0, 8.5) * s, d.pick("metal"), d.jitter()
    d.part(_rect(-0.13 * s, 0.13 * s, 0, height), x, z, 0, POLE, colour, jit, z)
    reach = d.u(0.8, 1.8) * s * toward_road
    d.part(_bar(0, height, reach, height + 0.25 * s, 0.14 * s), x, z, 0, POLE, colour, jit, z)
    d.part(_rect(reach - 0.35 * s * toward_road, reach + 0.1 * s * toward_road, height + 0.05 * s, height + 0.32 * s) if toward_road > 0
           else _rect(reach - 0.1 * s, reach + 0.35 * s, height + 0.05 * s, height + 0.32 * s),
           x, z, 0, POLE, colour, jit, z)


def _objects(d: _Draw, street: dict, content: SceneContent) -> dict:
    """Everything standing in the street, placed on the ground plane inside the camera's view."""
    (road_l, road_r), (walk_l, walk_r) = street["road"], street["walk"]
    far = street["end"] - 3 if street["end"] else 120.0
    extras: dict = {}

    def sidewalk_x(side: int, inner: float, outer: float) -> float:
        """X on one sidewalk, `inner`..`outer` as fractions from the kerb to its outer edge."""
        if side < 0:
            return road_l - walk_l * d.u(inner, outer)
        return road_r + walk_r * d.u(inner, outer)

    # trees along the sidewalks (on the grass strip when there is one)
    for side in (-1, 1):
        if d.chance(content.p_trees):
            grass = street["grass"][0 if side < 0 else 1]
            x = (street["line"][0] + grass / 2 if side < 0 else street["line"][1] - grass / 2) if grass else sidewalk_x(side, 0.6, 0.8)
            z = d.u(4, 12)
            spacing = d.u(7, 14)
            for _ in range(6):
                if z < far:
                    _tree(d, x, z)
                z += spacing * d.u(0.8, 1.2)

    # riders on motorcycles and bicycles: on the carriageway near the kerb, or on the sidewalk.
    # They come first so that nothing is then put in front of them: a rider is never seen
    # without the two-wheeler it rides.
    sight_lines: list = []  # (X, Z) of each rider: the camera's line of sight must stay clear
    if d.chance(content.p_riders):
        for _ in range(1 + int(d.chance(0.3))):
            side = -1 if d.chance(0.3) else 1
            x = (road_r - d.u(0.5, 1.4)) if side > 0 else (road_l + d.u(0.5, 1.4))
            if d.chance(0.3):
                x = sidewalk_x(side, 0.2, 0.6)
            z = d.depth_in_view(x, 5.0, 28.0, feet=True)
            ray = math.atan2(z, x)  # the plane must not be seen edge-on
            heading = ray + (1 if d.chance(0.5) else -1) * math.radians(d.u(40, 90))
            _two_wheeler(d, x, z, heading, d.chance(content.p_motorcycle), True)
            sight_lines.append((x, z))

    def blocks_sight(x: float, z0: float, z1: float, half_width: float) -> bool:
        """Would an object at lateral x spanning depths z0..z1 stand in front of a rider?"""
        for rx, rz in sight_lines:
            if z0 >= rz - 1.0:
                continue
            near, far_ = x - rx * z0 / rz, x - rx * min(z1, rz) / rz  # offsets from the line of sight
            if min(abs(near), abs(far_)) < half_width + 1.0 or near * far_ < 0:
                return True
        return False

    # vehicles: moving in lanes (ours and the oncoming ones), parked along the kerbs
    lanes = [road_r - 1.75 - 3.4 * k for k in range(4) if road_r - 1.75 - 3.4 * k > road_l + 1.5]
    occupied: list = []

    def free(x: float, z0: float, z1: float) -> bool:
        return (all(abs(x - ox) > 2.2 or z1 < oz0 - 1 or z0 > oz1 + 1 for ox, oz0, oz1 in occupied)
                and not blocks_sight(x, z0, z1, 1.3))

    def place(length_hint: float, near: float, parked_side: int = 0):
        """Try a few spots: (x, z) in a lane or along a kerb. The number of draws is fixed."""
        spot = None
        for _ in range(4):
            if parked_side:
                x = (road_l + 1.1) if parked_side < 0 else (road_r - 1.1)
            else:
                x = lanes[int(d.index(len(lanes)))] + d.u(-0.3, 0.3) if lanes else d.u(road_l + 1.5, road_r - 1.5)
            z = d.depth_in_view(x, near, far)
            if spot is None and free(x, z, z + length_hint) and z < far:
                spot = (x, z)
        if spot is not None:
            occupied.append((spot[0], spot[1], spot[1] + length_hint))
        return spot

    n_cars = int(min(d.rng.poisson(content.mean_cars), 9))
    for k in range(n_cars):
        parked = d.chance(0.55)
        side = (-1 if d.chance(0.5) else 1) if parked else 0
        spot = place(5.0, 5.0 if parked else 7.0, side)
        oncoming = d.chance(0.5)
        if spot is not None:  # else the car does not fit anywhere: the street is full
            _car(d, spot[0], spot[1], oncoming and spot[0] < -1 and not parked)
    for cls, p in ((TRUCK, content.p_truck), (BUS, content.p_bus)):
        if d.chance(p):
            spot = place(12.0, 9.0, (-1 if d.chance(0.5) else 1) if d.chance(0.3) else 0)
            if spot is not None:
                _big_vehicle(d, spot[0], spot[1], cls)
    if d.chance(content.p_train):
        x = (road_l + road_r) / 2 if road_r - road_l > 9 else road_l + 1.6
        extras["rails"] = (x,)
        z = d.depth_in_view(x, 9.0, max(far, 20))
        if free(x, z, z + 25):
            occupied.append((x, z, z + 25))
            _big_vehicle(d, x, z, TRAIN)

    # pedestrians on the sidewalks, now and then crossing
    if d.chance(content.p_persons):
        n = 1 + int(min(d.rng.poisson(max(content.mean_persons - 1, 0)), 9))
        for _ in range(n):
            side = -1 if d.chance(0.5) else 1
            crossing = d.chance(0.12)
            x = d.u(road_l + 0.5, road_r - 0.5) if crossing else sidewalk_x(side, 0.15, 0.9)
            z = d.depth_in_view(x, 4.0, min(far, 50))
            if not blocks_sight(x, z - 0.3, z + 0.3, 0.4):
                _person(d, x, z)

    if d.chance(content.p_parked_two_wheelers):
        side = -1 if d.chance(0.5) else 1
        x0 = sidewalk_x(side, 0.55, 0.9)
        z0 = d.depth_in_view(x0, 5.0, 22.0, feet=True)
        motorcycle = d.chance(content.p_motorcycle)
        for k in range(1 + int(d.index(3))):
            heading = math.atan2(z0, x0) + (1 if side > 0 else -1) * math.radians(d.u(45, 80))
            _two_wheeler(d, x0, z0 + k * 0.9 * d.s, heading, motorcycle, False)

    # poles: lamp posts, and poles carrying traffic lights / signs (near the kerb, facing traffic)
    if d.chance(content.p_lamp_posts):
        side = -1 if d.chance(0.5) else 1
        x = sidewalk_x(side, 0.1, 0.3)
        z = d.depth_in_view(x, 6.0, 30.0)
        for k in range(1 + int(d.index(3))):
            _lamp_post(d, x, z + k * d.u(15, 25), -side)
    if d.chance(content.p_signal_poles):
        for _ in range(1 + int(d.index(2)) + int(d.chance(0.2))):
            side = -1 if d.chance(0.4) else 1
            x = sidewalk_x(side, 0.08, 0.35)
            z = d.depth_in_view(x, 5.0, 28.0)
            light = d.chance(0.65)
            sign = (not light) or d.chance(0.4)
            _signal_pole(d, x, z, -side, light, sign)
    return extras


def _ego_hood(d: _Draw, height: float) -> None:
    """The bonnet of the recording car along the bottom edge (labelled ignore, like Cityscapes)."""
    if height <= 0:
        return
    # drawn straight in normalised image coordinates: a flat arc across the bottom
    cam = d.cam
    xs = np.array([-0.1, 0.12, 0.32, 0.5, 0.68, 0.88, 1.1])
    ys = 1.0 - height * np.array([0.2, 0.65, 0.92, 1.0, 0.92, 0.65, 0.2])
    pts2d = np.concatenate([np.stack([xs, ys], 1), [[1.1, 1.05], [-0.1, 1.05]]])
    # lift to the street frame at a tiny depth so that the shared projection returns pts2d exactly
    z = 0.5
    points = np.stack([(pts2d[:, 0] - cam.vx) * z / cam.fx, cam.height - (pts2d[:, 1] - cam.horizon) * z / cam.fy,
                       np.full(len(pts2d), z)], axis=1)
    d.b.face(points, IGNORE_INDEX, PALETTES["hood"][0], np.zeros(3), M_HOOD, F_FRONT, L_HOOD, 0.5)


def layout_scene(domain: DomainConfig, rng: np.random.Generator) -> Scene:
    """Draw one scene of the grammar from the layout random stream. Resolution- and style-free."""
    g, c = domain.geometry, domain.content
    horizon = float(np.clip(g.horizon + g.horizon_jitter * rng.standard_normal(), 0.05, 0.9))
    vx = float(np.clip(0.5 + g.yaw_jitter * rng.standard_normal(), 0.2, 0.8))
    camera = Camera(vx=vx, horizon=horizon, fx=g.focal, fy=g.focal * ASPECT,
                    height=g.camera_height * float(np.exp(0.05 * rng.standard_normal())))
    d = _Draw(rng, _Builder(camera), g)
    sky = int(rng.integers(len(PALETTES["sky"])))
    d.b.faces[0]["colour"] = PALETTES["sky"][sky]
    d.b.faces[0]["jitter"] = d.jitter()
    sun_side = 1.0 if d.chance(0.5) else -1.0
    sun = np.array([sun_side * d.u(0.3, 0.9), d.u(0.5, 1.2), -d.u(0.1, 0.8)])
    sun /= np.linalg.norm(sun)
    street = _street(d, c)
    _backdrop(d, street)
    _street_walls(d, street, sun)
    extras = _objects(d, street, c)
    _ego_hood(d, g.ego_vehicle)
    road_l, road_r = street["road"]
    lanes = [(x, 1.0) for x in np.arange(road_r - 3.4, road_l + 1.0, -3.4)] + [(road_l + 0.25, 0.0), (road_r - 0.25, 0.0)]
    crosswalk = ()
    if d.chance(c.p_crosswalk):
        z0 = d.u(7, 16)
        crosswalk = (z0, z0 + d.u(3, 4.5))
    return d.b.build(sun=sun, sky_horizon=np.array(PALETTES["sky_horizon"][sky], np.float32),
                     lane_lines=np.array(lanes, np.float32).reshape(-1, 2), road_span=(road_l, road_r),
                     crosswalk=crosswalk, rails=extras.get("rails", ()))


# ============================================================================ rasterisation

def rasterise(scene: Scene, height: int, width: int, with_shadows: bool = True):
    """Paint the convex polygons far to near: face ids int16 [H, W] and shadow weights float32
    [H, W] (None without shadows). A pixel belongs to a polygon when its centre is inside it.

    The edge functions of all polygons are set up at once; the loop only fills bounding windows.
    """
    face_id = np.zeros((height, width), np.int16)
    shadow = np.zeros((height, width), np.float32) if with_shadows else None
    offsets = scene.polygon_offsets
    px, py = scene.vertices[:, 0] * width, scene.vertices[:, 1] * height
    starts, counts = offsets[:-1], np.diff(offsets)
    following = np.arange(len(px)) + 1
    following[offsets[1:] - 1] = starts  # the last vertex of a polygon closes it onto its first
    ex, ey = px[following] - px, py[following] - py
    area = np.add.reduceat(px * py[following] - px[following] * py, starts)
    orient = np.repeat(np.sign(area), counts)
    # inside <=> a*x + b*y + c >= 0 for every edge (pixel centres at half-integers)
    a, b, c = -ey * orient, ex * orient, (ey * px - ex * py) * orient
    c0 = np.maximum(np.ceil(np.minimum.reduceat(px, starts) - 0.5), 0).astype(np.int64)
    c1 = np.minimum(np.floor(np.maximum.reduceat(px, starts) - 0.5) + 1, width).astype(np.int64)
    r0 = np.maximum(np.ceil(np.minimum.reduceat(py, starts) - 0.5), 0).astype(np.int64)
    r1 = np.minimum(np.floor(np.maximum.reduceat(py, starts) - 0.5) + 1, height).astype(np.int64)
    visible = (c1 > c0) & (r1 > r0) & (np.abs(area) > 1e-9)
    if not with_shadows:
        visible &= scene.polygon_face >= 0
    centres_x = np.arange(width, dtype=np.float64)[None, None, :] + 0.5
    centres_y = np.arange(height, dtype=np.float64)[None, :] + 0.5
    a, b, c = a[:, None, None], b[:, None], c[:, None]
    faces, weights, ends = scene.polygon_face.tolist(), scene.polygon_shadow.tolist(), offsets[1:].tolist()
    starts, r0, r1, c0, c1 = starts.tolist(), r0.tolist(), r1.tolist(), c0.tolist(), c1.tolist()
    for k in np.flatnonzero(visible).tolist():
        s, e = starts[k], ends[k]
        rows, cols = slice(r0[k], r1[k]), slice(c0[k], c1[k])
        edge = a[s:e] * centres_x[:, :, cols] + (b[s:e] * centres_y[:, rows] + c[s:e])[:, :, None]
        mask = edge.min(axis=0) >= 0
        if faces[k] < 0:
            win = shadow[rows, cols]
            win[mask] = np.maximum(win[mask], weights[k])
        else:
            face_id[rows, cols][mask] = faces[k]
            if with_shadows:
                shadow[rows, cols][mask] = 0.0  # what stands in front is not under the shadow
    return face_id, shadow


def render_label(scene: Scene, face_id: np.ndarray) -> np.ndarray:
    """Label uint8 [H, W] in train ids (255 for the ego hood): the class of the face at each pixel."""
    return scene.face_class[face_id]


# ============================================================================ appearance

def _value_noise(rng: np.random.Generator, grid: tuple[int, int], height: int, width: int) -> np.ndarray:
    """Smooth noise in [-1, 1] defined on a resolution-free grid, sampled at [H, W] (bilinear)."""
    values = torch.from_numpy(rng.uniform(-1, 1, size=(1, 1) + grid).astype(np.float32))
    return F.interpolate(values, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()


def _box_coverage(t: np.ndarray, duty: float, footprint: np.ndarray) -> np.ndarray:
    """Antialiased periodic boxes: share of a pixel covered by boxes of width `duty` (period 1)
    centred on half-integers, for a pixel footprint in period units. Fades to `duty` when the
    pattern is finer than a pixel."""
    dist = duty / 2 - np.abs(t - np.floor(t) - 0.5)
    sharp = np.clip(dist / np.maximum(footprint, 1e-6) + 0.5, 0, 1)
    fade = np.clip(2 * footprint - 0.5, 0, 1)
    return sharp * (1 - fade) + duty * fade


def _rays(scene: Scene, height: int, width: int):
    """Per-pixel ray slopes: dx = (x - vx) / fx and dy = (y - horizon) / fy, each [1, W] / [H, 1]."""
    cam = scene.camera
    x = (np.arange(width, dtype=np.float32) + 0.5) / width
    y = (np.arange(height, dtype=np.float32) + 0.5) / height
    return ((x - cam.vx) / cam.fx)[None, :], ((y - cam.horizon) / cam.fy)[:, None]


def _texture(scene: Scene, face_id, colour, material, style: SceneStyle, rng, height: int, width: int):
    """Material patterns in place on `colour` [H*W, 3] (flat pixels): sky gradient and clouds,
    road markings, paving joints, facade windows, fence bars, wall courses, foliage clumps; then
    luminance noise. face_id and material are flat [H*W]. Patterns are drawn in the plane they lie
    in (perspective-correct) and antialiased by the pixel's footprint, so they fade with distance."""
    cam = scene.camera
    dx, dy = _rays(scene, height, width)
    dx, dy = dx[0], dy[:, 0]
    mid = _value_noise(rng, (24, 48), height, width).ravel()
    fine = _value_noise(rng, (96, 192), height, width).ravel()
    coarse = _value_noise(rng, (4, 8), height, width).ravel()

    idx = np.flatnonzero(material == M_SKY)
    if idx.size:
        y = (idx // width + 0.5) / height
        t = (np.clip(1 - (cam.horizon - y) / max(cam.horizon, 0.05), 0, 1) ** 1.5)[:, None].astype(np.float32)
        cloud = (np.clip((coarse[idx] + 0.5 * mid[idx]) * 1.2 - 0.2, 0, 1) * 0.6)[:, None]
        c = colour[idx] * (1 - t) + scene.sky_horizon * t
        colour[idx] = c * (1 - cloud) + 0.92 * cloud

    mat = material
    idx = np.flatnonzero((mat == M_ROAD) | (mat == M_PAVING))
    if idx.size:
        rows, cols = idx // width, idx % width
        z = cam.height / np.maximum(dy[rows], 1e-4)   # the ground point seen by the pixel
        x = dx[cols] * z
        foot = z / (cam.fx * width)                    # metres across one pixel
        road = mat[idx] == M_ROAD
        on_road = road & (x > scene.road_span[0]) & (x < scene.road_span[1])
        paint = np.zeros(idx.size, np.float32)
        for lx, dashed in scene.lane_lines:            # 15 cm lines, dashed 4 m of every 9 m
            near = np.flatnonzero(on_road & (np.abs(x - lx) < 0.5))
            line = _box_coverage((x[near] - lx) / 1.0 + 0.5, 0.15, foot[near])
            if dashed:
                line = line * _box_coverage(z[near] / 9.0, 0.45, foot[near] * z[near] / (cam.height * 9.0))
            paint[near] = np.maximum(paint[near], line)
        if scene.crosswalk:
            near = np.flatnonzero(on_road & (z > scene.crosswalk[0]) & (z < scene.crosswalk[1]))
            paint[near] = np.maximum(paint[near], _box_coverage(x[near], 0.5, foot[near]))
        c = colour[idx]
        if scene.rails:
            for offset in (-0.72, 0.72):
                near = np.flatnonzero(on_road & (np.abs(x - scene.rails[0] - offset) < 0.3))
                c[near] *= (1 - 0.45 * _box_coverage((x[near] - scene.rails[0] - offset) + 0.5, 0.1, foot[near]))[:, None]
        c += (0.9 - c) * paint[:, None]
        joints = np.flatnonzero(~road)                 # paving stones, 50 cm
        grid = (_box_coverage(x[joints] / 0.5, 0.9, foot[joints] / 0.5)
                * _box_coverage(z[joints] / 0.5, 0.9, foot[joints] * z[joints] / (cam.height * 0.5)))
        c[joints] *= (1 - 0.25 * style.texture * (1 - grid))[:, None]
        colour[idx] = c

    idx = np.flatnonzero((mat == M_FACADE) | (mat == M_FENCE) | (mat == M_WALL))
    if idx.size:
        rows, cols = idx // width, idx % width
        fid = face_id[idx]
        p = scene.face_params[fid]
        rdx, rdy = dx[cols], dy[rows]
        side = p[:, 0] == 0
        # depth where the pixel's ray meets the face's plane: X = value (side) or Z = value (front)
        z = np.clip(np.where(side, p[:, 1] / np.where(np.abs(rdx) < 1e-4, 1e-4, rdx), p[:, 1]), 0.3, 1e4)
        u = np.where(side, z, rdx * z) - p[:, 2]
        v = cam.height - rdy * z
        foot_u = np.where(side, z * z / np.maximum(np.abs(p[:, 1]), 0.5), z) / (cam.fx * width)
        foot_v = z / (cam.fy * height)
        m = mat[idx]
        c = colour[idx]
        k = np.flatnonzero(m == M_FACADE)
        if k.size:
            pw = p[k]
            glass = (_box_coverage(u[k] / pw[:, 3], pw[:, 5], foot_u[k] / pw[:, 3])
                     * _box_coverage(v[k] / pw[:, 4], pw[:, 6], foot_v[k] / pw[:, 4]))
            glass *= v[k] > np.maximum(pw[:, 7], 0.8)
            shop = (v[k] < pw[:, 7]) & (v[k] > 0.3) & (_box_coverage(u[k] / 5.0, 0.6, foot_u[k] / 5.0) > 0.5)
            window = _WINDOW_COLOURS[fid[k] % len(_WINDOW_COLOURS)]
            mix = np.maximum(glass * 0.85, shop * 0.7)[:, None]
            c[k] += (window - c[k]) * mix
        k = np.flatnonzero(m == M_FENCE)
        if k.size:
            c[k] *= (0.55 + 0.6 * _box_coverage(u[k] / p[k, 3], 0.35, foot_u[k] / p[k, 3]))[:, None]
        k = np.flatnonzero(m == M_WALL)
        if k.size:
            c[k] *= (1 - 0.2 * style.texture * (1 - _box_coverage(v[k] / 0.25, 0.85, foot_v[k] / 0.25)))[:, None]
        colour[idx] = c

    idx = np.flatnonzero(mat == M_FOLIAGE)
    if idx.size:
        clumps = np.clip(mid[idx] * 1.5 + fine[idx], -1, 1)
        colour[idx] *= (1 + 0.35 * style.texture * clumps)[:, None]
    idx = np.flatnonzero(mat == M_GLASS)
    if idx.size:
        colour[idx] += (0.08 + 0.06 * coarse[idx])[:, None]

    amplitude = _TEXTURE_AMPLITUDE[mat] * style.texture
    colour *= (1 + amplitude * (0.6 * fine + 0.4 * mid))[:, None]


_CHROMA_AXES = np.array([[1, -1, 0], [1, 1, -2]], np.float32) / np.array([[math.sqrt(2)], [math.sqrt(6)]], np.float32)
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _style_transform(image: np.ndarray, style: SceneStyle, rng: np.random.Generator) -> np.ndarray:
    """The global part of the style on [N, 3]: exposure and white balance (per-channel gains), hue
    rotation and saturation (in YIQ: luma stays, the chroma plane turns and scales), contrast
    around mid grey, gamma. The linear steps are folded into one 3x3 matrix."""
    exposure = style.exposure * float(np.exp(style.exposure_jitter * rng.standard_normal()))
    gains = np.asarray(style.white_balance) * (1 + style.white_balance_jitter * rng.standard_normal(3))
    a = math.radians(style.hue_shift)
    mixer = np.eye(3)
    mixer[1:, 1:] = style.saturation * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    matrix = style.contrast * (np.linalg.inv(_RGB_TO_YIQ) @ mixer @ _RGB_TO_YIQ) @ np.diag(exposure * gains)
    image = np.einsum("nc,dc->nd", image, matrix.astype(np.float32))  # faster than matmul for [N, 3] x [3, 3]
    image += 0.5 * (1 - style.contrast)
    np.clip(image, 0, 1, out=image)
    return image if style.gamma == 1.0 else np.power(image, np.float32(style.gamma), out=image)


@functools.lru_cache(maxsize=8)
def _radius_squared(height: int, width: int) -> np.ndarray:
    """2 r^2 with r the distance to the image centre in half-sizes: 0 at the centre, 1 at the corners. [H, W]"""
    yy = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / height - 0.5
    xx = (np.arange(width, dtype=np.float32)[None, :] + 0.5) / width - 0.5
    return (xx ** 2 + yy ** 2) * 2


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of [H, W, 3] with sigma in pixels (edge padding)."""
    radius = max(int(math.ceil(2.5 * sigma)), 1)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).astype(np.float32)
    taps /= taps.sum()
    height, width = image.shape[:2]
    padded = np.pad(image, ((radius, radius), (0, 0), (0, 0)), mode="edge")
    rows = sum(w * padded[k:k + height] for k, w in enumerate(taps))
    padded = np.pad(rows, ((0, 0), (radius, radius), (0, 0)), mode="edge")
    return sum(w * padded[:, k:k + width] for k, w in enumerate(taps))


def render_image(scene: Scene, face_id: np.ndarray, shadow: np.ndarray, style: SceneStyle,
                 rng: np.random.Generator) -> np.ndarray:
    """Image uint8 [H, W, 3] of a rasterised scene in a domain's style. Needs no label.

    face_id int16 [H, W] and shadow float32 [H, W] come from :func:`rasterise`; `rng` is the
    appearance stream (texture noise, per-image lighting, sensor noise).
    """
    height, width = face_id.shape
    face_id = face_id.ravel()
    material = scene.face_material[face_id]
    # per-object colour jitter: mostly brightness, a little hue (jitter[:, 0] and jitter[:, 1:])
    j = scene.face_jitter
    chroma = j[:, 1:2] * _CHROMA_AXES[0] + j[:, 2:3] * _CHROMA_AXES[1]
    face_colour = np.clip(scene.face_colour * np.exp(2.5 * style.instance_jitter * j[:, :1])
                          + 0.5 * style.instance_jitter * chroma, 0.02, 1.0).astype(np.float32)
    colour = face_colour[face_id]  # [H*W, 3]
    _texture(scene, face_id, colour, material, style, rng, height, width)

    # light, per face: faces turned to the sun are brighter; overcast (low sun_strength) flattens
    # them. Atmospheric haze grows with depth; the sky has its own gradient, lamps shine through.
    lambert = np.clip(_FACING_NORMALS @ scene.sun.astype(np.float32), 0, None)
    lambert = lambert / max(lambert.max(), 1e-6)
    facing_shade = (1 - style.sun_strength * 0.6 * (1 - lambert)) * (1 + 0.15 * style.sun_strength)
    facing_shade[[F_SKY, F_EMIT]] = 1.0
    haze = style.haze * (1 - np.exp(-scene.face_depth / style.visibility))
    haze[(scene.face_material == M_SKY) | (scene.face_material == M_LAMP)] = 0.0
    # shade, then cast shadows (darker under a hard sun), then haze towards the haze colour
    light = (facing_shade[scene.face_facing] * (1 - haze)).astype(np.float32)[face_id]
    light *= 1 - style.sun_strength * 0.55 * shadow.ravel()
    colour *= light[:, None]
    colour += (haze.astype(np.float32)[face_id, None] * np.asarray(style.haze_colour, np.float32))

    image = _style_transform(colour, style, rng).reshape(height, width, 3)
    if style.vignette:
        image *= (1 - style.vignette * _radius_squared(height, width))[:, :, None]
    sigma = style.blur * width
    if sigma > 0.25:
        image = _gaussian_blur(image, sigma)
    if style.noise:  # sensor noise: mostly in luma, some in chroma
        noise = rng.standard_normal((height, width, 3), dtype=np.float32)
        noise *= 0.45 * style.noise
        noise += (0.8 / 0.45) * noise.mean(axis=2, keepdims=True)
        image += noise
    image *= 255.0
    image += 0.5
    return np.clip(image, 0, 255, out=image).astype(np.uint8)


# ============================================================================ the generator

_DOMAIN_CODE = {"source": 0, "target": 1}
_LAYOUT_STREAM, _APPEARANCE_STREAM = 0, 1


def _stream(seed: int, domain: str, index: int, stream: int) -> np.random.Generator:
    if domain not in _DOMAIN_CODE:
        raise ValueError(f"domain must be 'source' or 'target', got {domain!r}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    return np.random.default_rng([int(seed), _DOMAIN_CODE[domain], int(index), stream])


def _check_size(height: int, width: int) -> None:
    if not (16 <= height <= 4096 and 16 <= width <= 8192):
        raise ValueError(f"image size {height}x{width} is outside 16x16 .. 4096x8192")


def generate_scene(config: Union[str, BenchmarkConfig], domain: str, seed: int, index: int, height: int,
                   width: int, with_label: bool = True):
    """One scene of a domain at a resolution: (image uint8 [H, W, 3], label uint8 [H, W] or None).

    Deterministic in (seed, domain, index); the layout does not depend on (height, width), so the
    same scene can be drawn at 64x128 or 1024x2048. With ``with_label=False`` the label is never
    rendered (the target training split is unlabelled) and None is returned for it.
    """
    config = get_benchmark(config)
    _check_size(height, width)
    dom = config.domain(domain)
    scene = layout_scene(dom, _stream(seed, domain, index, _LAYOUT_STREAM))
    face_id, shadow = rasterise(scene, height, width, with_shadows=True)
    image = render_image(scene, face_id, shadow, dom.style, _stream(seed, domain, index, _APPEARANCE_STREAM))
    label = render_label(scene, face_id) if with_label else None
    return image, label


def generate_label(config: Union[str, BenchmarkConfig], domain: str, seed: int, index: int, height: int,
                   width: int) -> np.ndarray:
    """The label alone, uint8 [H, W], without drawing the image (fast: layout and rasterisation only)."""
    config = get_benchmark(config)
    _check_size(height, width)
    scene = layout_scene(config.domain(domain), _stream(seed, domain, index, _LAYOUT_STREAM))
    face_id, _ = rasterise(scene, height, width, with_shadows=False)
    return render_label(scene, face_id)


# ============================================================================ the dataset

# Scene index offset of the target validation split: far from every training index, so that
# validation scenes never coincide with training scenes.
VAL_INDEX_OFFSET = 1_000_000_000

# split -> (domain, first scene index, labelled)
SPLITS: dict[str, tuple[str, int, bool]] = {
    "source_train": ("source", 0, True),
    "target_train": ("target", 0, False),     # unlabelled: the adaptation data
    "target_oracle": ("target", 0, True),     # the same scenes with their labels: the oracle's upper bound
    "target_val": ("target", VAL_INDEX_OFFSET, True),
}

Transform = Callable[[torch.Tensor, Optional[torch.Tensor]], tuple]


class StreetScenes(torch.utils.data.Dataset):
    """The embedded benchmark as a dataset.

    Items: ``(image float32 [3, H, W] in [0, 1], label int64 [H, W])``; for the unlabelled
    ``target_train`` split the image alone (its label is never rendered). ``transform(image,
    label)`` (label None when unlabelled) returns ``(image, label)``.

    Splits: ``source_train`` (labelled source), ``target_train`` (unlabelled target),
    ``target_oracle`` (the same target scenes with labels), ``target_val`` (labelled target scenes
    disjoint from the training ones). ``label(i)`` returns the untransformed label without drawing
    the image; ``image(i)`` the transformed image alone. With ``cache_dir``, samples are stored as
    PNGs and read back on later calls.
    """

    classes = tuple(range(NUM_CLASSES))

    def __init__(self, split: str, benchmark: Union[str, BenchmarkConfig] = "gta_like", size: int = 400,
                 height: int = 64, width: int = 128, seed: int = 0, transform: Optional[Transform] = None,
                 cache_dir: Optional[Union[str, Path]] = None):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
        if size < 0:
            raise ValueError(f"size must be non-negative, got {size}")
        _check_size(height, width)
        self.split, self.config = split, get_benchmark(benchmark)
        self.domain, self.first_index, self.labelled = SPLITS[split]
        self.size, self.height, self.width, self.seed = size, height, width, seed
        self.transform = transform
        self.cache_dir = Path(cache_dir) / self._cache_key() if cache_dir is not None else None

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return (f"StreetScenes(split={self.split!r}, benchmark={self.config.name!r}, size={self.size}, "
                f"height={self.height}, width={self.width}, seed={self.seed})")

    def scene_index(self, i: int) -> int:
        if not 0 <= i < self.size:
            raise IndexError(f"index {i} out of range for {self.size} scenes")
        return self.first_index + i

    # -- raw samples -----------------------------------------------------------------------
    def _cache_key(self) -> str:
        digest = hashlib.sha1(repr(self.config).encode()).hexdigest()[:10]
        return f"{self.config.name}-{digest}-seed{self.seed}/{self.domain}/{self.height}x{self.width}"

    def _paths(self, i: int) -> tuple[Path, Path]:
        stem = self.cache_dir / f"{self.scene_index(i):010d}"
        return stem.with_name(stem.name + "_image.png"), stem.with_name(stem.name + "_label.png")

    def sample(self, i: int, with_label: bool = True):
        """Untransformed (image uint8 [H, W, 3], label uint8 [H, W] or None)."""
        if with_label and not self.labelled:
            raise ValueError(f"split {self.split!r} is unlabelled; use 'target_oracle' for its labels")
        index = self.scene_index(i)
        if self.cache_dir is not None:
            image_path, label_path = self._paths(i)
            if image_path.exists() and (not with_label or label_path.exists()):
                image = np.asarray(Image.open(image_path).convert("RGB"))
                return image, np.asarray(Image.open(label_path)) if with_label else None
        image, label = generate_scene(self.config, self.domain, self.seed, index, self.height, self.width, with_label)
        if self.cache_dir is not None:
            image_path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(image_path)
            if label is not None:
                Image.fromarray(label).save(label_path)
        return image, label

    def label(self, i: int) -> torch.Tensor:
        """The label int64 [H, W], untransformed, without drawing the image."""
        if not self.labelled:
            raise ValueError(f"split {self.split!r} is unlabelled; use 'target_oracle' for its labels")
        if self.cache_dir is not None and self._paths(i)[1].exists():
            return torch.from_numpy(np.asarray(Image.open(self._paths(i)[1])).astype(np.int64))
        label = generate_label(self.config, self.domain, self.seed, self.scene_index(i), self.height, self.width)
        return torch.from_numpy(label.astype(np.int64))

    def image(self, i: int) -> torch.Tensor:
        """The image float32 [3, H, W] alone, transformed; never renders a label."""
        image, _ = self.sample(i, with_label=False)
        image = _to_tensor(image)
        if self.transform is not None:
            image = self.transform(image, None)[0]
        return image

    def __getitem__(self, i: int):
        if not self.labelled:
            return self.image(i)
        image, label = self.sample(i, with_label=True)
        image, label = _to_tensor(image), torch.from_numpy(label.astype(np.int64))
        if self.transform is not None:
            image, label = self.transform(image, label)
        return image, label


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, 3] -> float32 [3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
