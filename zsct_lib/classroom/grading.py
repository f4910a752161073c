"""Grade handed-in notebooks: run each in a fresh kernel, then check its `my_<name>` exercise functions.

The exercises of a notebook are the `exercises.check_<name>` that its cells (code or text) mention as
`my_<name>` or `check_<name>`: the handed-out notebooks name both. Each notebook runs in a fresh
python3 kernel, in an empty temporary folder, and only in part, in notebook order:
  - its first code cell: the setup every notebook of the series opens with (imports, thread count);
  - the cells that only define things (imports, def, class, constants), e.g. a student's helpers;
  - the cells that bind a `my_<name>` of an exercise (whatever else they do).
The other cells load the demo models, evaluate and train: 6 to 20 s per notebook in the saved
notebooks' own timings, more on a busy machine, and they fail where the demo checkpoints are absent,
while the checks need only the student's definitions. Measured on 2 CPU cores busy with training:
grading the handed-out 07_evaluation_and_ablation.ipynb (2 of its 18 code cells, 1 check) took 9 s
with the kernel's start, and the whole `zsct grade` command 22 s with the grader's own imports.
A `my_<name>` that reads a variable computed by a skipped cell fails its check with a NameError;
`all_cells=True` (`zsct grade --all-cells`) runs every cell instead. Cells that raise do not stop the
run, and `timeout` bounds a notebook's cells and checks together (not the kernel's start): a cell or
a check that runs past it ends the notebook, and its kernel is killed.

After the cells, `kernel_check` runs in the same kernel for each exercise and sends back, as JSON in a
display output (the student's prints go to stdout), one of the statuses:
  PASSED, NOT YET  the checker's verdict and message;
  refused          the function is the library's own (`refusal`): the same object or one that wraps
                   it, one defined outside the notebook, or one whose code calls it;
  missing          no `my_<name>` after the cells ran;
  error            a cell that binds `my_<name>` raised and left it undefined, or the kernel died;
  timeout          the notebook ran past `timeout` seconds before this exercise was checked.
The refusal catches shortcuts, not determined cheating: code run in the kernel can patch the library.

A cell that raises is reported even when the check still runs: the exercise's message ends with what a
cell that defines its `my_<name>` raised, and with what the setup or definition cells raised. Each row
carries the exercise's points (declared beside its checker, `exercises.points`): all of them when it
PASSED, none otherwise; `student_totals` sums them per student. `grade(jobs=n)` grades n notebooks at
once, each in its own kernel.
"""
from __future__ import annotations

import ast
import copy
import csv
import functools
import inspect
import io
import json
import logging
import math
import re
import sys
import tempfile
import textwrap
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import ModuleType

from ..paths import write_text_atomically

STATUSES = ("PASSED", "NOT YET", "refused", "missing", "error", "timeout")
RESULT_MIME = "application/vnd.zsct.grade+json"       # how kernel_check's result travels back
KERNEL = "python3"
MESSAGE_WIDTH = 60                                     # the terminal table wraps its messages at this width


class GradingError(ValueError):
    """A submission that does not exist or is not a notebook, or a kernel that cannot start."""


@dataclass
class Grade:
    """One row: a student's exercise in one notebook."""
    student: str
    notebook: str        # the file name
    exercise: str        # <name> of my_<name> and exercises.check_<name>
    status: str          # one of STATUSES
    message: str
    points: int = 0      # earned: max_points when PASSED, else 0
    max_points: int = 0  # declared beside the checker (exercises.points)


# ---- submissions ---------------------------------------------------------------------------------

def read_notebook(path: Path):
    """The notebook at `path` (nbformat 4), or a one-line GradingError naming the file."""
    import nbformat

    if path.suffix != ".ipynb":
        raise GradingError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise GradingError(f"{path}: not a notebook (not UTF-8 text)") from None
    except json.JSONDecodeError as err:
        raise GradingError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise GradingError(f"{path}: JSON but not a Jupyter notebook (no 'nbformat' version)")
    try:
        with warnings.catch_warnings():        # nbformat's schema complaints: what the grader needs is checked below
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as err:  # noqa: BLE001 - nbformat's readers raise several kinds for a broken file
        raise GradingError(f"{path}: not a readable Jupyter notebook ({_one_line(str(err))})") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(
            isinstance(c, dict) and isinstance(c.get("cell_type"), str) and isinstance(c.get("source"), str)
            for c in cells):
        raise GradingError(f"{path}: not a Jupyter notebook (no list of cells with a type and a source)")
    return notebook


