"""Notebook hygiene: static checks on the saved .ipynb files (JSON only, nothing is executed).

Every notebook in notebooks/ is checked by every rule in CHECKS; each (notebook, rule) pair is its own
test, so a failure names both. The rules themselves are tested on a notebook built in tmp_path: a good
one passes all of them, and each deliberate defect is reported by the rule meant to catch it.

nbval's markers are cell tags (nbval-check-output, nbval-ignore-output), not comments students read;
exercise cells are tagged too (exercise-check, solution) for the student edition (zsct_lib.classroom.student).
Each notebook is also saved exactly as nbformat writes it, so that JupyterLab, which saves through
nbformat, changes no byte of a notebook it merely opens.
"""
from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED_NUMBERS = [f"{i:02d}" for i in range(8)]
NAME_RE = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")

GOALS_WITHIN_FIRST = 5  # cells
RECAP_WITHIN_LAST = 5  # cells
# nbval's tag names (nbval/plugin.py: the comment marker, lower case, "_" -> "-")
IGNORE_TAG = "nbval-ignore-output"
CHECK_TAG = "nbval-check-output"
SOLUTION_TAG = "solution"
EXERCISE_CHECK_TAG = "exercise-check"
# The kernel `make install` registers. JupyterLab writes the running kernel's spec into the notebook as soon
# as the kernel starts: a notebook saved with another display name is marked modified on opening.
_DISPLAY_NAME = re.search(r'--display-name\s+"([^"]+)"',
                          (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8"))
KERNEL_DISPLAY_NAME = _DISPLAY_NAME.group(1) if _DISPLAY_NAME else None
# A local absolute path, not a URL path ("example.org/work/..." is preceded by a word character).
LOCAL_PATH_RE = re.compile(r"(?<![\w./-])(?:/tmp/|/work/|/root/|/home/|/Users/|/private/var/|[A-Za-z]:\\Users\\)")
TEXT_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json", "application/javascript")


# ---------------------------------------------------------------------------------------------- helpers
def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=nbformat.NO_CONVERT)


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_cells(nb):
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def markdown_cells(cells):
    return [c for c in cells if c.get("cell_type") == "markdown"]


def code_lines(cell) -> list[str]:
    """Source lines without comments, blank lines and import statements."""
    out = []
    for line in source(cell).splitlines():
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("import ") or s.startswith("from "):
            continue
        out.append(line)
    return out


def output_texts(cell):
    """Every piece of text a cell's outputs show (images and widget views are skipped)."""
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            yield _join(out.get("text", ""))
        elif kind == "error":
            yield "\n".join([out.get("ename", ""), out.get("evalue", "")] + list(out.get("traceback", [])))
        elif kind in ("execute_result", "display_data"):
            for mime, data in out.get("data", {}).items():
                if mime in TEXT_MIME or mime.startswith("text/"):
                    yield data if isinstance(data, str) else _join(data) if isinstance(data, list) else str(data)


def _join(text) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def is_widget_cell(cell) -> bool:
    """Uses ipywidgets (interact, widgets.X) or shows a library view's .widget()."""
    body = "\n".join(code_lines(cell))
    return "interact" in body or "widgets." in body or ".widget(" in body


def has_tag(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def is_hidden(cell) -> bool:
    return cell.get("metadata", {}).get("jupyter", {}).get("source_hidden") is True


def _label(cell_index: int) -> str:
    return f"cell {cell_index}"


# ---------------------------------------------------------------------------------------------- rules
# Each rule takes a loaded notebook and returns a list of problems (empty when the rule holds).
CHECKS = {}


def rule(fn):
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


@rule
def check_valid_nbformat(nb):
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        return [f"not a valid nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')} notebook: "
                f"{str(exc).splitlines()[0]}"]
    return []


@rule
def check_kernelspec_python3(nb):
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    return [] if name == "python3" else [f"kernelspec name is {name!r}, expected 'python3'"]


@rule
def check_kernel_display_name(nb):
    shown = nb.get("metadata", {}).get("kernelspec", {}).get("display_name")
    if KERNEL_DISPLAY_NAME is None:
        return ["the Makefile installs no kernel with --display-name \"...\": cannot check the kernelspec"]
    return [] if shown == KERNEL_DISPLAY_NAME else [
        f"kernelspec display_name is {shown!r}, expected {KERNEL_DISPLAY_NAME!r} (what `make install` "
        "registers): JupyterLab rewrites it on opening and marks the notebook modified"]


@rule
def check_no_execution_timestamps(nb):
    """JupyterLab's and nbclient's per-cell `execution` timings: noise in every diff of a re-run."""
    stamped = [i for i, c in enumerate(nb.get("cells", [])) if "execution" in c.get("metadata", {})]
    return [f"{len(stamped)} cell(s) carry execution timestamps (metadata.execution), e.g. {_label(stamped[0])}: "
            "strip them"] if stamped else []


@rule
def check_no_saved_widget_state(nb):
    return ["notebook metadata has saved widget state (metadata.widgets): strip it"] \
        if "widgets" in nb.get("metadata", {}) else []


@rule
def check_executed_in_order(nb):
    problems, previous, unexecuted = [], 0, []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or not source(cell).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            unexecuted.append(str(i))
            continue
        if previous == 0 and count != 1:
            problems.append(f"{_label(i)}: the first execution_count is {count}, expected 1 (restart and run all)")
        elif previous and count <= previous:
            problems.append(f"{_label(i)}: execution_count {count} after {previous}: not run top to bottom")
        previous = count
    if unexecuted:
        problems.append(f"{len(unexecuted)} code cell(s) not executed (execution_count null): cells "
                        f"{', '.join(unexecuted[:12])}{' ...' if len(unexecuted) > 12 else ''}")
    if previous == 0 and not unexecuted:
        problems.append("no executed code cell")
    return problems


@rule
def check_no_error_outputs(nb):
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"{_label(i)} has an error output: {out.get('ename')}: {out.get('evalue', '')[:100]}")
            elif out.get("output_type") == "stream" and "Traceback (most recent call last)" in _join(out.get("text", "")):
                problems.append(f"{_label(i)} printed a traceback to {out.get('name')}")
    return problems


_GOALS_RE = re.compile(r"^\s{0,3}#{1,6}\s.*goal|\*\*[^*\n]*goal[^*\n]*\*\*|__[^_\n]*goal[^_\n]*__|"
                       r"<(b|strong|h[1-6])>[^<]*goal", re.IGNORECASE | re.MULTILINE)


@rule
def check_learning_goals_at_top(nb):
    top = markdown_cells(nb.get("cells", [])[:GOALS_WITHIN_FIRST])
    if any(_GOALS_RE.search(source(c)) for c in top):
        return []
    return [f"no learning-goals markdown (a heading or bold text with 'goal') in the first {GOALS_WITHIN_FIRST} cells"]


_CHECKER_CALL_RE = re.compile(r"(?<!def )\bcheck_\w+\s*\(|zsct_lib\.exercises\b")


@rule
def check_exercise_with_checker(nb):
    for cell in code_cells(nb):
        if any(_CHECKER_CALL_RE.search(line) for line in code_lines(cell)):
            return []
    return ["no exercise checker is called (a code cell calling exercises.check_...(...))"]


@rule
def check_hidden_solution(nb):
    solutions = [(i, c) for i, c in enumerate(nb.get("cells", [])) if has_tag(c, SOLUTION_TAG)]
    if not solutions:
        return [f"no solution cell (tag '{SOLUTION_TAG}')"]
    return [f"{_label(i)} is tagged '{SOLUTION_TAG}' but not collapsed (metadata.jupyter.source_hidden true)"
            for i, c in solutions if not is_hidden(c)]


_HANDS_IN_MY_RE = re.compile(r"\(\s*my_\w+\s*\)")  # a call given the student's function: the exercise's check
_DEFINES_SOLUTION_RE = re.compile(r"^def solution_\w+\(|^# One solution", re.MULTILINE)


@rule
def check_exercise_tags(nb):
    """The student edition drops the cells tagged solution and empties those tagged exercise-check: an untagged
    solution would be handed out."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if _DEFINES_SOLUTION_RE.search(source(cell)) and not has_tag(cell, SOLUTION_TAG):
            problems.append(f"{_label(i)} holds a solution but is not tagged '{SOLUTION_TAG}'")
        if any(_HANDS_IN_MY_RE.search(line) for line in code_lines(cell)) and not has_tag(cell, EXERCISE_CHECK_TAG):
            problems.append(f"{_label(i)} checks a my_ function but is not tagged '{EXERCISE_CHECK_TAG}'")
        if has_tag(cell, SOLUTION_TAG) and has_tag(cell, EXERCISE_CHECK_TAG):
            problems.append(f"{_label(i)} is tagged both '{SOLUTION_TAG}' and '{EXERCISE_CHECK_TAG}'")
    return problems


@rule
def check_recap_at_end(nb):
    tail = markdown_cells(nb.get("cells", [])[-RECAP_WITHIN_LAST:])
    if any("recap" in source(c).lower() for c in tail):
        return []
    return [f"no recap markdown in the last {RECAP_WITHIN_LAST} cells"]


@rule
def check_no_marker_comments(nb):
    return [f"{_label(i)} has an nbval marker in its code: use the cell tag instead (e.g. '{CHECK_TAG}')"
            for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "code" and "NBVAL_" in source(cell)]


@rule
def check_widget_cells_ignore_output(nb):
    return [f"{_label(i)} uses widgets but is not tagged '{IGNORE_TAG}'"
            for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "code" and is_widget_cell(cell) and not has_tag(cell, IGNORE_TAG)]


@rule
def check_has_checked_output(nb):
    marked = [(i, c) for i, c in enumerate(nb.get("cells", []))
              if c.get("cell_type") == "code" and has_tag(c, CHECK_TAG)]
    if not marked:
        return [f"no cell tagged '{CHECK_TAG}': nbval --nbval-lax compares no output of this notebook"]
    problems = [f"{_label(i)} is tagged both '{CHECK_TAG}' and '{IGNORE_TAG}'"
                for i, c in marked if has_tag(c, IGNORE_TAG)]
    if not any(c.get("outputs") for _, c in marked):
        problems.append(f"every '{CHECK_TAG}' cell has an empty saved output: nothing is compared")
    return problems


@rule
def check_no_local_paths_in_outputs(nb):
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        for text in output_texts(cell):
            m = LOCAL_PATH_RE.search(text)
            if m:
                line = next(ln for ln in text.splitlines() if m.group(0) in ln)
                problems.append(f"{_label(i)} output shows a local absolute path: {line.strip()[:120]!r}")
                break
    return problems


_IMPORT_LIB_RE = re.compile(r"^\s*(?:import\s+zsct_lib\b|from\s+zsct_lib(?:\.\w+)*\s+import\b)", re.MULTILINE)


@rule
def check_imports_library(nb):
    if any(_IMPORT_LIB_RE.search(source(c)) for c in code_cells(nb)):
        return []
    return ["does not import zsct_lib (the computations belong to the library)"]


def check_names(directory: Path) -> list[str]:
    """Notebooks are NN_name.ipynb with NN = 00..07, each number exactly once."""
    problems, numbers = [], {}
    for path in sorted(directory.glob("*.ipynb")):
        m = NAME_RE.match(path.name)
        if not m:
            problems.append(f"{path.name}: not named NN_name.ipynb (two digits, lower-case words joined by _)")
            continue
        numbers.setdefault(m.group(1), []).append(path.name)
    for number, names in sorted(numbers.items()):
        if number not in EXPECTED_NUMBERS:
            problems.append(f"{', '.join(names)}: number {number} is outside 00..07")
        if len(names) > 1:
            problems.append(f"number {number} is used by more than one notebook: {', '.join(names)}")
    missing = [n for n in EXPECTED_NUMBERS if n not in numbers]
    if missing:
        problems.append(f"missing notebooks numbered {', '.join(missing)} in {directory.name}/")
    return problems


def round_trip_problems(path: Path) -> list[str]:
    """What differs when nbformat reads, normalizes and writes the notebook again, as the Jupyter server
    does on every save; empty when the file comes back byte for byte."""
    raw = path.read_bytes()
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    changes, normalized = nbformat.validator.normalize(nb)
    buffer = io.StringIO()
    nbformat.write(nbformat.from_dict(normalized), buffer)
    written = buffer.getvalue().encode("utf-8")
    problems = [f"nbformat's normalize changes {changes} thing(s)"] if changes else []
    if written != raw:
        old, new = raw.decode("utf-8", "replace").splitlines(), written.decode("utf-8").splitlines()
        line = next((n for n, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        problems.append(f"not saved as nbformat writes it ({len(raw)} bytes, rewritten {len(written)}); first "
                        f"difference at line {line + 1}: {old[line] if line < len(old) else '<end>'!r}")
    return problems


def check_notebook(path: Path) -> dict[str, list[str]]:
    """Every rule's problems for one notebook file; only rules that found something are listed."""
    try:
        nb = load(path)
    except Exception as exc:  # not JSON, or not a notebook at all
        return {"valid_nbformat": [f"cannot be read as a notebook: {exc}"]}
    found = {name: fn(nb) for name, fn in CHECKS.items()}
    return {name: problems for name, problems in found.items() if problems}


# ---------------------------------------------------------------------------------------------- the notebooks
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
_cache: dict[Path, nbformat.NotebookNode] = {}


def _loaded(path: Path):
    if path not in _cache:
        _cache[path] = load(path)
    return _cache[path]


def test_notebook_names_and_numbers():
    problems = check_names(NOTEBOOK_DIR)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("check", list(CHECKS), ids=list(CHECKS))
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_hygiene(path, check):
    problems = CHECKS[check](_loaded(path))
    assert not problems, f"{path.name} [{check}]:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_survives_a_save_unchanged(path):
    problems = round_trip_problems(path)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------- the rules fail
def _dump(nb) -> str:
    """The notebook's JSON as saved, without nbformat's validation (some defects make it invalid)."""
    return json.dumps(nb, indent=1)


def good_notebook() -> nbformat.NotebookNode:
    """A small notebook that satisfies every rule."""
    cells = [
        v4.new_markdown_cell("# 99 A sample\n\n## Learning goals\n- one\n- two"),
        v4.new_code_cell("import torch\nfrom zsct_lib import pseudo\nfrom zsct_lib.classroom import exercises"),
        v4.new_code_cell("print(torch.zeros(2, 3).shape)", metadata={"tags": [CHECK_TAG]},
                         outputs=[v4.new_output("stream", name="stdout", text="torch.Size([2, 3])\n")]),
        v4.new_code_cell("import ipywidgets as widgets\n"
                         "widgets.interact(lambda q=0.5: q, q=widgets.FloatSlider(0.5, min=0, max=1))",
                         metadata={"tags": [IGNORE_TAG]}),
        v4.new_code_cell("def my_label(p):\n    raise NotImplementedError"),
        v4.new_code_cell("result = exercises.check_mpt_pseudo_label(my_label)",
                         metadata={"tags": [EXERCISE_CHECK_TAG, CHECK_TAG]},
                         outputs=[v4.new_output("stream", name="stdout", text="NOT YET: not implemented\n")]),
        v4.new_code_cell("# One solution (expand to read it).\ndef solution_label(p):\n"
                         "    return pseudo.mpt_pseudo_label(p)\n\n\n"
                         "result = exercises.check_mpt_pseudo_label(solution_label)",
                         metadata={"jupyter": {"source_hidden": True}, "tags": [SOLUTION_TAG, CHECK_TAG]},
                         outputs=[v4.new_output("stream", name="stdout", text="PASSED: agrees\n")]),
        v4.new_markdown_cell("## Recap\n- done"),
    ]
    for n, cell in enumerate((c for c in cells if c.cell_type == "code"), start=1):
        cell.execution_count = n
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": KERNEL_DISPLAY_NAME, "language": "python"}
    return nb


def _first_code(nb, text):
    return next(c for c in nb.cells if c.cell_type == "code" and text in source(c))


def _untag(cell, tag):
    cell.metadata.tags = [t for t in cell.metadata.get("tags", []) if t != tag]


def _break_validity(nb):
    nb.cells[0]["not_a_field"] = 1


def _break_kernel(nb):
    nb.metadata.kernelspec.name = "zsct-venv"


def _break_display_name(nb):
    nb.metadata.kernelspec.display_name = "Python 3"


def _break_timestamps(nb):
    code_cells(nb)[0].metadata["execution"] = {"iopub.execute_input": "2026-12-02T08:16:14.642219Z"}


def _break_widget_state(nb):
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}


