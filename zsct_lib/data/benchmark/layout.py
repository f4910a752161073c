"""The scene grammar: :func:`layout_scene` draws one street from the layout random stream (street,
walls, vehicles, people, two-wheelers, poles, signs, lights), with the pieces of :mod:`.scene`."""
from __future__ import annotations

import math

import numpy as np

from ...labels import IGNORE_INDEX
from .domains import DomainConfig, SceneContent
from .scene import (ASPECT, BICYCLE, BUILDING, BUS, Builder, CAR, Camera, Draw, FENCE, F_EMIT, F_FRONT,
                     F_GROUND, F_LEFT, F_RIGHT, F_TOP, LIGHT, L_BACKDROP, L_GROUND, L_GROUND_SHADOW, L_HOOD,
                     L_OBJECT, L_STREET_WALL, MOTORCYCLE, M_FACADE, M_FENCE, M_FOLIAGE, M_GLASS, M_GRASS,
                     M_HOOD, M_LAMP, M_PAVING, M_PLAIN, M_ROAD, M_WALL, PALETTES, PERSON, POLE, RIDER, ROAD,
                     SIDEWALK, SIGN, Scene, TERRAIN, TRAIN, TRUCK, VEGETATION, WALL, bar, box_faces, ground,
                     ngon, rect, side_wall)

__all__ = ["layout_scene"]


# ============================================================================ the scene grammar

def _street(d: Draw, content: SceneContent):
    """Carriageway, sidewalks, grass strips and the building lines on both sides. Returns the spans."""
    road_left, road_right = -d.u(3.0, 9.5), d.u(1.8, 4.8)
    walk_left, walk_right = d.u(1.8, 4.5), d.u(1.8, 4.5)
    grass_left = d.u(1.0, 3.5) if d.chance(content.p_terrain) else 0.0
    grass_right = d.u(1.0, 3.5) if d.chance(content.p_terrain) else 0.0
    end = d.u(45, 160) if d.chance(content.p_street_end) else 0.0
    far = end if end else 400.0
    road_colour, walk_colour, grass_colour = d.pick("asphalt"), d.pick("paving"), d.pick("grass")
    jit = d.jitter()
    d.b.face(ground(road_left, road_right, 0.5, far), ROAD, road_colour, jit, M_ROAD, F_GROUND, L_GROUND, 2 * far)
    line_l = road_left - walk_left - grass_left
    line_r = road_right + walk_right + grass_right
    for x0, x1 in ((road_left - walk_left, road_left), (road_right, road_right + walk_right)):
        d.b.face(ground(x0, x1, 0.5, far), SIDEWALK, walk_colour, jit, M_PAVING, F_GROUND, L_GROUND, 2 * far)
    # kerbs: the sidewalk's 12 cm step faces the road
    d.b.face(side_wall(road_left, 0.5, far, 0, 0.12), SIDEWALK, walk_colour, jit, M_PAVING, F_RIGHT, L_GROUND, far)
    d.b.face(side_wall(road_right, 0.5, far, 0, 0.12), SIDEWALK, walk_colour, jit, M_PAVING, F_LEFT, L_GROUND, far)
    if grass_left:
        d.b.face(ground(line_l, road_left - walk_left, 0.5, far), TERRAIN, grass_colour, d.jitter(), M_GRASS, F_GROUND, L_GROUND, 2 * far)
    if grass_right:
        d.b.face(ground(road_right + walk_right, line_r, 0.5, far), TERRAIN, grass_colour, d.jitter(), M_GRASS, F_GROUND, L_GROUND, 2 * far)
    return dict(road=(road_left, road_right), walk=(walk_left, walk_right), line=(line_l, line_r),
                grass=(grass_left, grass_right), end=end, far=far)


def _facade_params(d: Draw, plane_kind: int, plane_value: float, u_offset: float) -> np.ndarray:
    """Window grid of a facade: plane (0: X = value, 1: Z = value), u offset of the grid, spacing
    along u and v (metres), window share along u and v, ground-floor (shop) height or 0."""
    return np.array([plane_kind, plane_value, u_offset, d.u(2.4, 4.0), d.u(2.9, 3.6), d.u(0.35, 0.6),
                     d.u(0.4, 0.62), d.u(3.0, 4.5) if d.chance(0.6) else 0.0], np.float32)


def _backdrop(d: Draw, street: dict) -> None:
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


