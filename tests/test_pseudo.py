import torch

from zsct_lib.pseudo import class_thresholds, mpt_pseudo_label


def _prob_map(max_probs, classes, k=3):
    """A [1,K,1,N] map whose pixel n predicts classes[n] with probability max_probs[n]."""
    n = len(max_probs)
    prob = torch.zeros(1, k, 1, n)
    for i, (p, c) in enumerate(zip(max_probs, classes)):
        prob[0, :, 0, i] = (1 - p) / (k - 1)
        prob[0, c, 0, i] = p
    return prob


def test_thresholds_are_per_class_medians_capped():
    prob = _prob_map([0.5, 0.6, 0.7, 0.95, 0.97, 0.99], [0, 0, 0, 1, 1, 1])
    t = class_thresholds(prob)
    assert torch.isclose(t[0, 0], torch.tensor(0.6))       # median of 0.5, 0.6, 0.7
    assert torch.isclose(t[0, 1], torch.tensor(0.9))       # median 0.97, capped at 0.9
    assert torch.isclose(t[0, 2], torch.tensor(0.9))       # nobody predicts class 2: the cap


def test_mpt_keeps_pixels_strictly_above_threshold():
    prob = _prob_map([0.5, 0.6, 0.7, 0.95, 0.97, 0.99], [0, 0, 0, 1, 1, 1])
    label = mpt_pseudo_label(prob)
    assert label.tolist() == [[[255, 255, 0, 1, 1, 1]]]     # 0.6 == threshold is not strictly above


def test_mpt_thresholds_are_set_per_map():
    a = _prob_map([0.5, 0.6, 0.7], [0, 0, 0])
    b = _prob_map([0.3, 0.4, 0.45], [0, 0, 0])
    label = mpt_pseudo_label(torch.cat([a, b]))
    assert label[0, 0].tolist() == [255, 255, 0]
    assert label[1, 0].tolist() == [255, 255, 0]             # its own median 0.4, not the first map's


def test_quantile_and_cap_arguments():
    prob = _prob_map([0.5, 0.6, 0.7, 0.8], [0, 0, 0, 0])
    assert (mpt_pseudo_label(prob, cap=0.55) != 255).sum() == 3
    assert (mpt_pseudo_label(prob, quantile=0.0) != 255).sum() == 0   # threshold = the top value
    assert mpt_pseudo_label(prob, ignore_index=99)[0, 0, 0] == 99