def collect_submissions(paths) -> list[tuple[str, Path, object]]:
    """(student, notebook file, notebook) for each SUBMISSION: a .ipynb file is one student's, named by
    the file's stem; a folder holds one student's notebooks (its *.ipynb, in name order), named by the
    folder. Every file is read here, so a broken one stops the grading before any kernel starts."""
    submissions = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(path.glob("*.ipynb"))
            if not files:
                raise GradingError(f"{path}: a folder without .ipynb notebooks")
            student = path.resolve().name
        elif path.exists():
            files, student = [path], path.stem
        else:
            raise GradingError(f"{path}: no such file or folder")
        submissions += [(student, file, read_notebook(file)) for file in files]
    return submissions


def exercise_names() -> list[str]:
    """<name> of every exercises.check_<name>."""
    from . import exercises

    return [name[len("check_"):] for name, value in vars(exercises).items()
            if name.startswith("check_") and callable(value)]


def exercises_of(notebook) -> list[str]:
    """The exercises a notebook mentions (as my_<name> or check_<name>), in order of first mention."""
    known = exercise_names()
    mentioned = re.findall(r"\b(?:my|check)_(\w+)", "\n".join(cell.source for cell in notebook.cells))
    return [name for name in dict.fromkeys(mentioned) if name in known]


# ---- which cells run -----------------------------------------------------------------------------

def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's %magics and !commands become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_python(source))
    except (SyntaxError, ValueError):
        return None


def binds(source: str, name: str) -> bool:
    """Whether a cell assigns `name`: def, class, =, import ... as, for ...; a regex when it does not parse."""
    tree = _parse(source)
    if tree is None:                                   # the student's syntax error: still the cell that defines it
        return re.search(rf"^\s*(?:def\s+{name}\b|{name}\s*(?::[^=\n]*)?=(?!=))", source, re.MULTILINE) is not None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
    return False


def only_defines(source: str) -> bool:
    """Whether every statement of a cell is an import, a def, a class, a literal constant or a docstring:
    cheap to run, and maybe needed by a student's function."""
    tree = _parse(source)
    if tree is None or not tree.body:
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                                  ast.ClassDef, ast.Pass)):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            try:
                ast.literal_eval(statement.value)
                continue
            except ValueError:
                return False
        return False
    return True


def code_cells(notebook) -> list[int]:
    """Indices of the code cells that are not empty."""
    return [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.source.strip()]


def cells_to_run(notebook, exercises: list[str], all_cells: bool = False) -> list[int]:
    """Indices of the code cells to run, in order: the setup cell, definitions and `my_*` cells (see above)."""
    code = code_cells(notebook)
    if all_cells:
        return code
    return [i for i in code if i == code[0] or only_defines(notebook.cells[i].source)
            or any(binds(notebook.cells[i].source, f"my_{name}") for name in exercises)]


# ---- running a notebook --------------------------------------------------------------------------

_LOG = logging.getLogger(__name__)                    # nbclient's own log: its timeouts are our rows, not stderr
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False


class _OutOfTime(Exception):
    """The notebook's time is spent before a cell starts."""


def _execute(client, cell, index: int, deadline: float) -> None:
    """Run one cell with what is left of the notebook's time (nbclient's timeout is per cell)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _OutOfTime
    client.timeout = max(1, math.ceil(left))
    client.execute_cell(cell, index, store_history=False)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _error_of(cell) -> str | None:
    """'Name: value' of the exception a cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return _one_line(f"{output.ename}: {output.evalue}") if output.evalue else output.ename
    return None


def _result_of(cell) -> dict | None:
    for output in cell.get("outputs", []):
        if output.output_type == "display_data" and RESULT_MIME in output.get("data", {}):
            return dict(output.data[RESULT_MIME])
    return None


