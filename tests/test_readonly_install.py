"""A read-only install (a JupyterHub with the series in a shared read-only folder): from a copy of the
repository without write permission, the quick demo and a notebook that trains run, write only under
the user's own folders (ZSCT_RUNS_DIR, HOME, the temporary folder) and leave every file of the copy
as it was (a snapshot of sizes and times, before and after).

Run as root, the demo runs as the unprivileged user `nobody` (root writes through any mode bits)."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "06_full_training.ipynb"          # trains a live run: the notebook most likely to write


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _as_reader():
    """(command prefix, uid of the user's own folders) for running commands as a user who cannot write
    the copy: `setpriv` to `nobody` when running as root, else the current user."""
    if os.geteuid() != 0:
        return [], os.geteuid()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no unprivileged user to test a read-only install with")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], 65534


def _tracked_copy(dest: Path):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


@pytest.fixture
def read_only_copy():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    # pytest's own temporary folders are private to their owner: the reader could not reach them
    tmp_path = Path(tempfile.mkdtemp(prefix="zsct-read-only-"))
    tmp_path.chmod(0o755)
    copy = tmp_path / "shared" / "zsct"
    _tracked_copy(copy)
    for path in [copy, *copy.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    prefix, uid = _as_reader()
    home = tmp_path / "home"
    for folder in (home, home / "runs", home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, uid, -1)
    (tmp_path / "shared").chmod(0o755)
    env = {**os.environ, "HOME": str(home), "ZSCT_RUNS_DIR": str(home / "runs"), "TMPDIR": str(home / "tmp"),
           "PYTHONPATH": str(copy), "MPLCONFIGDIR": str(home / ".matplotlib"), "JUPYTER_RUNTIME_DIR": str(home / "rt")}
    env.pop("ZSCT_DEMO_DIR", None)
    before = _snapshot(copy)
    yield copy, home, env, prefix
    for path in [copy, *copy.rglob("*")]:      # let pytest remove the copy
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    after = _snapshot(copy)
    shutil.rmtree(tmp_path)
    assert after == before, "a file of the read-only copy changed or appeared"


def test_quick_demo_runs_from_a_read_only_copy(read_only_copy):
    copy, home, env, prefix = read_only_copy
    done = subprocess.run([*prefix, sys.executable, "-m", "zsct_lib.cli", "demo", "--quick"], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert (home / "runs" / "demo" / "full" / "eval.json").is_file() and (home / "runs" / "demo" / "demo.png").is_file()


def test_a_training_notebook_runs_from_a_read_only_copy(read_only_copy):
    """Run by the current user: its kernel is started by the interpreter's own path, which an
    unprivileged user may not reach; the copy's snapshot still shows any file the notebook writes."""
    copy, home, env, _ = read_only_copy
    script = ("import nbformat, nbclient, sys\n"
              f"nb = nbformat.read(r'{copy / 'notebooks' / NOTEBOOK}', as_version=4)\n"
              f"nbclient.NotebookClient(nb, timeout=600, kernel_name='python3', resources={{'metadata': {{'path': r'{copy / 'notebooks'}'}}}}).execute()\n"
              "errors = [o for c in nb.cells for o in c.get('outputs', []) if o.get('output_type') == 'error']\n"
              "sys.exit(1 if errors else 0)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=home, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
