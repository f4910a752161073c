"""A real browser: JupyterLab serves a notebook, headless Chromium runs its widget cell, a slider moves and
the figure it draws changes.

Needs Debian's `chromium` (/usr/bin/chromium, or $ZSCT_CHROMIUM) and the `playwright` Python package; no
browser is downloaded. Without them the test is skipped, unless ZSCT_REQUIRE_BROWSER=1 (set by CI), which
turns the skip into a failure. With ZSCT_SAVE_SCREENSHOT=1 a passing run copies its screenshot of the
widget cell to figures/browser_widget.png.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFERRED_NOTEBOOK = "notebooks/04_pseudo_labels.ipynb"
PREFERRED_SLIDER = "quantile"  # the slider to move when the widget has one with this label; else the first
SCREENSHOT = ROOT / "figures" / "browser_widget.png"
CHROMIUM = os.environ.get("ZSCT_CHROMIUM", "/usr/bin/chromium")

SERVER_START_S = 120  # a first JupyterLab start on a busy 2-core machine can take 30 s and more
CELL_RUN_S = 180  # the cells above the widget, with imports, on CPU
FIGURE_CHANGE_S = 60
SLIDER_HANDLE = "[role='slider'], .noUi-handle, input[type='range']"
SLIDER_SELECTORS = (".widget-slider [role='slider']", ".widget-slider .noUi-handle",
                    ".jupyter-widgets input[type='range']")

# JupyterLab user settings for the test: no autosave (the notebook file is never written), every cell kept
# in the DOM (no virtual scrolling), no news or update toasts.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def _missing_requirement() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright Python package is not importable ({exc}); pip install playwright"
    return None


def _code_lines(cell) -> str:
    """A code cell's source without comment and import lines."""
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    return "\n".join(line for line in src.splitlines()
                     if not line.strip().startswith(("#", "import ", "from ")))


def widget_cell_index(notebook: Path) -> int | None:
    """Index (among all cells) of the first code cell that builds a slider: ipywidgets sliders, interact, or
    a view's .widget()."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for keys in (("FloatSlider", "IntSlider"), ("interact",), (".widget(",)):
        for i, cell in enumerate(cells):
            if cell.get("cell_type") == "code" and any(k in _code_lines(cell) for k in keys):
                return i
    return None


def pick_notebook(root: Path) -> tuple[Path, int]:
    """The pseudo-label notebook when it exists, else the first notebook with a slider widget."""
    candidates = [root / PREFERRED_NOTEBOOK] + sorted((root / "notebooks").glob("*.ipynb"))
    for path in candidates:
        if path.is_file():
            index = widget_cell_index(path)
            if index is not None:
                return path, index
    pytest.fail(f"no notebook in {root / 'notebooks'} has a slider widget cell (FloatSlider/IntSlider/interact)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Process ids below `pid` (kernels run in their own session, so a process-group kill misses them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Lab:
    """A JupyterLab server on a free localhost port with a random token, rooted at `root`."""

    def __init__(self, root: Path, workdir: Path):
        self.root, self.workdir = root, workdir
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.log_path = workdir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def start(self):
        settings = self.workdir / "lab-settings"
        (self.workdir / "data").mkdir(exist_ok=True)  # notebook trust database and secret
        for rel, values in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(values))
        env = dict(os.environ,
                   JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
                   JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
                   PYTHONUNBUFFERED="1")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}",
               "--ServerApp.allow_root=True", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True",
               f"--NotebookNotary.data_dir={self.workdir / 'data'}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        below = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            try:  # a clean shutdown also shuts the kernels down
                req = urllib.request.Request(self.url("api/shutdown"), method="POST", data=b"")
                urllib.request.urlopen(req, timeout=5).close()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        for pid in below:  # a kernel left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


RUN_UP_TO_CELL = """async (index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  panel.content.activeCellIndex = index;
  await app.commands.execute('notebook:run-all-above');
  await app.commands.execute('notebook:run-cell');
  const cell = panel.content.widgets[index];
  cell.node.setAttribute('data-test-widget-cell', '');
  return cell.model.sharedModel.getSource().slice(0, 80);
}"""

KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

CELL_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    for (let k = 0; k < cell.model.outputs.length; k++) {
      const out = cell.model.outputs.get(k).toJSON();
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  });
  return errors;
}"""


FIGURES = ".jp-OutputArea-output img, .jp-OutputArea-output .jp-RenderedSVG svg"


def _figure_sources(cell) -> list[str]:
    """What the cell's output figures show: each PNG's data URL, or each inline SVG's markup."""
    return cell.locator(FIGURES).evaluate_all("els => els.map(e => e.tagName === 'IMG' ? e.src : e.outerHTML)")


def exercise_widget(lab: Lab, notebook_rel: str, cell_index: int, screenshot: Path, page_errors: list):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.set_default_timeout(60_000)
            try:
                _drive(page, lab, notebook_rel, cell_index, screenshot)
            except BaseException:
                page.screenshot(path=str(screenshot.with_name("failure.png")))
                raise
        finally:
            browser.close()


