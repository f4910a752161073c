"""The interactive views of the notebooks on pseudo labels (04), content transfer (05) and evaluation (07).

Every view follows one pattern:

* the constructor runs the model once, on a few fixed images, and keeps its outputs;
* ``compute(...)`` answers a choice of the controls by calling library functions on those outputs
  (no network pass: it takes milliseconds);
* ``figure(...)`` draws the answer as a :class:`matplotlib.figure.Figure` (no pyplot, with the helpers
  of `plotting`), so a notebook shows the view at its default values without a kernel;
* ``widget()`` puts ipywidgets controls around ``figure``; ``last`` holds the latest answer.

What the views compute comes from `analysis` and the library (`pseudo`, `content_transfer`,
`evaluation`); the figures they draw come from `plotting`. Only ``widget()`` displays anything.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from .analysis import per_image_scores, predict_logits, predict_probabilities, pseudo_label_quality
from ..content_transfer import head_mask, plain_tail_mask, source_tail_mask, tail_pixel_count, transfer_batch
from ..labels import CLASS_NAMES, IGNORE_INDEX, PALETTE, TAIL_CLASSES, colorize
from .plotting import (FONT_SIZE, MAX_WIDTH, chars_per_line, class_legend, format_percent, mask_rgb, present_classes,
                       show_panel, to_rgb, wrap_text)
from ..pseudo import class_thresholds, mpt_pseudo_label


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
        fig = Figure(figsize=(MAX_WIDTH, 5.0), layout="constrained")     # 900 px: pictures 2 x 2, thresholds beside
        grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 0.62])
        axes = [fig.add_subplot(grid[r, c]) for r, c in ((0, 0), (0, 1), (1, 0), (1, 1))] + [fig.add_subplot(grid[:, 2])]
        i = r["index"]
        show_panel(axes[0], to_rgb(self.images[i]), f"target image {i}")
        show_panel(axes[1], colorize(self.labels[i]), "true label (not used in training)")
        show_panel(axes[2], colorize(r["prediction"]), "argmax prediction")
        show_panel(axes[3], colorize(r["pseudo"]),
                   f"MPT pseudo label (black: ignored)\ncoverage {100 * r['coverage']:.1f}%, "
                   f"accuracy {100 * r['accuracy']:.1f}%")
        predicted = sorted(set(r["prediction"].unique().tolist()))
        y = np.arange(len(predicted))
        axes[4].barh(y, [float(r["thresholds"][c]) for c in predicted], color=[PALETTE[c] / 255.0 for c in predicted],
                     edgecolor="black", lw=0.5)
        axes[4].axvline(r["cap"], color="firebrick", ls="--", lw=1)
        axes[4].set_yticks(y)
        axes[4].set_yticklabels([CLASS_NAMES[c] + (" *" if c in TAIL_CLASSES else "") for c in predicted],
                                fontsize=FONT_SIZE)
        axes[4].set_xlim(0, 1)
        axes[4].invert_yaxis()
        axes[4].set_title(f"thres[k]:\nquantile {r['quantile']:.2f}\ncap {r['cap']:.2f}", fontsize=FONT_SIZE)
        axes[4].tick_params(axis="x", labelsize=FONT_SIZE)
        class_legend(fig, present_classes(self.labels[i], r["pseudo"]), ncol=5)
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


class ContentTransferView:
    """Eqs 13-17 on source/target pairs, each refinement switchable.

    source_images [S,3,H,W], source_labels [S,H,W], target_images [T,3,H,W]; `median` is the median
    gate's value over the source set and `counts` [S] the tail-pixel counts of these source images
    (eq 13 with the co-occurrence rules). Computed once, here: the model's translations Is2t (eq 1) of
    every pair, the target pseudo labels (eq 12), and `content_transfer.transfer_batch` (the trainer's
    eq 13 -> 17 pipeline) on all S x T pairs for each setting of the co-occurrence rules and the head
    mask. The median gate and the output level are applied in `compute`: a blocked pair keeps its target
    image and pseudo label; without the output level, the label is Ỹt_ct instead of Ỹ't_ct (eq 17).
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
        S, T = len(source_images), len(target_images)
        with torch.no_grad():
            stem_t, _, _ = model.encode(target_images)
            style_t = model.style_target(stem_t)                                   # Et(It)
            _, content_s, _ = model.encode(source_images)                          # Ec(Is)
            # Is2t for every pair (eq 1): [S,T,3,H,W]
            self.s2t = torch.stack([model.gen_target(style_t, content_s[s:s + 1].expand(T, *content_s.shape[1:]))
                                    for s in range(S)])
        self.target_pseudo = mpt_pseudo_label(predict_probabilities(model, target_images), quantile, cap)
        # Every (source, target) pair as one batch, pair (s, t) at row s * T + t.
        pairs = dict(source_content=self.s2t.flatten(0, 1), source_label=source_labels.repeat_interleave(T, dim=0),
                     target_image=target_images.repeat(S, 1, 1, 1), target_pseudo=self.target_pseudo.repeat(S, 1, 1))
        self.transfers = {(rules, head): transfer_batch(**pairs, segment=lambda images: predict_logits(model, images),
                                                        gate=None, output_level=True, quantile=quantile, cap=cap,
                                                        cooccurrence_rules=rules, use_head_mask=head)
                          for rules in (True, False) for head in (True, False)}
        model.train(was_training)

    def passes_gate(self, s: int) -> bool:
        return self.counts[s] > self.median

    def compute(self, source: int = 0, target: int = 0, rules: bool = True, gate: bool = True, head: bool = True,
                output: bool = True) -> dict:
        s, t = source, target
        transferred, row = self.transfers[rules, head], s * len(self.target_images) + t
        blocked = gate and not self.passes_gate(s)
        if blocked:                                                    # no transfer: the target as it is
            mask = torch.zeros_like(transferred.mask[row])
            image, pseudo_ct = self.target_images[t], self.target_pseudo[t]
            final = pseudo_ct
        else:
            mask, image, pseudo_ct = transferred.mask[row], transferred.image[row], transferred.pseudo[row]
            final = transferred.label[row] if output else pseudo_ct     # eq 17, or Ỹt_ct as is
        target_head = head_mask(self.target_pseudo[t])                  # eq 14
        self.last = dict(source=s, target=t, rules=rules, gate=gate, head=head, output=output, blocked=blocked,
                         source_tail=source_tail_mask(self.source_labels[s], cooccurrence_rules=rules),
                         head_mask=target_head, mask=mask, transferred=image, pseudo_ct=pseudo_ct, label_ct=final,
                         transferred_pixels=int(mask.sum()), covered_not_head=int((mask & ~target_head).sum()),
                         count=self.counts[s])
        return self.last

    def figure(self, **choice) -> Figure:
        r = self.compute(**{**self.defaults, **choice})
        s, t = r["source"], r["target"]
        fig = Figure(figsize=(MAX_WIDTH, 6.6), layout="constrained")     # 900 px wide, 9 pt text
        axes = fig.subplots(3, 4)
        title = lambda text: wrap_text(text, chars_per_line(MAX_WIDTH / 4 - 0.1))  # noqa: E731
        show_panel(axes[0, 0], to_rgb(self.source_images[s]), title(f"source Is (image {s})"))
        show_panel(axes[0, 1], colorize(self.source_labels[s]), title("source label Ys"))
        show_panel(axes[0, 2], mask_rgb(r["source_tail"]),
                   title("Ms_tail (eq 13" + (", co-occurrence rules)" if r["rules"] else ", no rules)")))
        show_panel(axes[0, 3], to_rgb(self.s2t[s, t]), title("Is2t: source in target style (eq 1)"))
        show_panel(axes[1, 0], to_rgb(self.target_images[t]), title(f"target It (image {t})"))
        show_panel(axes[1, 1], colorize(self.target_pseudo[t]), title("pseudo label Ỹt (eq 12)"))
        show_panel(axes[1, 2], mask_rgb(r["head_mask"]) if r["head"] else np.ones(r["mask"].shape + (3,), np.float32),
                   title("Mt_head (eq 14)" if r["head"] else "Mt_head off: everywhere"))
        show_panel(axes[1, 3], mask_rgb(r["mask"], on=(1.0, 0.25, 0.25)), title(f"M_ct (eq 15): {r['transferred_pixels']} px"))
        show_panel(axes[2, 0], to_rgb(r["transferred"]), title("It_ct (eq 16)"))
        show_panel(axes[2, 1], colorize(r["pseudo_ct"]), title("Ỹt_ct = MPT(Gc(Ec(It_ct)))"))
        show_panel(axes[2, 2], colorize(r["label_ct"]),
                   title("Ỹ't_ct (eq 17): Ys pasted" if r["output"] else "output level off: Ỹt_ct as is"))
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
        axes[2, 3].text(0.0, 0.5, wrap_text(text.replace("\n\n", "\n"), 27), fontsize=FONT_SIZE, va="center",
                        family="monospace")
        class_legend(fig, present_classes(self.source_labels[s], self.target_pseudo[t], r["label_ct"]), ncol=5)
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


