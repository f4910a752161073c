"""The series as source notebooks of two grading tools: nbgrader's and otter-grader's.

Each exercise of a notebook is a cell where the student writes `my_<name>` (a stub that raises
NotImplementedError), a check cell tagged `exercise-check` (`result = exercises.check_<name>(my_<name>)`)
and a collapsed solution cell tagged `solution` that defines `solution_<name>`. Both exports put the
teacher's solution, renamed `my_<name>`, in the student's cell, turn the check into the tool's graded test
(`assert result.passed, result.message`: the student reads the checker's message), worth the checker's
points, and drop the solution cells. Every other cell is kept with its outputs.

* nbgrader (`nbgrader_notebook`): the solution between `### BEGIN SOLUTION` and `### END SOLUTION` in a
  solution cell, the check a locked graded test cell (nbgrader's cell metadata, schema 3). Put the
  notebooks in `<course>/source/<assignment>/`, then `nbgrader generate_assignment` and `autograde`.
* otter-grader (`otter_notebook`, otter 7's assign format): a raw `# ASSIGNMENT CONFIG` cell first, and
  per exercise raw cells `# BEGIN QUESTION` (name, points), `# BEGIN SOLUTION` / `# END SOLUTION` around
  the student's cell, `# BEGIN TESTS` / `# END TESTS` around an exception-based test and
  `# END QUESTION`. Inside the student's cell the solution is `# BEGIN SOLUTION NO PROMPT` code and the
  original stub a `# BEGIN PROMPT` string, so `otter assign` hands out the stub the series has. Then
  `otter assign <notebook> dist` and `otter run -a dist/autograder/<zip> <submission>`.

No grading tool is imported here: the exports are plain notebooks, written by nbformat.
"""
from __future__ import annotations

import copy
import re

import nbformat

SOLUTION_TAG = "solution"
EXERCISE_CHECK_TAG = "exercise-check"
NBGRADER_SCHEMA = 3
DEFINES_MY = re.compile(r"^def my_(\w+)\(", re.MULTILINE)


class ExportError(ValueError):
    """A notebook whose exercises cannot be exported (e.g. a `my_<name>` without a solution)."""


