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


def test_pseudo_label_precision_and_coverage_known_counts():
    from zsct_lib.pseudo import pseudo_label_counts, pseudo_label_quality

    # true labels: class 0 on 4 pixels, class 1 on 4, one ignored pixel; pseudo labels: 3 pixels of
    # class 0 (2 right), 1 pixel of class 1 (right), the rest ignored (255)
    true = torch.tensor([[[0, 0, 0, 0, 1, 1, 1, 1, 255]]])
    pseudo = torch.tensor([[[0, 0, 255, 1, 0, 255, 255, 1, 0]]])
    counts = pseudo_label_counts(pseudo, true, num_classes=3)
    assert counts["correct"].tolist() == [2, 1, 0]
    assert counts["pseudo"].tolist() == [3, 2, 0]            # the pixel whose true label is 255 is not scored
    assert counts["true"].tolist() == [4, 4, 0]
    quality = pseudo_label_quality(counts, ["a", "b", "c"], [0, 1, 2])
    assert quality["a"] == {"precision": round(200 / 3, 2), "coverage": 50.0}
    assert quality["b"] == {"precision": 50.0, "coverage": 25.0}
    assert quality["c"] == {"precision": None, "coverage": None}     # no pixel: no score, not 0


def test_pseudo_label_diagnostics_of_a_perfect_model():
    """A model whose logits are the one-hot true labels: every pseudo label that survives eq 12 is right
    (precision 100), and coverage is the share that survives the per-class thresholds."""
    import torch.nn.functional as F

    from zsct_lib.evaluation import pseudo_label_diagnostics

    labels = torch.randint(0, 19, (4, 8, 16), generator=torch.Generator().manual_seed(0))

    class Oracle(torch.nn.Module):
        def predict(self, images):
            index = images[:, 0, 0, 0].long()
            noise = torch.rand(len(index), 19, 8, 16, generator=torch.Generator().manual_seed(1))
            return 5 * F.one_hot(labels[index], 19).permute(0, 3, 1, 2).float() + noise

    images = torch.arange(4).float().view(4, 1, 1, 1).expand(4, 3, 8, 16)
    result = pseudo_label_diagnostics(Oracle(), [(images, labels)], 19, max_images=4)
    assert result["images"] == 4
    assert all(v["precision"] == 100.0 for v in result["per_class"].values() if v["precision"] is not None)
    assert result["tail_precision"] == 100.0 and 0 < result["tail_coverage"] <= 100
