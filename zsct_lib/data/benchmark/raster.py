"""Rasterisation of a laid-out scene at a resolution: face ids and cast-shadow weights, painted
far to near, and the label as a lookup of each pixel's face class."""
from __future__ import annotations

import numpy as np

from .scene import Scene

__all__ = ["rasterise", "render_label"]


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