def _break_order(nb):
    code = code_cells(nb)
    code[1].execution_count, code[2].execution_count = code[2].execution_count, code[1].execution_count
    code[-1].execution_count = None


def _break_errors(nb):
    code_cells(nb)[1].outputs.append(v4.new_output("error", ename="ValueError", evalue="boom", traceback=["x"]))


def _break_goals(nb):
    nb.cells[0].source = "# 99 A sample\n\nIn this notebook we look at things."


def _break_checker(nb):
    for cell in code_cells(nb):
        cell.source = source(cell).replace("exercises.check_mpt_pseudo_label", "print")


def _break_solution(nb):
    for cell in nb.cells:
        cell.metadata.pop("jupyter", None)


def _break_exercise_tags(nb):
    for cell in nb.cells:
        _untag(cell, EXERCISE_CHECK_TAG)


def _break_recap(nb):
    nb.cells[-1].source = "## Summary\n- done"
    nb.cells.append(v4.new_markdown_cell("A recap is in the next notebook."))
    nb.cells.extend(v4.new_markdown_cell("More.") for _ in range(RECAP_WITHIN_LAST))


def _break_marker_comment(nb):
    cell = _first_code(nb, "torch.zeros")
    cell.source = "# NBVAL_CHECK_OUTPUT\n" + source(cell)


