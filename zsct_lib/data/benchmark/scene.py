"""What a scene is made of: the train ids the grammar names, materials and palettes, the pinhole camera,
the resolution-free :class:`Scene` and its builder, and the shape helpers that draw into it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .domains import SceneGeometry

__all__ = ["Camera", "Scene"]


# Train ids, named once for the grammar below.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY = range(11)
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = range(11, 19)

ASPECT = 2.0  # width / height the scenes are designed for; other sizes stretch the same scene


# ============================================================================ materials and colours

# Material of a face: decides its texture pattern in the image (never the label).
M_SKY, M_PLAIN, M_ROAD, M_PAVING, M_FACADE, M_FOLIAGE, M_GRASS, M_GLASS, M_LAMP, M_FENCE, M_WALL, M_HOOD = range(12)

# Facing of a face: decides how the sun lights it.
F_SKY, F_FRONT, F_LEFT, F_RIGHT, F_TOP, F_GROUND, F_EMIT = range(7)

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


# ============================================================================ the scene

@dataclass
class Camera:
    """Pinhole camera in normalised image coordinates (see the package docstring)."""
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


class Builder:
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


def ngon(cu: float, cv: float, ru: float, rv: float, n: int = 10) -> np.ndarray:
    """Convex n-gon approximating an ellipse in a plane's (u, v) coordinates: [n, 2]."""
    if n not in _UNIT_CIRCLES:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        _UNIT_CIRCLES[n] = np.stack([np.cos(a), np.sin(a)], axis=1)
    return _UNIT_CIRCLES[n] * (ru, rv) + (cu, cv)


def bar(u0: float, v0: float, u1: float, v1: float, thickness: float) -> np.ndarray:
    """A straight bar of given thickness from (u0, v0) to (u1, v1): [4, 2]."""
    d = np.array([u1 - u0, v1 - v0])
    n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-9) * thickness / 2
    return np.array([[u0, v0] + n, [u1, v1] + n, [u1, v1] - n, [u0, v0] - n])


def rect(u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    return np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], dtype=np.float64)


def in_plane(uv: np.ndarray, origin_x: float, origin_z: float, heading: float = 0.0) -> np.ndarray:
    """(u, v) in a vertical plane through (X, Z) = origin whose u axis has angle `heading` from +X
    towards +Z (0: facing the camera) -> [n, 3] street-frame points."""
    points = np.empty((len(uv), 3))
    points[:, 0] = origin_x + uv[:, 0] * math.cos(heading)
    points[:, 1] = uv[:, 1]
    points[:, 2] = origin_z + uv[:, 0] * math.sin(heading)
    return points


def ground(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[x0, 0, z0], [x1, 0, z0], [x1, 0, z1], [x0, 0, z1]], dtype=np.float64)


def side_wall(x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x, y0, z0], [x, y1, z0], [x, y1, z1], [x, y0, z1]], dtype=np.float64)


def box_faces(x0, x1, y0, y1, z0, z1, camera_height: float):
    """Visible faces of an axis-aligned box seen from (0, h, 0): [(points [4, 3], facing)]."""
    faces = [(np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]], float), F_FRONT)]
    if x0 > 0:
        faces.append((side_wall(x0, z0, z1, y0, y1), F_LEFT))
    elif x1 < 0:
        faces.append((side_wall(x1, z0, z1, y0, y1), F_RIGHT))
    if y1 < camera_height:
        faces.append((np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]], float), F_TOP))
    return faces


class Draw:
    """The layout random stream plus the drawing vocabulary of the grammar."""

    def __init__(self, rng: np.random.Generator, builder: Builder, geometry: SceneGeometry):
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
        self.b.face(in_plane(uv, x, z, heading), cls, colour, jitter, material, facing, L_OBJECT, depth)

    def contact_shadow(self, x, z, half_width, half_depth, depth, weight=0.7):
        self.b.shadow(ground(x - half_width, x + half_width, z - half_depth, z + half_depth), weight, L_OBJECT, depth)
