"""The book (`python -m zsct_lib.classroom.book`, Sphinx + myst-nb + sphinx-book-theme): a page per committed notebook
in the series' order, the report pages of docs/, a contents page; no solution on any page or download; no
widget output or cell tag; nothing loaded from the network. In headless Chromium with every non-file request
cut: equations typeset by the local MathJax, figures shown, "next" leads to the next chapter, the search page
finds a term, and no table is wider than its page at 1366 px. Refused folders and failed builds leave what
was there.
"""
from __future__ import annotations

import json
import os
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the book needs the book extra: pip install -e '.[book]'")

from zsct_lib.classroom import book as book_module  # noqa: E402
from zsct_lib.classroom.book import MARKER, build_book, main  # noqa: E402

# The browser test's launch options and skip rule (Debian's Chromium, the playwright package).
from test_browser import CHROMIUM, _missing_requirement  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORT = sorted((ROOT / "docs" / "report").glob("*.md"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
BROWSER_CHAPTER = "05_tail_masks_and_content_transfer"
NEXT_CHAPTER = "06_full_training"
SEARCH_TERM = "quantile"                        # a word of chapter 04's text (the pseudo-label threshold)
SEARCH_HIT = "notebooks/04_pseudo_labels.html"
PAGE_WIDTH = 1366
TEX_FONTS = "/_static/mathjax/fonts/HTML-CSS/TeX/"
FIRST_LOAD_MS = 300_000                        # Chromium's first page on a busy 2-core machine: minutes


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def first_heading(path: Path) -> str:
    lines = (source(c) for c in cells(path) if c["cell_type"] == "markdown") if path.suffix == ".ipynb" \
        else [path.read_text(encoding="utf-8")]
    for text in lines:
        for line in text.splitlines():
            if line.startswith("# "):
                return line.lstrip("#").strip()
    raise AssertionError(f"{path.name} has no heading")


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
    """The attributes of each <a> of a page."""
    found = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: found.append(dict(attrs)) if tag == "a" else None
    parser.feed(html)
    return found


def solution_lines(notebook: Path) -> list[str]:
    """Every line of a solution cell that no other cell has (a lone `return out` may well be elsewhere)."""
    nb_cells = cells(notebook)
    shown = "\n".join(source(c) for c in nb_cells if "solution" not in tags(c))
    own = []
    for cell in nb_cells:
        if "solution" in tags(cell):
            own += [line.strip() for line in source(cell).splitlines() if len(line.strip()) >= 12 and line not in shown]
    return own


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "book"
    pages, warnings = build_book(out)
    return out, pages, warnings


def test_a_page_per_notebook_and_report_page(built):
    out, pages, warnings = built
    assert len(NOTEBOOKS) == 8 and REPORT
    assert warnings == []
    assert pages == [out / "notebooks" / (p.stem + ".html") for p in NOTEBOOKS]
    assert sorted(p.name for p in (out / "notebooks").glob("*.html")) == [p.stem + ".html" for p in NOTEBOOKS]
    index = (out / "index.html").read_text(encoding="utf-8")
    links = {a.get("href") for a in anchors(index)}
    for path, folder in [(p, "notebooks") for p in NOTEBOOKS] + [(p, "report") for p in REPORT]:
        page = out / folder / (path.stem + ".html")
        assert page.is_file(), page
        assert f"{folder}/{path.stem}.html" in links, f"the contents do not link {path.name}"
        title = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.S).group(1)
        assert unescape(title).startswith(first_heading(path)), (path.name, title)
    assert (out / MARKER).is_file() and (out / "search.html").is_file() and (out / "searchindex.js").is_file()


def test_previous_and_next_follow_the_series(built):
    out, _, _ = built
    names = [p.stem + ".html" for p in NOTEBOOKS]
    for i, name in enumerate(names[1:-1], start=1):
        page = (out / "notebooks" / name).read_text(encoding="utf-8")
        assert {a["href"] for a in anchors(page) if a.get("class") == "left-prev"} == {names[i - 1]}
        assert {a["href"] for a in anchors(page) if a.get("class") == "right-next"} == {names[i + 1]}


def test_no_solution_on_any_page_or_download(built):
    out, _, _ = built
    solutions = {nb.name: solution_lines(nb) for nb in NOTEBOOKS}
    assert all(solutions.values()), "every notebook has solution lines to leave out"
    texts = {p: page_text(p.read_text(encoding="utf-8")) for p in site_pages(out)}
    texts.update({p: p.read_text(encoding="utf-8") for p in (out / "_sources").rglob("*.ipynb")})
    for page, text in texts.items():
        for name, lines in solutions.items():
            shown = [line for line in lines if line in text]
            assert not shown, f"{page.relative_to(out)} shows a solution of {name}: {shown[:2]}"


def test_checks_without_outputs_and_no_widget_or_tag(built):
    out, _, _ = built
    for notebook in NOTEBOOKS:
        html = (out / "notebooks" / (notebook.stem + ".html")).read_text(encoding="utf-8")
        text = page_text(html)
        checks = [source(c) for c in cells(notebook) if "exercise-check" in tags(c)]
        assert checks and all(check.strip().splitlines()[0] in text for check in checks)  # the text reads as code
        assert "NOT YET" not in text                               # the checks' saved outputs are left out
        assert "interactive(children=" not in text and "children=(" not in text
        assert "application/vnd.jupyter.widget-view" not in html and "widget-state" not in html
        assert "nbval" not in html and "exercise-check" not in html
    assert "Interactive view: run the notebook" in (out / "notebooks" / f"{BROWSER_CHAPTER}.html").read_text()


def site_pages(out: Path) -> list[Path]:
    return [p for p in sorted(out.rglob("*.html")) if "_static" not in p.relative_to(out).parts]


def test_everything_loads_from_the_site(built):
    out, _, _ = built
    assert not list((out / "_static").rglob("*.html"))
    for page in site_pages(out):
        html = page.read_text(encoding="utf-8")
        urls = (re.findall(r"<script\b[^>]*\bsrc=[\"']([^\"']*)", html)
                + re.findall(r"<link\b[^>]*\bhref=[\"']([^\"']*)", html)
                + re.findall(r"<img\b[^>]*\bsrc=[\"']([^\"']*)", html))
        remote = [u for u in urls if re.match(r"(https?:)?//", u)]
        assert not remote, f"{page.name} loads {remote}"
        for url in urls:                                           # each local file is in the site
            if not url.startswith(("data:", "#")):
                assert (page.parent / url.split("?")[0]).resolve().is_file(), f"{page.name} names {url}, absent"
    chapter = (out / "notebooks" / f"{BROWSER_CHAPTER}.html").read_text(encoding="utf-8")
    assert "_static/mathjax/MathJax.js?config=" in chapter
    for name in ("MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js",
                 "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js",
                 "fonts/HTML-CSS/STIX-Web/woff/STIXMathJax_Main-Regular.woff", "LICENSE"):
        assert (out / "_static" / "mathjax" / name).is_file(), name
    download = out / "_sources" / "notebooks" / f"{BROWSER_CHAPTER}.ipynb"
    assert download.is_file() and f"_sources/notebooks/{BROWSER_CHAPTER}.ipynb" in chapter


# ---- the command line: refusals and failures leave what was there --------------------------------

def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("python -m zsct_lib.classroom.book: error: ") and err.count("\n") == 1, err
    return err


def test_refuses_a_folder_that_is_not_a_book(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--out", str(tmp_path)]) == 2
    assert "not a book" in _one_line_error(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_missing_sources_and_unwritable_out_are_one_line_errors(tmp_path, capsys):
    assert main(["--notebooks", str(tmp_path / "absent"), "--out", str(tmp_path / "book")]) == 2
    assert "no notebooks folder" in _one_line_error(capsys)
    assert main(["--docs", str(tmp_path / "absent"), "--out", str(tmp_path / "book")]) == 2
    assert "conf.py is missing" in _one_line_error(capsys)
    (tmp_path / "a_file").write_text("")
    assert main(["--out", str(tmp_path / "a_file" / "book")]) == 2   # a folder under a file: cannot be made
    assert "cannot write" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_notebook_that_is_not_json_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "00_broken.ipynb").write_text("{not json")
    assert main(["--notebooks", str(tmp_path / "nb"), "--out", str(tmp_path / "book")]) == 2
    assert "not a valid notebook" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb"]


def _fake_site(folder, notebooks, docs, mathjax):
    (folder / "index.html").write_text("new")
    (folder / MARKER).write_text("")
    return []


def test_a_new_book_replaces_the_old_and_a_failed_one_keeps_it(tmp_path, monkeypatch):
    out = tmp_path / "book"
    out.mkdir()
    (out / MARKER).write_text("")
    (out / "index.html").write_text("old")
    (out / "stale.html").write_text("old")

    def broken(folder, notebooks, docs, mathjax):
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

MATH_STATE = """() => {
  const article = document.querySelector('.bd-article') || document.body;
  const raw = [...article.querySelectorAll('span.math, div.math')]
                .filter(e => !e.querySelector('.MathJax, .MathJax_Display, .MathJax_Preview') && /\\\\[(\\[]/.test(e.textContent))
                .map(e => e.textContent.slice(0, 60));
  return {display: article.querySelectorAll('.MathJax_Display').length,
          inline: [...article.querySelectorAll('.MathJax')].filter(e => !e.closest('.MathJax_Display')).length,
          raw: raw,
          errors: article.querySelectorAll('.MathJax .merror, .MathJax_Error').length,
          stix: [...document.fonts].some(f => f.family.startsWith('STIXMathJax') && f.status === 'loaded')};
}"""

WIDE_TABLES = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table')]
    .filter(t => t.offsetParent !== null)
    .map(t => ({right: t.getBoundingClientRect().right, over: t.scrollWidth - t.clientWidth,
                head: t.innerText.slice(0, 60)}))
    .filter(t => t.right > width + 1 || t.over > 1);
  return {width: width, page: document.documentElement.scrollWidth, wide: wide};
}"""


@pytest.fixture(scope="module")
def browser_page(built):
    missing = _missing_requirement()
    if missing:
        if os.environ.get("ZSCT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ZSCT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

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
            context = browser.new_context(viewport={"width": PAGE_WIDTH, "height": 900})
            context.route("**/*", only_files)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.set_default_navigation_timeout(FIRST_LOAD_MS)
            # MathJax probes font support with an `about:blank` font: not a request that leaves the machine
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:", "blob:"))
                    else attempted.append(r.url))
            # MathJax 2 asks for its TeX fonts (\mathcal) before it falls back on the STIX-Web fonts that the
            # package ships (and the test requires): a file of the site that is absent by design
            # Sphinx's search page fetches each hit's page for a summary, which Chromium refuses from file://
            # (the hits are listed all the same; the search test checks them)
            # and a request that the next page's navigation cancels (net::ERR_ABORTED) is no missing file
            page.on("requestfailed", lambda r: None if r.url.startswith("about:") or TEX_FONTS in r.url
                    or r.failure == "net::ERR_ABORTED"
                    or (r.resource_type == "fetch" and r.frame.url.split("?")[0].endswith("/search.html"))
                    else failed.append(r.url))
            yield page
        finally:
            browser.close()
    assert not attempted, f"the site asked the network for {attempted}"
    assert not failed, f"files of the site did not load: {failed}"


def _typeset(page):
    page.wait_for_function("() => window.MathJax && MathJax.isReady")
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")  # typesetting over


@pytest.mark.timeout(300)
def test_math_figures_and_next_offline(built, browser_page):
    out, _, _ = built
    page = browser_page
    page.goto((out / "notebooks" / f"{BROWSER_CHAPTER}.html").as_uri(), wait_until="domcontentloaded")
    _typeset(page)
    math = page.evaluate(MATH_STATE)
    assert math["display"] >= 1 and math["inline"] >= 1, math
    assert not math["raw"] and not math["errors"], math
    assert math["stix"], "MathJax's local web fonts did not load"

    page.wait_for_function("() => [...document.querySelectorAll('.bd-article img')].every(i => i.complete)")
    figures = page.evaluate("""() => [...document.querySelectorAll('.bd-article img')]
                               .map(img => [img.src.slice(0, 5), img.complete && img.naturalWidth])""")
    assert figures and all(src == "file:" and width > 0 for src, width in figures), figures

    page.locator("a.right-next").first.click()
    page.wait_for_url(f"**/{NEXT_CHAPTER}.html")
    assert page.title().startswith(first_heading(ROOT / "notebooks" / f"{NEXT_CHAPTER}.ipynb"))


@pytest.mark.timeout(300)
def test_search_finds_a_term_offline(built, browser_page):
    out, _, _ = built
    page = browser_page
    page.goto((out / "search.html").as_uri() + f"?q={SEARCH_TERM}", wait_until="domcontentloaded")
    page.wait_for_selector("#search-results ul.search li a", timeout=60_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    assert any(h.split("?")[0].split("#")[0].endswith(SEARCH_HIT) for h in hits), hits


@pytest.mark.timeout(1800)
def test_no_table_wider_than_the_page(built, browser_page):
    out, _, _ = built
    page = browser_page
    pages = sorted(out.glob("notebooks/*.html")) + sorted(out.glob("report/*.html")) + [out / "index.html"]
    too_wide = {}
    for path in pages:
        page.goto(path.as_uri(), wait_until="load")               # styles and figures in place
        found = page.evaluate(WIDE_TABLES)
        if found["wide"] or found["page"] > found["width"]:
            too_wide[str(path.relative_to(out))] = found
    assert not too_wide, too_wide


def test_the_wide_table_check_names_a_table_wider_than_the_page(browser_page):
    """The check above on a hand-made page: a table of 3000 px at 1366 px is named, a narrow one is not."""
    page = browser_page
    page.set_content('<html><body><table style="width:3000px"><tr><td>too wide</td></tr></table>'
                     '<table><tr><td>fits</td></tr></table></body></html>')
    found = page.evaluate(WIDE_TABLES)
    assert [table["head"] for table in found["wide"]] == ["too wide"]
