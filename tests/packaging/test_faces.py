"""Every public face (a package's ``__init__.py``) declares what it exports the same way: an ``__all__`` that
lists exactly the public names the face binds (modules aside) and nothing it does not bind. theory's own face
holds the mathematics; the shared plumbing has faces of its own (theory.cli, theory.io)."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACES = sorted(
    ".".join(p.parent.relative_to(ROOT).parts)
    for package in ("theory", "numerics", "checks")
    for p in (ROOT / package).rglob("__init__.py")
    if "__pycache__" not in p.parts
)
PLUMBING = {
    "EXIT_CODES",
    "EXIT_OK",
    "EXIT_FAIL",
    "EXIT_USAGE",
    "EXIT_UNSOUND",
    "EXIT_PIPE",
    "run_cli",
    "parse_int_list",
    "join_option_values",
    "ProgressLine",
    "MEMORY_BUDGET",
    "check_budget",
    "parse_size",
    "format_bytes",
    "format_count",
    "MARKER_FILE",
    "check_writable",
    "check_replaceable",
    "read_marker",
    "write_marker",
    "read_json",
    "parse_json",
    "atomic_write_file",
    "atomic_write_dir",
    "SPEC_FILE",
}
"""Names of the shared plumbing that once sat on theory's face and must not return there."""


def public_bindings(module: types.ModuleType) -> set[str]:
    """Public names a face binds, other than modules and what ``from __future__`` adds."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }


@pytest.mark.parametrize("face", FACES)
def test_face_exports_exactly_what_it_binds(face):
    module = importlib.import_module(face)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{face} has no __all__"
    assert len(exported) == len(set(exported)), f"{face}.__all__ lists a name twice"
    missing = sorted(n for n in exported if not hasattr(module, n))
    assert not missing, f"{face}.__all__ names what the face does not bind: {missing}"
    unlisted = sorted(public_bindings(module) - set(exported))
    assert not unlisted, f"{face} binds public names missing from __all__: {unlisted}"


def test_theory_face_holds_the_mathematics():
    import theory

    assert not PLUMBING & set(theory.__all__), sorted(PLUMBING & set(theory.__all__))
    assert len(theory.__all__) <= 60
    import theory.cli
    import theory.io

    assert {"run_cli", "EXIT_CODES", "check_budget", "ProgressLine"} <= set(theory.cli.__all__)
    assert {"read_json", "atomic_write_dir", "check_writable", "MARKER_FILE"} <= set(theory.io.__all__)


@pytest.mark.parametrize("package", ["theory", "numerics", "checks"])
def test_package_faces_reach_every_subpackage(package):
    """One way to reach a name: the package's face re-exports the entry points users call, and every subpackage
    is an attribute of it, so the rest is ``package.subpackage.name`` (``numerics.duat.decompose``)."""
    module = importlib.import_module(package)
    subpackages = sorted(p.name for p in (ROOT / package).iterdir() if (p / "__init__.py").exists())
    missing = [name for name in subpackages if not isinstance(vars(module).get(name), types.ModuleType)]
    assert not missing, f"{package} does not import its subpackages {missing}"
