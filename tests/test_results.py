"""results/ carries what the project uses: every `results/...` path that the notebooks, the README, the book's
pages (docs/) and the tests name exists, and every entry of results/ is named by one of them or by the
library, the benchmarks, the configs or the Makefile. Archived runs (results/archive/) keep no weights."""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
# `results/` then a path: letters, digits, _ - . / * and placeholders such as <k> or {seed}
PATH = re.compile(r"(?<![\w/.])results/([\w\-.*/<>{}]+)")
# replaced by another study while this is written: used whatever names them
IN_USE = {"dise_stage_gta_like", "dise_stage_strong_weights_gta_like", "study_gta_like", "demo"}


def citing_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb")),
             *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "tests").glob("*.py"))]
    return [f for f in files if f.is_file()]


def using_files() -> list[Path]:
    return citing_files() + [f for pattern in ("zsct_lib/**/*.py", "benchmarks/**/*.py", "configs/**/*.yaml",
                                               "Makefile", "results/archive/README.md")
                             for f in sorted(ROOT.glob(pattern))]


def named_paths(text: str) -> set[str]:
    """The `results/...` paths a text names, without trailing punctuation ("results/demo." -> "demo")."""
    names = set()
    for match in PATH.finditer(text.replace("\\\\", "/")):
        name = match.group(1).replace("...", "*").rstrip("./")
        if name:
            names.add(name)
    return names


def exists(name: str) -> bool:
    """A named path exists; `*`, `<...>` and `{...}` stand for any part of one folder or file name, and a
    name cut short by a placeholder or a glob needs only its fixed folders."""
    pattern = re.sub(r"<[^>]*>|\{[^}]*\}", "*", name)
    parts = [p for p in pattern.split("/") if p]
    candidates = [RESULTS]
    for part in parts:
        candidates = [c / entry.name for c in candidates if c.is_dir()
                      for entry in c.iterdir() if fnmatch.fnmatch(entry.name, part)]
        if not candidates:
            return False
    return True


def test_exists_reads_globs_and_placeholders():
    assert exists("demo/full/eval.json") and exists("study_*/ablation.md") and exists("dise_stage_<benchmark>")
    assert not exists("demo/absent.json") and not exists("no_such_study")
    assert named_paths("see `results/demo/full/eval.json`, and results/study_gta_like.") == {
        "demo/full/eval.json", "study_gta_like"}


# Named in a command as the folder a run writes, or as a file that a run writes and git ignores.
WRITTEN_BY_COMMANDS = {"demo/full/checkpoint.pt", "demo/nonadapt/checkpoint.pt"}


def test_every_named_results_path_exists():
    missing = {}
    for path in citing_files():
        for name in named_paths(path.read_text(encoding="utf-8")):
            if name.split("/")[0] in IN_USE or name in WRITTEN_BY_COMMANDS:
                continue
            if not exists(name):
                missing.setdefault(str(path.relative_to(ROOT)), []).append(f"results/{name}")
    assert not missing, missing


def test_nothing_under_results_is_unreferenced():
    named = set()
    for path in using_files():
        named |= named_paths(path.read_text(encoding="utf-8"))
    tops = {n.split("/")[0] for n in named}
    archived = {n.split("/")[1] for n in named if n.startswith("archive/") and "/" in n}
    unused = [e.name for e in RESULTS.iterdir() if e.name != "archive" and e.name not in IN_USE
              and not any(fnmatch.fnmatch(e.name, t) for t in tops)]
    unused += [f"archive/{e.name}" for e in (RESULTS / "archive").iterdir() if e.name != "README.md"
               and e.name not in archived]
    assert not unused, f"under results/ but named by no notebook, page, test or code: {sorted(unused)}"


def test_archived_runs_keep_no_weights():
    assert (RESULTS / "archive" / "README.md").is_file()
    assert not list((RESULTS / "archive").rglob("*.pt"))
