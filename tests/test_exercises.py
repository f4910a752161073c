"""The checkers accept the library's own functions and explain wrong answers instead of crashing."""
import torch

from zsct_lib import content_transfer, evaluation, exercises, losses, pseudo


def test_library_functions_pass_their_own_checkers():
    assert exercises.check_zero_loss(losses.zero_loss)
    assert exercises.check_cycle_loss(losses.cycle_loss)
    assert exercises.check_class_balanced_weights(losses.class_balanced_weights)
    assert exercises.check_mpt_pseudo_label(pseudo.mpt_pseudo_label)
    assert exercises.check_tail_label(content_transfer.tail_label)
    assert exercises.check_transfer_mask(content_transfer.transfer_mask)
    assert exercises.check_paste(content_transfer.paste)
    assert exercises.check_iou_per_class(evaluation.iou_per_class)


def test_wrong_answers_are_explained():
    summed = exercises.check_zero_loss(lambda a, b: a.abs().sum() + b.abs().sum())
    assert not summed and "differ" in summed.message
    shape = exercises.check_transfer_mask(lambda s, t: (s != 255)[:, 0])
    assert not shape and "shape" in shape.message
    dtype = exercises.check_transfer_mask(lambda s, t: (s != 255).long())
    assert not dtype and "dtype torch.int64; expected torch.bool" in dtype.message
    crash = exercises.check_paste(lambda m, s, t: s[m.unsqueeze(1)])
    assert not crash and "raised" in crash.message
    not_tensor = exercises.check_mpt_pseudo_label(lambda p: p.argmax(1).tolist())
    assert not not_tensor and "list" in not_tensor.message


def test_not_implemented_is_reported():
    def todo(*args):
        raise NotImplementedError

    result = exercises.check_cycle_loss(todo)
    assert not result and "not implemented" in result.message


def test_no_cooccurrence_rule_is_caught():
    naive = lambda label: torch.where(torch.isin(label, torch.tensor([5, 6, 7, 12, 17, 18])), label,  # noqa: E731
                                      torch.full_like(label, 255))
    assert not exercises.check_tail_label(naive)
