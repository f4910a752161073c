"""The study's tables in Markdown (`ablation.md`), read from its summary (`ablation.json`): the rows as in
Tables 3 and 4, each row's regime on target val and what stage 2 pasted, the pseudo labels, and the
findings: each step's paired difference over seeds with its 95% interval, and the study's questions."""
from __future__ import annotations

from ..labels import CLASS_NAMES, TAIL_CLASSES
from .paired import PairedDifference, gap_closed, paired_difference


def ablation_markdown(summary: dict) -> str:
    """Rows as in Table 3: flags, per-class IoU, mIoU, mIoU_tail (mean ± std over seeds), then the paper's."""
    classes = list(summary["rows"][0]["per_class"])
    short = [c.replace("traffic ", "")[:6] + ("*" if CLASS_NAMES.index(c) in TAIL_CLASSES else "") for c in classes]
    one_seed = summary["seeds"] == 1         # no spread to give: one seed's scores, without "± 0.0"
    size = summary.get("image_size")          # studies summarised before it was recorded give none
    lines = [f"Ablation on the embedded benchmark `{summary['benchmark']}`, {summary['protocol']} protocol, "
             + (f"images {size[0]}x{size[1]}, " if size else "") + ("one seed" if one_seed else f"mean ± std over {summary['seeds']} seeds") + " (IoU in %; * tail class).",
             "", "| row | Sty | Cyc | ST | In | Out | " + " | ".join(short) + " | mIoU | mIoU_tail |",
             "|---|---|---|---|---|---|" + "---|" * len(classes) + "---|---|"]
    fmt = lambda m, s: "-" if m is None else f"{m:.1f}" if one_seed else f"{m:.1f} ± {s:.1f}"  # noqa: E731
    for entry in summary["rows"]:
        flags = " | ".join("x" if v else "" for v in entry["flags"].values())
        per_class = " | ".join("-" if entry["per_class"][c][0] is None else f"{entry['per_class'][c][0]:.1f}"
                               for c in classes)
        lines.append(f"| {entry['row']} | {flags} | {per_class} | {fmt(entry['miou'], entry['miou_std'])} | "
                     f"{fmt(entry['miou_tail'], entry['miou_tail_std'])} |")
    paper = summary.get("paper")
    if paper:
        lines += ["", f"The paper ({paper['title']}, DeepLab-v2 ResNet-101 on Cityscapes val):", "",
                  "| row | mIoU | mIoU_tail |", "|---|---|---|"]
        lines += [f"| {name} | {v[0]} | {v[1]} |" for name, v in paper.items() if name != "title"]
    return "\n".join(lines) + "\n"


def regime_markdown(summary: dict) -> str:
    """Markdown: each row's regime on target val (`evaluation.tail_bias`: tail pixels predicted over true,
    per tail class and as a whole, tail precision and recall, road IoU) and, for rows with content
    transfer, what stage 2 pasted (`content_transfer.TransferredBatch.diagnostics`). Means over seeds.
    Empty when no row carries them."""
    entries = [e for e in summary["rows"] if e.get("bias")]
    if not entries:
        return ""
    tail = list(entries[0]["bias"]["predicted_over_true"])
    fmt = lambda v, spec=".2f": "-" if v is None else format(v, spec)  # noqa: E731
    lines = ["The regime on target val (mean over seeds): tail pixels predicted / true, over the tail and per "
             "tail class (above 1: the model over-predicts the tail; the paper's premise is a start below 1), "
             "tail precision and recall (%), road IoU.", "",
             "| row | tail pred/true | " + " | ".join(c.replace("traffic ", "") for c in tail)
             + " | tail precision | tail recall | road IoU |",
             "|---|---|" + "---|" * len(tail) + "---|---|---|"]
    for e in entries:
        b = e["bias"]
        lines.append(f"| {e['row']} | {fmt(b['tail_predicted_over_true'])} | "
                     + " | ".join(fmt(b["predicted_over_true"][c]) for c in tail)
                     + f" | {fmt(b['tail_precision'], '.1f')} | {fmt(b['tail_recall'], '.1f')} | {fmt(b['road_iou'], '.1f')} |")
    moved = [e for e in summary["rows"] if e.get("transfer")]
    if moved:
        lines += ["", "What stage 2 pasted (mean over its steps and the seeds): pixels per batch and their share, the "
                      "share of pasted pixels the model already labels as their source class in It_ct, and eq 17's "
                      "label mix there under Ỹt_ct, the MPT label of It_ct (%).", "",
                  "| row | pasted px / batch | share of the batch | recognised | ignored | right class | other tail | head |",
                  "|---|---|---|---|---|---|---|---|"]
        pct = lambda v: "-" if v is None else f"{100 * v:.0f}"  # noqa: E731
        for e in moved:
            t = e["transfer"]
            lines.append(f"| {e['row']} | {fmt(t['pasted_pixels'], '.0f')} | {100 * t['transfer_fraction']:.2f}% | "
                         f"{pct(t['pasted_recognised'])} | {pct(t['pasted_ignored'])} | {pct(t['pasted_right'])} | "
                         f"{pct(t['pasted_other_tail'])} | {pct(t['pasted_head'])} |")
    return "\n".join(lines) + "\n"


