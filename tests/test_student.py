"""The student edition (zsct_lib.classroom.student): no solution survives, the exercise checks are not yet run,
everything else is copied as is, the output folder is chosen safely, and the exercises still work.

Run whole, the eight student notebooks would take about 110 s on 2 busy cores (measured with their
kernels: 02 23 s, 06 20 s, 01 12 s, the three longest in the saved timings), and would repeat nbval's
run of the originals. Each one runs instead, in a fresh kernel and in the edition's own folder (outside
the repository), only what its exercises need: its first code cell (imports and setup), the cells that
define a `my_*` function, and its check cells, whose output must be the "NOT YET" the original saved
(8 to 9 s a notebook, mostly the kernel and the imports). What the partial run cannot see, a later cell
that uses what only a solution defined, is checked on the code instead.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from zsct_lib.classroom.student import EXERCISE_CHECK_TAG, SOLUTION_TAG, main, student_notebook, write_student_edition

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
DEFINES_MY_RE = re.compile(r"^def my_\w+\(", re.MULTILINE)


def read(path: Path):
    return nbformat.read(str(path), as_version=nbformat.NO_CONVERT)


def has_tag(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def cell_text(cell) -> str:
    """A cell's source and the text of its outputs, as one string."""
    return json.dumps([cell.get("source", ""), cell.get("outputs", [])], ensure_ascii=False)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "student"
    assert main(["--out", str(out)]) == 0
    return out


# ---------------------------------------------------------------------------------------------- what is written
def test_every_notebook_is_written_and_nothing_else(edition):
    assert sorted(p.name for p in edition.iterdir()) == NAMES  # no temporary file left behind


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_survives(edition, name):
    original, student = read(NOTEBOOK_DIR / name), read(edition / name)
    solutions = [c for c in original.cells if has_tag(c, SOLUTION_TAG)]
    assert solutions, f"{name} has no cell tagged {SOLUTION_TAG!r}: nothing to remove"
    assert not any(has_tag(c, SOLUTION_TAG) for c in student.cells)
    assert not {c.id for c in solutions} & {c.id for c in student.cells}
    # Every line of a solution that no other cell of the original has, and its PASSED output, are gone.
    elsewhere = "\n".join(cell_text(c) for c in original.cells if not has_tag(c, SOLUTION_TAG))
    kept = "\n".join(cell_text(c) for c in student.cells)
    for cell in solutions:
        own = [line.strip() for line in cell.source.splitlines() + ["".join(o.get("text", "")) for o in cell.outputs]
               if line.strip() and json.dumps(line.strip(), ensure_ascii=False)[1:-1] not in elsewhere]
        assert own, f"{name}: every line of the solution cell {cell.id} is also elsewhere"
        assert not [line for line in own if json.dumps(line, ensure_ascii=False)[1:-1] in kept]
    assert "PASSED" not in kept


def bound_names(source: str) -> set[str]:
    """The names a cell's code binds at its top level (functions, classes, assignments, imports)."""
    python = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    names = set()
    for node in ast.parse(python).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


@pytest.mark.parametrize("name", NAMES)
def test_no_cell_needs_a_solution(edition, name):
    """The exercises run below only in part: no cell of the student notebook may use a name that only a
    solution cell binds (running the notebook to its end would fail there)."""
    original, student = read(NOTEBOOK_DIR / name), read(edition / name)
    code = [c for c in original.cells if c.cell_type == "code"]
    only_solutions = (set().union(*(bound_names(c.source) for c in code if has_tag(c, SOLUTION_TAG)))
                      - set().union(*(bound_names(c.source) for c in code if not has_tag(c, SOLUTION_TAG))))
    assert only_solutions, f"{name}: its solutions bind nothing of their own"  # e.g. solution_iou_per_class
    used = [(i, n) for i, c in enumerate(student.cells) if c.cell_type == "code"
            for n in sorted(only_solutions) if re.search(rf"\b{n}\b", c.source)]
    assert not used, f"{name}: cells use names that only a solution binds: {used}"


@pytest.mark.parametrize("name", NAMES)
def test_check_outputs_are_empty_and_the_rest_is_as_is(edition, name):
    original, student = read(NOTEBOOK_DIR / name), read(edition / name)
    expected = [c for c in original.cells if not has_tag(c, SOLUTION_TAG)]
    assert [c.id for c in student.cells] == [c.id for c in expected]
    checks = 0
    for before, after in zip(expected, student.cells):
        if has_tag(before, EXERCISE_CHECK_TAG):
            checks += 1
            assert before.outputs and "NOT YET" in before.outputs[0].text  # what the student will see
            assert after.outputs == [] and after.execution_count is None
            after = dict(after, outputs=before.outputs, execution_count=before.execution_count)
        assert after == before
    assert checks, f"{name} has no cell tagged {EXERCISE_CHECK_TAG!r}"
    assert student.metadata == original.metadata
    # Saved as nbformat writes it, like the originals: JupyterLab opens it unmodified.
    text = (edition / name).read_text(encoding="utf-8")
    assert nbformat.writes(read(edition / name)) + "\n" == text


