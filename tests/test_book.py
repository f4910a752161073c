"""The book (`python -m zsct_lib.book`): a page per committed notebook and a contents page, without the
solutions, the dead widget outputs or the cell tags, and nothing that loads from the network; headless
Chromium, with every non-file request cut, shows its equations typeset and its figures, and "next" leads
to the next chapter. Refused folders and failed builds leave what was there.
"""
from __future__ import annotations

import json
import os
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zsct_lib import book as book_module
from zsct_lib.book import MARKER, build_book, main

# The browser test's launch options and skip rule (Debian's Chromium, the playwright package).
from test_browser import CHROMIUM, _missing_requirement

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
BROWSER_CHAPTER = "05_tail_masks_and_content_transfer"
NEXT_CHAPTER = "06_full_training"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def first_heading(path: Path) -> str:
    for cell in cells(path):
        if cell["cell_type"] == "markdown":
            for line in source(cell).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    raise AssertionError(f"{path.name} has no markdown heading")


class _Text(HTMLParser):
    """The text a page shows (no script or style), entities decoded: highlighted code reads as its source."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def anchors(html: str) -> list[dict]:
    """The attributes of each <a> of a page (nbconvert may reorder attributes: no regex on the tag)."""
    found = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: found.append(dict(attrs)) if tag == "a" else None
    parser.feed(html)
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "book"
    pages = build_book(out)
    return out, pages


def test_a_page_per_notebook_and_the_contents(built):
    out, pages = built
    assert len(NOTEBOOKS) == 8
    assert sorted(p.name for p in out.glob("*.html")) == sorted([p.stem + ".html" for p in NOTEBOOKS] + ["index.html"])
    assert pages == [out / (p.stem + ".html") for p in NOTEBOOKS]
    index = unescape((out / "index.html").read_text(encoding="utf-8"))
    for notebook in NOTEBOOKS:
        assert f'href="{notebook.stem}.html">{first_heading(notebook)}</a>' in index
        page = (out / (notebook.stem + ".html")).read_text(encoding="utf-8")
        assert f"<title>{first_heading(notebook)}</title>" in unescape(page)
        assert {"href": "index.html", "class": "book-nav-contents"} in anchors(page)


def test_previous_and_next_links_follow_the_series(built):
    out, _ = built
    names = [p.stem + ".html" for p in NOTEBOOKS]
    for i, name in enumerate(names):
        page = (out / name).read_text(encoding="utf-8")
        prev_links = {a["href"] for a in anchors(page) if a.get("rel") == "prev"}
        next_links = {a["href"] for a in anchors(page) if a.get("rel") == "next"}
        assert prev_links == ({names[i - 1]} if i > 0 else set())
        assert next_links == ({names[i + 1]} if i + 1 < len(names) else set())


def test_no_solution_no_widget_no_tag(built):
    out, _ = built
    for notebook in NOTEBOOKS:
        html = (out / (notebook.stem + ".html")).read_text(encoding="utf-8")
        text = page_text(html)
        nb_cells = cells(notebook)
        shown = "\n".join(source(c) for c in nb_cells if "solution" not in tags(c))
        solutions = [source(c) for c in nb_cells if "solution" in tags(c)]
        assert solutions, f"{notebook.name} has no solution cell to leave out"
        for solution in solutions:
            # every line of a solution that no other cell has (a lone `return out` may well be elsewhere)
            own = [line.strip() for line in solution.splitlines() if len(line.strip()) >= 12 and line not in shown]
            assert own and not [line for line in own if line in text], f"{notebook.name} shows a solution"
        checks = [source(c) for c in nb_cells if "exercise-check" in tags(c)]
        assert checks and all(check.strip().splitlines()[0] in text for check in checks)  # the text reads as code
        assert "NOT YET" not in text                               # the checks' saved outputs are left out
        assert "interactive(children=" not in text and "children=(" not in text
        assert "application/vnd.jupyter.widget-view" not in html
        assert "nbval" not in html and "celltag_" not in html
    assert "Interactive view: run the notebook" in (out / f"{BROWSER_CHAPTER}.html").read_text(encoding="utf-8")


def test_everything_loads_from_the_site(built):
    out, _ = built
    for page in out.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        urls = (re.findall(r"<script\b[^>]*\bsrc=[\"']([^\"']*)", html)
                + re.findall(r"<link\b[^>]*\bhref=[\"']([^\"']*)", html))
        remote = [u for u in urls if re.match(r"(https?:)?//", u)]
        assert not remote, f"{page.name} loads {remote}"
        for url in urls:                                           # each local file is in the site
            assert (out / url.split("?")[0]).is_file(), f"{page.name} names {url}, absent"
        images = re.findall(r"<img\b[^>]*\bsrc=[\"']([^\"']*)", html)
        assert all(src.startswith("data:") for src in images), f"{page.name} has an image that is not inline"
        if page.name != "index.html":
            assert "mathjax/MathJax.js?config=" in html
    for name in ("MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js",
                 "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js",
                 "fonts/HTML-CSS/STIX-Web/woff/STIXMathJax_Main-Regular.woff", "LICENSE"):
        assert (out / "mathjax" / name).is_file(), name


# ---- the command line: refusals and failures leave what was there --------------------------------

def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("python -m zsct_lib.book: error: ") and err.count("\n") == 1, err
    return err


def test_refuses_a_folder_that_is_not_a_book(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--out", str(tmp_path)]) == 2
    assert "not a book" in _one_line_error(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_missing_notebooks_and_unwritable_out_are_one_line_errors(tmp_path, capsys):
    assert main(["--notebooks", str(tmp_path / "absent"), "--out", str(tmp_path / "book")]) == 2
    assert "no notebooks folder" in _one_line_error(capsys)
    (tmp_path / "a_file").write_text("")
    assert main(["--out", str(tmp_path / "a_file" / "book")]) == 2   # a folder under a file: cannot be made
    assert "cannot write" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def _fake_site(folder, notebooks, mathjax):
    (folder / "index.html").write_text("new")
    (folder / MARKER).write_text("")


def test_a_new_book_replaces_the_old_and_a_failed_one_keeps_it(tmp_path, monkeypatch):
    out = tmp_path / "book"
    out.mkdir()
    (out / MARKER).write_text("")
    (out / "index.html").write_text("old")
    (out / "stale.html").write_text("old")

    def broken(folder, notebooks, mathjax):
        (folder / "index.html").write_text("half")
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(book_module, "write_site", broken)
    with pytest.raises(RuntimeError):
        build_book(out)
    assert (out / "index.html").read_text() == "old" and (out / "stale.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["book"]        # no temporary folder left

    monkeypatch.setattr(book_module, "write_site", _fake_site)
    build_book(out)
    assert (out / "index.html").read_text() == "new" and not (out / "stale.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["book"]


# ---- a real browser, no network --------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_offline_page_in_chromium(built):
    missing = _missing_requirement()
    if missing:
        if os.environ.get("ZSCT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ZSCT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    out, _ = built
    attempted, failed = [], []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.route("**/*", only_files)
            page = context.new_page()
            page.set_default_timeout(30_000)
            # MathJax probes font support with an `about:blank` font: not a request that leaves the machine
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
                    else attempted.append(r.url))
            page.on("requestfailed", lambda r: None if r.url.startswith("about:") else failed.append(r.url))
            page.goto((out / f"{BROWSER_CHAPTER}.html").as_uri())

            page.wait_for_function("() => window.MathJax && MathJax.isReady")
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")  # typesetting over
            math = page.evaluate("""() => {
              const markdown = [...document.querySelectorAll('.jp-RenderedMarkdown')];
              const display = markdown.find(e => e.querySelector('.MathJax_Display'));
              return {display: document.querySelectorAll('.MathJax_Display').length,
                      inline: [...document.querySelectorAll('.MathJax')].filter(e => !e.closest('.MathJax_Display')).length,
                      displayText: display ? display.innerText : '',
                      rawDollars: markdown.filter(e => e.innerText.includes('$')).map(e => e.innerText.slice(0, 60)),
                      errors: document.querySelectorAll('.MathJax .merror, .MathJax_Error').length,
                      stix: [...document.fonts].some(f => f.family.startsWith('STIXMathJax') && f.status === 'loaded')};
            }""")
            assert math["display"] >= 1 and math["inline"] >= 1, math
            assert "$$" not in math["displayText"] and "\\begin" not in math["displayText"], math
            assert not math["rawDollars"] and not math["errors"], math
            assert math["stix"], "MathJax's local web fonts did not load"

            figures = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output img')]
                                       .map(img => [img.src.slice(0, 5), img.complete && img.naturalWidth])""")
            assert figures and all(src == "data:" and width > 0 for src, width in figures), figures

            page.locator("a.book-nav-next").first.click()
            page.wait_for_url(f"**/{NEXT_CHAPTER}.html")
            assert page.title() == first_heading(ROOT / "notebooks" / f"{NEXT_CHAPTER}.ipynb")
        finally:
            browser.close()
    assert not attempted, f"the page asked the network for {attempted}"
    assert not failed, f"files of the site did not load: {failed}"
