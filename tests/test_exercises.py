"""The checkers accept the library's own functions, reject the likely mistakes (a known wrong answer per
checker) and explain wrong answers instead of crashing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zsct_lib import content_transfer, evaluation, losses, pseudo
from zsct_lib.classroom import exercises
from zsct_lib.labels import IGNORE_INDEX


def _mpt(prob, quantile=0.5, cap=0.9, ignore_index=255, turned_round=False, at_or_above=False, no_cap=False):
    """Eq 12 written out, with one of the likely mistakes switched on."""
    max_prob, k_star = prob.max(1)
    label = torch.full_like(k_star, ignore_index)
    for b in range(prob.shape[0]):
        for k in k_star[b].unique():
            chosen = k_star[b] == k
            threshold = torch.quantile(max_prob[b][chosen], quantile if turned_round else 1 - quantile)
            threshold = threshold if no_cap else threshold.clamp(max=cap)
            keep = chosen & ((max_prob[b] >= threshold) if at_or_above else (max_prob[b] > threshold))
            label[b][keep] = k
    return label


def _poly(base_lr, step, total, power=0.9, clamp=True, linear=False):
    progress = min(step, total - 1) if clamp else step
    return base_lr * (1 - progress / total) ** (1.0 if linear else power)


def _zero_style(a, b, c, d, seg, with_seg=True):
    return a.abs().mean() + b.abs().mean() + c.abs().mean() + d.abs().mean() + (seg if with_seg else 0)


def _cb_raw(counts, beta=0.999):
    counts = torch.as_tensor(counts, dtype=torch.float32)
    return (1 - beta) / (1 - beta ** counts)


def _iou_precision(cm):
    cm = np.asarray(cm, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cm.sum(0) > 0, np.diag(cm) / cm.sum(0), np.nan)


def _confusion(pred, target, k, transposed=False, keep_ignored=False):
    valid = torch.ones_like(target, dtype=torch.bool) if keep_ignored else target != IGNORE_INDEX
    t, p = target[valid].clamp(max=k - 1), pred[valid]
    cm = torch.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return cm.T if transposed else cm


# checker -> (a right answer written out, the likely wrong answers it must catch)
RIGHT_AND_WRONG = {
    "mpt_pseudo_label": (_mpt, {"quantile turned round": lambda p, q=0.5, c=0.9: _mpt(p, q, c, turned_round=True),
                                ">= instead of >": lambda p, q=0.5, c=0.9: _mpt(p, q, c, at_or_above=True),
                                "no cap": lambda p, q=0.5, c=0.9: _mpt(p, q, c, no_cap=True)}),
    "poly_lr": (_poly, {"no clamp at the last step": lambda *a: _poly(*a, clamp=False),
                        "linear decay": lambda *a: _poly(*a, linear=True)}),
    "zero_style_loss": (_zero_style, {"L_seg left out": lambda *a: _zero_style(*a, with_seg=False),
                                      "sums for means": lambda a, b, c, d, s: sum(x.abs().sum() for x in (a, b, c, d)) + s}),
    "confusion_matrix": (_confusion, {"rows and columns swapped": lambda p, t, k: _confusion(p, t, k, transposed=True),
                                      "ignored pixels counted": lambda p, t, k: _confusion(p, t, k, keep_ignored=True)}),
    "zero_loss": (losses.zero_loss, {"sums for means": lambda a, b: a.abs().sum() + b.abs().sum(),
                                     "squares for absolute values": lambda a, b: (a ** 2).mean() + (b ** 2).mean()}),
    "cycle_loss": (losses.cycle_loss, {"squared error": lambda a, b, c, d: F.mse_loss(a, b) + F.mse_loss(c, d),
                                       "source cycle only": lambda a, b, c, d: F.l1_loss(a, b)}),
    "class_balanced_weights": (losses.class_balanced_weights, {"not rescaled to sum to K": _cb_raw,
                                                               "inverse frequency": lambda c, beta=0.999:
                                                               (c.sum() / c / (c.sum() / c).sum() * len(c)).float()}),
    "tail_label": (content_transfer.tail_label, {"no co-occurrence rule": lambda label: torch.where(
        torch.isin(label, torch.tensor([5, 6, 7, 12, 17, 18])), label, torch.full_like(label, 255))}),
    "transfer_mask": (content_transfer.transfer_mask, {
        "no head mask (eq 14)": lambda s, t: content_transfer.source_tail_mask(s),
        "ignored target pixels taken for head": lambda s, t: content_transfer.source_tail_mask(s)
        & ~torch.isin(t, torch.tensor([5, 6, 7, 12, 17, 18]))}),
    "paste": (content_transfer.paste, {"source and target swapped": lambda m, s, t: content_transfer.paste(m, t, s)}),
    "iou_per_class": (evaluation.iou_per_class, {"precision, not IoU": _iou_precision}),
}


def test_every_checker_has_known_wrong_answers():
    assert sorted(RIGHT_AND_WRONG) == sorted(name for _, c in exercises.EXERCISES for name in [c.__name__[6:]])


@pytest.mark.parametrize("name", sorted(RIGHT_AND_WRONG))
def test_checker_passes_a_right_answer_and_catches_the_likely_mistakes(name):
    checker = getattr(exercises, f"check_{name}")
    right, wrong = RIGHT_AND_WRONG[name]
    assert checker(right), f"{name}: a right answer fails"
    for mistake, fn in wrong.items():
        result = checker(fn)
        assert not result, f"check_{name} passes the mistake '{mistake}'"
        assert "case" in result.message or "raised" in result.message


def test_library_functions_pass_their_own_checkers():
    assert exercises.check_mpt_pseudo_label(pseudo.mpt_pseudo_label)
    assert exercises.check_iou_per_class(evaluation.iou_per_class)
    assert exercises.check_confusion_matrix(evaluation.confusion_matrix)


def test_each_checker_declares_points_and_its_notebook():
    notebooks = {c.notebook for _, c in exercises.EXERCISES}
    assert notebooks == {f"{i:02d}" for i in range(8)}                       # at least one per notebook
    assert len({c.__name__ for _, c in exercises.EXERCISES}) == len(exercises.EXERCISES) >= 8
    assert all(isinstance(c.points, int) and c.points > 0 for _, c in exercises.EXERCISES)
    assert all(nb == c.notebook for nb, c in exercises.EXERCISES)


def test_wrong_answers_are_explained():
    summed = exercises.check_zero_loss(lambda a, b: a.abs().sum() + b.abs().sum())
    assert not summed and "differ" in summed.message
    shape = exercises.check_transfer_mask(lambda s, t: (s != 255)[:, 0])
    assert not shape and "shape" in shape.message
    dtype = exercises.check_transfer_mask(lambda s, t: (s != 255).long())
    assert not dtype and "dtype torch.int64; expected torch.bool" in dtype.message
    crash = exercises.check_paste(lambda m, s, t: s[m.unsqueeze(1)])
    assert not crash and "raised" in crash.message
    not_tensor = exercises.check_mpt_pseudo_label(lambda p, q=0.5, c=0.9: p.argmax(1).tolist())
    assert not not_tensor and "list" in not_tensor.message


def test_not_implemented_is_reported():
    def todo(*args):
        raise NotImplementedError

    result = exercises.check_cycle_loss(todo)
    assert not result and "not implemented" in result.message
    assert "not implemented" in exercises.check_poly_lr(todo).message