def grade_notebook(student: str, path: Path, notebook, timeout: float = 300.0, all_cells: bool = False,
                   progress=None) -> list[Grade]:
    """Run `notebook` (handed in at `path`) in a fresh kernel and check each of its exercises."""
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    exercises = exercises_of(notebook)
    if not exercises:
        return [Grade(student, path.name, "-", "missing", "no exercise of zsct_lib.classroom.exercises in this notebook", 0, 0)]
    run = cells_to_run(notebook, exercises, all_cells)
    # Copies run: nbclient writes outputs and timings into the cells it executes.
    work = nbformat.v4.new_notebook(cells=[copy.deepcopy(notebook.cells[i]) for i in run])
    results: dict[str, dict] = {}
    errors: dict[int, str | None] = {}                 # notebook cell index -> 'Name: value' of what it raised
    stopped = None                                     # (status, why) when the run ended before every check
    started, kernel_ready = time.monotonic(), False
    # The kernel's own log (e.g. its warning about unencrypted TCP) goes to a file, not to the grader's terminal.
    with tempfile.TemporaryDirectory(prefix="zsct-grade-") as folder, tempfile.TemporaryFile() as kernel_log:
        client = NotebookClient(work, kernel_name=KERNEL, allow_errors=True, interrupt_on_timeout=False,
                                shutdown_kernel="immediate", resources={"metadata": {"path": folder}}, log=_LOG)
        try:
            with client.setup_kernel(stdout=kernel_log, stderr=kernel_log):
                kernel_ready = True
                deadline = time.monotonic() + timeout  # the kernel's start is not the student's time
                where = ""
                try:
                    for position, index in enumerate(run):
                        where = f"in cell {index + 1}"
                        _execute(client, work.cells[position], position, deadline)
                        errors[index] = _error_of(work.cells[position])
                    for name in exercises:
                        where = f"while checking my_{name}"
                        check = nbformat.v4.new_code_cell(
                            "from zsct_lib.classroom.grading import kernel_check as _zsct_kernel_check\n"
                            f"_zsct_kernel_check({name!r}, globals())")
                        work.cells.append(check)
                        _execute(client, check, len(work.cells) - 1, deadline)
                        results[name] = _result_of(check) or {
                            "status": "error", "message": f"the check did not run: {_error_of(check) or 'no result'}"}
                except (CellTimeoutError, _OutOfTime):
                    stopped = ("timeout", f"the notebook ran past the {timeout:g} s limit ({where})")
                except DeadKernelError:
                    stopped = ("error", f"the kernel died ({where})")
        except NoSuchKernel:
            raise GradingError(f"no Jupyter kernel named {KERNEL}: install one with "
                               f"`{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL}`") from None
        except (RuntimeError, TimeoutError) as err:
            if kernel_ready:                           # not the kernel's start: a bug of ours, with its traceback
                raise
            kernel_log.seek(0)
            said = kernel_log.read().decode(errors="replace").strip().splitlines()
            raise GradingError(f"{path}: the {KERNEL} kernel did not start ({_one_line(str(err))}"
                               + (f"; its last words: {said[-1].strip()})" if said else ")")) from None
    if progress:
        progress(f"{student}: {path.name}: ran {len(run)} of {len(code_cells(notebook))} code cells and "
                 f"{len(results)} checks in {time.monotonic() - started:.1f} s")
    grades = []
    others = [(index, error) for index, error in errors.items()      # setup and definitions that raised
              if error and not any(binds(notebook.cells[index].source, f"my_{n}") for n in exercises)]
    for name in exercises:
        result = results.get(name) or {"status": stopped[0], "message": f"not checked: {stopped[1]}"}
        failed = [(index, errors[index]) for index in run
                  if errors.get(index) and binds(notebook.cells[index].source, f"my_{name}")]
        if result["status"] == "missing" and failed:
            index, error = failed[-1]
            result = {"status": "error", "message": f"{error} (cell {index + 1}, which defines my_{name})"}
        else:                                          # the check ran: still say what raised around it
            result["message"] += "".join(f"; cell {index + 1}, which defines my_{name}, raised {error}"
                                         for index, error in failed)
        result["message"] += "".join(f"; cell {index + 1} raised {error}" for index, error in others)
        worth = exercise_points(name)
        grades.append(Grade(student, path.name, name, result["status"], result["message"],
                            worth if result["status"] == "PASSED" else 0, worth))
    return grades


