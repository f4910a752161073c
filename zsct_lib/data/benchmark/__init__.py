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

One module per stage, each importing only the ones before it:

* :mod:`.domains` -- the knobs: :class:`SceneStyle`, :class:`SceneGeometry`,
  :class:`SceneContent`, :class:`DomainConfig`, :class:`BenchmarkConfig`, :data:`BENCHMARKS`;
* :mod:`.scene` -- what a scene is made of: materials and palettes, the camera, the resolution-free
  :class:`Scene` and the shape helpers that draw into it;
* :mod:`.layout` -- the scene grammar: :func:`layout_scene`, which draws one street from the layout stream;
* :mod:`.raster` -- :func:`rasterise` (face ids and cast shadows at a resolution) and
  :func:`render_label`;
* :mod:`.render` -- :func:`render_image`: textures, light, haze and the domain's style;
* :mod:`.dataset` -- the seeded random streams, :func:`generate_scene`, :func:`generate_label`,
  the splits and the :class:`StreetScenes` dataset with its PNG cache.
"""
from .domains import (BENCHMARKS, BenchmarkConfig, DomainConfig, SceneContent, SceneGeometry, SceneStyle, get_benchmark,
                      with_style_jitter, without_style_jitter)
from .layout import layout_scene
from .scene import Scene
from .raster import rasterise, render_label
from .render import render_image
from .dataset import SPLITS, VAL_INDEX_OFFSET, StreetScenes, generate_label, generate_scene

__all__ = ["SceneStyle", "SceneGeometry", "SceneContent", "DomainConfig", "BenchmarkConfig", "BENCHMARKS",
           "Scene", "layout_scene", "rasterise", "render_label", "render_image", "generate_scene",
           "generate_label", "StreetScenes",
           "SPLITS", "VAL_INDEX_OFFSET", "get_benchmark", "with_style_jitter", "without_style_jitter"]
