"""The student edition of the notebooks: every notebook of notebooks/ without its solutions.

Each exercise of a notebook is a cell where the student writes `my_<name>`, a check cell tagged
`exercise-check` (`result = exercises.check_<name>(my_<name>)`, saved output "NOT YET") and a collapsed
solution cell tagged `solution`. The student edition drops the solution cells and empties the check cells'
outputs (the student runs them); every other cell, its outputs included, is copied as is.

    python -m zsct_lib.classroom.student --out student              # a new or empty folder
    python -m zsct_lib.classroom.student --out student --replace    # overwrite the notebooks of an earlier edition
    python -m zsct_lib.classroom.student --out source/zsct --format nbgrader   # nbgrader's source notebooks
    python -m zsct_lib.classroom.student --out otter --format otter            # otter-grader's

`--format nbgrader` and `--format otter` write instead the source notebooks of those grading tools (built
by zsct_lib.classroom.exports): the teacher's solution in the student's cell, marked for the tool to
remove, each check a graded test worth the checker's points, every other cell with its outputs.
docs/teachers.md has the tools' commands.

It never writes into notebooks/ or a folder inside it (nbval would collect the copies), and into a folder
that already holds files only with --replace, which overwrites the notebooks of the same names and leaves
every other file alone. All notebooks are built before the first is written, and each is written to a
temporary file renamed over its name: an error leaves no half-written notebook.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from ..paths import PACKAGE_ROOT, write_text_atomically
from .exports import EXERCISE_CHECK_TAG, SOLUTION_TAG, ExportError, has_tag, nbgrader_notebook, otter_notebook

FORMATS = ("student", "nbgrader", "otter")
NOTEBOOKS_DIR = PACKAGE_ROOT / "notebooks"
PROG = "python -m zsct_lib.classroom.student"


class StudentEditionError(ValueError):
    """A refused output folder or a source without notebooks: `main` prints it as one line."""


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


def convert(nb, format: str, stem: str):
    """`nb` in one of the FORMATS; `stem`, the name of its file without .ipynb, names otter's assignment."""
    if format == "nbgrader":
        return nbgrader_notebook(nb)
    if format == "otter":
        return otter_notebook(nb, stem)
    return student_notebook(nb)


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
    """Write the student edition (or with format="nbgrader" or "otter", that tool's source notebooks) of every
    notebook in `source` into the folder `out`; returns the paths."""
    if format not in FORMATS:
        raise StudentEditionError(f"--format {format}: expected one of {', '.join(FORMATS)}")
    out, source = Path(out), Path(source)
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise StudentEditionError(f"no notebooks (*.ipynb) in {source}")
    check_out_dir(out, source, replace)
    # nbformat writes exactly what the notebooks were saved as (a test keeps them so): a minimal diff, and
    # JupyterLab opens the copies unmodified, as it does the originals.
    texts = {path.name: nbformat.writes(convert(nbformat.read(path, as_version=nbformat.NO_CONVERT), format,
                                                 path.stem)) + "\n" for path in paths}
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
                        help="student: the student edition (default); nbgrader, otter: the source notebooks of "
                             "nbgrader or otter-grader, solutions in BEGIN/END SOLUTION regions and graded tests "
                             "with the checkers' points")
    args = parser.parse_args(argv)
    try:
        paths = write_student_edition(args.out, args.notebooks, replace=args.replace, format=args.format)
    except (StudentEditionError, ExportError) as err:
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