def exercise_points(name: str) -> int:
    """The points declared beside exercises.check_<name> (1 when none are)."""
    from . import exercises

    return int(getattr(getattr(exercises, f"check_{name}", None), "points", 1))


def grade(paths, timeout: float = 300.0, all_cells: bool = False, progress=None, jobs: int = 1) -> list[Grade]:
    """Grade every notebook of every SUBMISSION (see collect_submissions), one fresh kernel each, `jobs`
    notebooks at a time; the rows come in the order of the submissions whatever the order they finish in."""
    if not 0 < timeout < math.inf:
        raise GradingError(f"--timeout {timeout:g}: expected a positive number of seconds")
    if not isinstance(jobs, int) or jobs < 1:
        raise GradingError(f"--jobs {jobs}: expected a whole number of notebooks at a time, at least 1")
    submissions = collect_submissions(paths)
    with ThreadPoolExecutor(max_workers=jobs) as pool:   # threads wait on kernels, which are processes
        graded = pool.map(lambda s: grade_notebook(*s, timeout, all_cells, progress), submissions)
        return [row for rows in graded for row in rows]


def student_totals(grades: list[Grade]) -> list[dict]:
    """Per student, in order of first appearance: points earned, points possible, exercises passed."""
    totals: dict[str, dict] = {}
    for g in grades:
        t = totals.setdefault(g.student, {"student": g.student, "points": 0, "max_points": 0, "passed": 0,
                                          "exercises": 0})
        t["points"] += g.points
        t["max_points"] += g.max_points
        t["passed"] += g.status == "PASSED"
        t["exercises"] += g.exercise != "-"
    return list(totals.values())


# ---- in the kernel -------------------------------------------------------------------------------

def kernel_check(exercise: str, namespace: dict) -> dict:
    """Runs in the student's kernel: refuse or check namespace['my_<exercise>']; display and return the
    result {status, message} (see the module's docstring)."""
    from IPython.display import display

    from . import exercises

    name = f"my_{exercise}"
    if name not in namespace:
        result = {"status": "missing", "message": f"no {name} in the notebook"}
    else:
        why = refusal(namespace[name], library_function(exercise))
        if why:
            result = {"status": "refused", "message": f"uses the library's answer: {name} {why}"}
        else:
            try:
                checked = getattr(exercises, f"check_{exercise}")(namespace[name])
                result = {"status": "PASSED" if checked.passed else "NOT YET", "message": checked.message}
            except Exception as err:  # noqa: BLE001 - a checker never raises; a student's odd object might make it
                result = {"status": "NOT YET", "message": f"{name}: {type(err).__name__}: {_one_line(str(err))}"}
    display({RESULT_MIME: result}, raw=True)
    return result


def library_function(exercise: str):
    """The library function that exercises.check_<exercise> compares with: the one of the same name in
    the library modules that zsct_lib.classroom.exercises imports."""
    from . import exercises

    for module in vars(exercises).values():
        if isinstance(module, ModuleType) and module.__name__.startswith(__name__.split(".")[0] + "."):
            if callable(getattr(module, exercise, None)):
                return getattr(module, exercise)
    raise LookupError(f"no library function {exercise} behind exercises.check_{exercise}")


def _unwrapped(fn) -> list:
    """fn and what it wraps: functools.wraps' __wrapped__ chain, partial's func, a bound method's function."""
    chain = []
    while (fn is not None and not isinstance(fn, ModuleType) and not any(fn is seen for seen in chain)
           and len(chain) < 100):                      # an object that makes up attributes does not loop forever
        chain.append(fn)
        fn = (fn.func if isinstance(fn, functools.partial)
              else getattr(fn, "__wrapped__", None) or getattr(fn, "__func__", None))
    return chain


def _is(obj, reference) -> bool:
    return any(o is reference or getattr(o, "__code__", None) is reference.__code__ for o in _unwrapped(obj))