def _street_walls(d: Draw, street: dict, sun: np.ndarray) -> None:
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
                d.b.face(ground(min(line, x_far), max(line, x_far), z + 1, z1 - 1), ROAD, d.pick("asphalt"),
                         d.jitter(), M_ROAD, F_GROUND, L_GROUND, 2 * street["far"])
                end_wall = np.array([[line, 0, z1], [x_far, 0, z1], [x_far, height, z1], [line, height, z1]], float)
                d.b.face(end_wall, BUILDING, d.pick("facade"), d.jitter(), M_FACADE, F_FRONT, L_STREET_WALL,
                         z1 + 100, params=_facade_params(d, 1, z1, line))
                z = z1
                continue
            if kind == 0:
                d.b.face(side_wall(x, z, z1, 0, height), BUILDING, d.pick("facade"), d.jitter(), M_FACADE,
                         facing, L_STREET_WALL, z1 + 50 * setback, params=_facade_params(d, 0, x, z))
            else:  # a park or yard behind a hedge, wall or fence: trees stand behind it
                back = x + side * d.u(1.0, 5.0)
                if kind == 1 or d.chance(0.5):
                    _tree_wall(d, back, z, z1, d.u(5, 12), facing)
                else:
                    d.b.face(side_wall(back + side * 4, z, z1, 0, height), BUILDING, d.pick("facade"), d.jitter(),
                             M_FACADE, facing, L_STREET_WALL, z1 + 60, params=_facade_params(d, 0, back + side * 4, z))
                d.b.face(ground(min(line, back), max(line, back), z, z1), TERRAIN, d.pick("grass"), d.jitter(),
                         M_GRASS, F_GROUND, L_GROUND, street["far"])
                if kind == 2:
                    d.b.face(side_wall(x, z, z1, 0, d.u(0.8, 2.4)), WALL, d.pick("wall"), d.jitter(), M_WALL,
                             facing, L_STREET_WALL, z1, params=np.array([0, x, z, 0.35, 0.25, 0, 0, 0], np.float32))
                elif kind == 3:
                    d.b.face(side_wall(x, z, z1, 0, d.u(1.0, 2.2)), FENCE, d.pick("fence"), d.jitter(), M_FENCE,
                             facing, L_STREET_WALL, z1, params=np.array([0, x, z, d.u(0.12, 0.3), 0, 0, 0, 0], np.float32))
            # buildings cast their shadow across the street on the side away from the sun
            if kind == 0 and sun[0] * side < 0:
                reach = height * abs(sun[0]) / max(sun[1], 0.2)
                x_shadow = line - side * reach
                d.b.shadow(ground(min(line, x_shadow), max(line, x_shadow), z, z1), 1.0, L_GROUND_SHADOW, z1)
            z = z1


def _tree_wall(d: Draw, x: float, z0: float, z1: float, height: float, facing: int) -> None:
    """A row of tree crowns seen from the street: vertical strips with ragged tops (vegetation)."""
    colour, jit = d.pick("foliage"), d.jitter()
    n = int(min(max((z1 - z0) / 4, 2), 12))
    zs = np.linspace(z0, z1, n + 1)
    tops = height * (0.75 + 0.5 * d.rng.random(n + 1))
    for i in range(n):
        pts = np.array([[x, 0, zs[i]], [x, tops[i], zs[i]], [x, tops[i + 1], zs[i + 1]], [x, 0, zs[i + 1]]])
        d.b.face(pts, VEGETATION, colour, jit, M_FOLIAGE, facing, L_STREET_WALL, z1 + 10)


def _tree(d: Draw, x: float, z: float) -> None:
    s = d.s * d.u(0.8, 1.25)
    trunk_h, crown = 2.6 * s, d.u(1.4, 2.4) * s
    d.part(rect(-0.18 * s, 0.18 * s, 0, trunk_h + crown * 0.5), x, z, 0, VEGETATION, d.pick("trunk"), d.jitter(), z)
    colour, jit = d.pick("foliage"), d.jitter()
    for du, dv, r in ((0, 0.9, 1.0), (-0.55, 0.55, 0.75), (0.55, 0.6, 0.75), (0.1, 1.45, 0.7)):
        ru = r * crown * d.u(0.85, 1.15)
        d.part(ngon(du * crown, trunk_h + dv * crown, ru, ru * 0.95, 9), x, z, 0, VEGETATION, colour, jit, z,
               material=M_FOLIAGE)


