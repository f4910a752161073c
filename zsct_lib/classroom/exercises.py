"""Auto-checkers for the notebooks' exercises: a student's function against the library's, on random inputs.

Each `check_*` runs the student's function on several seeded random cases and compares the result with
the library function of the same equation. It never raises: it returns a `CheckResult` that says what
is wrong (an exception, a wrong type, shape, dtype or value, and on which case), and prints it.

Each checker declares its points (`@points(n)`, read by `zsct grade`) and the notebook that asks for it;
`EXERCISES` lists them in the series' order. The optional harder exercises are marked `optional`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import content_transfer, evaluation, losses, pseudo
from ..labels import IGNORE_INDEX, NUM_CLASSES, TAIL_CLASSES
from ..training import schedule


def points(value: int, notebook: str, optional: bool = False):
    """Declare a checker's points, the notebook that asks for it and whether it is an optional harder one."""
    def mark(checker):
        checker.points, checker.notebook, checker.optional = value, notebook, optional
        return checker
    return mark


@dataclass
class CheckResult:
    passed: bool
    message: str

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return ("PASSED: " if self.passed else "NOT YET: ") + self.message


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def _compare(got, expected, atol: float) -> str | None:
    """None when `got` matches `expected`, else what differs."""
    if isinstance(expected, np.ndarray):
        got = got.numpy() if isinstance(got, torch.Tensor) else got
        if not isinstance(got, np.ndarray):
            return f"returned a {_describe(got)}; expected a numpy array of shape {expected.shape}"
        if got.shape != expected.shape:
            return f"returned shape {got.shape}; expected {expected.shape}"
        if not np.allclose(got, expected, atol=atol, equal_nan=True):
            where = np.argwhere(~np.isclose(got, expected, atol=atol, equal_nan=True))[0]
            return f"wrong value at index {tuple(where)}: got {got[tuple(where)]}, expected {expected[tuple(where)]}"
        return None
    if not isinstance(got, torch.Tensor):
        return f"returned a {_describe(got)}; expected a {_describe(expected)}"
    if got.shape != expected.shape:
        return f"returned shape {tuple(got.shape)}; expected {tuple(expected.shape)}"
    if got.dtype != expected.dtype:
        return f"returned dtype {got.dtype}; expected {expected.dtype}"
    if expected.dtype == torch.bool or not expected.is_floating_point():
        wrong = got != expected
    else:
        wrong = ~torch.isclose(got.detach(), expected.detach(), atol=atol, rtol=1e-4, equal_nan=True)
    if wrong.any():
        where = tuple(int(i) for i in torch.nonzero(wrong)[0])
        return (f"{int(wrong.sum())} of {wrong.numel()} values differ; first at index {where}: "
                f"got {got[where].item()}, expected {expected[where].item()}")
    return None


