"""Rare-class sampling as DAFormer does it: images with more than `min_pixels` of the drawn class (3000
on a 1914x1052 GTA5 label, scaled with the image area), and the crop redrawn up to 10 times until it
keeps more than half that (at the scale crops are cut at)."""
import numpy as np
import pytest
import torch

from zsct_lib.config import load_config
from zsct_lib.data.stats import source_statistics
from zsct_lib.training.sampling import (RareClassBatchSampler, SeededSamples, make_loader, rare_class_probabilities,
                                        rare_class_thresholds)


class Labels(torch.utils.data.Dataset):
    """Labels of one size, class 1 in the first `pixels[i]` pixels (row-major) of image i, class 0 elsewhere."""

    def __init__(self, pixels, height, width):
        self.pixels, self.height, self.width = pixels, height, width

    def __len__(self):
        return len(self.pixels)

    def label(self, i):
        label = torch.zeros(self.height * self.width, dtype=torch.uint8)
        label[:self.pixels[i]] = 1
        return label.view(self.height, self.width)

    def __getitem__(self, i):
        return torch.zeros(3, self.height, self.width), self.label(i).long()


def test_thresholds_at_daformer_scale_and_scaled_with_the_area():
    """At DAFormer's own label size the image threshold is its 3000; its crop threshold (1500 on the
    1280x704 image crops are cut from) is 3352 there. At the paper's 512x1024: 781 and 873."""
    assert rare_class_thresholds(3000, 1052, 1914) == pytest.approx((3000.0, 1500 * 1914 * 1052 / (1280 * 704)))
    assert rare_class_thresholds(3000, 704, 1280) == pytest.approx((3000 * 1280 * 704 / (1914 * 1052), 1500.0))
    assert rare_class_thresholds(3000, 512, 1024) == pytest.approx((781.14, 872.73), abs=0.01)
    assert rare_class_thresholds(0, 512, 1024) == (0.0, 0.0)
    from zsct_lib.config import ConfigError

    with pytest.raises(ConfigError, match="data.rare_class_min_pixels.*negative"):
        load_config(None, ["data.rare_class_min_pixels=-1"])


def test_only_images_with_more_than_min_pixels_of_the_class_are_drawn():
    """Five GTA5-size labels with 0, 5, 200, 2900 and 40000 pixels of class 1: at 3000 only the last is
    drawn for it; the rule before (any pixel) drew the other three that hold some too."""
    stats = source_statistics(Labels([0, 5, 200, 2900, 40000], 1052, 1914), num_classes=2)
    probabilities = rare_class_probabilities(stats["class_pixels"], 0.01)
    assert probabilities[1] > 0.9999
    image_min, _ = rare_class_thresholds(3000, 1052, 1914)
    daformer = RareClassBatchSampler(stats["image_classes"], probabilities, 1, 0, 0, min_pixels=image_min,
                                     image_class_pixels=stats["image_class_pixels"])
    before = RareClassBatchSampler(stats["image_classes"], probabilities, 1, 0, 0)
    assert daformer.images_with[1].tolist() == [4] and before.images_with[1].tolist() == [1, 2, 3, 4]
    drawn = [daformer._draw(p) for p in range(300)]
    assert {index for c, index in drawn if c == 1} == {4} and sum(c == 1 for c, _ in drawn) > 290
    assert {before._draw(p)[1] for p in range(300)} == {1, 2, 3, 4}


def test_the_loader_scales_min_pixels_to_the_configured_image_size():
    """At 64x128 the image threshold is 3000 * 8192 / (1914 * 1052) = 12.2 pixels: 12 is too few, 13 is
    enough. rare_class_min_pixels=0 keeps the rule before: every image that holds the class."""
    dataset = Labels([0, 5, 12, 13, 200], 64, 128)
    stats = source_statistics(dataset, num_classes=2)
    base = ["data.rare_class_temperature=0.01", "data.height=64", "data.width=128"]
    loader = make_loader(dataset, load_config(None, base), 0, 0, source_stats=stats)
    assert loader.batch_sampler.images_with[1].tolist() == [3, 4]
    assert loader.batch_sampler.crop_min_pixels == pytest.approx(1500 * 8192 / (1280 * 704))
    assert len(next(iter(loader.batch_sampler))[0]) == 4                       # (index, seed, class, crop threshold)
    old = make_loader(dataset, load_config(None, [*base, "data.rare_class_min_pixels=0"]), 0, 0, source_stats=stats)
    assert old.batch_sampler.images_with[1].tolist() == [1, 2, 3, 4] and len(next(iter(old.batch_sampler))[0]) == 2


def test_a_class_no_image_holds_enough_of_is_left_out():
    counts = [[100, 0, 3], [100, 2, 0]]
    probabilities = rare_class_probabilities([200, 2, 3], 0.01)
    sampler = RareClassBatchSampler([[0, 2], [0, 1]], probabilities, 1, 0, 0, min_pixels=2.5, image_class_pixels=counts)
    assert sampler.left_out == [1] and sampler.probabilities[1] == 0 and sampler.probabilities.sum() == pytest.approx(1)


def test_the_crop_is_redrawn_until_it_keeps_enough_of_the_class():
    """A 16x16 block of class 1 in the corner of a 64x128 image, random 48x96 crops: a crop keeps more
    than 100 of its pixels at p = 70 / 561 of the crop positions, so one draw succeeds 12.5% of the time
    and up to 10 redraws 1 - (1 - p)^11 = 77%. The first draw is the one without the retry."""
    from zsct_lib.data.transforms import JointTransform

    cfg = load_config(None, ["data.crop_height=48", "data.crop_width=96", "data.flip=false"]).data
    image, label = torch.rand(3, 64, 128), torch.zeros(64, 128, dtype=torch.long)
    label[:16, :16] = 1
    dataset = [(image, label)]
    samples = SeededSamples(dataset, JointTransform(cfg))
    overlap = np.outer(np.clip(16 - np.arange(17), 0, None), np.clip(16 - np.arange(33), 0, None))
    p = float((overlap > 100).mean())
    assert (overlap > 100).sum() == 70 and overlap.size == 561
    seeds = range(200)
    once = [int((samples[(0, seed)][1] == 1).sum()) for seed in seeds]
    retried = [int((samples[(0, seed, 1, 100)][1] == 1).sum()) for seed in seeds]
    assert abs(np.mean(np.array(once) > 100) - p) < 0.06
    assert abs(np.mean(np.array(retried) > 100) - (1 - (1 - p) ** 11)) < 0.1
    assert all(r == o for o, r in zip(once, retried) if o > 100)               # a first crop that passes is kept
