"""The exports for nbgrader and otter-grader (zsct_lib.classroom.exports), graded by the tools themselves.

A small series notebook, made here from real exercise cells (the poly schedule of 06 and the IoU of 00,
the cheapest checks, with their markdown, check and solution cells), is exported, handed out by the tool
(`nbgrader generate_assignment`, `otter assign`) and graded (`nbgrader autograde`, `otter run`) for four
submissions with known points (2 a question):

    correct          both solutions                     poly_lr 2, iou_per_class 2
    wrong            poly_lr returns base_lr            poly_lr 0, iou_per_class 2
    raising          iou_per_class's cell raises        poly_lr 2, iou_per_class 0 (the grader goes on)
    untouched        the handed-out stubs               poly_lr 0, iou_per_class 0

Then every real notebook's export must pass the tool's hand-out step (without running it).

The tools are the `grading-tools` extra (`pip install -e '.[grading-tools]'`), not installed with `.[dev]`:
without them these tests are skipped (`make test-grading-tools` installs the extra and runs them, as CI does). They run the tools as `python -m nbgrader` / `python -m otter` of
this interpreter, whose `python3` Jupyter kernel must import zsct_lib. Together they take 6 to 7
minutes on 2 busy cores (docs/teachers.md has each command's measured time).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from zsct_lib.classroom.exports import EXERCISE_CHECK_TAG, SOLUTION_TAG, has_tag, solutions
from zsct_lib.classroom.student import write_student_edition

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXERCISES = {"poly_lr": "06_full_training.ipynb", "iou_per_class": "00_overview.ipynb"}
SETUP = "import numpy as np\nimport torch\n\nfrom zsct_lib.classroom import exercises"
KEPT_OUTPUT = "a committed output, kept\n"
EXPECTED = {"correct": {"poly_lr": 2, "iou_per_class": 2}, "wrong": {"poly_lr": 0, "iou_per_class": 2},
            "raising": {"poly_lr": 2, "iou_per_class": 0}, "untouched": {"poly_lr": 0, "iou_per_class": 0}}


def tool(module: str) -> None:
    """Skip without the grading-tools extra; where ZSCT_REQUIRE_GRADING_TOOLS is set (`make
    test-grading-tools`, CI), a missing tool fails instead."""
    if os.environ.get("ZSCT_REQUIRE_GRADING_TOOLS"):
        __import__(module)
    else:
        pytest.importorskip(module, reason=f"{module} is in the grading-tools extra: pip install -e '.[grading-tools]'")


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch):
    """This interpreter's scripts first on PATH, as in its activated environment: nbgrader's gradebook
    calls the `alembic` command."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def run(*args, cwd: Path) -> str:
    """Run `python -m <tool> ...` in `cwd`; its output, or a failure that shows it."""
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def mini_series(folder: Path) -> Path:
    """A series notebook with two exercises, their cells copied from the real notebooks, and a cell with a
    committed output; returns its path (folder/mini.ipynb)."""
    first = nbformat.read(NOTEBOOK_DIR / EXERCISES["poly_lr"], as_version=4)
    shown = nbformat.v4.new_code_cell('print("a committed output, kept")', id="kept-output", execution_count=1,
                                      outputs=[nbformat.v4.new_output("stream", name="stdout", text=KEPT_OUTPUT)])
    cells = [nbformat.v4.new_code_cell(SETUP, id="setup"), shown]
    for name, notebook in EXERCISES.items():
        nb = first if notebook == EXERCISES["poly_lr"] else nbformat.read(NOTEBOOK_DIR / notebook, as_version=4)
        at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"def my_{name}(" in c.source)
        block = nb.cells[at - 1:at + 3]                  # the exercise's markdown, my_ cell, check, solution
        assert has_tag(block[2], EXERCISE_CHECK_TAG) and has_tag(block[3], SOLUTION_TAG), name
        cells += block
    nb = nbformat.v4.new_notebook(cells=cells, metadata=first.metadata)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "mini.ipynb")
    return folder / "mini.ipynb"


WRONG = "def my_poly_lr(base_lr, step, total_steps, power=0.9):\n    return base_lr"
RAISES = 'raise RuntimeError("a cell that raises")'
# What each submission writes in the student's cells: the solution, a wrong answer, a cell that raises, or
# nothing (the stub handed out stays).
ANSWERS = {"correct": {"poly_lr": SOLUTION_TAG, "iou_per_class": SOLUTION_TAG},
           "wrong": {"poly_lr": WRONG, "iou_per_class": SOLUTION_TAG},
           "raising": {"poly_lr": SOLUTION_TAG, "iou_per_class": RAISES},
           "untouched": {}}


def submissions(released: Path, teacher: Path, student_cell) -> dict[str, object]:
    """The four submissions of the module's docstring, made from the handed-out notebook: {kind: notebook}.
    `student_cell(nb, name)` finds the cell where the student writes my_<name>."""
    found = solutions(nbformat.read(teacher, as_version=4))
    made = {}
    for kind, answers in ANSWERS.items():
        nb = nbformat.read(released, as_version=4)
        for name, answer in answers.items():
            student_cell(nb, name).source = found[name] if answer == SOLUTION_TAG else answer
        made[kind] = nb
    return made