def _drive(page, lab: Lab, notebook_rel: str, cell_index: int, screenshot: Path):
    page.goto(lab.url(f"lab/tree/{notebook_rel}"), wait_until="domcontentloaded", timeout=SERVER_START_S * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=SERVER_START_S * 1000)
    page.wait_for_function(KERNEL_READY, timeout=SERVER_START_S * 1000, polling=500)

    page.evaluate(RUN_UP_TO_CELL, cell_index)
    cell = page.locator("[data-test-widget-cell]")
    _wait_for_slider(page, cell, cell_index)
    _wait_for_figure(page, cell)
    box = cell.locator(".widget-slider").filter(has_text=PREFERRED_SLIDER)
    if not box.count():
        box = cell.locator(".widget-slider")
    if box.count():
        slider = box.first.locator(SLIDER_HANDLE).first
        readout = box.first.locator(".widget-readout")
    else:  # a plain range input
        slider = cell.locator(", ".join(SLIDER_SELECTORS)).first
        readout = cell.locator(".widget-readout").first
    before = _figure_sources(cell)
    value_before = readout.inner_text() if readout.count() else slider.get_attribute("aria-valuenow")

    slider.scroll_into_view_if_needed()
    slider.focus()
    for key in ("ArrowRight", "ArrowLeft"):  # a slider already at its maximum moves the other way
        for _ in range(4):
            slider.press(key)
            page.wait_for_timeout(150)
        value_after = readout.inner_text() if readout.count() else slider.get_attribute("aria-valuenow")
        if value_after != value_before:
            break
    assert value_after != value_before, f"the slider did not move with the arrow keys (value {value_before})"

    deadline = time.monotonic() + FIGURE_CHANGE_S
    after = before
    while time.monotonic() < deadline:
        after = _figure_sources(cell)
        if after and after != before:
            break
        page.wait_for_timeout(250)
    assert after and after != before, (f"the figure did not change within {FIGURE_CHANGE_S} s after moving the "
                                       f"slider from {value_before} to {value_after}")
    _wait_until_settled(page, cell)  # each key press redraws; screenshot the last one
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.wait_for_timeout(300)
    cell.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot))
    return value_before, value_after


def _wait_for_slider(page, cell, cell_index: int):
    """Until the widget cell shows a slider; an error output in any cell fails at once."""
    any_slider = cell.locator(", ".join(SLIDER_SELECTORS))
    deadline = time.monotonic() + CELL_RUN_S
    while time.monotonic() < deadline:
        if any_slider.count() and any_slider.first.is_visible():
            return
        errors = page.evaluate(CELL_ERRORS)
        if errors:
            raise AssertionError(f"running the notebook up to cell {cell_index} failed: " + "; ".join(errors[:3]))
        page.wait_for_timeout(500)
    raise AssertionError(f"no slider appeared in cell {cell_index} within {CELL_RUN_S} s")


def _wait_until_settled(page, cell, quiet_s: float = 1.5):
    page.wait_for_function(KERNEL_READY, timeout=FIGURE_CHANGE_S * 1000, polling=250)
    deadline, last, since = time.monotonic() + FIGURE_CHANGE_S, None, time.monotonic()
    while time.monotonic() < deadline:
        now = _figure_sources(cell)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        page.wait_for_timeout(250)


def _wait_for_figure(page, cell):
    deadline = time.monotonic() + CELL_RUN_S
    while time.monotonic() < deadline:
        if _figure_sources(cell):
            return
        page.wait_for_timeout(250)
    raise AssertionError("the widget cell drew no figure")


@pytest.mark.timeout(600)
def test_slider_redraws_the_figure_in_jupyterlab(tmp_path):
    missing = _missing_requirement()
    if missing:
        if os.environ.get("ZSCT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ZSCT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)

    notebook, cell_index = pick_notebook(ROOT)
    notebook_rel = notebook.relative_to(ROOT).as_posix()
    original = notebook.read_bytes()
    screenshot = tmp_path / "browser_widget.png"
    lab, page_errors = Lab(ROOT, tmp_path), []
    try:
        lab.start()
        exercise_widget(lab, notebook_rel, cell_index, screenshot, page_errors)
    except BaseException as exc:
        if isinstance(exc, (AssertionError, RuntimeError)) or "Timeout" in type(exc).__name__:
            pytest.fail(f"{notebook_rel} cell {cell_index}: {exc}\nbrowser errors: {page_errors[-5:]}\n"
                        f"screenshot: {screenshot.with_name('failure.png')}\nJupyterLab log:\n{lab.log_tail()}")
        raise
    finally:
        lab.stop()
    # Autosave is off and nothing saves; should JupyterLab have written the notebook anyway, put it back.
    if "Saving file at" in lab.log_path.read_text(errors="replace"):
        notebook.write_bytes(original)
        pytest.fail(f"JupyterLab saved {notebook_rel} during the test (the original is restored)")

    assert screenshot.stat().st_size > 5_000
    if os.environ.get("ZSCT_SAVE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, SCREENSHOT)
