"""What the notebooks compute to look at the method: numbers and tensors, never a picture.

No matplotlib and no ipywidgets here: `plotting` draws these results and `widgets` wraps a few of
them in interactive views. Everything else is a call into the library's own functions (eq 12 in
`pseudo`, eqs 13-17 in `content_transfer`, the placement in `context_transfer`, the scores in
`evaluation`).

* running a model once: `predict_logits`, `predict_probabilities`, `stack_split`, `translate_pair`
  (every image of eqs 1-4 and 11);
* the embedded benchmark's knobs: `scene_with_knobs`;
* style codes: `project_2d` (PCA);
* pseudo labels (notebook 04): `pseudo_label_quality`, `fixed_threshold_pseudo_label`, `threshold_curves`;
* sentences from the numbers (04, 07): `tail_bias_sentence`, `tail_change_sentence`, `confusion_sentence`,
  `study_findings`;
* content transfer (notebook 05): `pick_sources`, `pick_transfer_example`, `context_transfer`, `landing_statistics`,
  `pick_context_example`;
* evaluation (notebook 07): `per_image_scores`, `ablation_comparison`, `ablation_tables`;
* checkpoints (notebook 06): `checkpoints_equal`, `largest_weight_difference`.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import read_checkpoint
from ..content_transfer import transfer_mask
from ..context_transfer import align_to_target_ground, ground_top_row, standing_on_ground
from ..evaluation import confusion_matrix, summarize
from ..labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, SKY, TAIL_CLASSES, TWO_WHEELER_CLASSES, isin_classes
from ..pseudo import mpt_pseudo_label

# ================================================================== running a model once


@torch.no_grad()
def predict_logits(model, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Gc(Ec(I)) for images [N,3,H,W] -> logits [N,K,H,W], in batches, without gradients, in the
    model's current mode (the views put it in eval mode first)."""
    return torch.cat([model.predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


@torch.no_grad()
def predict_probabilities(model, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Softmax of Gc(Ec(I)) for images [N,3,H,W] -> [N,K,H,W], in batches, the model in eval mode."""
    was_training = model.training
    model.eval()
    probs = torch.cat([F.softmax(model.predict(images[i:i + batch_size]), dim=1)
                       for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return probs


def stack_split(dataset, indices) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images [N,3,H,W] (and labels [N,H,W] when the split is labelled) of some items of a dataset."""
    items = [dataset[i] for i in indices]
    if isinstance(items[0], torch.Tensor):
        return torch.stack(items), None
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


@torch.no_grad()
def translate_pair(model, source: torch.Tensor, target: torch.Tensor) -> dict:
    """Every image of eqs 1-4 and 11 for source images Is and target images It ([B,3,H,W] or [3,H,W]):

    Is2t = Gt(Et(It), Ec(Is)) (1), It2s = Gs(Es(Is), Ec(It)) (2), Is2t2s = Gs(Es(It2s), Ec(Is2t)) (3),
    It2s2t = Gt(Et(Is2t), Ec(It2s)) (4), Is2s = Gs(Es(Is), Ec(Is)) and It2t = Gt(Et(It), Ec(It)) (11);
    the inputs under "Is" and "It". The computations of `training.generator_losses`, without
    gradients, in whatever mode the model is in (call `model.eval()` first to look at a trained model).
    Source and target batches pair up image by image.
    """
    single = source.ndim == 3
    Is, It = (source[None], target[None]) if single else (source, target)
    stem_s, content_s, _ = model.encode(Is)
    stem_t, content_t, _ = model.encode(It)
    style_s, style_t = model.style_source(stem_s), model.style_target(stem_t)
    out = {"Is": Is, "It": It}
    out["Is2t"] = model.gen_target(style_t, content_s)
    out["It2s"] = model.gen_source(style_s, content_t)
    stem_s2t, content_s2t, _ = model.encode(out["Is2t"])
    stem_t2s, content_t2s, _ = model.encode(out["It2s"])
    out["Is2t2s"] = model.gen_source(model.style_source(stem_t2s), content_s2t)
    out["It2s2t"] = model.gen_target(model.style_target(stem_s2t), content_t2s)
    out["Is2s"] = model.gen_source(style_s, content_s)
    out["It2t"] = model.gen_target(style_t, content_t)
    return {k: v[0] for k, v in out.items()} if single else out


# ================================================================== the embedded benchmark's knobs


def _knob_fields():
    from ..data.benchmark import SceneGeometry, SceneStyle

    return ({f.name for f in dataclasses.fields(SceneStyle)}, {f.name for f in dataclasses.fields(SceneGeometry)})


def scene_with_knobs(benchmark="gta_like", domain: str = "target", index: int = 0, height: int = 128,
                     width: int = 256, seed: int = 0, **knobs):
    """One scene of the embedded benchmark with some knobs turned: (image uint8 [H, W, 3], label uint8 [H, W]).

    `knobs` are fields of the domain's SceneStyle (exposure, saturation, hue_shift, haze, noise, ...)
    or SceneGeometry (horizon, camera_height, focal, object_scale, ...); the others keep the domain's
    values. The layout of the scene does not depend on them, so one scene can be redrawn knob by knob.
    """
    from ..data.benchmark import generate_scene, get_benchmark

    style_fields, geometry_fields = _knob_fields()
    unknown = sorted(set(knobs) - style_fields - geometry_fields)
    if unknown:
        raise ValueError(f"unknown knob(s) {unknown}: SceneStyle has {sorted(style_fields)}, "
                         f"SceneGeometry has {sorted(geometry_fields)}")
    config = get_benchmark(benchmark)
    dom = config.domain(domain)
    dom = dataclasses.replace(
        dom, style=dataclasses.replace(dom.style, **{k: v for k, v in knobs.items() if k in style_fields}),
        geometry=dataclasses.replace(dom.geometry, **{k: v for k, v in knobs.items() if k in geometry_fields}))
    config = dataclasses.replace(config, **{domain: dom})
    return generate_scene(config, domain, seed, index, height, width)


# ================================================================== style codes


def project_2d(codes, return_explained: bool = False):
    """PCA to 2-D: codes [N, S] (tensor or array) -> float64 [N, 2], centred, along the two directions
    of largest variance (numpy SVD). Each axis's sign is fixed (its largest loading positive), so a
    picture is the same on every run. With `return_explained`, also the share of variance per axis."""
    x = np.asarray(codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    axes = vt[:2].copy()
    while axes.shape[0] < 2:  # a code of one dimension: the second axis is flat
        axes = np.vstack([axes, np.zeros((1, x.shape[1]))])
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    points = x @ axes.T
    if not return_explained:
        return points
    variance = singular ** 2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return points, np.pad(explained, (0, 2 - len(explained)))


# ================================================================== notebook 04: MPT pseudo labels


def pseudo_label_quality(pseudo: torch.Tensor, truth: torch.Tensor, num_classes: int = NUM_CLASSES) -> dict:
    """How good a pseudo label is against the true label (for teaching: training never sees target labels).

    Over pixels with a true label (not 255):
    * coverage: share that receives a pseudo label (is not ignored);
    * accuracy: share of the pseudo-labelled ones whose pseudo label is right;
    * correct: share that receives the right pseudo label (coverage x accuracy);
    * class_coverage[k]: share of class k's pixels that receive the right pseudo label k (the
      supervision class k gets); class_accuracy[k]: share of pixels labelled k that truly are k;
    * class_pixels[k]: true pixels of class k; pseudo_pixels[k]: pixels pseudo-labelled k.
    Classes without pixels get nan.
    """
    pseudo, truth = torch.as_tensor(pseudo).flatten().long(), torch.as_tensor(truth).flatten().long()
    valid = truth != IGNORE_INDEX
    pseudo, truth = pseudo[valid], truth[valid]
    labelled = pseudo != IGNORE_INDEX
    right = labelled & (pseudo == truth)
    class_pixels = torch.bincount(truth, minlength=num_classes)[:num_classes].double()
    pseudo_pixels = torch.bincount(pseudo[labelled], minlength=num_classes)[:num_classes].double()
    right_pixels = torch.bincount(truth[right], minlength=num_classes)[:num_classes].double()
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    return {
        "coverage": float(labelled.double().mean()) if truth.numel() else float("nan"),
        "correct": float(right.double().mean()) if truth.numel() else float("nan"),
        "accuracy": float(right.sum() / labelled.sum()) if labelled.any() else float("nan"),
        "class_coverage": torch.where(class_pixels > 0, right_pixels / class_pixels.clamp_min(1), nan).numpy(),
        "class_accuracy": torch.where(pseudo_pixels > 0, right_pixels / pseudo_pixels.clamp_min(1), nan).numpy(),
        "class_pixels": class_pixels.numpy(),
        "pseudo_pixels": pseudo_pixels.numpy(),
    }


def fixed_threshold_pseudo_label(prob: torch.Tensor, threshold: float) -> torch.Tensor:
    """One confidence threshold for every class (BDL's offline rule at a fixed value), through eq 12:
    with quantile 0 each class's value is its largest probability, so only the cap `threshold` binds."""
    return mpt_pseudo_label(prob, quantile=0.0, cap=threshold)


def threshold_curves(prob: torch.Tensor, truth: torch.Tensor, thresholds=None) -> dict:
    """Per-class coverage and accuracy of fixed-threshold pseudo labels, for each threshold in a grid.

    prob [N,K,H,W], truth [N,H,W] -> {"thresholds": [T], "class_coverage": [T,K], "class_accuracy": [T,K],
    "coverage": [T], "accuracy": [T], "correct": [T], "class_pixels": [K]}.
    """
    thresholds = np.round(np.linspace(0.0, 0.95, 20), 3) if thresholds is None else np.asarray(thresholds)
    rows = [pseudo_label_quality(fixed_threshold_pseudo_label(prob, float(t)), truth, prob.shape[1]) for t in thresholds]
    return {"thresholds": thresholds,
            "class_coverage": np.stack([r["class_coverage"] for r in rows]),
            "class_accuracy": np.stack([r["class_accuracy"] for r in rows]),
            "coverage": np.array([r["coverage"] for r in rows]),
            "accuracy": np.array([r["accuracy"] for r in rows]),
            "correct": np.array([r["correct"] for r in rows]),
            "class_pixels": rows[0]["class_pixels"]}


# ================================================================== sentences from the numbers
# The notebooks print these beside their tables: what a model does with the tail is read from its
# outputs, never written in by hand (a retrained model may do the opposite).


def tail_share(pixels) -> float:
    """Percent of the pixels in a per-class count [K] that belong to a tail class (nan when there are none)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    total = pixels.sum()
    return float("nan") if total == 0 else 100.0 * float(pixels[list(TAIL_CLASSES)].sum()) / total


def _rate(ratio: float) -> str:
    """How a predicted share compares with the true one, in words."""
    if not np.isfinite(ratio):
        return "there are no tail pixels to compare with"
    if ratio >= 1.1:
        return f"it predicts the tail {ratio:.1f} times as often as it occurs (over-predicts it)"
    if ratio <= 0.9:
        return f"it predicts the tail at {ratio:.2f} of the rate it occurs at (under-predicts it)"
    return f"it predicts the tail about as often as it occurs ({ratio:.2f} times)"


def tail_bias_sentence(name: str, quality: dict) -> str:
    """What `name`'s pseudo labels do with the tail, from `pseudo_label_quality`: their tail share against
    the true one, and which tail classes get more pseudo-label pixels than they have true pixels, e.g.
    "NonAdapt's pseudo labels are 7.06% tail against 2.07% true tail pixels: it predicts the tail 3.4
    times as often as it occurs (over-predicts it) (...)"."""
    true, pseudo = tail_share(quality["class_pixels"]), tail_share(quality["pseudo_pixels"])
    over = [CLASS_NAMES[c] for c in TAIL_CLASSES if quality["pseudo_pixels"][c] > quality["class_pixels"][c] > 0]
    under = [CLASS_NAMES[c] for c in TAIL_CLASSES if 0 < quality["pseudo_pixels"][c] <= quality["class_pixels"][c]
             or (quality["pseudo_pixels"][c] == 0 < quality["class_pixels"][c])]
    classes = []
    if over:
        classes.append(f"more pseudo-label pixels than true pixels: {', '.join(over)}")
    if under:
        classes.append(f"fewer: {', '.join(under)}")
    return (f"{name}'s pseudo labels are {pseudo:.2f}% tail against {true:.2f}% true tail pixels: "
            f"{_rate(pseudo / true if true > 0 else float('nan'))}"
            + (f" ({'; '.join(classes)})." if classes else "."))


def tail_change_sentence(start_name: str, start: dict, end_name: str, end: dict) -> str:
    """How the tail's share of the pseudo labels and each tail class's coverage move from one model's
    `pseudo_label_quality` to another's (the same images)."""
    before, after = tail_share(start["pseudo_pixels"]), tail_share(end["pseudo_pixels"])
    verb = "rises" if after > before else "falls" if after < before else "stays"
    rose = [CLASS_NAMES[c] for c in TAIL_CLASSES if end["class_coverage"][c] > start["class_coverage"][c]]
    fell = [CLASS_NAMES[c] for c in TAIL_CLASSES if end["class_coverage"][c] < start["class_coverage"][c]]
    moves = [f"rises for {', '.join(rose)}" if rose else "", f"falls for {', '.join(fell)}" if fell else ""]
    return (f"From {start_name} to {end_name} the tail's share of the MPT pseudo labels {verb} from {before:.2f}% "
            f"to {after:.2f}% (true share {tail_share(end['class_pixels']):.2f}%); the coverage of a tail class "
            + (" and ".join(m for m in moves if m) or "does not change") + ".")


def confusion_sentence(name: str, cm) -> str:
    """Where a model's tail goes, from its confusion matrix [K,K] (rows truth, columns prediction): how
    many pixels it predicts as tail against the true tail pixels, the share of true tail pixels it gives to
    a head class, and the share of its tail predictions that are head pixels."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    tail = np.zeros(len(cm), bool)
    tail[[c for c in TAIL_CLASSES if c < len(cm)]] = True
    true_tail, predicted_tail = cm[tail].sum(), cm[:, tail].sum()
    if true_tail == 0:
        return f"{name}: no true tail pixel in these images."
    right = np.trace(cm[np.ix_(tail, tail)] * np.eye(tail.sum()))
    to_head = cm[np.ix_(tail, ~tail)].sum()
    from_head = cm[np.ix_(~tail, tail)].sum()
    return (f"{name} predicts {int(predicted_tail)} pixels as tail against {int(true_tail)} true tail pixels: "
            f"{_rate(predicted_tail / true_tail)}. Of the true tail pixels {100 * right / true_tail:.0f}% get "
            f"their own class and {100 * to_head / true_tail:.0f}% a head class; of the pixels it predicts as "
            f"tail, {100 * from_head / max(predicted_tail, 1):.0f}% are head pixels.")


def style_steering_sentence(name: str, measured: dict, effect: float = 0.01, correlation: float = 0.5) -> str:
    """Whether a model's target code steers its generator, from `evaluation.style_measurements`: a style
    effect above `effect` (on [0, 1] images) and a colour correlation above `correlation` say it does."""
    e, c = measured["style_effect"], measured["colour_correlation"]
    steers = e > effect and c > correlation
    return (f"{name}: the code {'steers' if steers else 'does not steer'} its generator (style effect {e:.3f}, "
            f"colour correlation {c:.2f}); own/other ratios Es {measured['own_other_ratio_source']:.1f}, "
            f"Et {measured['own_other_ratio_target']:.1f}.")


def step_sentence(summary: dict, row: str, baseline: str, key: str = "miou") -> str | None:
    """One step of a study (`baseline` -> `row`) on `key`, from its per-seed paired differences, in words."""
    from ..experiments.paired import paired_difference

    d = paired_difference(summary, row, baseline, key)
    if d is None:
        return None
    label = "mIoU_tail" if key == "miou_tail" else "mIoU"
    interval = "" if d.low is None else f", 95% interval {d.low:+.1f} to {d.high:+.1f}"
    verdict = {"higher": "raises", "lower": "lowers", "no difference shown": "does not measurably change",
               "one seed": "changes"}[d.verdict()]
    return f"{baseline} -> {row} {verdict} {label} ({d.mean:+.1f} points{interval}, {len(d.diffs)} seeds)"


def study_findings(summary: dict) -> str:
    """What an ablation study (`zsct ablate --study`'s ablation.json) finds, in a few sentences: the share
    of the NonAdapt -> Oracle gap the full method closes, and what self-training and content transfer do
    to mIoU and mIoU_tail, each from the per-seed paired differences (experiments.paired_difference)."""
    from ..experiments.paired import gap_closed

    lines = []
    closed, closed_tail = gap_closed(summary, "+Out"), gap_closed(summary, "+Out", "miou_tail")
    if closed is not None:
        lines.append(f"The full method (+Out) closes {100 * closed:.0f}% of the NonAdapt -> Oracle gap in mIoU"
                     + (f" and {100 * closed_tail:.0f}% in mIoU_tail." if closed_tail is not None else "."))
    regime = regime_sentence(summary)
    if regime:
        lines.append(regime)
    for row, baseline, what in (("+ST", "+Cyc", "Self-training"), ("+In", "+ST", "Input-level transfer"),
                                ("+Out", "+ST", "Content transfer (both levels)"),
                                ("+Out context-aware", "+Out", "Context-aware placement")):
        steps = [s for s in (step_sentence(summary, row, baseline, "miou"), step_sentence(summary, row, baseline, "miou_tail")) if s]
        if steps:
            lines.append(f"{what}: " + "; ".join(steps) + ".")
    return "\n".join(f"- {line}" for line in lines) if lines else "- no row of the paper's ablation in this study"


# How far from 1 a start's tail ratio must be, in every seed, to be called a bias either way.
BIAS_MARGIN = 0.1


def regime_sentence(summary: dict, rows=("NonAdapt", "Sty", "+ST", "+Out", "Oracle")) -> str:
    """How many tail pixels each of `rows` predicts on target val against how many there are (mean over
    seeds, `evaluation.tail_bias`), and whether the start is biased toward the head, the paper's premise:
    only when every seed's ratio is below 1 - BIAS_MARGIN (above 1 + BIAS_MARGIN: the opposite bias;
    otherwise neither). Empty for a study whose runs predate the measurement."""
    entries = {e["row"]: e for e in summary["rows"] if e.get("bias", {}).get("tail_predicted_over_true") is not None}
    present = [row for row in rows if row in entries]
    if not present:
        return ""
    ratios = ", ".join(f"{row} {entries[row]['bias']['tail_predicted_over_true']:.2f}" for row in present)
    sentence = f"Tail pixels predicted / true on target val: {ratios}"
    if "Sty" in entries:
        sentence += "; " + _start_bias(entries["Sty"])
    return sentence + "."


def _start_bias(entry: dict) -> str:
    """The start's (Sty's) bias, from its mean ratio and, where the study kept them, its seeds' ratios."""
    mean = entry["bias"]["tail_predicted_over_true"]
    seeds = [s["tail_predicted_over_true"] for s in entry.get("per_seed", [])
             if s.get("tail_predicted_over_true") is not None] or [mean]
    spread = f", {min(seeds):.2f} to {max(seeds):.2f} over {len(seeds)} seeds" if len(seeds) > 1 else ""
    if max(seeds) < 1 - BIAS_MARGIN:
        return f"the start (Sty) is biased toward the head ({mean:.2f} < 1{spread}), the paper's premise"
    if min(seeds) > 1 + BIAS_MARGIN:
        return f"the start (Sty) over-predicts the tail ({mean:.2f} > 1{spread}), the opposite of the paper's premise"
    return (f"the start (Sty) is not biased either way in every seed ({mean:.2f}{spread}; a bias needs every seed below "
            f"{1 - BIAS_MARGIN:.1f} or above {1 + BIAS_MARGIN:.1f}), so the paper's premise, a start biased toward the "
            "head, is not met")


# ================================================================== notebook 05: content transfer


def transfer_sentence(summary: dict, row: str = "+Out") -> str:
    """What a study row's stage 2 pasted (`content_transfer.TransferredBatch.diagnostics`, mean over its steps
    and seeds), in one sentence: pixels per batch and their share, the share the model already labels as
    their source class in It_ct, and eq 17's label mix there under the MPT label of It_ct. Empty when the
    row did not record it."""
    entry = next((e for e in summary["rows"] if e["row"] == row and e.get("transfer")), None)
    if entry is None:
        return ""
    t = entry["transfer"]
    mix = ", ".join(f"{name} {100 * t[key]:.0f}%" for name, key in
                    (("ignored", "pasted_ignored"), ("the right tail class", "pasted_right"),
                     ("another tail class", "pasted_other_tail"), ("a head class", "pasted_head")))
    return (f"{row} pasted {t['pasted_pixels']:.0f} pixels a batch ({100 * t['transfer_fraction']:.2f}% of it); the "
            f"model labelled {100 * t['pasted_recognised']:.0f}% of them as their source class, and the MPT label of "
            f"It_ct there was: {mix}.")


def pick_sources(counts, median: float, above: int = 4, below: int = 2) -> list[int]:
    """Indices of the first `above` images whose tail-pixel count passes the median gate and the first
    `below` that have tail pixels but do not pass (so the gate visibly matters), in index order."""
    counts = np.asarray(counts)
    passing = [int(i) for i in np.nonzero(counts > median)[0][:above]]
    failing = [int(i) for i in np.nonzero((counts > 0) & (counts <= median))[0][:below]]
    return sorted(passing + failing)


def pick_transfer_example(source_labels: torch.Tensor, target_pseudos: torch.Tensor) -> tuple[int, int]:
    """The (source, target) pair whose transfer mask (eq 15) pastes the most pixels: a worked example in
    which the transferred object is big enough to see. Ties go to the first pair in index order."""
    sizes = [[int(transfer_mask(source_labels[s:s + 1], target_pseudos[t:t + 1]).sum())
              for t in range(len(target_pseudos))] for s in range(len(source_labels))]
    s, t = np.unravel_index(int(np.argmax(sizes)), (len(source_labels), len(target_pseudos)))
    return int(s), int(t)


def context_transfer(source_image, source_label, target_pseudo) -> dict:
    """Plain (eqs 15-16) and context-aware transfer masks of one pair, through the library.

    source_image [3,H,W] (Is2t), source_label [H,W], target_pseudo [H,W] -> plain mask; the source
    shifted so its ground starts where the target's does (align_to_target_ground), its mask, and whether
    that mask stands on target ground (standing_on_ground; the trainer drops the pair when it does not).
    """
    image, label, pseudo = source_image[None], source_label[None], target_pseudo[None]
    plain = transfer_mask(label, pseudo)
    shifted_image, shifted_label, shift = align_to_target_ground(image, label, pseudo)
    aligned = transfer_mask(shifted_label, pseudo)
    standing = standing_on_ground(aligned, pseudo)
    sky = target_pseudo == SKY
    return {"plain_mask": plain[0], "plain_standing": bool(standing_on_ground(plain, pseudo)[0]),
            "plain_sky_pixels": int((plain[0] & sky).sum()),
            "aligned_sky_pixels": int((aligned[0] & standing[0] & sky).sum()),
            "shifted_image": shifted_image[0], "shifted_label": shifted_label[0], "shift": int(shift[0]),
            "aligned_mask": aligned[0] & standing[0], "aligned_standing": bool(standing[0]),
            "source_ground_row": float(ground_top_row(label)[0]), "target_ground_row": float(ground_top_row(pseudo)[0])}


def landing_statistics(source_labels: torch.Tensor, target_labels: torch.Tensor) -> dict:
    """Where transferred tail pixels land, plain versus context-aware, for pairs (source i, target i).

    target_labels stand in for the pseudo labels (a perfect segmenter): the numbers then depend on the
    scenes alone. Returns the pairs with something to transfer, how many of them stand on target ground,
    the share of pasted pixels that cover target sky, and the mean absolute shift in rows.
    """
    images = torch.zeros(len(source_labels), 1, *source_labels.shape[-2:])
    plain = transfer_mask(source_labels, target_labels)
    _, shifted, shifts = align_to_target_ground(images, source_labels, target_labels)
    aligned = transfer_mask(shifted, target_labels)
    aligned_standing = standing_on_ground(aligned, target_labels)
    aligned_kept = aligned & aligned_standing.view(-1, 1, 1)
    sky = target_labels == SKY
    has_plain = plain.flatten(1).any(1)
    has_aligned = aligned.flatten(1).any(1)
    share = lambda mask: round(100.0 * float((mask & sky).sum()) / max(int(mask.sum()), 1), 1)  # noqa: E731
    return {"pairs": len(source_labels),
            "plain_pairs": int(has_plain.sum()),
            "plain_standing": int((standing_on_ground(plain, target_labels) & has_plain).sum()),
            "plain_sky_percent": share(plain),
            "aligned_pairs": int(has_aligned.sum()),
            "aligned_standing": int((aligned_standing & has_aligned).sum()),
            "aligned_sky_percent": share(aligned_kept),
            "mean_abs_shift_rows": round(float(shifts.abs().float().mean()), 1)}


def pick_context_example(source_labels, target_pseudos, classes=TWO_WHEELER_CLASSES) -> tuple[int, int]:
    """The (source, target) pair whose plain transfer puts the most pixels of `classes` (default: rider,
    motorcycle, bicycle) over target sky, among pairs whose context-aware transfer stands on ground."""
    best, best_score = (0, 0), -1
    for s in range(len(source_labels)):
        wanted = isin_classes(source_labels[s], classes)
        for t in range(len(target_pseudos)):
            r = context_transfer(torch.zeros(1, *source_labels.shape[-2:]), source_labels[s], target_pseudos[t])
            score = int((r["plain_mask"] & wanted & (target_pseudos[t] == SKY)).sum())
            score = score if r["aligned_standing"] and r["aligned_mask"].any() else -1
            if score > best_score:
                best, best_score = (s, t), score
    return best


# ================================================================== notebook 07: evaluation


def per_image_scores(predictions: torch.Tensor, labels: torch.Tensor, protocol: str = "19") -> list[dict]:
    """evaluation.summarize of each image alone: predictions, labels [N,H,W] -> N summaries."""
    return [summarize(confusion_matrix(p, y, NUM_CLASSES), protocol) for p, y in zip(predictions, labels)]


def ablation_comparison(summary: dict) -> str:
    """Each ablation row's mIoU and mIoU_tail (mean ± std over seeds) beside the paper's published
    numbers for the same row (experiments.PAPER_ABLATION), with the change from the row above along
    the paper's cumulative rows (Sty, +Cyc, +ST, +In, +Out); the other rows are variants, no step."""
    paper = summary.get("paper") or {}
    lines = [f"{'row':<24} {'ours mIoU':>13} {'Δ':>6} {'ours tail':>13} {'Δ':>6} | {'paper mIoU':>10} {'Δ':>5} "
             f"{'paper tail':>10} {'Δ':>5}"]
    previous, previous_paper = None, None
    fmt = lambda m, s: "-" if m is None else f"{m:.1f} ± {s:.1f}"  # noqa: E731
    delta = lambda a, b: "" if a is None or b is None else f"{a - b:+.1f}"  # noqa: E731
    for entry in summary["rows"]:
        name = entry["row"]
        ours = (entry["miou"], entry["miou_tail"])
        theirs = paper.get(name)
        chain = name in ("Sty", "+Cyc", "+ST", "+In", "+Out")
        line = (f"{name:<24} {fmt(entry['miou'], entry['miou_std']):>13} "
                f"{delta(ours[0], previous[0]) if chain and previous else '':>6} "
                f"{fmt(entry['miou_tail'], entry['miou_tail_std']):>13} "
                f"{delta(ours[1], previous[1]) if chain and previous else '':>6} | ")
        if theirs:
            line += (f"{theirs[0]:>10} {delta(theirs[0], previous_paper[0]) if chain and previous_paper else '':>5} "
                     f"{theirs[1]:>10} {delta(theirs[1], previous_paper[1]) if chain and previous_paper else '':>5}")
        else:
            line += f"{'-':>10} {'':>5} {'-':>10}"
        lines.append(line.rstrip())
        if chain:
            previous, previous_paper = ours, theirs
    size = summary.get("image_size")
    lines.append(f"ours: embedded benchmark {summary['benchmark']}, {summary['protocol']} protocol, "
                 + (f"{size[0]}x{size[1]}, " if size else "")
                 + f"{summary['seeds']} seed(s); paper: {paper.get('title', '-')}")
    return "\n".join(lines)


TABLE_COLUMNS = 7          # class columns a table shows beside the row names: readable at 1366 px


def ablation_tables(summary: dict) -> dict:
    """An ablation summary (ablation.json) as narrow tables, title -> pandas DataFrame (one row per
    ablation row): the scores (mean ± std over seeds), then the per-class IoU (mean over seeds) in tables
    of at most TABLE_COLUMNS classes, tail classes first; and, when the runs scored them, their pseudo
    labels' precision and coverage (diagnosis only)."""
    import pandas as pd

    rows = [entry["row"] for entry in summary["rows"]]
    fmt = lambda m, s: "-" if m is None else f"{m:.1f} ± {s:.1f}"  # noqa: E731
    tables = {"scores (%, mean ± std over seeds)": pd.DataFrame(
        {"mIoU": [fmt(e["miou"], e["miou_std"]) for e in summary["rows"]],
         "mIoU_tail": [fmt(e["miou_tail"], e["miou_tail_std"]) for e in summary["rows"]],
         "seeds": [e["seeds"] for e in summary["rows"]]}, index=rows)}
    classes = list(summary["rows"][0]["per_class"])
    tail = [c for c in classes if CLASS_NAMES.index(c) in TAIL_CLASSES]
    head = [c for c in classes if c not in tail]
    mean = lambda v: np.nan if v is None else (v[0] if isinstance(v, (list, tuple)) else v)  # noqa: E731
    groups = [("tail classes", tail)] + [(f"head classes {i // TABLE_COLUMNS + 1}", head[i:i + TABLE_COLUMNS])
                                         for i in range(0, len(head), TABLE_COLUMNS)]
    for title, chosen in groups:
        if chosen:
            tables[f"IoU of the {title} (%, mean over seeds)"] = pd.DataFrame(
                {c: [mean(e["per_class"].get(c)) for e in summary["rows"]] for c in chosen}, index=rows).round(1)
    scored = [(e["row"], e["pseudo_labels"]) for e in summary["rows"] if e.get("pseudo_labels")]
    if scored:
        tables["pseudo labels at the end of training (%, diagnosis only)"] = pd.DataFrame(
            {key.replace("_", " "): [p[key] for _, p in scored]
             for key in ("tail_precision", "tail_coverage", "head_precision", "head_coverage")},
            index=[name for name, _ in scored]).round(0)
    return tables


def pseudo_label_sentence(summary: dict, row: str = "+ST") -> str:
    """What a study row's pseudo labels (scored against the target labels, for diagnosis only) give the tail
    against the head: coverage and precision of both, in one sentence; empty when the row did not score them."""
    entry = next((e for e in summary["rows"] if e["row"] == row and e.get("pseudo_labels")), None)
    if entry is None:
        return ""
    p = entry["pseudo_labels"]
    more = "more" if p["tail_coverage"] > p["head_coverage"] else "less"
    righter = "more" if p["tail_precision"] > p["head_precision"] else "less"
    return (f"{row}'s pseudo labels cover {p['tail_coverage']:.0f}% of the tail's pixels against {p['head_coverage']:.0f}% "
            f"of the head's ({more} of the tail) and are right on {p['tail_precision']:.0f}% of the tail pixels they "
            f"label against {p['head_precision']:.0f}% on the head ({righter} often right on the tail).")


# ================================================================== notebook 06: checkpoints


def checkpoints_equal(path_a, path_b) -> bool:
    """Whether two checkpoints hold exactly the same model weights (every tensor, bit for bit)."""
    a, b = read_checkpoint(path_a)["model"], read_checkpoint(path_b)["model"]
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def largest_weight_difference(path_a, path_b) -> float:
    """The largest absolute difference between the model weights of two checkpoints."""
    a, b = read_checkpoint(path_a)["model"], read_checkpoint(path_b)["model"]
    return max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in a)


__all__ = ["predict_logits", "predict_probabilities", "stack_split", "translate_pair", "scene_with_knobs",
           "project_2d", "pseudo_label_quality", "fixed_threshold_pseudo_label", "threshold_curves",
           "tail_share", "tail_bias_sentence", "tail_change_sentence", "confusion_sentence", "study_findings",
           "ablation_tables", "pseudo_label_sentence", "step_sentence", "style_steering_sentence",
           "pick_sources", "pick_transfer_example", "context_transfer", "landing_statistics", "pick_context_example",
           "per_image_scores", "ablation_comparison", "checkpoints_equal", "largest_weight_difference"]
