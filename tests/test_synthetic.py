"""The embedded benchmark: determinism, resolutions, class frequencies, domain gap, splits,
transforms, statistics and figures."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from zsct_lib.config import DataConfig
from zsct_lib.data.benchmark import (BENCHMARKS, VAL_INDEX_OFFSET, BenchmarkConfig, SceneStyle, StreetScenes,
                                     generate_label, generate_scene, layout_scene)
from zsct_lib.data.benchmark import dataset as benchmark_dataset
from zsct_lib.data.stats import class_statistics, format_class_statistics, tail_pixel_counts
from zsct_lib.data.transforms import eval_transform, joint_transform
from zsct_lib.labels import IGNORE_INDEX, NUM_CLASSES, TAIL_CLASSES

POLE, LIGHT, SIGN, RIDER, MOTORCYCLE, BICYCLE = 5, 6, 7, 12, 17, 18


@pytest.fixture(scope="module")
def labels_64():
    """Labels of 200 scenes per domain at 64x128 (the fast label path)."""
    out = {}
    for domain in ("source", "target"):
        out[domain] = np.stack([generate_label("gta_like", domain, 0, i, 64, 128) for i in range(200)])
    return out


# ----------------------------------------------------------------------------- the generator

def test_deterministic_per_seed_and_index():
    a_img, a_lab = generate_scene("gta_like", "source", 3, 7, 64, 128)
    b_img, b_lab = generate_scene("gta_like", "source", 3, 7, 64, 128)
    assert a_img.dtype == np.uint8 and a_img.shape == (64, 128, 3)
    assert a_lab.dtype == np.uint8 and a_lab.shape == (64, 128)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)


def test_other_seed_index_or_domain_changes_the_scene():
    _, base = generate_scene("gta_like", "source", 0, 5, 64, 128)
    for seed, index, domain in ((1, 5, "source"), (0, 6, "source"), (0, 5, "target")):
        _, other = generate_scene("gta_like", domain, seed, index, 64, 128)
        assert (other != base).mean() > 0.05, (seed, index, domain)


def test_seed_changes_every_scene_but_not_the_domains():
    changed = [not np.array_equal(generate_label("gta_like", "target", 0, i, 64, 128),
                                  generate_label("gta_like", "target", 1, i, 64, 128)) for i in range(10)]
    assert all(changed)
    assert StreetScenes("target_val", seed=1).config == StreetScenes("target_val", seed=0).config


def test_label_fast_path_matches_full_render():
    for domain in ("source", "target"):
        for i in range(5):
            _, label = generate_scene("synthia_like", domain, 0, i, 64, 128)
            assert np.array_equal(label, generate_label("synthia_like", domain, 0, i, 64, 128))


@pytest.mark.parametrize("height,width", [(64, 128), (256, 512)])
def test_resolutions(height, width):
    image, label = generate_scene("gta_like", "target", 0, 1, height, width)
    assert image.shape == (height, width, 3) and label.shape == (height, width)
    assert set(np.unique(label)) <= set(range(NUM_CLASSES)) | {IGNORE_INDEX}


def test_labels_agree_across_resolutions():
    agreement = []
    for i in range(6):
        small = generate_label("gta_like", "source", 0, i, 64, 128)
        large = generate_label("gta_like", "source", 0, i, 256, 512)
        # the centre of small pixel (r, c) lies between large pixels 4r+1 and 4r+2
        agreement.append((large[2::4, 2::4] == small).mean())
    assert min(agreement) > 0.9 and np.mean(agreement) > 0.95


def test_layout_is_independent_of_style_and_resolution():
    config = BENCHMARKS["gta_like"]
    grey = dataclasses.replace(config, source=dataclasses.replace(config.source, style=SceneStyle(saturation=0.0)))
    img_a, lab_a = generate_scene(config, "source", 0, 2, 64, 128)
    img_b, lab_b = generate_scene(grey, "source", 0, 2, 64, 128)
    assert np.array_equal(lab_a, lab_b) and not np.array_equal(img_a, img_b)
    grey_image = img_b.astype(int)
    assert np.abs(grey_image - grey_image.mean(axis=2, keepdims=True)).max() <= 2  # no saturation: grey


def test_without_label_returns_none():
    image, label = generate_scene("gta_like", "target", 0, 0, 64, 128, with_label=False)
    assert label is None and image.shape == (64, 128, 3)
    with_label, _ = generate_scene("gta_like", "target", 0, 0, 64, 128)
    assert np.array_equal(image, with_label)


def test_bad_arguments():
    with pytest.raises(ValueError, match="domain"):
        generate_scene("gta_like", "real", 0, 0, 64, 128)
    with pytest.raises(ValueError, match="unknown benchmark"):
        generate_scene("gta5", "source", 0, 0, 64, 128)
    with pytest.raises(ValueError, match="split"):
        StreetScenes("train")


# ----------------------------------------------------------------------------- class frequencies

def test_all_classes_appear_in_both_domains(labels_64):
    for domain, labels in labels_64.items():
        present = set(np.unique(labels)) - {IGNORE_INDEX}
        assert present == set(range(NUM_CLASSES)), (domain, set(range(NUM_CLASSES)) - present)


def test_long_tail(labels_64):
    for domain, labels in labels_64.items():
        stats = class_statistics({domain: list(labels)})[domain]
        pixel, image = stats["pixel_share"], stats["image_share"]
        for c in TAIL_CLASSES:
            assert 0 < pixel[c] < 0.015, (domain, c, pixel[c])
            assert 0.05 < image[c] < 0.5, (domain, c, image[c])
        for c in (0, 2, 8, 13):  # road, building, vegetation, car: the head
            assert pixel[c] > 0.05 and image[c] > 0.9, (domain, c)
        assert pixel[10] > 0.02  # sky
        assert pixel[list(TAIL_CLASSES)].sum() < 0.04


def test_riders_always_ride(labels_64):
    for labels in labels_64.values():
        for label in labels:
            if (label == RIDER).any():
                assert (label == MOTORCYCLE).any() or (label == BICYCLE).any()


def test_tail_objects_are_visible_at_64x128(labels_64):
    """Tail objects are large enough to learn: when present, most images hold a dozen pixels or more."""
    for domain, labels in labels_64.items():
        for c in TAIL_CLASSES:
            counts = (labels == c).reshape(len(labels), -1).sum(axis=1)
            counts = counts[counts > 0]
            assert np.median(counts) >= 8, (domain, c, np.median(counts))
    # the nearest pole of an image is at least 2 pixels wide
    widths = [(labels == POLE).sum(axis=1).max() for labels in labels_64["target"] if (labels == POLE).any()]
    assert np.median(widths) >= 2


# ----------------------------------------------------------------------------- the domain gap

def test_domains_differ_in_colour_statistics():
    source = np.stack([generate_scene("gta_like", "source", 0, i, 64, 128)[0] for i in range(24)]) / 255.0
    target = np.stack([generate_scene("gta_like", "target", 0, i, 64, 128)[0] for i in range(24)]) / 255.0
    mean_gap = np.abs(source.mean(axis=(0, 1, 2)) - target.mean(axis=(0, 1, 2)))
    # saturation: spread of the channels around their per-pixel mean
    chroma_s = np.abs(source - source.mean(axis=3, keepdims=True)).mean()
    chroma_t = np.abs(target - target.mean(axis=3, keepdims=True)).mean()
    assert mean_gap.max() > 0.03
    assert chroma_s > 1.5 * chroma_t
    # texture and sensor noise: neighbouring road pixels differ more in the target (the median
    # skips lane markings, which both domains have)
    def roughness(images, labels):
        diff = np.abs(np.diff(images.mean(axis=3), axis=2))
        road = (labels[:, :, 1:] == 0) & (labels[:, :, :-1] == 0)
        return np.median(diff[road])
    lab_s = np.stack([generate_label("gta_like", "source", 0, i, 64, 128) for i in range(24)])
    lab_t = np.stack([generate_label("gta_like", "target", 0, i, 64, 128) for i in range(24)])
    assert roughness(target, lab_t) > 2 * roughness(source, lab_s)


def test_synthia_like_camera_differs_from_gta_like():
    def horizons(benchmark):
        return np.array([layout_scene(BENCHMARKS[benchmark].source,
                                      benchmark_dataset._stream(0, "source", i, 0)).camera.horizon for i in range(50)])
    gta, synthia = horizons("gta_like"), horizons("synthia_like")
    target = np.array([layout_scene(BENCHMARKS["gta_like"].target,
                                    benchmark_dataset._stream(0, "target", i, 0)).camera.horizon for i in range(50)])
    assert abs(gta.mean() - target.mean()) < 0.1
    assert target.mean() - synthia.mean() > 0.15
    # seen in the labels: the sky takes less of the image under the pitched-down camera
    sky = {b: np.mean([(generate_label(b, "source", 0, i, 64, 128) == 10).mean() for i in range(30)])
           for b in ("gta_like", "synthia_like")}
    assert sky["synthia_like"] < 0.6 * sky["gta_like"]


def test_style_and_geometry_are_named_knobs():
    config = BENCHMARKS["synthia_like"]
    assert isinstance(config, BenchmarkConfig)
    assert config.source.style == BENCHMARKS["gta_like"].source.style
    assert config.target == BENCHMARKS["gta_like"].target
    fields = {f.name for f in dataclasses.fields(SceneStyle)}
    assert {"saturation", "contrast", "gamma", "white_balance", "hue_shift", "texture", "noise", "blur"} <= fields


# ----------------------------------------------------------------------------- the dataset

def test_dataset_items():
    ds = StreetScenes("source_train", size=3)
    image, label = ds[0]
    assert image.dtype == torch.float32 and image.shape == (3, 64, 128)
    assert 0 <= float(image.min()) and float(image.max()) <= 1
    assert label.dtype == torch.int64 and label.shape == (64, 128)
    assert torch.equal(ds.label(0), label)
    assert len(ds) == 3
    with pytest.raises(IndexError):
        ds[3]


def test_target_train_is_unlabelled_and_never_renders_a_label(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the unlabelled split rendered a label")

    monkeypatch.setattr(benchmark_dataset, "render_label", refuse)
    seen = []
    ds = StreetScenes("target_train", size=2, transform=lambda im, lab: (seen.append(lab), (im, lab))[1])
    item = ds[1]
    assert isinstance(item, torch.Tensor) and item.shape == (3, 64, 128)
    assert seen == [None]
    with pytest.raises(ValueError, match="unlabelled"):
        ds.label(0)


def test_oracle_is_target_train_with_labels_and_val_is_disjoint():
    train = StreetScenes("target_train", size=4)
    oracle = StreetScenes("target_oracle", size=4)
    val = StreetScenes("target_val", size=4)
    for i in range(4):
        assert torch.equal(train[i], oracle[i][0])
    train_labels = [oracle.label(i) for i in range(4)]
    for i in range(4):
        assert all(not torch.equal(val.label(i), t) for t in train_labels)
    assert val.scene_index(0) >= VAL_INDEX_OFFSET > oracle.scene_index(3)


def test_cache_round_trip(tmp_path):
    ds = StreetScenes("source_train", size=2, cache_dir=tmp_path)
    image, label = ds[1]
    assert len(list(tmp_path.rglob("*.png"))) == 2
    again = StreetScenes("source_train", size=2, cache_dir=tmp_path)
    image2, label2 = again[1]
    assert torch.equal(image, image2) and torch.equal(label, label2)


# ----------------------------------------------------------------------------- transforms

def _pattern(h=32, w=64):
    """A label whose value is the column's half (0 left, 1 right) and an image that encodes it."""
    label = torch.zeros(h, w, dtype=torch.long)
    label[:, w // 2:] = 1
    image = torch.zeros(3, h, w)
    image[0] = label.float()
    return image, label


def test_joint_transform_flip_keeps_alignment():
    cfg = DataConfig(height=32, width=64, crop_height=32, crop_width=64, flip=True)
    t = joint_transform(cfg)
    image, label = _pattern()
    flips = 0
    for seed in range(8):
        torch.manual_seed(seed)
        out_image, out_label = t(image, label)
        assert type(out_image) is torch.Tensor and type(out_label) is torch.Tensor
        assert out_label.dtype == torch.long
        assert torch.equal(out_image[0].round().long(), out_label)
        flips += int(out_label[0, 0] == 1)
    assert 0 < flips < 8


def test_joint_transform_crop_rescale_and_fill():
    cfg = DataConfig(height=32, width=64, crop_height=40, crop_width=48, scale_min=0.5, scale_max=1.5, flip=True)
    t = joint_transform(cfg)
    image, label = _pattern()
    saw_fill = False
    for seed in range(10):
        torch.manual_seed(seed)
        out_image, out_label = t(image, label)
        assert out_image.shape == (3, 40, 48) and out_label.shape == (40, 48)
        assert set(out_label.unique().tolist()) <= {0, 1, IGNORE_INDEX}
        valid = out_label != IGNORE_INDEX
        assert torch.equal(out_image[0][valid].round().long(), out_label[valid])  # nearest mask, aligned
        saw_fill |= bool((~valid).any())
        assert float(out_image[:, ~valid].abs().sum()) == 0.0  # image padded with 0
    assert saw_fill
    # the same torch seed gives the same crop (the trainer reseeds per sample)
    torch.manual_seed(3)
    a = t(image, label)
    torch.manual_seed(3)
    b = t(image, label)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_joint_transform_without_label():
    cfg = DataConfig(height=32, width=64, crop_height=16, crop_width=32)
    image, label = joint_transform(cfg)(torch.rand(3, 64, 128), None)
    assert label is None and image.shape == (3, 16, 32) and type(image) is torch.Tensor


def test_eval_transform_resizes_the_image_only():
    cfg = DataConfig(height=32, width=64)
    image, label = _pattern(64, 128)
    out_image, out_label = eval_transform(cfg)(image, label)
    assert out_image.shape == (3, 32, 64) and out_label is label
    assert eval_transform(cfg)(image, None)[1] is None


def test_dataset_with_transform():
    cfg = DataConfig(height=64, width=128, crop_height=32, crop_width=64)
    ds = StreetScenes("source_train", size=2, transform=joint_transform(cfg))
    torch.manual_seed(0)
    image, label = ds[0]
    assert image.shape == (3, 32, 64) and label.shape == (32, 64)
    unlabelled = StreetScenes("target_train", size=2, transform=joint_transform(cfg))
    assert unlabelled[0].shape == (3, 32, 64)


# ----------------------------------------------------------------------------- statistics

def test_class_statistics_on_hand_built_labels():
    a = torch.tensor([[0, 0], [1, 255]])
    b = torch.tensor([[0, 5], [5, 5]])
    stats = class_statistics({"toy": [a, b.numpy()]}, num_classes=19)["toy"]
    assert stats["num_images"] == 2 and stats["num_pixels"] == 7
    assert np.isclose(stats["pixel_share"][0], 3 / 7) and np.isclose(stats["pixel_share"][5], 3 / 7)
    assert np.isclose(stats["pixel_share"][1], 1 / 7)
    assert np.isclose(stats["image_share"][0], 1.0) and np.isclose(stats["image_share"][5], 0.5)
    assert stats["image_share"][2] == 0
    stacked = class_statistics(torch.stack([a, b]))["labels"]  # a tensor [N, H, W] of labels
    assert np.allclose(stacked["pixel_share"], stats["pixel_share"])
    table = format_class_statistics(class_statistics({"toy": [a, b]}))
    assert "pole*" in table and "road " in table and "toy" in table and "19-class" in table


def test_class_statistics_uses_the_label_fast_path(monkeypatch):
    ds = StreetScenes("source_train", size=3)
    monkeypatch.setattr(benchmark_dataset, "render_image",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("image drawn")))
    stats = class_statistics(ds)["labels"]
    assert stats["num_images"] == 3 and np.isclose(stats["pixel_share"].sum(), 1.0)


