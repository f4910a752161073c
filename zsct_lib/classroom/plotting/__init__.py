"""Every figure of the project, by topic: the notebooks' pictures and plots, and the files of figures/.

* `pictures`: pictures in a grid and the panels of the interactive views (every other module draws with them);
* `imbalance` (notebook 01), `style` (02, 03, 06), `pseudo` (04), `transfer` (05), `evaluation` (07);
* `files`: the files of figures/ and of the demo run; `make_figures` is the `zsct figures` command.

Two kinds of function, both returning a :class:`matplotlib.figure.Figure`:

* the notebooks' figures are built without pyplot (no global state, nothing shown): a notebook
  displays the returned figure, a widget redraws it, a script saves it with ``fig.savefig(path)``;
* the figures of figures/ and of the runs (`architecture_figure`, `demo_figure`, `loss_curves`,
  `ablation_figure`) use pyplot and take a `path`: given one, the figure is saved there and closed.

A script that imports this package draws off-screen (matplotlib's Agg backend); a notebook keeps its
inline backend. What the pictures show is computed in `classroom.analysis` (and the library's modules);
label maps are coloured with `labels.colorize`. Every public name is importable from here
(`from zsct_lib.classroom.plotting import show_images`).
"""
import sys

import matplotlib

if "ipykernel" not in sys.modules:  # scripts draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg", force=False)

from .pictures import (  # noqa: E402
    FONT_SIZE, MAX_WIDTH, SOURCE_COLOUR, TARGET_COLOUR, chars_per_line, class_legend, error_map,
    format_percent, gallery, knob_figure, mask_rgb, overlay, present_classes, show_gallery,
    show_images, show_panel, show_sample, to_rgb, wrap_text)
from .imbalance import class_frequency_figure, class_weights_figure  # noqa: E402
from .style import (  # noqa: E402
    LEGACY_LOSS_KEYS, LOSS_CURVE_KEYS, TRANSLATION_TITLES, loss_curves, loss_history_figure,
    style_code_figure, translation_figure)
from .pseudo import TAIL_CURVE_COLOURS, threshold_curves_figure  # noqa: E402
from .transfer import context_figure, gate_histogram_figure  # noqa: E402
from .evaluation import (  # noqa: E402
    ablation_comparison_figure, ablation_figure, confusion_figure, learning_curves_figure,
    per_class_iou_figure, qualitative_figure)
from .files import architecture_figure, demo_figure, make_figures  # noqa: E402

__all__ = [
    "FONT_SIZE", "LEGACY_LOSS_KEYS", "LOSS_CURVE_KEYS", "MAX_WIDTH", "SOURCE_COLOUR", "TAIL_CURVE_COLOURS",
    "TARGET_COLOUR", "TRANSLATION_TITLES", "ablation_comparison_figure", "ablation_figure",
    "architecture_figure", "chars_per_line", "class_frequency_figure", "class_legend",
    "class_weights_figure", "confusion_figure", "context_figure", "demo_figure", "error_map",
    "format_percent", "gallery", "gate_histogram_figure", "knob_figure", "learning_curves_figure",
    "loss_curves", "loss_history_figure", "make_figures", "mask_rgb", "overlay", "per_class_iou_figure",
    "present_classes", "qualitative_figure", "show_gallery", "show_images", "show_panel", "show_sample",
    "style_code_figure", "threshold_curves_figure", "to_rgb", "translation_figure", "wrap_text"]
