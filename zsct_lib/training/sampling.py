"""Seeded, resumable sampling: the batch at step k is fixed by (seed, stream, k), so a run resumed
from a checkpoint, or split over any number of ranks, sees the same data as an uninterrupted one."""
from __future__ import annotations

import numpy as np
import torch

from ..config import Config


def sample_seed(seed: int, stream: int, position: int, kind: int = 0) -> int:
    """A 63-bit seed fixed by (run seed, data stream, position in the stream, kind): kind 0 seeds one
    sample's augmentation, kind 1 the permutation of epoch `position`."""
    return int(np.random.SeedSequence([seed, stream, kind, position]).generate_state(2, dtype=np.uint32).astype(np.uint64)
               .dot(np.array([1, 2**32], dtype=np.uint64)) % (2**63))


class StepBatchSampler(torch.utils.data.Sampler):
    """Yields, for every training step from `start_step` on, this rank's part of the global batch as
    (dataset index, sample seed) pairs. Epoch e draws a permutation seeded by (seed, stream, e), so
    the batch at step k is the same whether the run was interrupted or not, on any number of ranks."""

    def __init__(self, dataset_size: int, batch_size: int, seed: int, stream: int, start_step: int = 0,
                 rank: int = 0, world_size: int = 1):
        super().__init__()
        self.n, self.batch_size, self.seed, self.stream = dataset_size, batch_size, seed, stream
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self._permutations: dict[int, torch.Tensor] = {}

    def _index(self, position: int) -> int:
        epoch, offset = divmod(position, self.n)
        if epoch not in self._permutations:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.stream, epoch, kind=1))
            self._permutations = {epoch: torch.randperm(self.n, generator=generator)}
        return int(self._permutations[epoch][offset])

    def _key(self, position: int) -> tuple:
        """What the dataset wrapper (`SeededSamples`) gets for one position: (index, sample seed)."""
        return self._index(position), sample_seed(self.seed, self.stream, position)

    def __iter__(self):
        step, global_batch = self.start_step, self.batch_size * self.world_size
        while True:
            first = step * global_batch + self.rank * self.batch_size
            yield [self._key(p) for p in range(first, first + self.batch_size)]
            step += 1


def rare_class_probabilities(class_pixels, temperature: float) -> np.ndarray:
    """DAFormer's rare-class sampling (Hoyer et al. 2022, eq 6): P(c) = softmax((1 - f_c) / T) over the
    classes present in the source set, f_c = class c's share of the labelled source pixels.
    class_pixels [K] -> probabilities [K] (0 for absent classes). Smaller T favours rare classes more."""
    if temperature <= 0:
        raise ValueError(f"rare-class sampling needs a temperature > 0, got {temperature}")
    counts = np.asarray(class_pixels, dtype=np.float64)
    present = counts > 0
    frequency = counts / counts.sum()
    logits = np.where(present, (1.0 - frequency) / temperature, -np.inf)
    weights = np.exp(logits - logits[present].max())
    return weights / weights.sum()


# DAFormer's scale (Hoyer et al. 2022, its `UDADataset` and GTA5 conversion): `min_pixels` = 3000 is
# counted on GTA5's full-size labels (1914x1052); its crops are cut from the image resized to fit
# 1280x720 (1280x704, the aspect ratio kept) and redrawn, up to 10 times, until one keeps more than
# min_pixels * 0.5 = 1500 pixels of the class.
DAFORMER_LABEL_AREA = 1914 * 1052
DAFORMER_CROP_SOURCE_AREA = 1280 * 704
DAFORMER_MIN_CROP_RATIO = 0.5
CROP_REDRAWS = 10


def rare_class_thresholds(min_pixels: float, height: int, width: int) -> tuple[float, float]:
    """DAFormer's two thresholds scaled with the image area to images of height x width (the size the
    source statistics count labels at and crops are cut from): (pixels an image needs, pixels a crop
    needs). min_pixels = 3000 at 512x1024: 781 and 873."""
    area = height * width
    return min_pixels * area / DAFORMER_LABEL_AREA, min_pixels * DAFORMER_MIN_CROP_RATIO * area / DAFORMER_CROP_SOURCE_AREA


