"""Evaluation: confusion matrix, IoU per class, mIoU and mIoU_tail under the 19/16/13-class protocols."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassConfusionMatrix
from torchmetrics.functional.classification import multiclass_confusion_matrix

from .labels import CLASS_NAMES, IGNORE_INDEX, TAIL_CLASSES, protocol_classes
from .pseudo import mpt_pseudo_label, pseudo_label_counts, pseudo_label_quality


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """[K,K] pixel counts, rows = truth, columns = prediction, over pixels whose truth is not ignored.

    pred, target: long [...] of the same shape (e.g. [B,H,W]).
    """
    if pred.shape != target.shape:
        raise ValueError(f"confusion_matrix: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    return multiclass_confusion_matrix(pred.long().flatten(), target.long().flatten(), num_classes,
                                       ignore_index=ignore_index, validate_args=False).long()


def iou_per_class(cm) -> np.ndarray:
    """IoU_c = TP / (TP + FP + FN) from a confusion matrix [K,K]; nan where a class is absent from both."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    tp = np.diag(cm)
    denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, tp / denominator, np.nan)


def mean_iou(iou, classes=None) -> float:
    """Mean of the IoUs of `classes` (default all) that are not nan; nan if all are."""
    values = np.asarray(iou, dtype=np.float64)
    if classes is not None:
        values = values[list(classes)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def miou_tail(iou, protocol: str = "19") -> float:
    """Mean IoU of the tail classes scored by the protocol."""
    scored = set(protocol_classes(protocol))
    return mean_iou(iou, [c for c in TAIL_CLASSES if c in scored])


def _ratio(numerator, denominator, digits: int = 3):
    return None if denominator <= 0 else round(float(numerator) / float(denominator), digits)


def tail_bias(cm, protocol: str = "19") -> dict:
    """The regime a model runs in, from a confusion matrix [K,K] (rows truth, columns prediction):
    how many tail pixels it predicts against how many there are, and how well.

    Returns {"predicted_over_true": {tail class: predicted / true pixels}, "tail_predicted_over_true"
    (over the tail as a whole), "tail_precision", "tail_recall" (right tail predictions over all tail
    predictions / over all true tail pixels, in %), "road_iou" (%)}. A ratio above 1 over-predicts the
    tail; the paper's premise is a model biased toward the head, below 1."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    tail = [c for c in TAIL_CLASSES if c in set(protocol_classes(protocol))]
    predicted, true, right = cm.sum(axis=0), cm.sum(axis=1), np.diag(cm)
    iou = iou_per_class(cm)
    return {
        "predicted_over_true": {CLASS_NAMES[c]: _ratio(predicted[c], true[c]) for c in tail},
        "tail_predicted_over_true": _ratio(predicted[tail].sum(), true[tail].sum()),
        "tail_precision": None if predicted[tail].sum() <= 0 else round(100 * right[tail].sum() / predicted[tail].sum(), 2),
        "tail_recall": None if true[tail].sum() <= 0 else round(100 * right[tail].sum() / true[tail].sum(), 2),
        "road_iou": None if math.isnan(iou[0]) else round(100 * float(iou[0]), 2),
    }


def summarize(cm, protocol: str = "19", resolution=None) -> dict:
    """Confusion matrix -> {"protocol", "miou", "miou_tail", "per_class": {name: IoU}, "bias" (`tail_bias`),
    "confusion_matrix", ...}; IoU in %."""
    iou = iou_per_class(cm)
    classes = protocol_classes(protocol)
    as_percent = lambda v: None if math.isnan(v) else round(100.0 * v, 2)  # noqa: E731
    return {
        "protocol": f"{protocol}-class",
        "miou": as_percent(mean_iou(iou, classes)),
        "miou_tail": as_percent(miou_tail(iou, protocol)),
        "per_class": {CLASS_NAMES[c]: as_percent(float(iou[c])) for c in classes},
        "bias": tail_bias(cm, protocol),
        "resolution": list(resolution) if resolution else None,
        "pixels": int(np.asarray(cm).sum()),
        "confusion_matrix": np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm).astype(np.int64).tolist(),
    }


@torch.no_grad()
def predict_labels(model, images: torch.Tensor, size) -> torch.Tensor:
    """Argmax prediction upsampled to `size` (the label's own size): images [B,3,h,w] -> [B,H,W]."""
    logits = model.predict(images)
    if tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
    return logits.argmax(dim=1)


@torch.no_grad()
def evaluate(model, loader, num_classes: int = 19, protocol: str = "19", device="cpu", max_images: int = 0,
             progress: bool = False) -> dict:
    """Score a model on a labelled loader of (image [B,3,h,w], label [B,H,W]); predictions are upsampled
    to the label size. Uses torchmetrics' confusion matrix, which sums across ranks under DDP."""
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    metric = MulticlassConfusionMatrix(num_classes, ignore_index=IGNORE_INDEX, validate_args=False).to(device)
    seen, resolution = 0, None
    for images, labels in tqdm(loader, desc="eval", disable=not progress, leave=False):
        images, labels = images.to(device), labels.to(device)
        resolution = tuple(images.shape[-2:])
        metric.update(predict_labels(model, images, labels.shape[-2:]), labels)
        seen += images.shape[0]
        if max_images and seen >= max_images:
            break
    model.train(was_training)
    return summarize(metric.compute().long().cpu(), protocol, resolution)


@torch.no_grad()
def pseudo_label_diagnostics(model, loader, num_classes: int, quantile: float = 0.5, cap: float = 0.9, device="cpu",
                             max_images: int = 100, protocol: str = "19") -> dict:
    """Eq 12's MPT pseudo labels of the model on labelled target training images, scored against their
    labels (for diagnosis only): {"per_class": {class: {"precision", "coverage"}}, "tail_precision",
    "tail_coverage", "head_coverage"} in %, means over the protocol's tail and non-tail classes.
    loader yields (image [B,3,h,w], label [B,h,w]) at the training resolution."""
    was_training = model.training
    model.eval()
    totals = {key: np.zeros(num_classes, dtype=np.int64) for key in ("correct", "pseudo", "true")}
    seen = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model.predict(images)
        if tuple(logits.shape[-2:]) != tuple(labels.shape[-2:]):
            logits = F.interpolate(logits, size=tuple(labels.shape[-2:]), mode="bilinear", align_corners=False)
        pseudo = mpt_pseudo_label(F.softmax(logits.float(), dim=1), quantile, cap)
        for key, value in pseudo_label_counts(pseudo, labels, num_classes).items():
            totals[key] += value
        seen += images.shape[0]
        if max_images and seen >= max_images:
            break
    model.train(was_training)
    classes = protocol_classes(protocol)
    per_class = pseudo_label_quality(totals, CLASS_NAMES, classes)
    tail = [CLASS_NAMES[c] for c in classes if c in TAIL_CLASSES]
    head = [CLASS_NAMES[c] for c in classes if c not in TAIL_CLASSES]
    mean = lambda names, key: (round(float(np.mean(values)), 2) if (values := [  # noqa: E731
        per_class[n][key] for n in names if per_class[n][key] is not None]) else None)
    return {"images": seen, "per_class": per_class, "tail_precision": mean(tail, "precision"),
            "tail_coverage": mean(tail, "coverage"), "head_precision": mean(head, "precision"),
            "head_coverage": mean(head, "coverage")}


def format_results(results: dict, title: str = "") -> str:
    """A plain-text table of per-class IoU, mIoU and mIoU_tail that names the protocol."""
    lines = [f"{title} ({results['protocol']} protocol, scored at {results.get('resolution')})".strip()]
    for name, value in results["per_class"].items():
        mark = " (tail)" if CLASS_NAMES.index(name) in TAIL_CLASSES else ""
        lines.append(f"  {name + mark:<22} {'-' if value is None else f'{value:6.2f}'}")
    lines.append(f"  {'mIoU':<22} {results['miou']}")
    lines.append(f"  {'mIoU_tail':<22} {results['miou_tail']}")
    bias = results.get("bias")
    if bias:
        lines.append(f"  tail pixels predicted / true: {bias['tail_predicted_over_true']} ("
                     + ", ".join(f"{name.replace('traffic ', '')} {ratio}" for name, ratio in bias["predicted_over_true"].items())
                     + f"); tail precision {bias['tail_precision']}%, recall {bias['tail_recall']}%; road IoU {bias['road_iou']}")
    return "\n".join(lines)


# ---- style and translation: does the code steer the generator, how faithful are the translations ----

def psnr(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of [0, 1] images, per image: [B,3,H,W] x2 -> [B]."""
    mse = ((image.float() - reference.float()) ** 2).flatten(1).mean(dim=1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def resolution_bound_psnr(images: torch.Tensor, stride: int) -> float:
    """PSNR in dB of [0, 1] images [B,3,H,W] against themselves averaged over stride x stride blocks
    and bilinearly upsampled back: what a reconstruction that keeps everything at `stride` (the
    content map's resolution) and nothing finer would score. A reference for `psnr_rec_*`."""
    coarse = F.avg_pool2d(images.float(), stride)
    smooth = F.interpolate(coarse, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return float(psnr(smooth, images).mean())


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


@torch.no_grad()
def style_measurements(model, source_images: torch.Tensor, target_images: torch.Tensor, batch_size: int = 16) -> dict:
    """Whether the style codes steer the generators, and how well the generators reconstruct.

    source_images Is [N,3,H,W], target_images It [M,3,H,W] in [0, 1] (e.g. target val). Returns:
    - style_effect: mean |Gt(Et(It_j), Ec(Is_i)) - Gt(0, Ec(Is_i))| over pairs (i, j = i mod M): how
      much the target code changes the translated image (0: the generator ignores the code);
      style_effect_source likewise for Gs with Es(Is) on target content;
    - colour_correlation: for each channel, the Pearson correlation over target images j between the
      mean colour of Gt(Et(It_j), Ec(Is_0)) and that of It_j (does the translation take the colour
      of the style image?), averaged over the 3 channels (per channel in colour_correlation_per_channel);
    - own_other_ratio_source = mean |Es(Is)| / mean |Es(It)|, own_other_ratio_target = mean |Et(It)| /
      mean |Et(Is)| (the zero loss, eq 5, pushes the other domain's code to 0);
    - psnr_rec_source / psnr_rec_target: reconstruction PSNR of Gs(Es(Is), Ec(Is)) and Gt(Et(It), Ec(It)), dB;
    - psnr_bound_source / psnr_bound_target: `resolution_bound_psnr` of the same images at the content
      map's stride (a reconstruction that keeps only what the content map's grid can hold, smoothly).
    """
    was_training = model.training
    model.eval()

    def encode(images):
        parts = [model.encode(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        stem = torch.cat([p[0] for p in parts])
        content = torch.cat([p[1] for p in parts])
        return stem, content

    stem_s, content_s = encode(source_images)
    stride = source_images.shape[-1] // content_s.shape[-1]
    stem_t, content_t = encode(target_images)
    code_ss, code_st = model.style_source(stem_s), model.style_source(stem_t)      # Es(Is), Es(It)
    code_tt, code_ts = model.style_target(stem_t), model.style_target(stem_s)      # Et(It), Et(Is)
    n, m = len(source_images), len(target_images)
    pair_t = torch.arange(n) % m
    pair_s = torch.arange(m) % n
    s2t = model.gen_target(code_tt[pair_t], content_s)
    s2t_zero = model.gen_target(torch.zeros_like(code_tt[pair_t]), content_s)
    t2s = model.gen_source(code_ss[pair_s], content_t)
    t2s_zero = model.gen_source(torch.zeros_like(code_ss[pair_s]), content_t)
    one_content = content_s[:1].expand(m, *content_s.shape[1:])
    styled = model.gen_target(code_tt, one_content)                                # Gt(Et(It_j), Ec(Is_0))
    colour_of_style = target_images.float().mean(dim=(2, 3)).cpu().numpy()        # [M,3]
    colour_of_output = styled.float().mean(dim=(2, 3)).cpu().numpy()
    rec_s = model.gen_source(code_ss, content_s)
    rec_t = model.gen_target(code_tt, content_t)
    model.train(was_training)
    size = lambda code: float(code.abs().mean())  # noqa: E731
    per_channel = [_pearson(colour_of_output[:, c], colour_of_style[:, c]) for c in range(3)]
    return {
        "style_effect": float((s2t - s2t_zero).abs().mean()),
        "style_effect_source": float((t2s - t2s_zero).abs().mean()),
        "colour_correlation": float(np.mean(per_channel)),
        "colour_correlation_per_channel": per_channel,
        "code_size": {"Es(Is)": size(code_ss), "Es(It)": size(code_st), "Et(It)": size(code_tt), "Et(Is)": size(code_ts)},
        "own_other_ratio_source": size(code_ss) / max(size(code_st), 1e-12),
        "own_other_ratio_target": size(code_tt) / max(size(code_ts), 1e-12),
        "psnr_rec_source": float(psnr(rec_s, source_images).mean()),
        "psnr_rec_target": float(psnr(rec_t, target_images).mean()),
        "content_stride": stride,
        "psnr_bound_source": resolution_bound_psnr(source_images, stride),
        "psnr_bound_target": resolution_bound_psnr(target_images, stride),
    }


def benchmark_style_variation(benchmark, split: str = "target_val", images: int = 32, height: int = 64,
                              width: int = 128, seed: int = 0, drawn: torch.Tensor | None = None,
                              mean_style: torch.Tensor | None = None) -> float:
    """Mean |I_j - I_j(mean style)| over the first `images` scenes of a split, on [0, 1] images: how far
    each image's own exposure and white balance move it from the same scene in its domain's mean style.
    A generator whose code carried exactly that, with the zero code drawing the mean style, would
    score this as its `style_effect`. drawn / mean_style: those scenes [images,3,H,W], in their own and in
    the mean style, when already drawn."""
    from .data import StreetScenes
    from .data.benchmark import without_style_jitter

    if drawn is None:
        own = StreetScenes(split, benchmark, images, height, width, seed)
        drawn = torch.stack([own[i][0] for i in range(images)])
    if mean_style is None:
        flat = StreetScenes(split, without_style_jitter(benchmark), images, height, width, seed)
        mean_style = torch.stack([flat[i][0] for i in range(images)])
    return float((drawn - mean_style).abs().mean())


@torch.no_grad()
def style_paths(model, target_images: torch.Tensor, mean_style_images: torch.Tensor) -> dict:
    """Which path carries each target image's own style into Gt's reconstruction (eq 11): the style code
    or the content map.

    target_images It [N,3,H,W] and mean_style_images It0 [N,3,H,W]: the same scenes, in their own style
    and in their domain's mean style (`without_style_jitter`), on [0, 1]. With c, c0 the content maps
    Ec(It), Ec(It0) and z, z0 the codes Et(It), Et(It0), returns mean absolute differences:
    - style_through_code: |Gt(z, c0) - Gt(z0, c0)|, the image's own style carried by the code alone;
    - style_through_content: |Gt(z0, c) - Gt(z0, c0)|, carried by the content map alone;
    - style_through_both: |Gt(z, c) - Gt(z0, c0)|, the reconstruction's own style (compare |It - It0|).
    A content map that separated content from style would carry none of it."""
    model.eval()
    stem, content, _ = model.encode(target_images)
    stem0, content0, _ = model.encode(mean_style_images)
    code, code0 = model.style_target(stem), model.style_target(stem0)
    reference = model.gen_target(code0, content0)
    return {"style_through_code": float((model.gen_target(code, content0) - reference).abs().mean()),
            "style_through_content": float((model.gen_target(code0, content) - reference).abs().mean()),
            "style_through_both": float((model.gen_target(code, content) - reference).abs().mean())}


def benchmark_style_measurements(model, data_cfg, images: int = 32) -> dict:
    """`style_measurements` on the first `images` source-train and target-val scenes of the embedded
    benchmark of `data_cfg` (a DataConfig: variant, seed, size), with the benchmark's own per-image style
    variation of those target scenes (`benchmark_style_variation`) as "style_variation_target", and which
    path carries that variation into the reconstruction (`style_paths`)."""
    from .data import StreetScenes, scenes_benchmark
    from .data.benchmark import without_style_jitter

    d = data_cfg
    benchmark = scenes_benchmark(d)         # with data.style_jitter_scale applied
    source = StreetScenes("source_train", benchmark, images, d.height, d.width, d.seed)
    target = StreetScenes("target_val", benchmark, images, d.height, d.width, d.seed)
    flat = StreetScenes("target_val", without_style_jitter(benchmark), images, d.height, d.width, d.seed)
    target_images = torch.stack([target[i][0] for i in range(images)])
    mean_style = torch.stack([flat[i][0] for i in range(images)])
    measured = style_measurements(model, torch.stack([source[i][0] for i in range(images)]), target_images)
    measured["style_variation_target"] = benchmark_style_variation(benchmark, drawn=target_images, mean_style=mean_style)
    measured.update(style_paths(model, target_images, mean_style))
    return measured
