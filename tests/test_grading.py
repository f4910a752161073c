"""zsct grade: hand-made submissions run in fresh kernels; each status, the table, the CSV/JSON and the errors.

One `zsct grade --jobs 2` run (module fixture, four kernels, two at a time) grades:
  alice.ipynb      right answers, a helper in its own cell, and a cell that would loop forever if run;
  bob.ipynb        a wrong answer in a cell that raises after its def, a cell that raises while defining
                   my_zero_loss, a missing function;
  carol/hw.ipynb   a folder (the student is the folder): the library's function, and a thin wrapper of it;
  erin.ipynb       a cell that loops forever next to its my_* definition (--timeout 20).
The refusal rules and the one-line errors are tested without a kernel.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from zsct_lib import evaluation, losses
from zsct_lib.classroom import grading
from zsct_lib.cli import main

REPO = Path(__file__).resolve().parents[1]
SETUP = "import numpy as np\nimport torch\n\nfrom zsct_lib.classroom import exercises"
RIGHT_IOU = """def my_iou_per_class(cm):
    cm = np.asarray(cm, dtype=np.float64)
    tp = diagonal(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)"""
RIGHT_ZERO = "def my_zero_loss(a, b):\n    return (a - 0).abs().mean() + (b - 0).abs().mean()"


def notebook(path: Path, *cells: str) -> Path:
    """A .ipynb of code cells; a cell starting with '#md ' is a markdown cell."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = v4.new_notebook(cells=[v4.new_markdown_cell(c[4:]) if c.startswith("#md ") else v4.new_code_cell(c)
                                for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(return code, stdout, grades.csv rows, grades.json rows, {(student, exercise): row}) of one run."""
    folder = tmp_path_factory.mktemp("handins")
    alice = notebook(folder / "alice.ipynb", SETUP,
                     "#md Write `my_iou_per_class(cm)` and `my_zero_loss(a, b)`.",
                     "def diagonal(cm):\n    return np.diag(cm)\n\n\nEPSILON = 1e-9",   # definitions only: runs
                     RIGHT_IOU,
                     "result = exercises.check_iou_per_class(my_iou_per_class)",
                     "while True:   # stands for the notebook's slow cells: never run by the grader\n    pass",
                     RIGHT_ZERO)
    bob = notebook(folder / "bob.ipynb", SETUP,
                   "def my_iou_per_class(cm):\n    return np.diag(cm) / cm.sum(axis=0)   # precision, not IoU\n\n\n"
                   "my_iou_per_class(undefined_matrix)",
                   "scale = 1 / 0\n\n\n" + RIGHT_ZERO,
                   "#md Write `my_class_balanced_weights(counts, beta)`.")
    notebook(folder / "carol" / "hw.ipynb", SETUP,
             "from zsct_lib.evaluation import iou_per_class\n\nmy_iou_per_class = iou_per_class",
             "from zsct_lib import losses\n\n\ndef my_zero_loss(a, b):\n    return losses.zero_loss(a, b)")
    erin = notebook(folder / "erin.ipynb", SETUP,
                    RIGHT_IOU.replace("diagonal(cm)", "np.diag(cm)")
                    + "\n\n\nwhile True:   # tries it forever\n    pass")
    out = folder / "grades"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["grade", str(alice), str(bob), str(folder / "carol"), str(erin),
                     "--timeout", "20", "--out", str(out), "--jobs", "2"])
    with open(out / "grades.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    rows = json.loads((out / "grades.json").read_text())
    return code, printed.getvalue(), table, rows, {(r["student"], r["exercise"]): r for r in rows}


def test_each_submission_gets_its_status(graded):
    code, _, _, _, by = graded
    assert code == 0
    assert {key: row["status"] for key, row in by.items()} == {
        ("alice", "iou_per_class"): "PASSED", ("alice", "zero_loss"): "PASSED",
        ("bob", "iou_per_class"): "NOT YET", ("bob", "zero_loss"): "error",
        ("bob", "class_balanced_weights"): "missing",
        ("carol", "iou_per_class"): "refused", ("carol", "zero_loss"): "refused",
        ("erin", "iou_per_class"): "timeout"}
    assert "agrees with the library" in by["alice", "iou_per_class"]["message"]
    assert "wrong value" in by["bob", "iou_per_class"]["message"]
    assert by["bob", "iou_per_class"]["message"].endswith(
        "; cell 2, which defines my_iou_per_class, raised NameError: name 'undefined_matrix' is not defined")
    assert (by["alice", "iou_per_class"]["points"], by["alice", "iou_per_class"]["max_points"]) == (2, 2)
    assert (by["bob", "iou_per_class"]["points"], by["bob", "iou_per_class"]["max_points"]) == (0, 2)
    assert by["bob", "zero_loss"]["message"] == \
        "ZeroDivisionError: division by zero (cell 3, which defines my_zero_loss)"
    assert by["bob", "class_balanced_weights"]["message"] == "no my_class_balanced_weights in the notebook"
    assert by["carol", "iou_per_class"]["message"] == \
        "uses the library's answer: my_iou_per_class is zsct_lib.evaluation.iou_per_class"
    assert by["carol", "zero_loss"]["message"] == \
        "uses the library's answer: my_zero_loss calls zsct_lib.losses.zero_loss"
    assert by["erin", "iou_per_class"]["message"] == "not checked: the notebook ran past the 20 s limit (in cell 2)"
    assert by["carol", "zero_loss"]["notebook"] == "hw.ipynb" and by["alice", "zero_loss"]["notebook"] == "alice.ipynb"


def test_csv_json_and_table_agree(graded):
    _, printed, table, rows, _ = graded
    assert table == [{k: str(v) for k, v in row.items()} for row in rows]
    assert list(rows[0]) == ["student", "notebook", "exercise", "status", "message", "points", "max_points"]
    assert [r["student"] for r in rows] == ["alice"] * 2 + ["bob"] * 3 + ["carol"] * 2 + ["erin"]  # their order
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("student "))
    assert lines[header].split() == ["student", "notebook", "exercise", "status", "points", "message"]
    counts = lines.index("2 PASSED, 1 NOT YET, 2 refused, 1 missing, 1 error, 1 timeout")
    table_lines = lines[header + 1:counts]
    assert all(len(line) < 160 for line in table_lines)          # wrapped for the terminal,
    column = lines[header].index("message")
    for row in rows:                                              # and each message whole, across its lines
        first = next(i for i, line in enumerate(table_lines) if line.split()[:3] == [row["student"], row["notebook"],
                                                                                      row["exercise"]])
        shown = [table_lines[first][column:]]
        for line in table_lines[first + 1:]:
            if line[:column].strip():
                break
            shown.append(line[column:])
        assert " ".join(shown).split() == row["message"].split()
    assert lines[counts + 1:counts + 5] == ["alice: 4/4 points, 2 of 2 exercises passed",
                                            "bob: 0/6 points, 0 of 3 exercises passed",
                                            "carol: 0/4 points, 0 of 2 exercises passed",
                                            "erin: 0/2 points, 0 of 1 exercises passed"]
    assert "alice: alice.ipynb: ran 4 of 6 code cells and 2 checks" in printed   # not the check or the loop


@pytest.mark.parametrize("name,content,expected", [
    ("nowhere.ipynb", None, "nowhere.ipynb: no such file or folder"),
    ("notes.txt", "hi", "notes.txt: not a notebook (expected a .ipynb file)"),
    ("cut.ipynb", '{"cells": [', "cut.ipynb: not valid JSON (Expecting value at line 1 column 12)"),
    ("list.ipynb", "[1, 2]", "list.ipynb: JSON but not a Jupyter notebook"),
    ("empty", "a folder", "empty: a folder without .ipynb notebooks"),
])
def test_mistakes_are_one_line_errors_naming_the_file(name, content, expected, tmp_path, capsys):
    path = tmp_path / name
    if content == "a folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    good = notebook(tmp_path / "good.ipynb", SETUP, RIGHT_ZERO)
    assert main(["grade", str(good), str(path), "--out", str(tmp_path / "grades")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("zsct grade: error: ") and expected in captured.err, captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert captured.out == "" and not (tmp_path / "grades").exists()       # nothing ran, nothing written


def test_grade_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--help"])
    assert exit_info.value.code == 0 and "usage: zsct grade" in capsys.readouterr().out


def test_only_the_setup_and_the_exercise_cells_of_a_handed_out_notebook_run():
    nb = grading.read_notebook(REPO / "notebooks" / "07_evaluation_and_ablation.ipynb")
    assert grading.exercises_of(nb) == ["confusion_matrix"]
    run = grading.cells_to_run(nb, ["confusion_matrix"])
    assert run == [grading.code_cells(nb)[0]] + [i for i, c in enumerate(nb.cells) if c.source.startswith("def my_")]


def in_notebook(source: str, name: str):
    """`name` as a notebook cell would define it (module __main__)."""
    namespace = {"__name__": "__main__"}
    exec(source, namespace)
    return namespace[name]


@pytest.mark.parametrize("source,expected", [
    ("from zsct_lib.evaluation import iou_per_class as f", "is zsct_lib.evaluation.iou_per_class"),
    ("import functools\nfrom zsct_lib import evaluation\n"
     "f = functools.wraps(evaluation.iou_per_class)(lambda cm: 0)", "wraps zsct_lib.evaluation.iou_per_class"),
    ("import functools\nfrom zsct_lib import evaluation\nf = functools.partial(evaluation.iou_per_class)",
     "wraps zsct_lib.evaluation.iou_per_class"),
    ("from json import dumps as f", "is defined in json, not in the notebook"),
    ("from zsct_lib.evaluation import iou_per_class\nf = lambda cm: iou_per_class(cm) + 0",
     "calls zsct_lib.evaluation.iou_per_class"),
    ("import zsct_lib.evaluation\ndef f(cm):\n    return zsct_lib.evaluation.iou_per_class(cm)",
     "calls zsct_lib.evaluation.iou_per_class"),
    ("def f(cm):\n    from zsct_lib.evaluation import iou_per_class\n    return iou_per_class(cm)",
     "calls zsct_lib.evaluation.iou_per_class"),
    ("from zsct_lib import evaluation\ndef helper(cm):\n    return [evaluation.iou_per_class(c) for c in [cm]][0]\n"
     "def f(cm):\n    return helper(cm)", "calls zsct_lib.evaluation.iou_per_class"),
    ("from zsct_lib.evaluation import iou_per_class\ndef f(cm, iou=iou_per_class):\n    return iou(cm)",
     "calls zsct_lib.evaluation.iou_per_class"),
    ("import numpy as np\nfrom zsct_lib.evaluation import confusion_matrix, iou_per_class\n"
     "def f(cm):\n    tp = np.diag(cm)\n    return tp / (cm.sum(0) + cm.sum(1) - tp)", None),
])
def test_refusal_of_the_library_answer(source, expected):
    assert grading.refusal(in_notebook(source, "f"), evaluation.iou_per_class) == expected


def test_the_reference_is_the_function_the_checker_compares_with():
    assert grading.library_function("iou_per_class") is evaluation.iou_per_class
    assert grading.library_function("zero_loss") is losses.zero_loss
    assert grading.refusal(functools.partial(losses.zero_loss), losses.zero_loss) == "wraps zsct_lib.losses.zero_loss"


def test_every_exercise_has_its_library_function_and_points():
    from zsct_lib.classroom import exercises

    for _, checker in exercises.EXERCISES:
        name = checker.__name__[len("check_"):]
        assert grading.library_function(name).__name__ == name
        assert grading.exercise_points(name) == checker.points


def test_a_bad_jobs_value_is_a_one_line_error(tmp_path, capsys):
    path = notebook(tmp_path / "a.ipynb", SETUP)
    assert main(["grade", str(path), "--jobs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "zsct grade: error: --jobs 0: expected a whole number of notebooks at a time, at least 1"
