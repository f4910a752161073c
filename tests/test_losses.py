import math

import pytest
import torch

from zsct_lib import losses as L
from zsct_lib.config import ModelConfig
from zsct_lib.models import ZSCTModel


def test_class_balanced_weights_known_values():
    counts = torch.tensor([1.0, 2.0, 0.0])
    w = L.class_balanced_weights(counts[:2], beta=0.5)
    # E(1) = 1, E(2) = (1 - 0.25) / 0.5 = 1.5 -> raw 1, 2/3 -> rescaled to sum 2
    assert torch.allclose(w, torch.tensor([1.2, 0.8]))
    assert torch.allclose(w.sum(), torch.tensor(2.0))


def test_class_balanced_weights_limits():
    counts = torch.tensor([10.0, 1000.0, 100.0])
    assert torch.allclose(L.class_balanced_weights(counts, 0.0), torch.ones(3))
    w = L.class_balanced_weights(counts, 0.999999)
    inverse = (1 / counts) / (1 / counts).sum() * 3
    assert torch.allclose(w, inverse.float(), rtol=1e-2)
    assert w[0] > w[2] > w[1]


def test_class_balanced_weights_absent_class_and_bad_input():
    w = L.class_balanced_weights(torch.tensor([5.0, 0.0, 50.0]), 0.9)
    assert torch.isfinite(w).all() and w[1] == w.max()
    with pytest.raises(ValueError, match="beta"):
        L.class_balanced_weights([1, 2], beta=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        L.class_balanced_weights([1, -2])


def test_cross_entropy_ignores_255_and_weights():
    logits = torch.zeros(1, 2, 1, 2)
    logits[0, 0, 0, 0] = math.log(3.0)  # p(class 0) = 3/4 at pixel 0
    label = torch.tensor([[[0, 255]]])
    assert torch.isclose(L.cross_entropy(logits, label), torch.tensor(-math.log(0.75)))
    # all ignored: zero, still differentiable
    loss = L.cross_entropy(logits.requires_grad_(), torch.full((1, 1, 2), 255))
    loss.backward()
    assert loss.item() == 0.0


def test_segmentation_loss_sums_two_terms():
    logits = torch.randn(2, 19, 4, 4)
    label = torch.randint(0, 19, (2, 4, 4))
    single = L.segmentation_loss(logits, None, label)
    assert torch.isclose(L.segmentation_loss(logits, logits, label), 2 * single)


def test_zero_losses_known_values():
    a = torch.tensor([[1.0, -1.0], [0.0, 2.0]])       # mean |a| = 1
    b = torch.tensor([[0.5, 0.5], [0.5, 0.5]])        # mean |b| = 0.5
    assert L.zero_loss(a, b).item() == pytest.approx(1.5)
    assert L.zero_trans_loss(a, torch.zeros(2, 2)).item() == pytest.approx(1.0)
    assert L.zero_style_loss(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)).item() == 6.0


def test_cycle_and_reconstruction_known_values():
    x = torch.zeros(1, 3, 2, 2)
    y = torch.full((1, 3, 2, 2), 0.25)
    assert L.cycle_loss(y, x, x, x).item() == pytest.approx(0.25)
    assert L.reconstruction_loss(y, x, y, x).item() == pytest.approx(0.5)


def test_adversarial_losses():
    zeros = torch.zeros(2, 1, 3, 3)
    assert L.output_adversarial_loss(zeros, True).item() == pytest.approx(math.log(2))
    assert L.image_adversarial_loss(torch.ones(1, 1, 2, 2), True).item() == 0.0
    assert L.image_adversarial_loss(torch.ones(1, 1, 2, 2), False).item() == 1.0


def test_zero_loss_drives_style_code_on_other_domain_to_zero():
    """Gradient descent on eq 5 alone shrinks Et(Is) and Es(It) toward zero."""
    torch.manual_seed(0)
    model = ZSCTModel(ModelConfig(preset="tiny", base_channels=8))
    source, target = torch.rand(2, 3, 32, 64), torch.rand(2, 3, 32, 64)
    params = list(model.style_source.parameters()) + list(model.style_target.parameters()) + list(model.stem.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = L.zero_loss(model.style_target(model.stem(source)), model.style_source(model.stem(target)))
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        final = L.zero_loss(model.style_target(model.stem(source)), model.style_source(model.stem(target))).item()
    assert final < 0.1 * first


def test_style_prior_loss_known_values():
    unit = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])                 # per dimension: mean 0, variance 1
    assert L.style_prior_loss(unit).item() == pytest.approx(0.0, abs=1e-6)
    shifted = unit + 2.0                                              # mean 2: 0.5 * 2^2
    assert L.style_prior_loss(shifted).item() == pytest.approx(2.0, abs=1e-6)
    small = unit * 0.1                                                # variance 0.01: 0.5 (0.01 - ln 0.01 - 1)
    assert L.style_prior_loss(small).item() == pytest.approx(0.5 * (0.01 - math.log(0.01) - 1), rel=1e-5)


def test_style_prior_loss_keeps_codes_from_shrinking_under_the_zero_loss():
    """Eq 5 alone shrinks a shared scale of all codes; with the prior on the own domain's codes the own
    codes stay near unit size while the other domain's go to 0."""
    torch.manual_seed(0)
    own_features, other_features = torch.randn(64, 4), torch.randn(64, 4)
    own_features[:, 2:] = 0                                           # the domains vary in different directions
    other_features[:, :2] = 0
    for prior, own_stays in ((0.0, False), (0.1, True)):
        torch.manual_seed(0)
        encoder = torch.nn.Linear(4, 2)
        optimizer = torch.optim.Adam(encoder.parameters(), lr=0.02)
        for step in range(400):
            idx = torch.randint(0, 64, (8,))
            loss = encoder(other_features[idx]).abs().mean()           # eq 5's term for this encoder
            if prior:
                loss = loss + prior * L.style_prior_loss(encoder(own_features[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            own, other = encoder(own_features).abs().mean().item(), encoder(other_features).abs().mean().item()
        assert (own > 0.3 and own > 5 * other) == own_stays, (prior, own, other)


def test_content_transfer_loss_takes_class_weights_only_when_given():
    logits = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    label = torch.randint(0, 3, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    weights = torch.tensor([0.1, 1.0, 2.0])
    plain = L.content_transfer_loss(logits, label)
    assert torch.isclose(plain, torch.nn.functional.cross_entropy(logits, label))          # eq 18 as in the paper
    weighted = L.content_transfer_loss(logits, label, weights)
    assert torch.isclose(weighted, torch.nn.functional.cross_entropy(logits, label, weight=weights))
    assert not torch.isclose(plain, weighted)