def _break_widget_marker(nb):
    _untag(_first_code(nb, "interact"), IGNORE_TAG)


def _break_checked_output(nb):
    for cell in nb.cells:
        _untag(cell, CHECK_TAG)


def _break_local_path(nb):
    code_cells(nb)[1].outputs.append(v4.new_output("stream", name="stdout", text="saved to /tmp/tmpab12/fig.png\n"))


def _break_import(nb):
    cell = code_cells(nb)[0]
    cell.source = "import torch\nimport numpy as np"


BREAKERS = {
    "valid_nbformat": _break_validity,
    "kernelspec_python3": _break_kernel,
    "kernel_display_name": _break_display_name,
    "no_saved_widget_state": _break_widget_state,
    "no_execution_timestamps": _break_timestamps,
    "executed_in_order": _break_order,
    "no_error_outputs": _break_errors,
    "learning_goals_at_top": _break_goals,
    "exercise_with_checker": _break_checker,
    "hidden_solution": _break_solution,
    "exercise_tags": _break_exercise_tags,
    "recap_at_end": _break_recap,
    "no_marker_comments": _break_marker_comment,
    "widget_cells_ignore_output": _break_widget_marker,
    "has_checked_output": _break_checked_output,
    "no_local_paths_in_outputs": _break_local_path,
    "imports_library": _break_import,
}


