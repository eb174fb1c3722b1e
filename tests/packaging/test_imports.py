"""The import rules of docs/architecture.md, read from the source with ``ast`` (nothing is imported).

* data flows one way: theory -> numerics -> checks (theory imports neither, numerics not checks);
* across packages, and from benchmarks, only public faces: no private (``_name``) module in the path;
* inside a package, the subpackages import each other in one order only (no cycles).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("theory", "numerics", "checks")
ALLOWED = {"theory": set(), "numerics": {"theory"}, "checks": {"theory", "numerics"}}
ORDER = {
    "theory": ["cli", "io", "formula", "spec", "heads", "constructions", "prove", "check", "certify"],
    "numerics": ["convert", "scale", "learning", "duat", "peers"],
    "checks": ["claims", "expect", "running", "reporting", "ww", "verify", "duat"],
}
"""Subpackages in dependency order: one may import those before it, never those after it. The package root's
own modules (errors, tolerances, command line) are outside the order."""


def modules(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def dotted(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path, path: Path) -> list[tuple[int, str]]:
    """Absolute dotted names of every module ``path`` imports (relative imports resolved), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = dotted(root, path) if path.name == "__init__.py" else dotted(root, path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def project(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in PACKAGES else None


def private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def flow_violations(root: Path, package: str) -> list[str]:
    """Imports of a package that breaks the one-way flow or reaches into another package's private module."""
    bad = []
    for path in modules(root, package):
        for line, name in imports(root, path):
            other = project(name)
            if other is None or other == package:
                continue
            where = f"{path.relative_to(root)}:{line}"
            if other not in ALLOWED[package]:
                bad.append(f"{where} imports {name} ({package} must not import {other})")
            elif private(name):
                bad.append(f"{where} imports the private module {name}")
    return bad


def order_violations(root: Path, package: str) -> list[str]:
    """Imports from a subpackage to one that comes later in :data:`ORDER`."""
    order, bad = ORDER[package], []
    for path in modules(root, package):
        parts = dotted(root, path).split(".")
        if len(parts) < 2 or parts[1] not in order:
            continue
        for line, name in imports(root, path):
            target = name.split(".")
            if (
                target[0] == package
                and len(target) > 1
                and target[1] in order
                and order.index(target[1]) > order.index(parts[1])
            ):
                bad.append(f"{path.relative_to(root)}:{line} ({parts[1]}) imports {name} ({target[1]} comes later)")
    return bad


@pytest.mark.parametrize("package", PACKAGES)
def test_data_flows_one_way_through_public_faces(package):
    bad = flow_violations(ROOT, package)
    assert not bad, "\n".join(bad)


def test_benchmarks_import_public_faces_only():
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(ROOT, "benchmarks")
        for line, name in imports(ROOT, path)
        if project(name) and private(name)
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_subpackages_import_in_one_order(package):
    assert sorted(ORDER[package]) == sorted(
        p.name for p in (ROOT / package).iterdir() if p.is_dir() and (p / "__init__.py").exists()
    ), "ORDER lists them all"
    bad = order_violations(ROOT, package)
    assert not bad, "\n".join(bad)


def test_rules_catch_planted_violations(tmp_path):
    """The checker itself, on a planted tree: each kind of violation is reported, the allowed imports are not."""
    spec = tmp_path / "theory" / "spec"
    spec.mkdir(parents=True)
    (tmp_path / "theory" / "__init__.py").write_text("")
    (spec / "__init__.py").write_text("from ._network import Network\n")
    (spec / "_network.py").write_text(
        "import numerics\nfrom ..certify import certify_sup_error\nfrom .._errors import bad\n"
    )
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "_x.py").write_text(
        "from numerics.learning._train import train_point\nfrom numerics.learning import train_ensemble\n"
    )
    flow = flow_violations(tmp_path, "theory")
    assert flow == ["theory/spec/_network.py:1 imports numerics (theory must not import numerics)"]
    assert flow_violations(tmp_path, "checks") == ["checks/_x.py:1 imports the private module numerics.learning._train"]
    assert order_violations(tmp_path, "theory") == [
        "theory/spec/_network.py:2 (spec) imports theory.certify (certify comes later)"
    ]


def module_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports, from every import statement (inside functions and under
    ``TYPE_CHECKING`` too: a late import hides a cycle, it does not remove it). ``from pkg import name`` is an
    edge to ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``)."""
    files = [p for package in packages for p in modules(root, package)]
    known = {dotted(root, p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        source = dotted(root, path)
        tree = ast.parse(path.read_text(), filename=str(path))
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    edges.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
        graph[source] = {e for e in edges if e in known and e != source}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted; sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_module_imports_in_a_circle():
    found = cycles(module_graph(ROOT))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_cycle_check_catches_planted_cycles(tmp_path):
    """A cycle hidden behind a late import or ``TYPE_CHECKING`` is still a cycle; a one-way chain is not."""
    pkg = tmp_path / "theory" / "spec"
    pkg.mkdir(parents=True)
    (tmp_path / "theory" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from ._a import f\n")
    (pkg / "_a.py").write_text("from ._b import g\n\ndef f():\n    return g()\n")
    (pkg / "_b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._c import C\n"
        "def g():\n    from . import _a\n    return _a\n"
    )
    (pkg / "_c.py").write_text("X = 1\n")
    assert cycles(module_graph(tmp_path, ("theory",))) == [["theory.spec._a", "theory.spec._b"]]
    (pkg / "_b.py").write_text("from ._c import X\n\ndef g():\n    return X\n")
    assert cycles(module_graph(tmp_path, ("theory",))) == []