def test_tail_pixel_counts():
    labels = [torch.tensor([[5, 5], [0, 12]]), torch.tensor([[5, 6], [12, 17]]), torch.tensor([[0, 0], [0, 0]])]

    class Pairs:  # a dataset without a label(i) fast path
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            return torch.zeros(3, 2, 2), labels[i]

    assert tail_pixel_counts(Pairs()).tolist() == [3, 4, 0]
    # a label_fn applying co-occurrence rules: pole only with light/sign, rider only with a two-wheeler
    def cooccurrence(label):
        out = label.clone()
        if not ((label == LIGHT) | (label == SIGN)).any():
            out[label == POLE] = IGNORE_INDEX
        if not ((label == MOTORCYCLE) | (label == BICYCLE)).any():
            out[label == RIDER] = IGNORE_INDEX
        out[~torch.isin(out, torch.tensor(TAIL_CLASSES))] = IGNORE_INDEX
        return out

    assert tail_pixel_counts(Pairs(), label_fn=cooccurrence).tolist() == [0, 4, 0]
    ds = StreetScenes("source_train", size=4)
    counts = tail_pixel_counts(ds)
    assert counts.shape == (4,) and counts.dtype == np.int64
    assert counts[0] == int(torch.isin(ds.label(0), torch.tensor(TAIL_CLASSES)).sum())


# ----------------------------------------------------------------------------- figures

def test_overlay_and_gallery():
    from zsct_lib.classroom.plotting import gallery, overlay, show_gallery

    ds = StreetScenes("source_train", size=2)
    image, label = ds[0]
    blended = overlay(image, label, alpha=0.5)
    assert blended.shape == (64, 128, 3) and 0 <= blended.min() and blended.max() <= 1
    ignored = torch.full_like(label, IGNORE_INDEX)
    assert np.allclose(overlay(image, ignored), image.permute(1, 2, 0).numpy())
    fig = show_gallery(ds, StreetScenes("target_train", size=2), n=2, overlay=False)
    assert len(fig.axes) == 8
    fig = gallery("synthia_like", n=2, height=32, width=64)
    assert len(fig.axes) == 4