def test_every_rule_has_a_defect_to_catch():
    assert set(BREAKERS) == set(CHECKS)


def test_good_notebook_passes_every_rule(tmp_path):
    path = tmp_path / "99_good.ipynb"
    nbformat.write(good_notebook(), str(path))
    assert check_notebook(path) == {}


@pytest.mark.parametrize("check", list(BREAKERS))
def test_rule_reports_its_defect(tmp_path, check):
    nb = good_notebook()
    BREAKERS[check](nb)
    path = tmp_path / "99_bad.ipynb"
    path.write_text(_dump(nb))
    found = check_notebook(path)
    assert check in found, f"{check} did not report the defect; found {found}"
    # The defect is reported by its own rule only, so a failure message points at the right cause.
    assert set(found) == {check}, found


def test_all_defects_at_once_are_all_reported(tmp_path):
    nb = good_notebook()
    for name, breaker in BREAKERS.items():
        if name != "recap_at_end":  # it appends cells that would push the recap out of reach anyway
            breaker(nb)
    path = tmp_path / "99_bad.ipynb"
    path.write_text(_dump(nb))
    found = check_notebook(path)
    assert set(found) == set(BREAKERS) - {"recap_at_end"}, found
    assert len(found["executed_in_order"]) == 2  # the swapped pair and the unexecuted cell


