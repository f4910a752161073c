"""The book: the series and its report as a static HTML site that reads with no network (Sphinx, myst-nb and
sphinx-book-theme; this module only drives them).

    python -m zsct_lib.classroom.book --out book        # then open book/index.html  (`make book`)

The site is built from docs/ (conf.py, the contents page, the report pages under docs/report/ and any other
page there) and from the student edition of notebooks/ (`zsct_lib.classroom.student`: no solution cells, the exercise
checks without their saved output), written beside the pages under notebooks/. Nothing is executed: the
pages show the committed outputs. Widget outputs, dead on a static page, become a one-line note (each widget
of the series has a static figure in a neighbouring cell), and cell tags are dropped.

Equations are typeset by a local copy of MathJax 2.7 (the files of the `jupyter-server-mathjax` package,
copied into _static/mathjax/); search runs in the page from a local index; the download button offers each
page's source (the student notebook, or the page's Markdown). No page loads anything from elsewhere.

The site is built in a temporary folder beside --out, then swapped in: a failed build leaves the previous
book as it was. An --out that holds anything but an earlier book is refused, never overwritten.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .student import NOTEBOOKS_DIR, student_notebook

DEFAULT_OUT = "book"
DOCS_DIR = NOTEBOOKS_DIR.parent / "docs"
PROG = "python -m zsct_lib.classroom.book"
MARKER = ".zsct-book"                 # marks a folder this module built, and so may replace
MATHJAX_DIR = "_static/mathjax"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = '<p class="book-widget-note"><em>Interactive view: run the notebook to use it.</em></p>'


class BookError(ValueError):
    """A refused output folder, a missing source folder, a missing package or a failed build: `main` prints
    it as one line."""


def book_notebook(nb):
    """The student edition of `nb` (`student_notebook`), with each widget output replaced by a note and no
    cell tags (myst-nb would read some of them as display options)."""
    nb = student_notebook(nb)
    nb.metadata.pop("widgets", None)          # the saved widget state: nothing on a static page reads it
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
        if cell.cell_type != "code":
            continue
        outputs = [output for output in cell.outputs if WIDGET_MIME not in output.get("data", {})]
        if len(outputs) < len(cell.outputs):
            outputs.append(nbformat.v4.new_output("display_data", {"text/html": WIDGET_NOTE}))
        cell.outputs = outputs
    return nb


def mathjax_source() -> Path:
    """The MathJax 2 folder that the `jupyter-server-mathjax` package ships (found without importing it:
    its __init__ loads Jupyter Server)."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    static = Path(spec.origin).parent / "static" if spec and spec.origin else None
    if static is None or not (static / "MathJax.js").is_file():
        raise BookError("the package jupyter-server-mathjax (the book's copy of MathJax) is not installed: "
                        "pip install -e '.[book]'")
    return static


# A page's image from the repository (`![...](/figures/x.png)`, `/results/...`): copied into the source tree.
REPO_IMAGE = re.compile(r"!\[[^\]]*\]\(/((?:figures|results)/[^)\s]+)\)")


def write_sources(folder: Path, notebooks: list[Path], docs: Path) -> None:
    """The Sphinx source tree: docs/ as it is, the repository's images that its pages show (by their path
    in the repository, from its root: `/figures/...`), and the book edition of each notebook under
    notebooks/."""
    shutil.copytree(docs, folder, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__"))
    repo = docs.resolve().parent
    for page in sorted(docs.rglob("*.md")):
        for name in REPO_IMAGE.findall(page.read_text(encoding="utf-8")):
            image = repo / name
            if not image.is_file():
                raise BookError(f"{page} shows /{name}, which is not in the repository")
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, folder / name)
    (folder / "notebooks").mkdir(exist_ok=True)
    for path in notebooks:
        try:
            nb = nbformat.read(path, as_version=4)
        except nbformat.reader.NotJSONError as err:
            raise BookError(f"{path} is not a valid notebook: {err}") from None
        nbformat.write(book_notebook(nb), folder / "notebooks" / path.name)