def test_student_notebook_leaves_its_argument_alone():
    nb = read(NOTEBOOKS[0])
    before = json.dumps(nb, sort_keys=True)
    student_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == before


# ---------------------------------------------------------------------------------------------- where it writes
def _refused(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and needle in err, err


def test_refuses_the_notebooks_folder_and_a_folder_inside_it(capsys, tmp_path):
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    _refused(capsys, ["--out", str(NOTEBOOK_DIR), "--replace"], "notebooks folder")
    _refused(capsys, ["--out", str(NOTEBOOK_DIR / "student")], "notebooks folder")
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before
    # The same with another source folder, named by --notebooks.
    source = tmp_path / "course"
    source.mkdir()
    (source / "01_a.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()) + "\n", encoding="utf-8")
    _refused(capsys, ["--notebooks", str(source), "--out", str(source)], "notebooks folder")


def test_refuses_a_folder_with_files_unless_replace(capsys, tmp_path):
    out = tmp_path / "handout"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    _refused(capsys, ["--out", str(out)], "already holds files")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    _refused(capsys, ["--out", str(out / "notes.txt")], "not a folder")

    (out / NAMES[0]).write_text("an earlier edition\n")
    assert main(["--out", str(out), "--replace"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES + ["notes.txt"])
    assert (out / "notes.txt").read_text() == "mine\n"  # other files are left alone
    assert read(out / NAMES[0]).cells  # the earlier notebook is replaced


def test_refuses_a_folder_without_notebooks(capsys, tmp_path):
    _refused(capsys, ["--notebooks", str(tmp_path), "--out", str(tmp_path / "out")], "no notebooks")
    assert not (tmp_path / "out").exists()


def test_an_empty_folder_is_fine(tmp_path):
    paths = write_student_edition(tmp_path)
    assert [p.name for p in paths] == NAMES


# ---------------------------------------------------------------------------------------------- the exercises run
def exercise_cells(nb) -> list[int]:
    """Indices of the cells the exercises need: the first code cell, those defining a my_ function, the checks."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    return [i for i in code if i == code[0] or DEFINES_MY_RE.search(nb.cells[i].source)
            or has_tag(nb.cells[i], EXERCISE_CHECK_TAG)]


@pytest.mark.parametrize("name", NAMES)
def test_exercises_run_and_say_not_yet(edition, name):
    from nbclient import NotebookClient

    original, student = read(NOTEBOOK_DIR / name), read(edition / name)
    part = nbformat.from_dict(dict(student, cells=[student.cells[i] for i in exercise_cells(student)]))
    checks = [c for c in part.cells if has_tag(c, EXERCISE_CHECK_TAG)]
    assert checks and any(DEFINES_MY_RE.search(c.source) for c in part.cells)
    NotebookClient(part, timeout=300, startup_timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(edition)}}).execute()
    saved = {c.id: c.outputs for c in original.cells if c.cell_type == "code"}
    for cell in checks:
        assert [o.get("text") for o in cell.outputs] == [o.get("text") for o in saved[cell.id]], cell.source
        assert cell.outputs[0].text.startswith("NOT YET")


def test_make_lab_student_opens_the_student_edition_and_lab_the_teachers_copy():
    import re

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    recipe = lambda target: re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)  # noqa: E731
    assert "jupyter lab $(STUDENT_DIR)" in recipe("lab-student")
    assert "zsct_lib.classroom.student --out $(STUDENT_DIR)" in recipe("lab-student")     # written first when absent
    assert "jupyter lab notebooks" in recipe("lab")
    assert "lab-student" in re.search(r"^\.PHONY:.*$", makefile, re.MULTILINE).group(0)


# ---- nbgrader's source notebooks ----------------------------------------------------------------------

def test_nbgrader_format_has_a_solution_region_and_a_graded_test_per_exercise(tmp_path):
    from zsct_lib.classroom import exercises
    from zsct_lib.classroom.student import write_student_edition

    paths = write_student_edition(tmp_path / "source", format="nbgrader")
    graded, solved = {}, set()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        assert not [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta and meta["solution"]:
                assert "### BEGIN SOLUTION\n" in cell.source and cell.source.endswith("\n### END SOLUTION")
                assert meta == {"grade": False, "grade_id": meta["grade_id"], "locked": False, "schema_version": 3,
                                "solution": True, "task": False}
                solved.add(meta["grade_id"][len("my_"):])
            elif meta:
                assert meta["grade"] and meta["locked"] and cell.outputs == []
                graded[meta["grade_id"][len("check_"):]] = meta["points"]
    assert graded == {c.__name__[len("check_"):]: c.points for _, c in exercises.EXERCISES}
    assert solved == set(graded)


def test_nbgrader_solutions_pass_their_graded_tests_and_a_wrong_answer_fails(tmp_path):
    """What nbgrader's autograde does, without nbgrader: run the setup cell, the solution cell and the graded
    test cell of each exercise; the solution passes, a wrong and a raising answer fail the assertion with the
    checker's message."""
    from zsct_lib.classroom.grading import _python
    from zsct_lib.classroom.student import write_student_edition

    for path in write_student_edition(tmp_path / "source", format="nbgrader"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        namespace = {"__name__": "__main__"}
        exec(_python(code[0].source).replace("get_ipython().run_line_magic", "(lambda *a: None)"), namespace)
        for cell in code:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                exec(cell.source, namespace)
            elif meta.get("grade"):
                exec(cell.source, namespace)                                # passes: no AssertionError
                name = meta["grade_id"][len("check_"):]
                right = namespace[f"my_{name}"]
                for wrong, said in ((lambda *args: None, name), (lambda *args: 1 / 0, "raised ZeroDivisionError")):
                    namespace[f"my_{name}"] = wrong                          # a wrong and a raising answer
                    with pytest.raises(AssertionError, match=said):
                        exec(cell.source, namespace)
                namespace[f"my_{name}"] = right


def test_format_is_checked_by_the_command(tmp_path, capsys):
    from zsct_lib.classroom.student import main

    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--format", "moodle"])
    assert "invalid choice: 'moodle'" in capsys.readouterr().err
    for tool in ("nbgrader", "otter"):
        assert main(["--out", str(tmp_path / tool), "--format", tool]) == 0
        assert len(list((tmp_path / tool).glob("*.ipynb"))) == 8


# ---- otter-grader's source notebooks (otter itself runs them in tests/test_grading_tools.py) -----------------
PROMPT_BEGIN, PROMPT_END = "''' # BEGIN PROMPT\n", "\n''' # END PROMPT"


def otter_questions(nb) -> dict[str, list]:
    """{question name: the cells from its `# BEGIN QUESTION` raw cell to its `# END QUESTION`, both included}."""
    questions, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            current = questions.setdefault(re.search(r"^name: (\w+)$", cell.source, re.MULTILINE).group(1), [])
        if current is not None:
            current.append(cell)
        if cell.cell_type == "raw" and cell.source == "# END QUESTION":
            current = None
    return questions


def test_otter_format_has_a_question_per_exercise_with_the_series_stub_as_prompt(tmp_path):
    from zsct_lib.classroom import exercises

    points = {}
    for path in write_student_edition(tmp_path / "otter", format="otter"):
        original, nb = read(NOTEBOOK_DIR / path.name), read(path)
        assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG\n")
        assert f"name: {path.stem}\n" in nb.cells[0].source and "ok_format: false" in nb.cells[0].source
        assert not [c for c in nb.cells if has_tag(c, SOLUTION_TAG) or has_tag(c, EXERCISE_CHECK_TAG)]
        stubs = {c.id: c.source for c in original.cells if c.cell_type == "code" and DEFINES_MY_RE.search(c.source)}
        for name, cells in otter_questions(nb).items():
            points[name] = int(re.search(r"^points: (\d+)$", cells[0].source, re.MULTILINE).group(1))
            assert [c.source for c in cells if c.cell_type == "raw"][1:] == [
                "# BEGIN SOLUTION", "# END SOLUTION", "# BEGIN TESTS", "# END TESTS", "# END QUESTION"]
            answer, test = [c for c in cells if c.cell_type == "code"]
            assert "# BEGIN SOLUTION NO PROMPT\n" in answer.source and answer.outputs == []
            before, prompt = answer.source.split(PROMPT_BEGIN)
            assert prompt.endswith(PROMPT_END) and before.endswith("# END SOLUTION\n")
            # What `otter assign` hands out: the lines before the solution, then the prompt without its markers.
            handed_out = answer.source.split("# BEGIN SOLUTION NO PROMPT\n")[0] + prompt[:-len(PROMPT_END)]
            assert handed_out == stubs[answer.id], name
            assert f"def test_{name}(my_{name}):" in test.source and "assert result.passed, result.message" in test.source
        # every other cell is the original's, outputs included
        kept = {c.id for c in nb.cells if not c.id.startswith("otter-")} - set(stubs)
        assert [c for c in nb.cells if c.id in kept] == [c for c in original.cells if c.id in kept]
    assert points == {c.__name__[len("check_"):]: c.points for _, c in exercises.EXERCISES}


def test_otter_tests_pass_the_solution_and_fail_a_wrong_and_a_raising_answer(tmp_path):
    """The test of each question, run on the code of its solution cell (as the source notebook runs), on a
    wrong answer and on one that raises: only the solution passes, the others fail with the checker's message."""
    from zsct_lib.classroom.grading import _python

    for path in write_student_edition(tmp_path / "otter", format="otter"):
        nb = read(path)
        code = [c for c in nb.cells if c.cell_type == "code"]
        namespace = {"__name__": "__main__"}
        exec(_python(code[0].source).replace("get_ipython().run_line_magic", "(lambda *a: None)"), namespace)
        for name, cells in otter_questions(nb).items():
            answer, test = [c for c in cells if c.cell_type == "code"]
            exec(answer.source, namespace)                 # defines my_<name>; the test cell then passes
            exec(test.source, namespace)
            for wrong, said in ((lambda *args: None, name), (lambda *args: 1 / 0, "raised ZeroDivisionError")):
                with pytest.raises(AssertionError, match=said):
                    namespace[f"test_{name}"](wrong)
