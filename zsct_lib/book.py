"""The book: the executed notebooks as a static HTML site that reads with no network.

    python -m zsct_lib.book --out book        # then open book/index.html

Each notebook of notebooks/ becomes one page, from its committed outputs (nothing is run again), as the
student edition shows it (`zsct_lib.student`): no solution cells, and the exercise checks without their
saved output. Widget outputs, dead on a static page, become a one-line note (each widget of the series
has a static figure in a neighbouring cell), and cell tags are dropped. index.html lists the chapters by
their first heading; each chapter page links to the previous, the next and the contents.

Equations are typeset by a local copy of MathJax 2.7 (the files of the `jupyter-server-mathjax` package,
copied into mathjax/); pages load no script, style or font from elsewhere, and figures are inline.

The site is built in a temporary folder beside --out, then swapped in: a failed build leaves the previous
book as it was. An --out that holds anything but an earlier book is refused, never overwritten.
"""
from __future__ import annotations

import argparse
import html
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .student import NOTEBOOKS_DIR, student_notebook

DEFAULT_OUT = "book"
PROG = "python -m zsct_lib.book"
MARKER = ".zsct-book"                 # marks a folder this module built, and so may replace
MATHJAX_DIR = "mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"   # the one combined configuration the package ships
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = '<p class="book-widget-note"><em>Interactive view: run the notebook to use it.</em></p>'
SERIES_TITLE = "Zero-style loss and tail-class content transfer: the notebooks"