def _car(d: Draw, x: float, z: float, oncoming: bool) -> float:
    """A car as two boxes (body, glass cabin) with wheels and lamps. Returns its length."""
    s = d.s
    w, length, h_body = d.u(1.7, 1.95) * s, d.u(3.9, 4.9) * s, d.u(0.85, 1.05) * s
    h_cab = h_body + d.u(0.45, 0.62) * s
    colour, jit, glass = d.pick("car"), d.jitter(), d.pick("glass")
    x0, x1, z1 = x - w / 2, x + w / 2, z + length
    depth = z + length / 2
    d.contact_shadow(x, depth, w / 2 + 0.15, length / 2 + 0.2, depth, 0.8)
    for pts, facing in box_faces(x0, x1, 0.25 * s, h_body, z, z1, d.cam.height):
        d.b.face(pts, CAR, colour, jit, M_PLAIN, facing, L_OBJECT, depth)
    inset = 0.12 * s
    cab_z0, cab_z1 = z + length * d.u(0.22, 0.3), z + length * d.u(0.7, 0.78)
    for pts, facing in box_faces(x0 + inset, x1 - inset, h_body, h_cab, cab_z0, cab_z1, d.cam.height):
        d.b.face(pts, CAR, glass if facing != F_TOP else colour, jit, M_GLASS if facing != F_TOP else M_PLAIN,
                 facing, L_OBJECT, depth)
    # wheels on the visible side, lamps and the dark gap under the bumper on the front face
    tyre = d.pick("tyre")
    side_x = x0 if x0 > 0 else (x1 if x1 < 0 else None)
    if side_x is not None:
        for wz in (z + 0.8 * s, z1 - 0.8 * s):
            wheel = ngon(wz, 0.33 * s, 0.33 * s, 0.33 * s, 8)
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


def _big_vehicle(d: Draw, x: float, z: float, cls: int) -> float:
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
        for pts, facing in box_faces(x0, x1, y0, y1, z, z + length, d.cam.height if y1 >= h - 1e-6 else -1):
            d.b.face(pts, cls, col, jit, mat, facing, L_OBJECT, depth)
    d.b.face(np.array([[x0, 0, z], [x1, 0, z], [x1, bands[0][0], z], [x0, bands[0][0], z]]), cls, tyre, jit,
             M_PLAIN, F_FRONT, L_OBJECT, depth)
    return length


def _person(d: Draw, x: float, z: float) -> None:
    """A pedestrian facing the camera: legs (walking stride), torso, arms and head."""
    h = d.u(1.55, 1.92) * d.s
    cloth_top, cloth_legs, skin = d.pick("cloth"), d.pick("cloth"), d.pick("skin")
    jit = d.jitter()
    stride = d.u(-0.12, 0.12) * h
    d.contact_shadow(x, z, 0.35 * h, 0.25, z, 0.6)
    for sign in (-1, 1):
        d.part(bar(sign * 0.06 * h, 0.47 * h, sign * 0.06 * h + sign * stride, 0.0, 0.12 * h), x, z, 0, PERSON,
               cloth_legs, jit, z)
    torso = np.array([[-0.11 * h, 0.46 * h], [0.11 * h, 0.46 * h], [0.14 * h, 0.8 * h], [-0.14 * h, 0.8 * h]])
    d.part(torso, x, z, 0, PERSON, cloth_top, jit, z)
    for sign in (-1, 1):
        d.part(bar(sign * 0.16 * h, 0.78 * h, sign * (0.17 * h + abs(stride) * 0.3), 0.47 * h, 0.065 * h), x, z,
               0, PERSON, cloth_top, jit, z)
    d.part(ngon(0, 0.885 * h, 0.07 * h, 0.075 * h, 8), x, z, 0, PERSON, skin, jit, z)


def _two_wheeler(d: Draw, x: float, z: float, heading: float, motorcycle: bool, with_rider: bool) -> None:
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
        part(ngon(wu, r, r, r, 12), cls, tyre)
        part(ngon(wu, r, r * (0.45 if motorcycle else 0.8), r * (0.45 if motorcycle else 0.8), 10), cls, spokes)
    if motorcycle:
        part(np.array([[-0.45, 0.35], [0.35, 0.3], [0.5, 0.7], [-0.35, 0.75]]) * s, cls, d.pick("metal"))
        part(np.array([[-0.6, 0.7], [0.45, 0.68], [0.55, 0.95], [-0.5, 0.92]]) * s, cls, base)
        part(bar(0.45 * s, 0.95 * s, base_u, r, 0.1 * s), cls, d.pick("metal"))
        part(bar(0.4 * s, 1.05 * s, 0.6 * s, 1.1 * s, 0.08 * s), cls, tyre)
    else:
        t = 0.075 * s
        for (u0, v0), (u1, v1) in (((-0.08, 0.36), (-0.2, 0.92)), ((-0.2, 0.88), (0.36, 0.9)), ((0.0, 0.36), (0.36, 0.86)),
                                   ((-base_u / s, r / s), (0.0, 0.36)), ((-base_u / s, r / s), (-0.2, 0.88)),
                                   ((0.36, 0.9), (base_u / s, r / s)), ((0.34, 0.9), (0.32, 1.05))):
            part(bar(u0 * s, v0 * s, u1 * s, v1 * s, t), cls, base)
        part(rect(-0.3 * s, -0.08 * s, 0.92 * s, 0.99 * s), cls, tyre)
        part(bar(0.24 * s, 1.06 * s, 0.42 * s, 1.05 * s, 0.06 * s), cls, tyre)
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
    part(bar(*seat, *knee, 0.16 * s), RIDER, legs)
    part(bar(*knee, *foot, 0.13 * s), RIDER, legs)
    part(bar(seat[0], seat[1] - 0.03 * s, shoulder[0], shoulder[1], 0.3 * s), RIDER, top)
    part(bar(*shoulder, *hand, 0.1 * s), RIDER, top)
    hr = (0.14 if motorcycle else 0.11) * s
    part(ngon(shoulder[0] + 0.06 * s, shoulder[1] + hr + 0.04 * s, hr, hr * 1.05, 8), RIDER, head)