def pseudo_label_markdown(summary: dict) -> str:
    """Markdown: each row's MPT pseudo labels (eq 12) scored on labelled target training images at the
    end of its stage 1 and of training (diagnosis only): precision and coverage in %, tail and head
    means, and each tail class's coverage. Empty when no run scored them."""
    entries = [(e["row"], stage, e[key]) for e in summary["rows"]
               for stage, key in (("stage 1", "pseudo_labels_stage1"), ("end", "pseudo_labels")) if e.get(key)]
    if not entries:
        return ""
    tail = list(entries[0][2]["per_tail_class"])
    fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    lines = ["Pseudo labels (eq 12) of each row's model on 100 labelled target training images, scored for "
             "diagnosis only (no run trains on these labels): precision = right share of a class's pseudo "
             "labels, coverage = share of a class's pixels that get a right pseudo label (%, mean over seeds).", "",
             "| row | when | tail precision | tail coverage | head precision | head coverage | "
             + " | ".join(f"{c.replace('traffic ', '')} cov." for c in tail) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(tail)]
    for row, stage, p in entries:
        lines.append(f"| {row} | {stage} | {fmt(p['tail_precision'])} | {fmt(p['tail_coverage'])} | "
                     f"{fmt(p['head_precision'])} | {fmt(p['head_coverage'])} | "
                     + " | ".join(fmt(p["per_tail_class"][c]["coverage"]) for c in tail) + " |")
    return "\n".join(lines) + "\n"


# Steps of the findings: (row, the row it is compared with). Differences are paired by seed: both rows
# of a seed start from the same weights, so the seed's own luck cancels.
STEPS = (("Sty", "NonAdapt"), ("+Cyc", "Sty"), ("+ST", "+Cyc"), ("+In", "+ST"), ("+Out", "+In"),
         ("+Out", "+ST"), ("+Out context-aware", "+Out"), ("+Out class-weighted", "+Out"),
         ("+In raw pixels", "+In"), ("+In with L_st kept", "+In"), ("+Out whole objects", "+Out"),
         ("+Out dataset class weights", "+Out"), ("+ST rare-class sampling", "+ST"), ("+Out", "+ST rare-class sampling"),
         ("+Out rare-class sampling", "+ST rare-class sampling"), ("+Out rare-class sampling", "+Out"))

def _interval(d: PairedDifference | None) -> str:
    if d is None:
        return "-"
    return f"{d.mean:+.1f}" + ("" if d.low is None else f" [{d.low:+.1f}, {d.high:+.1f}]")


def _share(closed: float | None) -> str:
    return "no gap to close" if closed is None else f"{100 * closed:.0f}%"


def ablation_findings(summary: dict) -> str:
    """Markdown: each step's change (mean of the per-seed paired differences with its 95% t-interval) in
    mIoU and mIoU_tail, and in tail recall and precision where the runs measured them; the share of the NonAdapt -> Oracle gap the full method closes, and the study's questions
    (half the gap on mIoU; does +Out raise mIoU_tail over +ST; does context-aware transfer beat
    plain transfer), each answered from its interval."""
    lines = ["| step | Δ mIoU [95% interval] | Δ mIoU_tail [95% interval] | per-seed Δ mIoU_tail |", "|---|---|---|---|"]
    for row, baseline in STEPS:
        miou, tail = paired_difference(summary, row, baseline, "miou"), paired_difference(summary, row, baseline, "miou_tail")
        if miou is None:
            continue
        lines.append(f"| {baseline} -> {row} | {_interval(miou)} | {_interval(tail)} | "
                     f"{', '.join(f'{d:+.1f}' for d in tail.diffs)} |")
    # where the tail's score comes from: recall and precision, paired the same way (runs that measured them)
    regime = [(f"{baseline} -> {row}", paired_difference(summary, row, baseline, "tail_recall"),
               paired_difference(summary, row, baseline, "tail_precision")) for row, baseline in STEPS]
    regime = [(step, recall, precision) for step, recall, precision in regime if recall is not None]
    if regime:
        lines += ["", "| step | Δ tail recall [95% interval] | Δ tail precision [95% interval] |", "|---|---|---|"]
        lines += [f"| {step} | {_interval(recall)} | {_interval(precision)} |" for step, recall, precision in regime]
    closed, closed_tail = gap_closed(summary), gap_closed(summary, key="miou_tail")
    if closed is not None:
        lines += ["", f"The full method (+Out) closes {100 * closed:.0f}% of the NonAdapt -> Oracle gap in mIoU "
                      f"({_share(closed_tail)} in mIoU_tail); the target is at least 50%."]
        for row in ("+ST rare-class sampling", "+Out rare-class sampling"):     # beyond the paper
            closed, closed_tail = gap_closed(summary, row), gap_closed(summary, row, key="miou_tail")
            if closed is not None:
                lines.append(f"{row} (beyond the paper) closes {100 * closed:.0f}% ({_share(closed_tail)} in mIoU_tail).")
    recall = paired_difference(summary, "+ST", "+Cyc", "tail_recall")
    if recall is not None:
        answer = {"higher": "no: it raises it", "lower": "yes", "no difference shown": "not shown: the interval includes 0",
                  "one seed": "one seed, no interval"}[recall.verdict()]
        lines.append(f"Does self-training lower tail recall, as the paper says (+Cyc -> +ST)? {answer} "
                     f"({_interval(recall)} points, paired over {len(recall.diffs)} seeds).")
    for row, baseline, question in (("+In", "+ST", "Does input-level transfer (+In) raise mIoU_tail over +ST?"),
                                    ("+Out", "+ST", "Does content transfer (+Out) raise mIoU_tail over +ST?"),
                                    ("+Out context-aware", "+Out", "Does context-aware transfer beat plain transfer "
                                                                   "in mIoU_tail?")):
        d = paired_difference(summary, row, baseline, "miou_tail")
        if d is None:
            continue
        answer = {"higher": "yes", "lower": "no: it lowers it", "no difference shown":
                  "not shown: the interval includes 0", "one seed": "one seed, no interval"}[d.verdict()]
        lines.append(f"{question} {answer} ({_interval(d)} points, paired over {len(d.diffs)} seeds).")
    return "\n".join(lines) + "\n"