# ---- nbgrader -------------------------------------------------------------------------------------------
NBGRADER_CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "zsct"
c.ClearOutput.enabled = False          # the release keeps the series' outputs, as the student edition does
"""


def nbgrader_course(tmp_path: Path) -> Path:
    tool("nbgrader")
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(course)))
    return course


@pytest.mark.slow
def test_nbgrader_grades_a_correct_a_wrong_a_raising_and_an_untouched_submission(tmp_path):
    course = nbgrader_course(tmp_path)
    mini = mini_series(tmp_path / "teacher")
    write_student_edition(course / "source" / "zsct", source=mini.parent, format="nbgrader")
    run("nbgrader", "generate_assignment", "zsct", "--force", cwd=course)
    released = course / "release" / "zsct" / "mini.ipynb"
    text = released.read_text()
    assert KEPT_OUTPUT.strip() in text and "BEGIN SOLUTION" not in text

    def student_cell(nb, name):
        return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"my_{name}")

    for kind, nb in submissions(released, mini, student_cell).items():
        (course / "submitted" / kind / "zsct").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / kind / "zsct" / "mini.ipynb")
    run("nbgrader", "autograde", "zsct", "--force", cwd=course)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        got = {kind: {name: gradebook.find_grade(f"check_{name}", "mini", "zsct", kind).score for name in EXERCISES}
               for kind in EXPECTED}
    assert got == EXPECTED


@pytest.mark.slow
def test_nbgrader_accepts_every_notebook_of_the_series(tmp_path):
    course = nbgrader_course(tmp_path)
    write_student_edition(course / "source" / "zsct", format="nbgrader")
    run("nbgrader", "generate_assignment", "zsct", "--force", cwd=course)
    from zsct_lib.classroom import exercises

    released = sorted(p.name for p in (course / "release" / "zsct").glob("*.ipynb"))
    assert released == sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        points = {c.name[len("check_"):]: c.max_score for nb in gradebook.find_assignment("zsct").notebooks
                  for c in nb.grade_cells}
    assert points == {c.__name__[len("check_"):]: c.points for _, c in exercises.EXERCISES}


# ---- otter-grader ---------------------------------------------------------------------------------------
def otter_available():
    tool("otter")


@pytest.mark.slow
def test_otter_grades_a_correct_a_wrong_a_raising_and_an_untouched_submission(tmp_path):
    otter_available()
    mini = mini_series(tmp_path / "teacher")
    source = write_student_edition(tmp_path / "source", source=mini.parent, format="otter")[0]
    run("otter", "assign", str(source), "dist", cwd=tmp_path)   # runs the tests on the solutions, too
    released = tmp_path / "dist" / "student" / "mini.ipynb"
    student = nbformat.read(released, as_version=4)
    stubs = {name: nbformat.read(NOTEBOOK_DIR / nb, as_version=4) for name, nb in EXERCISES.items()}
    for name, nb in stubs.items():                      # the stub the series hands out, not otter's `...`
        stub = next(c.source for c in nb.cells if c.cell_type == "code" and f"def my_{name}(" in c.source)
        assert any(c.source == stub for c in student.cells), name
    assert "BEGIN SOLUTION" not in released.read_text() and "progress = min" not in released.read_text()

    def student_cell(nb, name):
        return next(c for c in nb.cells if c.cell_type == "code" and f"def my_{name}(" in c.source)

    autograder = next((tmp_path / "dist" / "autograder").glob("*.zip"))
    for kind, nb in submissions(released, mini, student_cell).items():
        folder = tmp_path / "submissions" / kind
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "mini.ipynb")
        run("otter", "run", "-a", str(autograder), "-o", str(folder), "--no-logo", str(folder / "mini.ipynb"),
            cwd=folder)
        results = json.loads((folder / "results.json").read_text())
        got = {test["name"]: test["score"] for test in results["tests"] if "max_score" in test}  # not "Public Tests"
        assert got == EXPECTED[kind], (kind, results)


@pytest.mark.slow
def test_otter_accepts_every_notebook_of_the_series(tmp_path):
    otter_available()
    from zsct_lib.classroom import exercises

    points = {}
    for source in write_student_edition(tmp_path / "source", format="otter"):
        dist = tmp_path / "dist" / source.stem
        run("otter", "assign", "--no-run-tests", str(source), str(dist), cwd=tmp_path)
        student = nbformat.read(dist / "student" / source.name, as_version=4)
        for name, test in student.metadata["otter"]["tests"].items():
            points[name] = int(test.split("\npoints = ")[1].split("\n")[0])
        assert not [c for c in student.cells if "BEGIN SOLUTION" in c.source or "solution_" in c.source]
    assert points == {c.__name__[len("check_"):]: c.points for _, c in exercises.EXERCISES}


def test_the_tools_are_an_extra_not_the_default_install():
    import tomllib

    project = tomllib.loads((NOTEBOOK_DIR.parent / "pyproject.toml").read_text())["project"]
    extra = " ".join(project["optional-dependencies"]["grading-tools"])
    default = " ".join(project["dependencies"] + project["optional-dependencies"]["dev"])
    assert "nbgrader>=" in extra and "otter-grader>=" in extra
    assert "nbgrader" not in default and "otter" not in default
