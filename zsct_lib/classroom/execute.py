"""Execute the series' notebooks in place, top to bottom in a fresh kernel, as they are committed:
`python -m zsct_lib.classroom.execute [NOTEBOOK ...]` (`make notebooks`; all of notebooks/ by default). Prints
each notebook's wall time (the "Run All" minutes of docs/teachers.md) and the errors it raised; keeps
no per-cell execution timestamps or saved widget state (noise in every diff). A notebook that raises
is still written, so that its error can be read, and the command exits 1."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..paths import PACKAGE_ROOT

NOTEBOOKS_DIR = PACKAGE_ROOT / "notebooks"


def execute_notebook(path: Path, timeout: int = 900) -> tuple[float, list[str]]:
    """Run one notebook in place; returns (seconds, ["cell N: ename: evalue", ...])."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - started
    errors = []
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        errors += [f"cell {index}: {out.ename}: {out.evalue[:200]}" for out in cell.get("outputs", [])
                   if out.output_type == "error"]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zsct_lib.classroom.execute", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may run (default 900)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        seconds, errors = execute_notebook(path, args.timeout)
        print(f"{path.name}: {seconds:.1f} s" + (f", {len(errors)} error(s): " + "; ".join(errors) if errors else ""),
              flush=True)
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
