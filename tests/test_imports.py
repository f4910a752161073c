"""The library's imports: no circle between its modules (counting the imports inside functions), and every
package it imports from outside the standard library declared in pyproject.toml."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zsct_lib"
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow", "sklearn": "scikit-learn"}
# modules whose imports belong to an optional extra, not to the base install
EXTRAS = {"zsct_lib.classroom.book": "book"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of zsct_lib, top-level names of other packages) that a file imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (inside if alias.name.startswith("zsct_lib") else outside).add(
                    alias.name if alias.name.startswith("zsct_lib") else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
                inside.update(c for c in candidates if c in MODULES)
            elif node.module.startswith("zsct_lib"):
                inside.update(c for c in [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                              if c in MODULES)
            else:
                outside.add(node.module.split(".")[0])
    inside.discard(name)
    return inside, outside


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {module_name(p) for p in FILES}


def graph() -> dict[str, set[str]]:
    """Each module's imports of other modules of the package (a package's __init__ is left out as a
    target: importing `zsct_lib.x` runs `zsct_lib/__init__.py` first in any case)."""
    return {module_name(p): {m for m in imports(p)[0] if m not in ("zsct_lib",)} for p in FILES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The circles of a directed graph, each as the list of its modules (Tarjan's strongly connected
    components of more than one module, or one that imports itself)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_known_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_checkpoint_and_paths_do_not_import_each_other():
    edges = graph()
    assert "zsct_lib.checkpoint" in edges["zsct_lib.paths"]            # load_model, inside functions
    assert "zsct_lib.paths" not in edges["zsct_lib.checkpoint"]
    assert "zsct_lib.atomic" in edges["zsct_lib.checkpoint"]


def test_no_import_circle():
    assert cycles(graph()) == []


WINGS = ("zsct_lib.experiments", "zsct_lib.classroom")


def wing(module: str) -> str:
    """"experiments", "classroom", or "paper" (the paper's concepts, and the `zsct` command that fronts all three)."""
    for name in WINGS:
        if module == name or module.startswith(name + "."):
            return name.rsplit(".", 1)[1]
    return "paper"


def test_the_paper_wing_imports_neither_the_experiments_nor_the_classroom():
    """The house's three wings: a reader of the paper's modules never meets a study or a notebook's helper;
    the experiments draw their own figures with the classroom's plotting and nothing else of it."""
    wrong = {}
    for module, targets in graph().items():
        if module == "zsct_lib.cli":
            continue
        for target in targets:
            if wing(module) == "paper" and wing(target) != "paper":
                wrong.setdefault(module, []).append(target)
            if wing(module) == "experiments" and wing(target) == "classroom" \
                    and not target.startswith("zsct_lib.classroom.plotting"):
                wrong.setdefault(module, []).append(target)
    assert not wrong, wrong
    assert wing("zsct_lib.classroom.plotting.files") == "classroom" and wing("zsct_lib.losses") == "paper"
    assert wing("zsct_lib.experiments") == "experiments" and wing("zsct_lib.experimental") == "paper"


def test_no_module_is_longer_than_600_lines():
    long = {module_name(p): n for p in FILES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, long


def declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {k: _names(v) for k, v in project["optional-dependencies"].items()}
    return {"": _names(project["dependencies"]), **extras}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_every_imported_package_is_declared():
    stdlib = set(sys.stdlib_module_names)
    declared_by = declared()
    missing = {}
    for path in FILES:
        allowed = declared_by[""] | declared_by.get(EXTRAS.get(module_name(path), ""), set())
        for top in imports(path)[1] - stdlib - {"__future__"}:
            dist = DISTRIBUTIONS.get(top, top).lower().replace("_", "-")
            if dist not in allowed:
                missing.setdefault(dist, []).append(module_name(path))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