def _code_names(code) -> set[str]:
    """Global and attribute names used by a code object and the lambdas, comprehensions and defs inside it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _code_names(const)
    return names


def _calls(fn, reference, seen: set) -> bool:
    """Whether fn's code can reach `reference` by name: a global, a closure variable or a default that is
    it, an attribute of a module it names (zsct_lib.evaluation.iou_per_class, also imported inside the
    function), or through another function of the notebook that it names."""
    fn = (_unwrapped(fn) or [fn])[-1]
    code = getattr(fn, "__code__", None)
    if code is None or id(fn) in seen:
        return False
    seen.add(id(fn))
    names = _code_names(code)
    namespace = getattr(fn, "__globals__", {})
    values = [namespace[n] for n in names if n in namespace]
    values += [cell.cell_contents for cell in fn.__closure__ or () if _filled(cell)]
    values += list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    modules = [v for v in values if isinstance(v, ModuleType)] + [sys.modules[n] for n in names if n in sys.modules]
    visited = set()
    while modules:                                     # follow module attributes: zsct_lib -> evaluation -> ...
        module = modules.pop()
        if id(module) in visited:
            continue
        visited.add(id(module))
        for n in names:
            value = getattr(module, n, None)
            if isinstance(value, ModuleType):
                modules.append(value)
            elif value is not None and _is(value, reference):
                return True
    for value in values:
        if callable(value) and not isinstance(value, ModuleType):
            if _is(value, reference):
                return True
            if getattr(value, "__module__", None) == "__main__" and _calls(value, reference, seen):
                return True
    return False


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:                                 # a closure variable not assigned yet
        return False
    return True


def refusal(fn, reference) -> str | None:
    """Why `fn` is the library's `reference` rather than the student's own code (a phrase that follows
    the function's name), or None when it is the student's own."""
    where = f"{reference.__module__}.{reference.__name__}"
    if not callable(fn):
        return None                                    # the checker says what is wrong with it
    if fn is reference:
        return f"is {where}"
    if _is(fn, reference):
        return f"wraps {where}"
    module = getattr((_unwrapped(fn) or [fn])[-1], "__module__", None)
    if module != "__main__":
        return f"is defined in {module or 'no module'}, not in the notebook"
    if _calls(fn, reference, set()):
        return f"calls {where}"
    return None


# ---- output --------------------------------------------------------------------------------------

def format_grades(grades: list[Grade], width: int = MESSAGE_WIDTH) -> str:
    """A plain-text table, one row per student and exercise with its points, each message whole, wrapped at
    `width` characters under its column; then the counts and each student's total."""
    columns = ("student", "notebook", "exercise", "status", "points")
    cells = [list(columns) + ["message"]] + [[g.student, g.notebook, g.exercise, g.status,
                                              f"{g.points}/{g.max_points}", g.message] for g in grades]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    indent = sum(widths) + 2 * len(columns)
    lines = []
    for row in cells:
        message = textwrap.wrap(row[-1], width, break_long_words=True) or [""]
        lines.append("  ".join(value.ljust(w) for value, w in zip(row, widths)) + "  " + message[0])
        lines += [" " * indent + more for more in message[1:]]
    lines = [line.rstrip() for line in lines]
    counts = {status: sum(g.status == status for g in grades) for status in STATUSES}
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing graded")
    for t in student_totals(grades):
        lines.append(f"{t['student']}: {t['points']}/{t['max_points']} points, {t['passed']} of {t['exercises']} "
                     "exercises passed")
    return "\n".join(lines)


def write_grades(grades: list[Grade], out) -> list[Path]:
    """grades.csv and grades.json (a list of rows, each message whole) and totals.csv (one row per student)
    in the folder `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow([f.name for f in fields(Grade)])
    writer.writerows([[getattr(g, f.name) for f in fields(Grade)] for g in grades])
    totals = io.StringIO()
    rows = student_totals(grades)
    writer = csv.DictWriter(totals, fieldnames=["student", "points", "max_points", "passed", "exercises"])
    writer.writeheader()
    writer.writerows(rows)
    paths = [out / "grades.csv", out / "grades.json", out / "totals.csv"]
    write_text_atomically(paths[0], table.getvalue())
    write_text_atomically(paths[1], json.dumps([asdict(g) for g in grades], indent=2) + "\n")
    write_text_atomically(paths[2], totals.getvalue())
    return paths
