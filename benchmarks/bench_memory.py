"""Peak resident memory of each notebook run top to bottom, and of the demo, against a laptop's budget.

Each job runs in its own child process and its peak is the largest resident set among the child and
every process below it (the notebook's kernel, the demo's data worker), read from the kernel's
accounting of finished children (`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`) in a fresh
measuring process per job, so one job's peak cannot carry into the next. Notebooks run under nbval
(`pytest --nbval-lax`), as CI runs them; the demo is `zsct demo` into a temporary folder.

    python benchmarks/bench_memory.py [--budget-gb 4] [--out results/bench_memory.json] [--only 03,demo]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(command: list[str]) -> dict:
    """Run `command` in a fresh measuring process; -> {"seconds", "peak_mb", "returncode"}."""
    probe = ("import resource, subprocess, sys, json, time\n"
             "started = time.perf_counter()\n"
             "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
             "peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "print(json.dumps({'seconds': round(time.perf_counter() - started, 1), "
             "'peak_mb': round(peak_kb / 1024), 'returncode': code}))\n")
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def jobs(only: set[str] | None) -> dict[str, list[str]]:
    found = {}
    for notebook in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        found[notebook.stem] = [sys.executable, "-m", "pytest", str(notebook), "--nbval-lax", "--nbval-current-env",
                                "-q", "-p", "no:cacheprovider"]
    found["demo"] = [sys.executable, "-m", "zsct_lib.cli", "demo", "--out", str(Path(tempfile.mkdtemp()) / "demo")]
    if only:
        found = {name: cmd for name, cmd in found.items() if name == "demo" and "demo" in only or name[:2] in only}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-gb", type=float, default=4.0)
    parser.add_argument("--only", default=None, help="comma list of notebook numbers and/or demo, e.g. 03,demo")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    results = {}
    for name, command in jobs(only).items():
        results[name] = measure(command)
        within = results[name]["peak_mb"] <= args.budget_gb * 1024
        print(f"{name:<40} peak {results[name]['peak_mb']:>6} MB  {results[name]['seconds']:>7.1f} s  "
              f"{'within' if within else 'OVER'} {args.budget_gb:g} GB" +
              ("" if results[name]["returncode"] == 0 else f"  (exit code {results[name]['returncode']})"), flush=True)
    report = {"budget_gb": args.budget_gb, "date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(),
              "python": platform.python_version(), "jobs": results,
              "all_within": all(r["peak_mb"] <= args.budget_gb * 1024 and r["returncode"] == 0 for r in results.values())}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    sys.exit(0 if report["all_within"] else 1)


if __name__ == "__main__":
    main()
