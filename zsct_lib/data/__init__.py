"""Data: the embedded procedural benchmark, the real GTA5 / SYNTHIA / Cityscapes loaders, joint transforms.

Every dataset returns images as float tensors [3, H, W] in [0, 1] and labels as long tensors
[H, W] in Cityscapes train ids with 255 for ignore. Unlabelled target splits return the image alone.
"""
from .benchmark import BENCHMARKS, SceneStyle, BenchmarkConfig, StreetScenes, generate_scene
from .real import GTA5, Synthia, Cityscapes, Unlabelled
from .transforms import joint_transform, eval_transform
from .stats import class_statistics, format_class_statistics, source_statistics, tail_pixel_counts
from .build import build_datasets, scenes_benchmark
