"""The book at a laptop's 1366 x 768 in headless Chromium: every chapter's figures load and draw, no table is
wider than the column it sits in, and no page scrolls sideways."""
from __future__ import annotations

import os

import pytest

from test_book import CHROMIUM_ARGS, NOTEBOOKS
from test_browser import CHROMIUM, _missing_requirement
from zsct_lib.book import build_book

LAYOUT = """() => {
  const column = e => (e.closest('.cell_output') || e.closest('.cell') || e.closest('article') || document.body);
  const wide = [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().width > column(t).getBoundingClientRect().width + 1)
    .map(t => (t.innerText || '').slice(0, 60));
  const figures = [...document.querySelectorAll('.cell_output img')]
    .map(img => img.complete ? img.naturalWidth : 0);
  return {wide, figures, sideways: document.documentElement.scrollWidth > window.innerWidth + 1};
}"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    missing = _missing_requirement()
    if missing:
        if os.environ.get("ZSCT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ZSCT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    out = tmp_path_factory.mktemp("site") / "book"
    build_book(out)
    return out


def layout_problems(book, stems) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            for stem in stems:
                page.goto((book / "notebooks" / f"{stem}.html").as_uri())
                layout = page.evaluate(LAYOUT)
                problems += [f"{stem}: table wider than its column: {t!r}" for t in layout["wide"]]
                problems += [f"{stem}: a figure that does not load"] * layout["figures"].count(0)
                if layout["sideways"]:
                    problems.append(f"{stem}: the page scrolls sideways at 1366 px")
        finally:
            browser.close()
    return problems


def test_every_chapter_fits_1366_px_and_shows_its_figures(book):
    problems = layout_problems(book, [notebook.stem for notebook in NOTEBOOKS])
    assert not problems, "\n".join(problems)


def test_a_table_of_40_columns_is_wrapped_to_its_column(book, tmp_path):
    """The book's style sheet wraps table cells, so even a 40-column output stays inside its column at
    1366 px (and the check above would name the table if it did not)."""
    import nbformat
    from nbformat import v4

    table = "<table><tr>" + "".join(f"<td>column number {i}</td>" for i in range(40)) + "</tr></table>"
    cell = v4.new_code_cell("table", execution_count=1,
                            outputs=[v4.new_output("display_data", data={"text/html": table, "text/plain": "t"})])
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# 00 · A wide table"), cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "00_wide.ipynb")
    build_book(tmp_path / "book", tmp_path / "notebooks")
    assert "column number 39" in (tmp_path / "book" / "notebooks" / "00_wide.html").read_text(encoding="utf-8")
    assert layout_problems(tmp_path / "book", ["00_wide"]) == []
