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

    def __iter__(self):
        step, global_batch = self.start_step, self.batch_size * self.world_size
        while True:
            first = step * global_batch + self.rank * self.batch_size
            yield [(self._index(p), sample_seed(self.seed, self.stream, p)) for p in range(first, first + self.batch_size)]
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


class RareClassBatchSampler(StepBatchSampler):
    """StepBatchSampler whose every position draws a class c from `class_probabilities`, then one of
    the images that contain c, uniformly; each draw is seeded by (seed, stream, position), so resumed
    and uninterrupted runs still see the same batches."""

    def __init__(self, image_classes, class_probabilities, *args, **kwargs):
        super().__init__(len(image_classes), *args, **kwargs)
        self.probabilities = np.asarray(class_probabilities, dtype=np.float64)
        self.images_with = [np.array([i for i, present in enumerate(image_classes) if c in present], dtype=np.int64)
                            for c in range(len(self.probabilities))]
        for c, images in enumerate(self.images_with):
            if self.probabilities[c] > 0 and len(images) == 0:
                raise ValueError(f"class {c} has source pixels but no image lists it")

    def _index(self, position: int) -> int:
        rng = np.random.default_rng(sample_seed(self.seed, self.stream, position, kind=2))
        c = rng.choice(len(self.probabilities), p=self.probabilities)
        return int(rng.choice(self.images_with[c]))


class SeededSamples(torch.utils.data.Dataset):
    """Wraps a dataset: item (index, seed) -> transform(dataset[index]) drawn under torch.manual_seed(seed).

    Returns (image, label, index) for labelled datasets and (image, index) for unlabelled ones.
    """

    def __init__(self, dataset, transform=None):
        self.dataset, self.transform = dataset, transform

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            item = self.dataset[index]
            image, label = (item, None) if isinstance(item, torch.Tensor) else item
            if self.transform is not None:
                image, label = self.transform(image, label)
        return (image, index) if label is None else (image, label, index)


def make_loader(dataset, cfg: Config, stream: int, start_step: int, rank: int = 0, world_size: int = 1,
                transform=None, source_stats: dict | None = None):
    """The loader of one data stream. source_stats (`data.stats.source_statistics`) with
    data.rare_class_temperature > 0: the stream samples images by rare-class sampling."""
    args = (cfg.train.batch_size, cfg.train.seed, stream, start_step, rank, world_size)
    if source_stats is not None and cfg.data.rare_class_temperature > 0:
        probabilities = rare_class_probabilities(source_stats["class_pixels"], cfg.data.rare_class_temperature)
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