def check(student_fn, reference_fn, cases, name: str, atol: float = 1e-5, verbose: bool = True) -> CheckResult:
    """Run `student_fn(*args)` and `reference_fn(*args)` on every case (a tuple of arguments) and compare."""
    for number, args in enumerate(cases, 1):
        shapes = ", ".join(_describe(a) for a in args)
        expected = reference_fn(*args)
        try:
            got = student_fn(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
        except NotImplementedError:
            result = CheckResult(False, f"{name}: not implemented yet")
            break
        except Exception as err:  # noqa: BLE001 - a student's bug is reported, never raised
            result = CheckResult(False, f"{name} raised {type(err).__name__}: {err} (case {number}: {shapes})")
            break
        problem = _compare(got, expected, atol)
        if problem:
            result = CheckResult(False, f"{name}, case {number} ({shapes}): {problem}")
            break
    else:
        result = CheckResult(True, f"{name} agrees with the library on {len(cases)} random cases")
    if verbose:
        print(repr(result))
    return result


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _label_maps(seed: int, batch: int = 2, height: int = 8, width: int = 12, classes=NUM_CLASSES, ignore=0.1):
    g = _generator(seed)
    label = torch.randint(0, classes, (batch, height, width), generator=g)
    label[torch.rand(batch, height, width, generator=g) < ignore] = IGNORE_INDEX
    return label


def _probabilities(seed: int, batch: int = 2, k: int = 5, height: int = 6, width: int = 8):
    g = _generator(seed)
    return torch.softmax(3 * torch.randn(batch, k, height, width, generator=g), dim=1)


@points(2, "02")
def check_zero_loss(fn) -> CheckResult:
    """Eq 5: fn(Et(Is) [B,S], Es(It) [B,S]) -> scalar tensor."""
    cases = [(torch.randn(b, s, generator=_generator(i)), torch.randn(b, s, generator=_generator(i + 10)))
             for i, (b, s) in enumerate([(2, 8), (1, 8), (4, 3)])]
    return check(fn, losses.zero_loss, cases, "zero_loss (eq 5)")


@points(2, "03")
def check_cycle_loss(fn) -> CheckResult:
    """Eq 10: fn(Is2t2s, Is, It2s2t, It) -> scalar tensor."""
    cases = [tuple(torch.rand(2, 3, 8, 16, generator=_generator(4 * i + j)) for j in range(4)) for i in range(3)]
    return check(fn, losses.cycle_loss, cases, "cycle_loss (eq 10)")


@points(2, "01")
def check_class_balanced_weights(fn) -> CheckResult:
    """Cui et al.: fn(counts [K], beta) -> weights [K] summing to K."""
    cases = [(torch.randint(1, 10_000, (19,), generator=_generator(i)).float(), beta)
             for i, beta in enumerate([0.9, 0.99, 0.999, 0.9999])]
    return check(fn, losses.class_balanced_weights, cases, "class_balanced_weights (eq 7's weights)", atol=1e-4)


@points(3, "04")
def check_mpt_pseudo_label(fn) -> CheckResult:
    """Eq 12: fn(prob [B,K,H,W], quantile=0.5, cap=0.9) -> long [B,H,W] with 255 where not confident."""
    # Quantiles other than 0.5 catch a quantile turned round (torch.quantile(v, q) for 1 - q); a low cap catches
    # a cap left out; odd pixel counts put a pixel exactly on its threshold (>= for >).
    cases = [(_probabilities(i),) for i in range(2)]
    cases += [(_probabilities(10 + i, height=5, width=7), q, cap) for i, (q, cap) in
              enumerate([(0.25, 0.9), (0.75, 0.9), (0.5, 0.45), (0.2, 0.99)])]
    return check(fn, pseudo.mpt_pseudo_label, cases, "mpt_pseudo_label (eq 12)")


@points(3, "05")
def check_tail_label(fn) -> CheckResult:
    """Eq 13 with co-occurrence rules: fn(label [B,H,W]) -> long [B,H,W]."""
    tail_heavy = [_label_maps(i) for i in range(3)]
    for i, label in enumerate(tail_heavy):  # make the rules matter: mostly tail ids, some images lack companions
        g = _generator(100 + i)
        label[torch.rand(label.shape, generator=g) < 0.6] = torch.tensor(TAIL_CLASSES)[
            torch.randint(0, len(TAIL_CLASSES), (1,), generator=g)]
    no_light = tail_heavy[0].clone()
    no_light[(no_light == 6) | (no_light == 7)] = 0
    no_two_wheeler = tail_heavy[1].clone()
    no_two_wheeler[(no_two_wheeler == 17) | (no_two_wheeler == 18)] = 0
    cases = [(label,) for label in tail_heavy + [no_light, no_two_wheeler]]
    return check(fn, content_transfer.tail_label, cases, "tail_label (eq 13)")


@points(3, "05", optional=True)
def check_transfer_mask(fn) -> CheckResult:
    """Eq 15: fn(source_label [B,H,W], target_pseudo [B,H,W]) -> bool [B,H,W]."""
    cases = [(_label_maps(i), _label_maps(i + 50, ignore=0.3)) for i in range(4)]
    return check(fn, content_transfer.transfer_mask, cases, "transfer_mask (eq 15)")


@points(2, "05")
def check_paste(fn) -> CheckResult:
    """Eqs 16/17: fn(mask [B,H,W] bool, source, target) -> images [B,C,H,W] or labels [B,H,W]."""
    cases = []
    for i in range(3):
        g = _generator(i)
        mask = torch.rand(2, 8, 12, generator=g) < 0.3
        cases.append((mask, torch.rand(2, 3, 8, 12, generator=g), torch.rand(2, 3, 8, 12, generator=g)))
        cases.append((mask, _label_maps(i), _label_maps(i + 7)))
    return check(fn, content_transfer.paste, cases, "paste (eqs 16, 17)")


@points(2, "00")
def check_iou_per_class(fn) -> CheckResult:
    """IoU_c = TP / (TP + FP + FN): fn(confusion matrix [K,K] numpy) -> numpy [K] with nan for absent classes."""
    cases = []
    for i in range(3):
        cm = torch.randint(0, 50, (6, 6), generator=_generator(i)).numpy()
        cm[i, :] = 0
        cm[:, i] = 0                                   # one class absent from truth and prediction: nan
        cases.append((cm,))
    return check(fn, evaluation.iou_per_class, cases, "iou_per_class")


@points(2, "02", optional=True)
def check_zero_style_loss(fn) -> CheckResult:
    """Eq 9 from the codes: fn(Et(Is), Es(It), Es(Is2t), Et(It2s) [B,S], L_seg scalar) -> scalar tensor:
    L_zero (eq 5) + L_zero_trans (eq 8) + L_seg."""
    def library(a, b, c, d, seg):
        return losses.zero_style_loss(losses.zero_loss(a, b), losses.zero_trans_loss(c, d), seg)

    cases = [tuple(torch.randn(b, s, generator=_generator(4 * i + j)) for j in range(4)) + (torch.rand(()) + i,)
             for i, (b, s) in enumerate([(2, 8), (1, 8), (4, 3)])]
    return check(fn, library, cases, "zero_style_loss (eq 9)")


def _poly_lrs(lr_fn, base_lr: float, total: int, power: float):
    """The learning rate of every step of a run of `total` steps and two past its end (numpy array)."""
    return np.array([float(lr_fn(base_lr, step, total, power)) for step in range(total + 2)])


def _library_poly_lr(base_lr: float, step: int, total: int, power: float) -> float:
    from ..config import load_config

    cfg = load_config("tiny", [f"train.iterations={total}", "train.ct_iterations=0", "optim.lr_decay=whole_run",
                               f"optim.poly_power={power}"])
    return schedule.poly_lr(base_lr, step, cfg)


@points(2, "06")
def check_poly_lr(fn) -> CheckResult:
    """The poly schedule: fn(base_lr, step, total_steps, power) -> float, for every step of a run."""
    cases = [(2.5e-4, 10, 0.9), (4e-3, 7, 0.9), (1e-2, 5, 2.0)]
    return check(lambda *a: _poly_lrs(fn, *a), lambda *a: _poly_lrs(_library_poly_lr, *a), cases,
                 "poly_lr (the learning-rate schedule)", atol=1e-9)


@points(2, "07")
def check_confusion_matrix(fn) -> CheckResult:
    """fn(pred [N,H,W], target [N,H,W], num_classes) -> long [K,K]: rows truth, columns prediction, pixels
    whose truth is 255 left out."""
    cases = []
    for i, k in enumerate((5, 19, 3)):
        target = _label_maps(i, classes=k, ignore=0.2)
        cases.append((torch.randint(0, k, target.shape, generator=_generator(30 + i)), target, k))
    return check(fn, evaluation.confusion_matrix, cases, "confusion_matrix")


# The series' exercises in order: (notebook, checker). Optional harder ones follow their notebook's first.
EXERCISES = [("00", check_iou_per_class), ("01", check_class_balanced_weights), ("02", check_zero_loss),
             ("02", check_zero_style_loss), ("03", check_cycle_loss), ("04", check_mpt_pseudo_label),
             ("05", check_tail_label), ("05", check_paste), ("05", check_transfer_mask), ("06", check_poly_lr),
             ("07", check_confusion_matrix)]