def has_tag(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def _solution_code(source: str, name: str) -> str:
    """The code of a teacher's solution cell as the student's `my_<name>`: without its comment line and its
    check, `solution_<name>` renamed."""
    kept = [line for line in source.splitlines()
            if not line.startswith("# One solution") and not line.startswith("result = exercises.check_")]
    return "\n".join(kept).strip().replace(f"solution_{name}", f"my_{name}")


def solutions(nb) -> dict[str, str]:
    """Each exercise's solution as the student's code: {name: code defining `my_<name>`}."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and has_tag(cell, SOLUTION_TAG):
            for name in re.findall(r"^def solution_(\w+)\(", cell.source, re.MULTILINE):
                found[name] = _solution_code(cell.source, name)
    return found


def _checked_name(cell) -> str:
    """The exercise a check cell checks: `check_<name>(` in its code."""
    return re.search(r"check_(\w+)\(", cell.source).group(1)


def _points(name: str) -> int:
    from . import exercises

    return int(getattr(getattr(exercises, f"check_{name}"), "points", 1))


def _exercise_cell(cell, found: dict[str, str]):
    """The match of `def my_<name>(` in a student's code cell, or None; an error when no solution is known."""
    defined = DEFINES_MY.search(cell.source) if cell.cell_type == "code" else None
    if defined and defined.group(1) not in found:
        raise ExportError(f"my_{defined.group(1)}: no cell tagged {SOLUTION_TAG} defines "
                          f"solution_{defined.group(1)}")
    return defined


# ---- nbgrader ------------------------------------------------------------------------------------------
def _nbgrader(solution: bool, grade_id: str, points: int | None = None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": not solution,
            "schema_version": NBGRADER_SCHEMA, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_notebook(nb):
    """A copy of `nb` as an nbgrader source notebook (see the module's docstring). An exercise whose
    solution cell is missing is an error naming it: nbgrader would release it without a solution."""
    nb = copy.deepcopy(nb)
    found = solutions(nb)
    cells = []
    for cell in nb.cells:
        if has_tag(cell, SOLUTION_TAG):
            continue
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_CHECK_TAG):
            name = _checked_name(cell)
            cell.source = f"result = exercises.check_{name}(my_{name})\nassert result.passed, result.message"
            cell.metadata["nbgrader"] = _nbgrader(False, f"check_{name}", _points(name))
            cell.outputs, cell.execution_count = [], None
        elif defined := _exercise_cell(cell, found):
            name = defined.group(1)
            before = cell.source[:defined.start()]         # e.g. the imports of the cell, kept for the student
            cell.source = f"{before}### BEGIN SOLUTION\n{found[name]}\n### END SOLUTION"
            cell.metadata["nbgrader"] = _nbgrader(True, f"my_{name}")
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


# ---- otter-grader --------------------------------------------------------------------------------------
def otter_config(assignment: str) -> str:
    """The assignment config of otter 7 (YAML in a raw cell): the assignment's name, exception-based tests,
    and an export cell that zips the notebook without a PDF (no LaTeX needed on a student's machine)."""
    return (f"# ASSIGNMENT CONFIG\nname: {assignment}\nexport_cell:\n  pdf: false\n"
            "tests:\n  ok_format: false\n")


def _raw(text: str, cell_id: str):
    cell = nbformat.v4.new_raw_cell(text)
    cell.id = cell_id                                  # fixed ids: the same notebook exports to the same file
    return cell


def _otter_solution(before: str, solution: str, stub: str) -> str:
    """The student's cell for otter: the solution, removed by `otter assign`, then the series' stub as the
    prompt it hands out (inside a string, so the source notebook runs the solution)."""
    if "'''" in stub:
        return f"{before}# BEGIN SOLUTION\n{solution}\n# END SOLUTION"   # otter's `...` prompt instead
    return f"{before}# BEGIN SOLUTION NO PROMPT\n{solution}\n# END SOLUTION\n''' # BEGIN PROMPT\n{stub}\n''' # END PROMPT"


def _otter_test(name: str, cell_id: str):
    source = (f"def test_{name}(my_{name}):\n"
              "    from zsct_lib.classroom import exercises\n\n"
              f"    result = exercises.check_{name}(my_{name})\n"
              "    assert result.passed, result.message\n\n\n"
              f"test_{name}(my_{name})")
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def otter_notebook(nb, assignment: str):
    """A copy of `nb` as an otter-grader source notebook named `assignment` (see the module's docstring):
    each exercise's cell becomes a question worth the checker's points, its check cell the question's test."""
    nb = copy.deepcopy(nb)
    found = solutions(nb)
    cells = [_raw(otter_config(assignment), "otter-assignment-config")]
    for cell in nb.cells:
        if has_tag(cell, SOLUTION_TAG) or (cell.cell_type == "code" and has_tag(cell, EXERCISE_CHECK_TAG)):
            continue                                   # the solution goes into the question, the check into its test
        defined = _exercise_cell(cell, found)
        if not defined:
            cells.append(cell)
            continue
        name = defined.group(1)
        before, stub = cell.source[:defined.start()], cell.source[defined.start():].strip()
        cell.source = _otter_solution(before, found[name], stub)
        cell.outputs, cell.execution_count = [], None
        cells += [_raw(f"# BEGIN QUESTION\nname: {name}\npoints: {_points(name)}", f"otter-{name}-question"),
                  _raw("# BEGIN SOLUTION", f"otter-{name}-solution"), cell,
                  _raw("# END SOLUTION", f"otter-{name}-end-solution"),
                  _raw("# BEGIN TESTS", f"otter-{name}-tests"), _otter_test(name, f"otter-{name}-test"),
                  _raw("# END TESTS", f"otter-{name}-end-tests"), _raw("# END QUESTION", f"otter-{name}-end")]
    nb.cells = cells
    return nb