# nbconvert's lab template, less what a page without network cannot load: require.js (for widgets and
# old JavaScript outputs, neither of which the book has) and Mermaid (no diagrams) come from a CDN there.
# MathJax 2 reads `window.MathJax` as its configuration, before nbconvert's own (inline and display
# delimiters): the package ships the STIX-Web fonts only, for HTML-CSS and for SVG (the reader's menu choice).
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {"HTML-CSS": {availableFonts: [], imageFont: null, preferredFont: null, webFont: "STIX-Web"},
                  SVG: {font: "STIX-Web"}};
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}
<style type="text/css">{{ resources.book_css }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.book_nav }}
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.book_nav }}
{{ super() }}
{%- endblock body_footer -%}
"""

CSS = """
.book-nav { display: flex; gap: 1em; justify-content: space-between; align-items: baseline;
            margin: 0.5em 0; padding: 0.5em 0; border-bottom: 1px solid #ddd;
            font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.book-nav:last-child { border-bottom: none; border-top: 1px solid #ddd; }
.book-nav a { text-decoration: none; }
.book-nav > * { flex: 1; }
.book-nav .book-nav-contents { flex: 0 0 auto; }
.book-nav .book-nav-next { text-align: right; }
.book-widget-note { color: #666; }
"""

INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 48em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }
li { margin: 0.4em 0; }
a { text-decoration: none; }
"""


class BookError(ValueError):
    """A refused output folder, a missing notebooks folder or a missing package: `main` prints one line."""


def chapter_title(nb, fallback: str) -> str:
    """The text of the notebook's first markdown heading (`# 05 · ...`), else `fallback`."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip() or fallback
    return fallback


def book_notebook(nb, title: str):
    """The student edition of `nb` (`student_notebook`), with each widget output replaced by a note, no
    cell tags, and `title` as the page title."""
    nb = student_notebook(nb)
    nb.metadata["title"] = title
    for cell in nb.cells:
        cell.metadata.pop("tags", None)       # nbconvert writes them into class names: noise in the page
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
                        "pip install jupyter-server-mathjax")
    return static


def nav_html(index: int, pages: list[tuple[str, str]]) -> str:
    """The previous / contents / next bar of chapter `index`; `pages` is [(file name, title)]."""
    def link(i: int, css: str, rel: str, arrow: str) -> str:
        if not 0 <= i < len(pages):
            return f'<span class="{css}"></span>'       # keeps "contents" in the middle
        name, title = pages[i]
        label = f"&larr; {html.escape(title)}" if arrow == "left" else f"{html.escape(title)} &rarr;"
        return f'<a class="{css}" rel="{rel}" href="{html.escape(name)}">{label}</a>'

    return ('<nav class="book-nav">'
            + link(index - 1, "book-nav-prev", "prev", "left")
            + '<a class="book-nav-contents" href="index.html">contents</a>'
            + link(index + 1, "book-nav-next", "next", "right")
            + "</nav>")


def index_html(pages: list[tuple[str, str]]) -> str:
    """The contents page: one link per chapter, by its title."""
    items = "\n".join(f'<li><a href="{html.escape(name)}">{html.escape(title)}</a></li>' for name, title in pages)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{html.escape(SERIES_TITLE)}</title>\n<style>{INDEX_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(SERIES_TITLE)}</h1>\n"
            f"<p>The executed notebooks of the series, without the exercises' solutions. Run them in "
            f"JupyterLab (<code>make lab</code>) for the interactive views.</p>\n"
            f'<ol start="0">\n{items}\n</ol>\n</body>\n</html>\n')


def html_exporter():
    """nbconvert's HTMLExporter with the lab template, the book's additions, and MathJax from mathjax/."""
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="book.html.j2",
                        extra_loaders=[jinja2.DictLoader({"book.html.j2": TEMPLATE})],
                        mathjax_url=f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}")


def write_site(folder: Path, notebooks: list[Path], mathjax: Path) -> None:
    """Write the pages of `notebooks` (in this order), index.html and the MathJax copy into `folder`."""
    books = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        title = chapter_title(nb, path.stem)
        books.append((path.stem + ".html", title, book_notebook(nb, title)))
    pages = [(name, title) for name, title, _ in books]
    exporter = html_exporter()
    for i, (name, title, nb) in enumerate(books):
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title},
                                                             "book_nav": nav_html(i, pages), "book_css": CSS})
        (folder / name).write_text(body, encoding="utf-8")
    (folder / "index.html").write_text(index_html(pages), encoding="utf-8")
    shutil.copytree(mathjax, folder / MATHJAX_DIR)
    (folder / MARKER).write_text(f"Built by `{PROG}`: the next build replaces this folder whole.\n")


def check_out_dir(out: Path) -> None:
    """Raise BookError unless `out` is absent, empty, or a book built earlier (it is replaced whole)."""
    if out.exists() and not out.is_dir():
        raise BookError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BookError(f"{out} already holds files that are not a book built by {PROG}: choose a new or "
                        "empty --out")


def build_book(out=DEFAULT_OUT, source=NOTEBOOKS_DIR) -> list[Path]:
    """Build the book of the notebooks in `source` into the folder `out`; returns the chapter pages."""
    out, source = Path(out), Path(source)
    if not source.is_dir():
        raise BookError(f"no notebooks folder {source}")
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise BookError(f"no notebooks (*.ipynb) in {source}")
    check_out_dir(out)
    mathjax = mathjax_source()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)                  # mkdtemp's 0700 would hide the site from a web server
        try:
            write_site(tmp, notebooks, mathjax)
        except nbformat.reader.NotJSONError as err:
            raise BookError(f"a notebook in {source} is not valid JSON: {err}") from None
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / (path.stem + ".html") for path in notebooks]


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
    parser = argparse.ArgumentParser(prog=PROG, description="Build the book: the executed notebooks as a "
                                     "static HTML site (no solutions) that reads with no network.")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder of the site (default: {DEFAULT_OUT}); an earlier book there is replaced")
    parser.add_argument("--notebooks", default=str(NOTEBOOKS_DIR),
                        help="folder of the executed notebooks (default: the repository's notebooks/)")
    args = parser.parse_args(argv)
    try:
        pages = build_book(args.out, args.notebooks)
    except BookError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:                             # e.g. an --out that cannot be created or written
        print(f"{PROG}: error: cannot write {err.filename or args.out} ({err.strerror})", file=sys.stderr)
        return 2
    print(f"wrote {len(pages)} chapters and {Path(args.out) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