class RareClassBatchSampler(StepBatchSampler):
    """StepBatchSampler whose every position draws a class c from `class_probabilities`, then, uniformly,
    one of the images that hold c: more than `min_pixels` pixels of it when `image_class_pixels` ([N][K]
    counts) is given (DAFormer), any pixel otherwise. Each draw is seeded by (seed, stream, position), so
    resumed and uninterrupted runs see the same batches.

    A class no image holds enough of is left out and the others' probabilities renormalised (DAFormer
    asserts instead; on small sets a class can be that rare), listed in `left_out`. With
    `crop_min_pixels`, each key carries (c, crop_min_pixels): `SeededSamples` redraws the crop up to 10
    times until it keeps more than that many pixels of c.
    """

    def __init__(self, image_classes, class_probabilities, *args, image_class_pixels=None, min_pixels: float = 0.0,
                 crop_min_pixels: float | None = None, **kwargs):
        super().__init__(len(image_classes), *args, **kwargs)
        probabilities = np.asarray(class_probabilities, dtype=np.float64)
        if image_class_pixels is not None:
            counts = np.asarray(image_class_pixels, dtype=np.int64)
            self.images_with = [np.flatnonzero(counts[:, c] > min_pixels) for c in range(len(probabilities))]
        else:
            self.images_with = [np.array([i for i, present in enumerate(image_classes) if c in present], dtype=np.int64)
                                for c in range(len(probabilities))]
        self.left_out = [c for c, images in enumerate(self.images_with) if probabilities[c] > 0 and len(images) == 0]
        if image_class_pixels is None and self.left_out:
            raise ValueError(f"class {self.left_out[0]} has source pixels but no image lists it")
        if self.left_out:
            probabilities[self.left_out] = 0.0
            if probabilities.sum() == 0:
                raise ValueError(f"rare-class sampling: no image holds more than {min_pixels:g} pixels of any class")
            probabilities /= probabilities.sum()
        self.probabilities = probabilities
        self.crop_min_pixels = crop_min_pixels

    def _draw(self, position: int) -> tuple[int, int]:
        rng = np.random.default_rng(sample_seed(self.seed, self.stream, position, kind=2))
        c = rng.choice(len(self.probabilities), p=self.probabilities)
        return int(c), int(rng.choice(self.images_with[c]))

    def _index(self, position: int) -> int:
        return self._draw(position)[1]

    def _key(self, position: int) -> tuple:
        c, index = self._draw(position)
        seed = sample_seed(self.seed, self.stream, position)
        return (index, seed) if self.crop_min_pixels is None else (index, seed, c, self.crop_min_pixels)


class SeededSamples(torch.utils.data.Dataset):
    """Wraps a dataset: item (index, seed) -> transform(dataset[index]) drawn under torch.manual_seed(seed).

    Item (index, seed, c, crop_min_pixels) (rare-class sampling): while the crop keeps no more than
    crop_min_pixels pixels of class c, the transform is drawn again, up to 10 times, each redraw under its
    own seed (DAFormer's crop retry; the last draw is kept either way).
    Returns (image, label, index) for labelled datasets and (image, index) for unlabelled ones.
    """

    def __init__(self, dataset, transform=None):
        self.dataset, self.transform = dataset, transform

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed, *rare = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            item = self.dataset[index]
            image, label = (item, None) if isinstance(item, torch.Tensor) else item
            if self.transform is not None:
                crop, crop_label = self.transform(image, label)
                if rare and label is not None:
                    c, crop_min_pixels = rare
                    for redraw in range(1, CROP_REDRAWS + 1):
                        if int((crop_label == c).sum()) > crop_min_pixels:
                            break
                        torch.manual_seed(sample_seed(seed, 0, redraw, kind=3))
                        crop, crop_label = self.transform(image, label)
                image, label = crop, crop_label
        return (image, index) if label is None else (image, label, index)


def make_loader(dataset, cfg: Config, stream: int, start_step: int, rank: int = 0, world_size: int = 1,
                transform=None, source_stats: dict | None = None):
    """The loader of one data stream. source_stats (`data.stats.source_statistics`) with
    data.rare_class_temperature > 0: the stream samples images by rare-class sampling, DAFormer's rule
    with data.rare_class_min_pixels > 0 (images and crops that hold enough of the class, thresholds
    scaled to data.height x data.width by `rare_class_thresholds`), any image that holds the class and one
    crop with 0."""
    args = (cfg.train.batch_size, cfg.train.seed, stream, start_step, rank, world_size)
    if source_stats is not None and cfg.data.rare_class_temperature > 0:
        probabilities = rare_class_probabilities(source_stats["class_pixels"], cfg.data.rare_class_temperature)
        if cfg.data.rare_class_min_pixels > 0:
            image_min, crop_min = rare_class_thresholds(cfg.data.rare_class_min_pixels, cfg.data.height, cfg.data.width)
            sampler = RareClassBatchSampler(source_stats["image_classes"], probabilities, *args, min_pixels=image_min,
                                            image_class_pixels=source_stats["image_class_pixels"], crop_min_pixels=crop_min)
        else:
            sampler = RareClassBatchSampler(source_stats["image_classes"], probabilities, *args)
    else:
        sampler = StepBatchSampler(len(dataset), *args)
    return torch.utils.data.DataLoader(SeededSamples(dataset, transform), batch_sampler=sampler,
                                       num_workers=cfg.data.num_workers, pin_memory=cfg.train.pin_memory,
                                       persistent_workers=cfg.data.num_workers > 0)


def stack_batch(source_batch, target_batch, device, non_blocking=False) -> dict:
    """The loaders' tuples as the step's batch dict: source_image, source_label, source_index, target_image."""
    batch = {"source_image": source_batch[0].to(device, non_blocking=non_blocking),
             "source_label": source_batch[1].to(device, non_blocking=non_blocking),
             "source_index": source_batch[2]}
    if target_batch is not None:
        batch["target_image"] = target_batch[0].to(device, non_blocking=non_blocking)
    return batch
