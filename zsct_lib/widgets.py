"""Interactive views and their static figures for the notebooks on pseudo labels (04), content transfer
(05) and evaluation (07), plus two helpers for the training notebook (06).

Every view follows one pattern:

* the constructor runs the model once, on a few fixed images, and keeps its outputs;
* ``compute(...)`` answers a choice of the controls by calling library functions on those outputs
  (no network pass: it takes milliseconds);
* ``figure(...)`` draws the answer as a :class:`matplotlib.figure.Figure` (no pyplot), so a notebook
  shows the view at its default values without a kernel;
* ``widget()`` puts ipywidgets controls around ``figure``; ``last`` holds the latest answer.

Figure functions return their figure and never save it; only ``widget()`` displays anything.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .content_transfer import (align_to_target_ground, ground_top_row, head_mask, paste,
                               standing_on_ground, tail_label, tail_pixel_count, transfer_mask)
from .evaluation import confusion_matrix, summarize
from .labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, PALETTE, TAIL_CLASSES, colorize
from .pseudo import class_thresholds, mpt_pseudo_label
from .visual import to_rgb

SKY = CLASS_NAMES.index("sky")

# ================================================================== running the model once


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


# ================================================================== drawing helpers


def _show(ax, picture, title=None, fontsize=8):
    ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def _label_rgb(label) -> np.ndarray:
    return colorize(torch.as_tensor(label).cpu().numpy())


def _mask_rgb(mask, on=(1.0, 1.0, 1.0)) -> np.ndarray:
    mask = torch.as_tensor(mask).cpu().numpy().astype(bool)
    out = np.zeros(mask.shape + (3,), np.float32)
    out[mask] = on
    return out


def _legend(fig, classes, ncol=7, y=0.0, fontsize=7):
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=PALETTE[c] / 255.0, label=CLASS_NAMES[c] + (" *" if c in TAIL_CLASSES else ""))
               for c in classes]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=fontsize, frameon=False,
                   bbox_to_anchor=(0.5, y))


def _percent(value) -> str:
    """An IoU of a summary (a percentage, or None when no pixel of the classes occurs) as text."""
    return "-" if value is None else f"{value:.1f}"


def _present(*labels) -> list[int]:
    seen = set()
    for label in labels:
        seen |= set(torch.as_tensor(label).unique().tolist())
    return [c for c in range(NUM_CLASSES) if c in seen]


def _display_in(output, fig):
    """Show a figure in an ipywidgets Output by setting its outputs directly (one state update).

    Not `with output: display(fig)`: that routes the figure through the kernel's output messages,
    which headless runners (nbclient, nbval) emulate, and one of them was seen to stall on it.
    """
    from IPython import get_ipython

    shell = get_ipython()
    data, metadata = shell.display_formatter.format(fig) if shell is not None else ({"text/plain": repr(fig)}, {})
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


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


def threshold_curves_figure(curves: dict, mpt_quality: dict | None = None, min_pixels: int = 50) -> Figure:
    """Three panels: per-class coverage and accuracy against a fixed threshold (tail classes in colour,
    head classes grey), and each class's share of the true pixels beside its share of the MPT pseudo
    labels (`mpt_quality` from pseudo_label_quality). Classes with fewer than `min_pixels` true pixels
    are left out of the curves."""
    fig = Figure(figsize=(13, 4.1))
    axes = fig.subplots(1, 3)
    t = curves["thresholds"]
    shown = [c for c in range(len(curves["class_pixels"])) if curves["class_pixels"][c] >= min_pixels]
    for c in shown:
        tail = c in TAIL_CLASSES
        style = dict(color=PALETTE[c] / 255.0, lw=2.2, label=CLASS_NAMES[c] + " *") if tail else \
            dict(color="0.82", lw=0.9, label=None)
        axes[0].plot(t, 100 * curves["class_coverage"][:, c], **style)
        axes[1].plot(t, 100 * curves["class_accuracy"][:, c], **style)
    axes[0].plot(t, 100 * curves["correct"], color="black", ls="--", lw=1.5, label="all pixels")
    axes[1].plot(t, 100 * curves["accuracy"], color="black", ls="--", lw=1.5, label="all pixels")
    axes[0].set_title("coverage: % of a class's pixels\nthat get the right pseudo label", fontsize=9)
    axes[1].set_title("accuracy: % of pixels pseudo-labelled k\nthat truly are k", fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("fixed confidence threshold")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False,
               title="tail classes in colour, head classes in grey", title_fontsize=8)
    if mpt_quality is not None:
        true_share = 100 * mpt_quality["class_pixels"] / max(mpt_quality["class_pixels"].sum(), 1)
        pseudo_share = 100 * mpt_quality["pseudo_pixels"] / max(mpt_quality["pseudo_pixels"].sum(), 1)
        classes = [c for c in range(len(true_share)) if true_share[c] > 0 or pseudo_share[c] > 0]
        x = np.arange(len(classes))
        colours = [PALETTE[c] / 255.0 for c in classes]
        axes[2].bar(x - 0.2, [true_share[c] for c in classes], 0.4, color=colours, edgecolor="black", lw=0.5,
                    label="true pixels")
        axes[2].bar(x + 0.2, [pseudo_share[c] for c in classes], 0.4, color=colours, edgecolor="black", lw=0.5,
                    hatch="///", label="MPT pseudo labels")
        axes[2].set_xticks(x)
        axes[2].set_xticklabels([CLASS_NAMES[c][:6] + ("*" if c in TAIL_CLASSES else "") for c in classes],
                                rotation=90, fontsize=7)
        axes[2].set_yscale("log")
        axes[2].set_ylabel("% of pixels")
        axes[2].set_title("class shares: truth vs MPT pseudo labels (eq 12)", fontsize=9)
        axes[2].legend(fontsize=7)
    else:
        axes[2].set_axis_off()
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


class PseudoLabelView:
    """Eq 12 on a few target images: quantile and cap sliders -> pseudo label, coverage, accuracy.

    images [N,3,H,W]; labels [N,H,W] (the target's true labels, used only to score the pseudo label).
    """

    def __init__(self, model, images: torch.Tensor, labels: torch.Tensor, quantile: float = 0.5, cap: float = 0.9):
        self.images, self.labels = images, labels
        self.probs = predict_probabilities(model, images)
        self.defaults = dict(index=0, quantile=quantile, cap=cap)
        self.last: dict | None = None

    def compute(self, index: int = 0, quantile: float = 0.5, cap: float = 0.9) -> dict:
        prob = self.probs[index:index + 1]
        pseudo = mpt_pseudo_label(prob, quantile, cap)[0]
        quality = pseudo_label_quality(pseudo, self.labels[index])
        self.last = dict(index=index, quantile=quantile, cap=cap, pseudo=pseudo,
                         thresholds=class_thresholds(prob, quantile, cap)[0],
                         prediction=prob[0].argmax(0), **quality)
        return self.last

    def figure(self, index: int | None = None, quantile: float | None = None, cap: float | None = None) -> Figure:
        r = self.compute(self.defaults["index"] if index is None else index,
                         self.defaults["quantile"] if quantile is None else quantile,
                         self.defaults["cap"] if cap is None else cap)
        fig = Figure(figsize=(13, 2.7))
        grid = fig.add_gridspec(1, 6, width_ratios=[1, 1, 1, 1, 0.32, 0.75], left=0.005, right=0.99, top=0.8,
                                bottom=0.24, wspace=0.06)
        axes = [fig.add_subplot(grid[0, i]) for i in (0, 1, 2, 3, 5)]
        i = r["index"]
        _show(axes[0], to_rgb(self.images[i]), f"target image {i}")
        _show(axes[1], _label_rgb(self.labels[i]), "true label (not used in training)")
        _show(axes[2], _label_rgb(r["prediction"]), "argmax prediction")
        _show(axes[3], _label_rgb(r["pseudo"]),
              f"MPT pseudo label (black: ignored)\ncoverage {100 * r['coverage']:.1f}%, "
              f"accuracy {100 * r['accuracy']:.1f}%")
        predicted = sorted(set(r["prediction"].unique().tolist()))
        y = np.arange(len(predicted))
        axes[4].barh(y, [float(r["thresholds"][c]) for c in predicted], color=[PALETTE[c] / 255.0 for c in predicted],
                     edgecolor="black", lw=0.5)
        axes[4].axvline(r["cap"], color="firebrick", ls="--", lw=1)
        axes[4].set_yticks(y)
        axes[4].set_yticklabels([CLASS_NAMES[c] + (" *" if c in TAIL_CLASSES else "") for c in predicted], fontsize=7)
        axes[4].set_xlim(0, 1)
        axes[4].invert_yaxis()
        axes[4].set_title(f"thres[k]: quantile {r['quantile']:.2f}, cap {r['cap']:.2f}", fontsize=8)
        axes[4].tick_params(axis="x", labelsize=7)
        _legend(fig, _present(self.labels[i], r["pseudo"]), ncol=10, fontsize=7)
        return fig

    def widget(self):
        import ipywidgets as W

        slow = dict(continuous_update=False)
        index = W.IntSlider(value=self.defaults["index"], min=0, max=len(self.images) - 1, description="image", **slow)
        quantile = W.FloatSlider(value=self.defaults["quantile"], min=0.0, max=1.0, step=0.05, description="quantile",
                                 **slow)
        cap = W.FloatSlider(value=self.defaults["cap"], min=0.05, max=1.0, step=0.05, description="cap", **slow)
        output = W.Output()

        def update(_=None):
            _display_in(output, self.figure(index.value, quantile.value, cap.value))

        for control in (index, quantile, cap):
            control.observe(update, names="value")
        update()
        return W.VBox([W.HBox([index, quantile, cap]), output])


# ================================================================== notebook 05: content transfer


def plain_tail_mask(label: torch.Tensor, tail_classes=TAIL_CLASSES) -> torch.Tensor:
    """Eq 13 read literally, without the co-occurrence rules: every tail-class pixel (bool, same shape)."""
    return torch.isin(label, torch.as_tensor(tuple(tail_classes), dtype=label.dtype))


def pick_sources(counts, median: float, above: int = 4, below: int = 2) -> list[int]:
    """Indices of the first `above` images whose tail-pixel count passes the median gate and the first
    `below` that have tail pixels but do not pass (so the gate visibly matters), in index order."""
    counts = np.asarray(counts)
    passing = [int(i) for i in np.nonzero(counts > median)[0][:above]]
    failing = [int(i) for i in np.nonzero((counts > 0) & (counts <= median))[0][:below]]
    return sorted(passing + failing)


def gate_histogram_figure(counts, median: float) -> Figure:
    """Histogram of the per-image tail-pixel counts of the source set, with the median gate's value."""
    counts = np.asarray(counts)
    fig = Figure(figsize=(7, 2.8))
    ax = fig.subplots()
    bins = np.linspace(0, max(int(counts.max()), 1), 40)
    ax.hist(counts[counts <= median], bins=bins, color="0.7", label=f"at or below the median: {(counts <= median).sum()}")
    ax.hist(counts[counts > median], bins=bins, color="firebrick",
            label=f"above the median (transfer): {(counts > median).sum()}")
    ax.axvline(median, color="black", ls="--", lw=1)
    ax.set_xlabel("transferable tail pixels in a source image (eq 13, co-occurrence rules)")
    ax.set_ylabel("source images")
    ax.set_title(f"the median gate: median = {median:g} pixels", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


class ContentTransferView:
    """Eqs 13-17 on source/target pairs, each refinement switchable.

    source_images [S,3,H,W], source_labels [S,H,W], target_images [T,3,H,W]; `median` is the median
    gate's value over the source set and `counts` [S] the tail-pixel counts of these source images
    (eq 13 with the co-occurrence rules). The model's translations Is2t (eq 1), the target pseudo labels
    (eq 12) and the pseudo labels of every transferred image It_ct are computed once, here.
    """

    def __init__(self, model, source_images, source_labels, target_images, median: float, counts=None,
                 quantile: float = 0.5, cap: float = 0.9):
        self.source_images, self.source_labels, self.target_images = source_images, source_labels, target_images
        self.median, self.quantile, self.cap = float(median), quantile, cap
        self.counts = (tail_pixel_count(source_labels) if counts is None else torch.as_tensor(counts)).tolist()
        self.defaults = dict(source=0, target=0, rules=True, gate=True, head=True, output=True)
        self.last: dict | None = None
        was_training = model.training
        model.eval()
        with torch.no_grad():
            stem_t, _, _ = model.encode(target_images)
            style_t = model.style_target(stem_t)                                   # Et(It)
            _, content_s, _ = model.encode(source_images)                          # Ec(Is)
            S, T = len(source_images), len(target_images)
            # Is2t for every pair (eq 1): [S,T,3,H,W]
            self.s2t = torch.stack([model.gen_target(style_t, content_s[s:s + 1].expand(T, *content_s.shape[1:]))
                                    for s in range(S)])
            self.target_pseudo = mpt_pseudo_label(predict_probabilities(model, target_images), quantile, cap)
            # It_ct and its pseudo label for every pair and every (rules, head) setting.
            self.masks, self.transferred, self.transferred_pseudo = {}, {}, {}
            keys, images = [], []
            for s in range(S):
                for t in range(T):
                    for rules in (True, False):
                        for head in (True, False):
                            mask = self._mask(s, t, rules, head)
                            self.masks[s, t, rules, head] = mask
                            image = paste(mask[None], self.s2t[s, t][None], target_images[t][None])[0]   # eq 16
                            self.transferred[s, t, rules, head] = image
                            keys.append((s, t, rules, head))
                            images.append(image)
            probs = predict_probabilities(model, torch.stack(images))
            for key, pseudo in zip(keys, mpt_pseudo_label(probs, quantile, cap)):
                self.transferred_pseudo[key] = pseudo
        model.train(was_training)

    def _source_tail(self, s: int, rules: bool) -> torch.Tensor:
        label = self.source_labels[s]
        return tail_label(label) != IGNORE_INDEX if rules else plain_tail_mask(label)

    def _mask(self, s: int, t: int, rules: bool, head: bool) -> torch.Tensor:
        if rules and head:
            return transfer_mask(self.source_labels[s][None], self.target_pseudo[t][None])[0]   # eq 15
        source_tail = self._source_tail(s, rules)                                       # Ms_tail
        if not head:
            return source_tail                                                          # naive: paste all of it
        return source_tail & head_mask(self.target_pseudo[t][None])[0]                  # eq 15 without the rules

    def passes_gate(self, s: int) -> bool:
        return self.counts[s] > self.median

    def compute(self, source: int = 0, target: int = 0, rules: bool = True, gate: bool = True, head: bool = True,
                output: bool = True) -> dict:
        s, t = source, target
        blocked = gate and not self.passes_gate(s)
        if blocked:
            mask = torch.zeros_like(self.masks[s, t, rules, head])
            image, pseudo_ct = self.target_images[t], self.target_pseudo[t]
        else:
            mask = self.masks[s, t, rules, head]
            image, pseudo_ct = self.transferred[s, t, rules, head], self.transferred_pseudo[s, t, rules, head]
        final = paste(mask[None], self.source_labels[s][None], pseudo_ct[None])[0] if output else pseudo_ct  # eq 17
        not_head = ~head_mask(self.target_pseudo[t][None])[0]          # target tail or not confident
        self.last = dict(source=s, target=t, rules=rules, gate=gate, head=head, output=output, blocked=blocked,
                         source_tail=self._source_tail(s, rules), head_mask=head_mask(self.target_pseudo[t][None])[0],
                         mask=mask, transferred=image, pseudo_ct=pseudo_ct, label_ct=final,
                         transferred_pixels=int(mask.sum()), covered_not_head=int((mask & not_head).sum()),
                         count=self.counts[s])
        return self.last

    def figure(self, **choice) -> Figure:
        r = self.compute(**{**self.defaults, **choice})
        s, t = r["source"], r["target"]
        fig = Figure(figsize=(12, 5.4))
        axes = fig.subplots(3, 4)
        _show(axes[0, 0], to_rgb(self.source_images[s]), f"source Is (image {s})")
        _show(axes[0, 1], _label_rgb(self.source_labels[s]), "source label Ys")
        _show(axes[0, 2], _mask_rgb(r["source_tail"]),
              "Ms_tail (eq 13" + (", co-occurrence rules)" if r["rules"] else ", no rules)"))
        _show(axes[0, 3], to_rgb(self.s2t[s, t]), "Is2t: source in target style (eq 1)")
        _show(axes[1, 0], to_rgb(self.target_images[t]), f"target It (image {t})")
        _show(axes[1, 1], _label_rgb(self.target_pseudo[t]), "pseudo label Ỹt (eq 12)")
        _show(axes[1, 2], _mask_rgb(r["head_mask"]) if r["head"] else np.ones(r["mask"].shape + (3,), np.float32),
              "Mt_head (eq 14)" if r["head"] else "Mt_head off: everywhere")
        _show(axes[1, 3], _mask_rgb(r["mask"], on=(1.0, 0.25, 0.25)), f"M_ct (eq 15): {r['transferred_pixels']} px")
        _show(axes[2, 0], to_rgb(r["transferred"]), "It_ct (eq 16)")
        _show(axes[2, 1], _label_rgb(r["pseudo_ct"]), "Ỹt_ct = MPT(Gc(Ec(It_ct)))")
        _show(axes[2, 2], _label_rgb(r["label_ct"]),
              "Ỹ't_ct (eq 17): Ys pasted" if r["output"] else "output level off: Ỹt_ct as is")
        axes[2, 3].set_axis_off()
        gate_line = (f"tail pixels {r['count']} vs median {self.median:g}: "
                     + ("passes" if self.passes_gate(s) else "below the median"))
        if r["gate"] and r["blocked"]:
            gate_line += "\n-> median gate ON: no transfer"
        elif not r["gate"]:
            gate_line += "\n-> median gate OFF"
        text = (f"{gate_line}\n\npasted pixels: {r['transferred_pixels']}\n"
                f"of which over target pixels\nnot known as head: {r['covered_not_head']}\n\n"
                f"rules {'on' if r['rules'] else 'off'}, head mask {'on' if r['head'] else 'off'},\n"
                f"output level {'on' if r['output'] else 'off'}")
        axes[2, 3].text(0.0, 0.5, text, fontsize=8, va="center", family="monospace")
        _legend(fig, _present(self.source_labels[s], self.target_pseudo[t], r["label_ct"]), ncol=10, fontsize=7)
        fig.subplots_adjust(left=0.005, right=0.995, top=0.95, bottom=0.08, wspace=0.04, hspace=0.28)
        return fig

    def widget(self):
        import ipywidgets as W

        slow = dict(continuous_update=False)
        source = W.IntSlider(value=self.defaults["source"], min=0, max=len(self.source_images) - 1,
                             description="source", **slow)
        target = W.IntSlider(value=self.defaults["target"], min=0, max=len(self.target_images) - 1,
                             description="target", **slow)
        toggles = {name: W.Checkbox(value=self.defaults[name], description=text, indent=False)
                   for name, text in (("rules", "co-occurrence rules"), ("gate", "median gate"),
                                      ("head", "head mask Mt_head"), ("output", "output-level transfer"))}
        output = W.Output()

        def update(_=None):
            choice = dict(source=source.value, target=target.value, **{k: v.value for k, v in toggles.items()})
            _display_in(output, self.figure(**choice))

        for control in (source, target, *toggles.values()):
            control.observe(update, names="value")
        update()
        return W.VBox([W.HBox([source, target]), W.HBox(list(toggles.values())), output])


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


def context_figure(source_image, source_label, target_image, target_pseudo, result: dict | None = None,
                   source_name: str = "source Is2t", target_label_name: str = "target pseudo label Ỹt") -> Figure:
    """Why plain transfer can put a rider in the sky under a camera-pitch gap, and how the context-aware
    option moves the content onto the target's ground. Dashed lines: where the ground begins (the row
    the library aligns on)."""
    r = result or context_transfer(source_image, source_label, target_pseudo)
    fig = Figure(figsize=(13, 4.8))
    axes = fig.subplots(2, 4)
    plain_image = paste(r["plain_mask"][None], source_image[None], target_image[None])[0]
    aligned_image = paste(r["aligned_mask"][None], r["shifted_image"][None], target_image[None])[0]
    width, target_row = source_label.shape[-1], r["target_ground_row"]
    # (picture, title, ground row to draw, line colour), row by row: plain transfer, then context-aware
    panels = [
        (to_rgb(source_image), f"{source_name}, tail content in red", r["source_ground_row"], "yellow"),
        (to_rgb(target_image), "target It: ground begins lower", target_row, "yellow"),
        (_mask_rgb(r["plain_mask"], on=(1, 0.25, 0.25)), "plain M_ct (same position)", target_row, "yellow"),
        (to_rgb(plain_image), "plain It_ct: " + ("stands on ground" if r["plain_standing"] else "floats above the ground")
         + f"\n{r['plain_sky_pixels']} pasted pixels over sky", target_row, "yellow"),
        (to_rgb(r["shifted_image"]), f"source shifted by {r['shift']} rows", target_row, "yellow"),
        (_label_rgb(target_pseudo), target_label_name, target_row, "black"),
        (_mask_rgb(r["aligned_mask"], on=(0.25, 1, 0.25)), "context-aware M_ct", target_row, "yellow"),
        (to_rgb(aligned_image), "context-aware It_ct" + ("" if r["aligned_standing"] else ": dropped (not standing)")
         + f"\n{r['aligned_sky_pixels']} pasted pixels over sky", target_row, "yellow"),
    ]
    for ax, (picture, title, ground_row, colour) in zip(axes.flat, panels):
        _show(ax, picture, title)
        if not np.isnan(ground_row):
            ax.plot([0, width - 1], [ground_row, ground_row], ls="--", color=colour, lw=1.2)
    tail_tint = np.zeros(source_label.shape + (4,), np.float32)
    tail_tint[(tail_label(source_label) != IGNORE_INDEX).cpu().numpy()] = (1.0, 0.1, 0.1, 0.6)
    axes[0, 0].imshow(tail_tint, interpolation="nearest")
    fig.tight_layout()
    return fig


def pick_context_example(source_labels, target_pseudos, classes=(12, 17, 18)) -> tuple[int, int]:
    """The (source, target) pair whose plain transfer puts the most pixels of `classes` (default: rider,
    motorcycle, bicycle) over target sky, among pairs whose context-aware transfer stands on ground."""
    best, best_score = (0, 0), -1
    for s in range(len(source_labels)):
        wanted = torch.isin(source_labels[s], torch.tensor(classes))
        for t in range(len(target_pseudos)):
            r = context_transfer(torch.zeros(1, *source_labels.shape[-2:]), source_labels[s], target_pseudos[t])
            score = int((r["plain_mask"] & wanted & (target_pseudos[t] == SKY)).sum())
            score = score if r["aligned_standing"] and r["aligned_mask"].any() else -1
            if score > best_score:
                best, best_score = (s, t), score
    return best


# ================================================================== notebook 07: evaluation


def per_class_iou_figure(results: dict, title: str = "") -> Figure:
    """Bars of per-class IoU for several summaries (name -> evaluation.summarize output); tail classes starred."""
    names = list(results)
    classes = list(results[names[0]]["per_class"])
    fig = Figure(figsize=(13, 3.4))
    ax = fig.subplots()
    x = np.arange(len(classes))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        r = results[name]
        values = [np.nan if r["per_class"][c] is None else r["per_class"][c] for c in classes]
        ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width,
               label=f"{name}: mIoU {_percent(r['miou'])}, mIoU_tail {_percent(r['miou_tail'])}")
    ax.set_xticks(x)
    ax.set_xticklabels([c + (" *" if CLASS_NAMES.index(c) in TAIL_CLASSES else "") for c in classes],
                       rotation=45, ha="right", fontsize=8)
    for i, c in enumerate(classes):
        if CLASS_NAMES.index(c) in TAIL_CLASSES:
            ax.axvspan(i - 0.45, i + 0.45, color="gold", alpha=0.15, lw=0)
    ax.set_ylabel("IoU (%)")
    ax.set_title(title or f"per-class IoU ({results[names[0]]['protocol']} protocol; * tail, shaded)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_figure(cm, title: str = "confusion matrix (rows: truth, normalised per row)") -> Figure:
    """A confusion matrix [K,K] as a heat map, each row divided by its total (what a true class becomes)."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="viridis", vmin=0, vmax=1)
    names = [n[:9] + ("*" if i in TAIL_CLASSES else "") for i, n in enumerate(CLASS_NAMES[:len(cm)])]
    ax.set_xticks(range(len(cm)))
    ax.set_yticks(range(len(cm)))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("prediction")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def ablation_comparison(summary: dict) -> str:
    """Each ablation row's mIoU and mIoU_tail (mean ± std over seeds) beside the paper's published
    numbers for the same row (experiments.PAPER_ABLATION), with the change from the row above."""
    paper = summary.get("paper") or {}
    lines = [f"{'row':<20} {'ours mIoU':>13} {'Δ':>6} {'ours tail':>13} {'Δ':>6} | {'paper mIoU':>10} {'Δ':>5} "
             f"{'paper tail':>10} {'Δ':>5}"]
    previous, previous_paper = None, None
    fmt = lambda m, s: "-" if m is None else f"{m:.1f} ± {s:.1f}"  # noqa: E731
    delta = lambda a, b: "" if a is None or b is None else f"{a - b:+.1f}"  # noqa: E731
    for entry in summary["rows"]:
        name = entry["row"]
        ours = (entry["miou"], entry["miou_tail"])
        theirs = paper.get(name)
        chain = name not in ("NonAdapt", "Oracle", "+Out context-aware")
        line = (f"{name:<20} {fmt(entry['miou'], entry['miou_std']):>13} "
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
    lines.append(f"ours: embedded benchmark {summary['benchmark']}, {summary['protocol']} protocol, "
                 f"{summary['seeds']} seed(s); paper: {paper.get('title', '-')}")
    return "\n".join(lines)


def ablation_comparison_figure(summary: dict) -> Figure:
    """mIoU and mIoU_tail per ablation row: ours (mean ± std over seeds) and the paper's, side by side."""
    paper = summary.get("paper") or {}
    rows = [e for e in summary["rows"]]
    fig = Figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 2)
    x = np.arange(len(rows))
    for ax, key, label in ((axes[0], "miou", "mIoU"), (axes[1], "miou_tail", "mIoU_tail")):
        ours = [np.nan if e[key] is None else e[key] for e in rows]
        err = [0 if e[key + "_std"] is None else e[key + "_std"] for e in rows]
        theirs = [paper[e["row"]][0 if key == "miou" else 1] if e["row"] in paper else np.nan for e in rows]
        ax.bar(x - 0.2, ours, 0.4, yerr=err, capsize=3, label="ours (embedded benchmark)")
        ax.bar(x + 0.2, theirs, 0.4, color="0.6", label="paper (Cityscapes val)")
        ax.set_xticks(x)
        ax.set_xticklabels([e["row"] for e in rows], rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(f"{label} (%)")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def per_image_scores(predictions: torch.Tensor, labels: torch.Tensor, protocol: str = "19") -> list[dict]:
    """evaluation.summarize of each image alone: predictions, labels [N,H,W] -> N summaries."""
    return [summarize(confusion_matrix(p, y, NUM_CLASSES), protocol) for p, y in zip(predictions, labels)]


class ModelComparisonView:
    """Target images one by one: ground truth and each model's prediction with its errors and per-image scores.

    models: name -> model (e.g. {"NonAdapt": ..., "full": ...}); images [N,3,H,W]; labels [N,H,W].
    """

    def __init__(self, models: dict, images: torch.Tensor, labels: torch.Tensor, protocol: str = "19"):
        self.names = list(models)
        self.images, self.labels = images, labels
        self.predictions = {name: predict_probabilities(model, images).argmax(1) for name, model in models.items()}
        self.scores = {name: per_image_scores(pred, labels, protocol) for name, pred in self.predictions.items()}
        self.defaults = dict(index=0, errors=True)
        self.last: dict | None = None

    def compute(self, index: int = 0, errors: bool = True) -> dict:
        label = self.labels[index]
        valid = label != IGNORE_INDEX
        self.last = dict(index=index, errors=errors,
                         predictions={n: self.predictions[n][index] for n in self.names},
                         wrong={n: (self.predictions[n][index] != label) & valid for n in self.names},
                         scores={n: self.scores[n][index] for n in self.names})
        return self.last

    def figure(self, index: int | None = None, errors: bool | None = None) -> Figure:
        r = self.compute(self.defaults["index"] if index is None else index,
                         self.defaults["errors"] if errors is None else errors)
        i = r["index"]
        columns = 2 + len(self.names)
        fig = Figure(figsize=(3.1 * columns, 3.9 if r["errors"] else 2.2))
        axes = fig.subplots(2 if r["errors"] else 1, columns, squeeze=False)
        _show(axes[0, 0], to_rgb(self.images[i]), f"target val image {i}")
        _show(axes[0, 1], _label_rgb(self.labels[i]), "ground truth")
        for j, name in enumerate(self.names):
            score = r["scores"][name]
            _show(axes[0, 2 + j], _label_rgb(r["predictions"][name]),
                  f"{name}: mIoU {_percent(score['miou'])}, tail {_percent(score['miou_tail'])}")
        if r["errors"]:
            axes[1, 0].set_axis_off()
            axes[1, 1].set_axis_off()
            tail = plain_tail_mask(self.labels[i])
            axes[1, 1].text(0.0, 0.5, "red: wrong pixels\nyellow: wrong tail-class\npixels (true class is tail)",
                            fontsize=8, va="center")
            for j, name in enumerate(self.names):
                wrong = r["wrong"][name]
                picture = 0.35 * to_rgb(self.images[i])
                picture[wrong.numpy()] = (0.9, 0.1, 0.1)
                picture[(wrong & tail).numpy()] = (1.0, 0.9, 0.0)
                _show(axes[1, 2 + j], picture, f"{name}: {int(wrong.sum())} wrong pixels")
        _legend(fig, _present(self.labels[i], *r["predictions"].values()), ncol=10, fontsize=7)
        fig.subplots_adjust(left=0.005, right=0.995, top=0.92 if r["errors"] else 0.86,
                            bottom=0.1 if r["errors"] else 0.2, wspace=0.04, hspace=0.2)
        return fig

    def widget(self):
        import ipywidgets as W

        index = W.IntSlider(value=self.defaults["index"], min=0, max=len(self.images) - 1, description="image",
                            continuous_update=False)
        errors = W.Checkbox(value=self.defaults["errors"], description="show errors", indent=False)
        output = W.Output()

        def update(_=None):
            _display_in(output, self.figure(index.value, errors.value))

        index.observe(update, names="value")
        errors.observe(update, names="value")
        update()
        return W.VBox([W.HBox([index, errors]), output])


def qualitative_figure(view: ModelComparisonView, indices) -> Figure:
    """A grid of target images: image, ground truth and each model's prediction, one row per index."""
    columns = 2 + len(view.names)
    fig = Figure(figsize=(2.8 * columns, 1.55 * len(indices) + 0.6))
    axes = fig.subplots(len(indices), columns, squeeze=False)
    for row, i in enumerate(indices):
        title = row == 0
        _show(axes[row, 0], to_rgb(view.images[i]), "target image" if title else None)
        _show(axes[row, 1], _label_rgb(view.labels[i]), "ground truth" if title else None)
        for j, name in enumerate(view.names):
            _show(axes[row, 2 + j], _label_rgb(view.predictions[name][i]), name if title else None)
            axes[row, 2 + j].set_xlabel(f"mIoU {_percent(view.scores[name][i]['miou'])}", fontsize=7)
    fig.tight_layout()
    return fig


# ================================================================== notebook 06: checkpoints


def checkpoints_equal(path_a, path_b) -> bool:
    """Whether two checkpoints hold exactly the same model weights (every tensor, bit for bit)."""
    from .checkpoint import read_checkpoint

    a, b = read_checkpoint(path_a)["model"], read_checkpoint(path_b)["model"]
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def largest_weight_difference(path_a, path_b) -> float:
    """The largest absolute difference between the model weights of two checkpoints."""
    from .checkpoint import read_checkpoint

    a, b = read_checkpoint(path_a)["model"], read_checkpoint(path_b)["model"]
    return max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in a)


__all__ = ["predict_probabilities", "stack_split", "gate_histogram_figure",
           "pseudo_label_quality", "fixed_threshold_pseudo_label", "threshold_curves", "threshold_curves_figure",
           "PseudoLabelView", "plain_tail_mask", "pick_sources", "ContentTransferView", "context_transfer",
           "landing_statistics", "context_figure", "pick_context_example", "per_class_iou_figure",
           "confusion_figure", "ablation_comparison", "ablation_comparison_figure", "per_image_scores",
           "ModelComparisonView", "qualitative_figure", "checkpoints_equal", "largest_weight_difference"]