# ================================================================== notebook 07: evaluation


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
        panel = min(3.1, MAX_WIDTH / columns)                         # 900 px wide at most
        fig = Figure(figsize=(panel * columns, 4.1 if r["errors"] else 2.8), layout="constrained")
        title = lambda text: wrap_text(text, chars_per_line(panel - 0.1))  # noqa: E731
        axes = fig.subplots(2 if r["errors"] else 1, columns, squeeze=False)
        show_panel(axes[0, 0], to_rgb(self.images[i]), title(f"target val image {i}"))
        show_panel(axes[0, 1], colorize(self.labels[i]), "ground truth")
        for j, name in enumerate(self.names):
            score = r["scores"][name]
            show_panel(axes[0, 2 + j], colorize(r["predictions"][name]),
                       title(f"{name}: mIoU {format_percent(score['miou'])}, tail {format_percent(score['miou_tail'])}"))
        if r["errors"]:
            axes[1, 0].set_axis_off()
            axes[1, 1].set_axis_off()
            tail = plain_tail_mask(self.labels[i])
            axes[1, 1].text(0.0, 0.5, "red: wrong pixels\nyellow: wrong tail-class\npixels (true class is tail)",
                            fontsize=FONT_SIZE, va="center")
            for j, name in enumerate(self.names):
                wrong = r["wrong"][name]
                picture = 0.35 * to_rgb(self.images[i])
                picture[wrong.numpy()] = (0.9, 0.1, 0.1)
                picture[(wrong & tail).numpy()] = (1.0, 0.9, 0.0)
                show_panel(axes[1, 2 + j], picture, title(f"{name}: {int(wrong.sum())} wrong pixels"))
        class_legend(fig, present_classes(self.labels[i], *r["predictions"].values()), ncol=5)
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


__all__ = ["PseudoLabelView", "ContentTransferView", "ModelComparisonView"]


# ================================================================== controls in a grid (notebook 01)

def controls_grid(draw, controls: dict, columns: int = 3):
    """`draw(**values)` (a function returning a Figure) under its `controls` (name -> ipywidgets control),
    laid out `columns` to a row: many sliders take a few rows, not a screen, and the figure stays in
    view. Redraws when a control changes; returns the widget (a VBox of the grid and the figure)."""
    import ipywidgets as widgets

    unknown = [name for name, control in controls.items() if not hasattr(control, "observe")]
    if unknown:
        raise TypeError(f"controls_grid: {unknown} are not ipywidgets controls")
    output = widgets.Output()
    grid = widgets.GridBox(list(controls.values()),
                           layout=widgets.Layout(grid_template_columns=f"repeat({columns}, minmax(0, 1fr))"))

    def update(_=None):
        _display_in(output, draw(**{name: control.value for name, control in controls.items()}))

    for control in controls.values():
        control.observe(update, names="value")
    update()
    return widgets.VBox([grid, output])
