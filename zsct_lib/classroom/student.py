"""The student edition of the notebooks: every notebook of notebooks/ without its solutions.

Each exercise of a notebook is a cell where the student writes `my_<name>`, a check cell tagged
`exercise-check` (`result = exercises.check_<name>(my_<name>)`, saved output "NOT YET") and a collapsed
solution cell tagged `solution`. The student edition drops the solution cells and empties the check cells'
outputs (the student runs them); every other cell, its outputs included, is copied as is.

    python -m zsct_lib.classroom.student --out student              # a new or empty folder
    python -m zsct_lib.classroom.student --out student --replace    # overwrite the notebooks of an earlier edition
    python -m zsct_lib.classroom.student --out source/zsct --format nbgrader   # nbgrader's source notebooks

`--format nbgrader` writes instead the source notebooks of an nbgrader assignment: each `my_<name>` cell
holds the solution between `### BEGIN SOLUTION` and `### END SOLUTION` (a solution cell in nbgrader's
metadata), each check cell becomes a locked graded test cell worth the checker's points
(`result = exercises.check_<name>(my_<name>)`, then `assert result.passed, result.message`), the
teacher's solution cells are dropped (their code is in the solution regions) and every other cell keeps
its outputs. Put them in `<course>/source/<assignment>/` and run `nbgrader generate_assignment`.

It never writes into notebooks/ or a folder inside it (nbval would collect the copies), and into a folder
that already holds files only with --replace, which overwrites the notebooks of the same names and leaves
every other file alone. All notebooks are built before the first is written, and each is written to a
temporary file renamed over its name: an error leaves no half-written notebook.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from ..paths import PACKAGE_ROOT, write_text_atomically

FORMATS = ("student", "nbgrader")
NBGRADER_SCHEMA = 3
SOLUTION_TAG = "solution"
EXERCISE_CHECK_TAG = "exercise-check"
NOTEBOOKS_DIR = PACKAGE_ROOT / "notebooks"
PROG = "python -m zsct_lib.classroom.student"


class StudentEditionError(ValueError):
    """A refused output folder or a source without notebooks: `main` prints it as one line."""


def has_tag(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def student_notebook(nb):
    """A copy of `nb` without the cells tagged solution, and with the outputs (and execution counts) of the
    cells tagged exercise-check removed."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if not has_tag(cell, SOLUTION_TAG)]
    for cell in nb.cells:
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_CHECK_TAG):
            cell.outputs = []
            cell.execution_count = None
    return nb


def _solution_code(source: str, name: str) -> str:
    """The code of a teacher's solution cell as the student's `my_<name>`: without its comment line and its
    check, `solution_<name>` renamed."""
    kept = [line for line in source.splitlines()
            if not line.startswith("# One solution") and not line.startswith("result = exercises.check_")]
    return "\n".join(kept).strip().replace(f"solution_{name}", f"my_{name}")


def _nbgrader(solution: bool, grade_id: str, points: int | None = None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": not solution,
            "schema_version": NBGRADER_SCHEMA, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_notebook(nb):
    """A copy of `nb` as an nbgrader source notebook (see the module's docstring). An exercise whose
    solution cell is missing is an error naming it: nbgrader would release it without a solution."""
    from . import exercises

    nb = copy.deepcopy(nb)
    solutions = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and has_tag(cell, SOLUTION_TAG):
            for name in re.findall(r"^def solution_(\w+)\(", cell.source, re.MULTILINE):
                solutions[name] = _solution_code(cell.source, name)
    cells = []
    for cell in nb.cells:
        if has_tag(cell, SOLUTION_TAG):
            continue
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_CHECK_TAG):
            name = re.search(r"check_(\w+)\(", cell.source).group(1)
            checker = getattr(exercises, f"check_{name}")
            cell.source = f"result = exercises.check_{name}(my_{name})\nassert result.passed, result.message"
            cell.metadata["nbgrader"] = _nbgrader(False, f"check_{name}", int(getattr(checker, "points", 1)))
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "code" and (defined := re.search(r"^def my_(\w+)\(", cell.source, re.MULTILINE)):
            name = defined.group(1)
            if name not in solutions:
                raise StudentEditionError(f"my_{name}: no cell tagged {SOLUTION_TAG} defines solution_{name}")
            before = cell.source[:defined.start()]         # e.g. the imports of the cell, kept for the student
            cell.source = f"{before}### BEGIN SOLUTION\n{solutions[name]}\n### END SOLUTION"
            cell.metadata["nbgrader"] = _nbgrader(True, f"my_{name}")
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def check_out_dir(out: Path, source: Path, replace: bool = False) -> None:
    """Raise StudentEditionError when the edition must not be written to `out`."""
    resolved, source = out.resolve(), source.resolve()
    if resolved == source or source in resolved.parents:
        raise StudentEditionError(f"{out} is the notebooks folder or inside it: choose another --out")
    if resolved.exists() and not resolved.is_dir():
        raise StudentEditionError(f"{out} is a file, not a folder")
    if resolved.is_dir() and any(resolved.iterdir()) and not replace:
        raise StudentEditionError(f"{out} already holds files: choose an empty or new folder, or pass --replace "
                                  "to overwrite its notebooks")


def write_student_edition(out, source=NOTEBOOKS_DIR, replace: bool = False, format: str = "student") -> list[Path]:
    """Write the student edition (or with format="nbgrader", nbgrader's source notebooks) of every notebook
    in `source` into the folder `out`; returns the paths."""
    if format not in FORMATS:
        raise StudentEditionError(f"--format {format}: expected one of {', '.join(FORMATS)}")
    convert = student_notebook if format == "student" else nbgrader_notebook
    out, source = Path(out), Path(source)
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise StudentEditionError(f"no notebooks (*.ipynb) in {source}")
    check_out_dir(out, source, replace)
    # nbformat writes exactly what the notebooks were saved as (a test keeps them so): a minimal diff, and
    # JupyterLab opens the copies unmodified, as it does the originals.
    texts = {path.name: nbformat.writes(convert(nbformat.read(path, as_version=nbformat.NO_CONVERT))) + "\n"
             for path in paths}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        write_text_atomically(out / name, text)
        written.append(out / name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Write the student edition of the notebooks: "
                                     "no solution cells, the exercise checks not yet run.")
    parser.add_argument("--out", required=True, help="folder for the student notebooks (created when absent)")
    parser.add_argument("--notebooks", default=str(NOTEBOOKS_DIR),
                        help="folder of the notebooks to copy (default: the repository's notebooks/)")
    parser.add_argument("--replace", action="store_true",
                        help="write into a folder that already holds files, overwriting notebooks of the same names")
    parser.add_argument("--format", choices=FORMATS, default="student",
                        help="student: the student edition (default); nbgrader: nbgrader's source notebooks, "
                             "solutions in BEGIN/END SOLUTION regions and graded test cells with points")
    args = parser.parse_args(argv)
    try:
        paths = write_student_edition(args.out, args.notebooks, replace=args.replace, format=args.format)
    except StudentEditionError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:                             # e.g. an --out that cannot be created or written
        print(f"{PROG}: error: cannot write {err.filename or args.out} ({err.strerror})", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