def write_site(folder: Path, notebooks: list[Path], docs: Path, mathjax: Path) -> list[str]:
    """Build the site into `folder` (which exists and is empty); returns Sphinx's warnings, one per line."""
    try:
        from sphinx.application import Sphinx
    except ImportError:
        raise BookError("Sphinx is not installed: pip install -e '.[book]'") from None
    with tempfile.TemporaryDirectory(prefix="zsct-book-src-") as root:
        src, html = Path(root) / "docs", Path(root) / "html"   # myst-nb writes beside the html folder
        write_sources(src, notebooks, docs)
        status, warnings = io.StringIO(), io.StringIO()
        app = Sphinx(str(src), str(src), str(html), str(Path(root) / "doctrees"), "html",
                     status=status, warning=warnings, freshenv=True)
        app.build()
        if app.statuscode:
            raise BookError(f"Sphinx failed: {warnings.getvalue().strip().splitlines()[-1:]}")
        for entry in html.iterdir():
            shutil.move(str(entry), folder / entry.name)
    shutil.copytree(mathjax, folder / MATHJAX_DIR)
    (folder / ".buildinfo").unlink(missing_ok=True)
    for template in (folder / "_static").glob("*.html"):    # the themes' webpack templates, not pages
        template.unlink()
    (folder / MARKER).write_text(f"Built by `{PROG}`: the next build replaces this folder whole.\n")
    return [line for line in warnings.getvalue().splitlines() if line.strip()]


def check_out_dir(out: Path) -> None:
    """Raise BookError unless `out` is absent, empty, or a book built earlier (it is replaced whole)."""
    if out.exists() and not out.is_dir():
        raise BookError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BookError(f"{out} already holds files that are not a book built by {PROG}: choose a new or "
                        "empty --out")


def build_book(out=DEFAULT_OUT, source=NOTEBOOKS_DIR, docs=DOCS_DIR) -> tuple[list[Path], list[str]]:
    """Build the book of the notebooks in `source` and the pages in `docs` into the folder `out`; returns
    (the chapter pages, Sphinx's warnings)."""
    out, source, docs = Path(out), Path(source), Path(docs)
    if not source.is_dir():
        raise BookError(f"no notebooks folder {source}")
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise BookError(f"no notebooks (*.ipynb) in {source}")
    if not (docs / "conf.py").is_file():
        raise BookError(f"no book sources in {docs} (conf.py is missing)")
    check_out_dir(out)
    mathjax = mathjax_source()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)                  # mkdtemp's 0700 would hide the site from a web server
        warnings = write_site(tmp, notebooks, docs, mathjax)
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / "notebooks" / (path.stem + ".html") for path in notebooks], warnings


def swap_in(new: Path, out: Path) -> None:
    """Put the folder `new` in the place of `out` (two renames; the old book is deleted only after)."""
    if not out.exists():
        os.rename(new, out)
        return
    old = new.with_name(new.name + ".old")
    os.rename(out, old)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Build the book: the notebooks (student edition, "
                                     "not executed) and the report as a static HTML site that reads offline.")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder of the site (default: {DEFAULT_OUT}); an earlier book there is replaced")
    parser.add_argument("--notebooks", default=str(NOTEBOOKS_DIR),
                        help="folder of the executed notebooks (default: the repository's notebooks/)")
    parser.add_argument("--docs", default=str(DOCS_DIR),
                        help="folder of the book's pages and conf.py (default: the repository's docs/)")
    args = parser.parse_args(argv)
    try:
        pages, warnings = build_book(args.out, args.notebooks, args.docs)
    except BookError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:                             # e.g. an --out that cannot be created or written
        print(f"{PROG}: error: cannot write {err.filename or args.out} ({err.strerror})", file=sys.stderr)
        return 2
    for line in warnings:
        print(line, file=sys.stderr)
    print(f"wrote {len(pages)} chapters, the report and {Path(args.out) / 'index.html'}"
          + (f" ({len(warnings)} warnings)" if warnings else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
