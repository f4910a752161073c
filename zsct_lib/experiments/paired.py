"""The statistics of a study's summary (`experiments.summarize_ablation`): the mean and spread over
seeds, each step as per-seed paired differences with a 95% t-interval, and the share of the NonAdapt ->
Oracle gap a row closes. Both rows of a seed start from the same weights, so pairing them by seed
removes the seed's own luck."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def mean_std(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return None, None
    return round(float(np.mean(values)), 2), round(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, 2)


# Student's t quantile t_{0.975, df} for df = 1..30 (beyond 30 the normal's 1.96 is within 2%).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences of one row minus another, their mean, std and 95% t-interval of the mean
    (low, high; None with one seed)."""
    mean: float
    std: float
    diffs: list
    low: float | None
    high: float | None

    def verdict(self) -> str:
        """"higher", "lower" (the interval excludes 0), "no difference shown" or "one seed"."""
        if self.low is None:
            return "one seed"
        return "higher" if self.low > 0 else "lower" if self.high < 0 else "no difference shown"


def paired_difference(summary: dict, row: str, baseline: str, key: str = "miou") -> PairedDifference | None:
    """Per-seed `key` of `row` minus that of `baseline`, with the 95% t-interval of their mean; None
    when either row is missing or their seeds differ in number."""
    entries = {entry["row"]: entry for entry in summary["rows"]}
    if row not in entries or baseline not in entries:
        return None
    a, b = entries[row]["per_seed"], entries[baseline]["per_seed"]
    if not a or len(a) != len(b):
        return None
    if any(x.get(key) is None or y.get(key) is None for x, y in zip(a, b)):
        return None
    diffs = [x[key] - y[key] for x, y in zip(a, b)]
    mean, std = mean_std(diffs)
    low = high = None
    if len(diffs) > 1:
        half = (_T975[len(diffs) - 2] if len(diffs) - 1 <= len(_T975) else 1.96) * float(np.std(diffs, ddof=1)) / math.sqrt(len(diffs))
        low, high = round(float(np.mean(diffs)) - half, 2), round(float(np.mean(diffs)) + half, 2)
    return PairedDifference(mean, std, [round(d, 2) for d in diffs], low, high)


def gap_closed(summary: dict, row: str = "+Out", key: str = "miou") -> float | None:
    """Share of the NonAdapt -> Oracle gap that `row` closes: (row - NonAdapt) / (Oracle - NonAdapt)."""
    entries = {entry["row"]: entry for entry in summary["rows"]}
    if not all(name in entries and entries[name][key] is not None for name in (row, "NonAdapt", "Oracle")):
        return None
    gap = entries["Oracle"][key] - entries["NonAdapt"][key]
    return None if gap == 0 else round((entries[row][key] - entries["NonAdapt"][key]) / gap, 3)


