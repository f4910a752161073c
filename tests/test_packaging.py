"""pyproject.toml and environment.yml list the same packages with the same lower bounds."""
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}


def _parse(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?\s*", requirement)
    assert match, f"not a simple lower bound: {requirement!r}"
    return match.group(1).lower(), (match.group(2) or "").replace(" ", "")


def pyproject_requirements() -> dict:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_parse(r) for r in names)


def environment_requirements() -> dict:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    found = {}
    for item in env["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for entry in entries:
            if entry.startswith("-e") or entry.split(">=")[0] in ("python", "pip"):
                continue
            name, bound = _parse(entry)
            found[CONDA_TO_PYPI.get(name, name)] = bound
    return found


def test_both_files_list_the_same_packages_and_bounds():
    assert pyproject_requirements() == environment_requirements()


def test_requirements_are_lower_bounds_only():
    assert all(bound.startswith(">=") for bound in pyproject_requirements().values())


def test_environment_installs_the_package():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "-e ." in pip_section and "conda-forge" in env["channels"]


def lowest_pins() -> dict:
    pins = {}
    for line in (REPO / "constraints" / "lowest.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def _same_release(bound: str, pin: str) -> bool:
    """`>=2.0` and `2.0.0` name the same release."""
    a, b = [int(x) for x in bound.removeprefix(">=").split(".")], [int(x) for x in pin.split(".")]
    width = max(len(a), len(b))
    return a + [0] * (width - len(a)) == b + [0] * (width - len(b))


def test_lowest_constraints_pin_the_lower_bounds():
    """constraints/lowest.txt (make test-lowest) pins exactly the packages pyproject.toml declares for the
    base install and the dev extra, each at its lower bound."""
    declared, pins = pyproject_requirements(), lowest_pins()
    assert sorted(declared) == sorted(pins)
    assert {n: b for n, b in declared.items() if not _same_release(b, pins[n])} == {}


def test_same_release_reads_short_bounds():
    assert _same_release(">=2.0", "2.0.0") and _same_release(">=1.24.1", "1.24.1")
    assert not _same_release(">=2.0", "2.0.1")
