import pytest
import torch

from zsct_lib.content_transfer import (head_mask, median_gate, paste, plain_tail_mask, source_tail_mask, tail_label,
                                       tail_pixel_count, transfer_batch, transfer_mask)
from zsct_lib.context_transfer import align_to_target_ground, ground_top_row, shift_rows, standing_on_ground
from zsct_lib.labels import class_pixel_counts

I = 255  # ignore


def test_tail_label_keeps_tail_and_applies_cooccurrence():
    # image 0: pole (5) with a sign (7), a rider (12) without a two-wheeler, road (0)
    # image 1: pole without light/sign, rider (12) on a bicycle (18)
    label = torch.tensor([
        [[5, 7, 12, 0]],
        [[5, 12, 18, 0]],
    ])
    assert tail_label(label).tolist() == [[[5, 7, I, I]], [[I, 12, 18, I]]]
    assert tail_label(label[0]).tolist() == [[5, 7, I, I]]           # a single [H,W] map too


def test_head_mask_excludes_tail_and_ignored():
    pseudo = torch.tensor([[[0, 5, I, 10]]])
    assert head_mask(pseudo).tolist() == [[[True, False, False, True]]]


def test_transfer_mask_is_source_tail_and_target_head():
    source = torch.tensor([[[6, 6, 6, 0]]])          # traffic lights, then road
    target = torch.tensor([[[0, 7, I, 0]]])          # head, tail, ignored, head
    assert transfer_mask(source, target).tolist() == [[[True, False, False, False]]]


def test_paste_images_and_labels():
    mask = torch.tensor([[[True, False]]])
    source = torch.ones(1, 3, 1, 2)
    target = torch.zeros(1, 3, 1, 2)
    out = paste(mask, source, target)
    assert out[0, :, 0, 0].tolist() == [1, 1, 1] and out[0, :, 0, 1].tolist() == [0, 0, 0]
    labels = paste(mask, torch.tensor([[[6, 6]]]), torch.tensor([[[0, I]]]))
    assert labels.tolist() == [[[6, I]]]
    with pytest.raises(ValueError, match="shape"):
        paste(mask, torch.ones(1, 3, 1, 2), torch.ones(1, 1, 1, 2))


def test_tail_pixel_count_and_median_gate():
    labels = torch.tensor([[[5, 5, 0]], [[5, 7, 7]], [[12, 17, 0]]])
    counts = tail_pixel_count(labels)
    assert counts.tolist() == [0, 3, 2]                 # image 0: poles without light/sign do not count
    median, gate = median_gate(counts)
    assert median == 2 and gate.tolist() == [False, True, False]   # strictly above the median
    with pytest.raises(ValueError):
        median_gate([])


def test_context_aware_alignment_moves_content_to_target_ground():
    h, w = 8, 4
    source = torch.full((1, h, w), 10)              # sky
    source[0, 4:] = 0                               # road from row 4
    source[0, 2:4, 1] = 12                          # a rider standing on it
    source[0, 2:4, 2] = 18
    target = torch.full((1, h, w), 10)
    target[0, 6:] = 0                               # the target camera sees its road begin 2 rows lower
    assert ground_top_row(source).tolist() == [4.0] and ground_top_row(target).tolist() == [6.0]
    # pasted in place, the rider would hang in the target's sky
    assert standing_on_ground(transfer_mask(source, target), target).tolist() == [False]
    image = torch.zeros(1, 3, h, w)
    image[0, :, 2:4, 1:3] = 1.0
    moved_image, moved_label, shifts = align_to_target_ground(image, source, target)
    assert shifts.tolist() == [2]
    assert moved_label[0, 4:6, 1].tolist() == [12, 12] and moved_image[0, 0, 4:6, 1:3].eq(1).all()
    assert moved_label[0, :2].eq(I).all()           # rows uncovered by the shift are ignored
    assert standing_on_ground(transfer_mask(moved_label, target), target).tolist() == [True]


def test_shift_rows_both_ways():
    x = torch.arange(4).view(4, 1)
    assert shift_rows(x, 1, -1).flatten().tolist() == [-1, 0, 1, 2]
    assert shift_rows(x, -2, -1).flatten().tolist() == [2, 3, -1, -1]
    assert shift_rows(x, 9, -1).flatten().tolist() == [-1] * 4


def test_mask_switches_rules_and_head():
    # a rider (12) without a two-wheeler, a sign (7) on a pole (5); the target is road, sky, ignored, pole
    source = torch.tensor([[[12, 7, 5, 5]]])
    target = torch.tensor([[[0, 10, I, 5]]])
    assert source_tail_mask(source).tolist() == [[[False, True, True, True]]]            # rule drops the rider
    assert plain_tail_mask(source).tolist() == [[[True, True, True, True]]]
    assert transfer_mask(source, target).tolist() == [[[False, True, False, False]]]     # head: road, sky only
    assert transfer_mask(source, target, cooccurrence_rules=False).tolist() == [[[True, True, False, False]]]
    assert transfer_mask(source, target, use_head_mask=False).tolist() == [[[False, True, True, True]]]


