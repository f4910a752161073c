"""The image of a rasterised scene in a domain's style: material textures (perspective-correct,
antialiased), light and cast shadows, haze, then the global style transform, vignette, blur and
sensor noise."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from .domains import SceneStyle
from .scene import (F_EMIT, F_SKY, M_FACADE, M_FENCE, M_FOLIAGE, M_GLASS, M_LAMP, M_PAVING, M_ROAD, M_SKY,
                     M_WALL, PALETTES, Scene)

__all__ = ["render_image"]


# Luminance texture amplitude of each material at SceneStyle.texture = 1.
_TEXTURE_AMPLITUDE = np.array([0.03, 0.05, 0.12, 0.10, 0.10, 0.40, 0.30, 0.08, 0.0, 0.12, 0.10, 0.03], np.float32)
# Normal of each facing (F_SKY .. F_EMIT): how the sun lights a face.
_FACING_NORMALS = np.array([[0, 0, 0], [0, 0, -1], [-1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0]], np.float32)
# Window glass of the facades.
_WINDOW_COLOURS = np.array(PALETTES["window"], np.float32)


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