def test_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "99_broken.ipynb"
    path.write_text('{"cells": [')
    assert "valid_nbformat" in check_notebook(path)


def test_names_rule_reports_gaps_duplicates_and_bad_names(tmp_path):
    for name in ["00_overview", "01_a", "02_b", "03_c", "03_c_again", "05_e", "06_f", "Notes", "8_late"]:
        nbformat.write(good_notebook(), str(tmp_path / f"{name}.ipynb"))
    problems = "\n".join(check_names(tmp_path))
    assert "missing notebooks numbered 04, 07" in problems
    assert "number 03 is used by more than one notebook" in problems
    assert "Notes.ipynb: not named NN_name.ipynb" in problems
    assert "8_late.ipynb: not named" in problems
    for name in ["04_d", "07_g"]:
        nbformat.write(good_notebook(), str(tmp_path / f"{name}.ipynb"))
    for name in ["03_c_again", "Notes", "8_late"]:
        (tmp_path / f"{name}.ipynb").unlink()
    assert check_names(tmp_path) == []


def test_widget_rule_ignores_imports_and_comments():
    nb = good_notebook()
    nb.cells.insert(1, v4.new_code_cell("from ipywidgets import interact  # the interactive part is below"))
    assert check_widget_cells_ignore_output(nb) == []
    nb.cells.insert(2, v4.new_code_cell("view = PseudoLabelView(model)\nview.widget()"))
    assert check_widget_cells_ignore_output(nb) == ["cell 2 uses widgets but is not tagged 'nbval-ignore-output'"]


def test_local_path_rule_ignores_urls_and_images():
    nb = good_notebook()
    cell = code_cells(nb)[1]
    cell.outputs.append(v4.new_output("stream", name="stdout", text="see https://example.org/work/paper.pdf\n"))
    cell.outputs.append(v4.new_output("display_data", data={"image/png": "iVBOR/tmp/work/root/AAAA",
                                                            "text/plain": "<Figure size 640x480 with 1 Axes>"}))
    assert check_no_local_paths_in_outputs(nb) == []


def test_round_trip_check_catches_a_reformatted_notebook(tmp_path):
    path = tmp_path / "99_good.ipynb"
    nbformat.write(good_notebook(), str(path))
    assert round_trip_problems(path) == []
    nb = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(nb, indent=2, sort_keys=True) + "\n", encoding="utf-8")  # another editor's indent
    assert "not saved as nbformat writes it" in round_trip_problems(path)[0]
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")  # no final newline
    assert "not saved as nbformat writes it" in round_trip_problems(path)[0]
    del nb["cells"][0]["id"]  # an nbformat 4.5 cell without its id: reading adds one (and warns)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert round_trip_problems(path)