def test_transfer_batch_pastes_gates_and_labels_like_eqs_16_17():
    """A hand-built pair: a sign on a pole over target road, a segmenter that predicts 'road' everywhere
    with certainty. Gate on: the sign is pasted and labelled at the output level; gate off: nothing."""
    source_label = torch.tensor([[[7, 5, 0, 0]], [[7, 5, 0, 0]]])        # [2,1,4]
    source_content = torch.ones(2, 3, 1, 4)
    target_image = torch.zeros(2, 3, 1, 4)
    target_pseudo = torch.zeros(2, 1, 4, dtype=torch.long)                # road: head everywhere
    seen = {}

    def segment(images):
        seen["images"] = images
        logits = torch.full((len(images), 19, 1, 4), -10.0)
        logits[:, 0] = 10.0
        return logits

    out = transfer_batch(source_content, source_label, target_image, target_pseudo, segment,
                         gate=torch.tensor([True, False]))
    assert out.mask.tolist() == [[[True, True, False, False]], [[False, False, False, False]]]
    assert torch.equal(seen["images"], out.image)
    assert out.image[0, :, 0].tolist() == [[1, 1, 0, 0]] * 3 and out.image[1].sum() == 0     # eq 16
    # MPT on a certain prediction: the threshold is capped at 0.9, so every pixel keeps 'road'
    assert out.pseudo.tolist() == [[[0, 0, 0, 0]]] * 2
    assert out.label.tolist() == [[[7, 5, 0, 0]], [[0, 0, 0, 0]]]                            # eq 17
    assert float(out.transfer_fraction) == 2 / 8
    plain = transfer_batch(source_content, source_label, target_image, target_pseudo, segment, output_level=False)
    assert torch.equal(plain.label, plain.pseudo)


def test_class_pixel_counts_ignores_255():
    assert class_pixel_counts(torch.tensor([[0, 0, 5, 255], [18, 5, 255, 0]]), 19).tolist() == \
        [3, 0, 0, 0, 0, 2] + [0] * 12 + [1]


def test_transfer_diagnostics_count_pasted_pixels_recognition_and_the_label_mix():
    """The same pair as above: two pasted pixels (sign, pole) that the road-only segmenter calls road,
    with a certain prediction, so eq 17's Ỹt_ct holds 'road' (head) at both."""
    source_label = torch.tensor([[[7, 5, 0, 0]]])
    target_pseudo = torch.zeros(1, 1, 4, dtype=torch.long)

    def segment(images):
        logits = torch.full((len(images), 19, 1, 4), -10.0)
        logits[:, 0] = 10.0
        return logits

    out = transfer_batch(torch.ones(1, 3, 1, 4), source_label, torch.zeros(1, 3, 1, 4), target_pseudo, segment)
    d = out.diagnostics()
    assert d["pasted_pixels"] == 2 and d["pasted_recognised"] == 0.0
    assert (d["pasted_head"], d["pasted_right"], d["pasted_ignored"], d["pasted_other_tail"]) == (1.0, 0.0, 0.0, 0.0)

    def sign_segmenter(images):                      # right at the sign, a pole where the pole is: both recognised
        logits = torch.full((len(images), 19, 1, 4), -10.0)
        logits[:, 7, :, 0], logits[:, 5, :, 1], logits[:, 0, :, 2:] = 10.0, 10.0, 10.0
        return logits

    d = transfer_batch(torch.ones(1, 3, 1, 4), source_label, torch.zeros(1, 3, 1, 4), target_pseudo,
                       sign_segmenter).diagnostics()
    assert d["pasted_recognised"] == 1.0 and d["pasted_right"] == 1.0 and d["pasted_head"] == 0.0
    nothing = transfer_batch(torch.ones(1, 3, 1, 4), source_label, torch.zeros(1, 3, 1, 4), target_pseudo, segment,
                             gate=torch.tensor([False])).diagnostics()
    assert nothing["pasted_pixels"] == 0 and nothing["pasted_recognised"] != nothing["pasted_recognised"]   # nan


def test_connected_components_split_objects_and_join_diagonals():
    from zsct_lib.content_transfer import connected_components

    mask = torch.tensor([[[1, 1, 0, 0, 1],
                          [0, 0, 0, 0, 1],
                          [0, 1, 0, 0, 0],
                          [0, 0, 1, 0, 0]]], dtype=torch.bool)
    ids = connected_components(mask)
    assert (ids[~mask] == 0).all() and (ids[mask] > 0).all()
    assert ids[0, 0, 0] == ids[0, 0, 1]                        # one object
    assert ids[0, 0, 4] == ids[0, 1, 4]                        # another, vertical
    assert ids[0, 2, 1] == ids[0, 3, 2]                        # diagonal neighbours join
    assert len({int(ids[0, 0, 0]), int(ids[0, 0, 4]), int(ids[0, 2, 1])}) == 3


def test_whole_objects_paste_entire_objects_unless_they_cover_target_tail():
    """A sign object of 3 pixels whose middle lands on an ignored target pixel: eq 15 pastes the two
    pixels over confident head (a sliver), the whole-object rule all three. A bicycle object over a
    target pixel already called a tail class stays out under both."""
    from zsct_lib.content_transfer import transfer_mask, whole_object_mask

    source_label = torch.tensor([[[7, 7, 7, 0, 18, 18]]])
    target_pseudo = torch.tensor([[[0, 255, 0, 0, 0, 5]]])     # head, ignored, head, head, head, pole
    assert transfer_mask(source_label, target_pseudo).tolist() == [[[True, False, True, False, True, False]]]
    assert whole_object_mask(source_label, target_pseudo).tolist() == [[[True, True, True, False, False, False]]]

    def segment(images):
        return torch.zeros(len(images), 19, 1, 6)

    whole = transfer_batch(torch.ones(1, 3, 1, 6), source_label, torch.zeros(1, 3, 1, 6), target_pseudo, segment,
                           objects="whole")
    assert whole.mask.tolist() == [[[True, True, True, False, False, False]]]
    with pytest.raises(ValueError, match="objects"):
        transfer_batch(torch.ones(1, 3, 1, 6), source_label, torch.zeros(1, 3, 1, 6), target_pseudo, segment,
                       objects="all")