def _signal_pole(d: Draw, x: float, z: float, toward_road: float, want_light: bool, want_sign: bool) -> None:
    """A pole carrying a traffic light (on top or on an arm over the road) and/or a traffic sign."""
    s = d.s
    width, height = d.u(0.24, 0.32) * s, d.u(3.4, 5.6) * s
    pole_colour, jit = d.pick("metal"), d.jitter()
    d.part(rect(-width / 2, width / 2, 0, height), x, z, 0, POLE, pole_colour, jit, z)
    if want_light:
        cu, top = 0.0, height
        if d.chance(0.35):  # an arm reaching over the carriageway, the light hanging from its end
            reach = d.u(1.5, 3.5) * s * toward_road
            d.part(bar(0, height - 0.15 * s, reach, height - 0.15 * s, 0.16 * s), x, z, 0, POLE, pole_colour, jit, z)
            cu, top = reach, height - 0.2 * s
        lw, lh = d.u(0.5, 0.62) * s, d.u(1.2, 1.5) * s  # larger than life: still a few pixels at 64x128
        casing = d.pick("light_casing")
        d.part(rect(cu - lw / 2, cu + lw / 2, top - lh, top), x, z, 0, LIGHT, casing, jit, z)
        if d.chance(0.8):  # we see its lamps; otherwise its back
            lit = int(d.index(3))
            for k in range(3):
                colour = PALETTES["lamp_on"][k] if k == lit else PALETTES["lamp_off"][0]
                d.part(ngon(cu, top - lh * (0.2 + 0.3 * k), lw * 0.32, lw * 0.32, 8), x, z, 0, LIGHT, colour,
                       np.zeros(3), z, M_LAMP if k == lit else M_PLAIN, F_EMIT if k == lit else F_FRONT)
    if want_sign:
        size = d.u(0.8, 1.1) * s
        v = d.u(2.1, 2.9) * s if want_light else height - size * 0.55
        kind = int(d.index(4))
        outer, inner = d.pick("sign"), d.pick("sign")
        if kind == 0:
            shapes = (ngon(0, v, size / 2, size / 2, 10), ngon(0, v, size * 0.36, size * 0.36, 10))
        elif kind == 1:
            tri = np.array([[-size / 2, v + size * 0.4], [size / 2, v + size * 0.4], [0, v - size * 0.45]])
            shapes = (tri, (tri - [0, v]) * 0.62 + [0, v + 0.02 * size])
        elif kind == 2:
            shapes = (rect(-size / 2, size / 2, v - size * 0.4, v + size * 0.4),
                      rect(-size * 0.4, size * 0.4, v - size * 0.3, v + size * 0.3))
        else:
            shapes = (ngon(0, v, size * 0.55, size * 0.55, 4), ngon(0, v, size * 0.38, size * 0.38, 4))
        d.part(shapes[0], x, z, 0, SIGN, outer, jit, z)
        d.part(shapes[1], x, z, 0, SIGN, inner if inner != outer else PALETTES["sign"][2], jit, z)


def _lamp_post(d: Draw, x: float, z: float, toward_road: float) -> None:
    s = d.s
    height, colour, jit = d.u(6.0, 8.5) * s, d.pick("metal"), d.jitter()
    d.part(rect(-0.13 * s, 0.13 * s, 0, height), x, z, 0, POLE, colour, jit, z)
    reach = d.u(0.8, 1.8) * s * toward_road
    d.part(bar(0, height, reach, height + 0.25 * s, 0.14 * s), x, z, 0, POLE, colour, jit, z)
    d.part(rect(reach - 0.35 * s * toward_road, reach + 0.1 * s * toward_road, height + 0.05 * s, height + 0.32 * s) if toward_road > 0
           else rect(reach - 0.1 * s, reach + 0.35 * s, height + 0.05 * s, height + 0.32 * s),
           x, z, 0, POLE, colour, jit, z)


def _objects(d: Draw, street: dict, content: SceneContent) -> dict:
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


def _ego_hood(d: Draw, height: float) -> None:
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
    d = Draw(rng, Builder(camera), g)
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
