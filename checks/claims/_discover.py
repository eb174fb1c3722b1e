"""Where claims come from: the project's own catalogues, modules or files named with ``--claims``, and installed
packages that declare the entry-point group ``cnnverify.claims``.

One rule finds the claims of any source: the :class:`Claim` objects bound at the module's top level, and those in
top-level tuples or lists of claims (the papers' catalogue tables), in definition order. ``@checks.claim`` turns a
check function into such an object, so a claims file needs nothing else.

Loading a module runs its code, as pytest does with a test file: point ``--claims`` only at code you trust.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Iterable

from .._errors import ChecksError
from ._claim import Claim
from ._registry import Registry

BUILTIN = ("checks.ww", "checks.verify", "checks.duat")
"""The project's own claim sources, in report order: Wang & Wu constructions and learning; proofs, certificates
and checks at scale; the DUAT paper."""
ENTRY_POINT_GROUP = "cnnverify.claims"
"""Entry-point group of installed claim packages: ``[project.entry-points."cnnverify.claims"] mylab = "mylab.claims"``."""


def claims_in(module: ModuleType) -> list[Claim]:
    """The claims of ``module``: top-level :class:`Claim` objects and tuples/lists of them, in definition order
    (each object once)."""
    found: dict[int, Claim] = {}
    for value in vars(module).values():
        items = (
            value
            if isinstance(value, (tuple, list)) and value and all(isinstance(v, Claim) for v in value)
            else (value,)
        )
        for item in items:
            if isinstance(item, Claim):
                found.setdefault(id(item), item)
    return list(found.values())


def _import_file(path: Path) -> ModuleType:
    name = "cnnverify_claims_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ChecksError(f"argument '--claims': got {str(path)!r}; allowed: a Python file (.py) or module name")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_source(source: str) -> tuple[str, list[Claim]]:
    """Import a claim source: a module name (``mypkg.claims``) or a path to a ``.py`` file.

    Returns:
        ``(origin, claims)``: the origin as shown by ``--list`` (the module name, or the file's absolute path).
    Raises:
        ChecksError: the source does not exist, fails to import (the message carries the import error), or
            defines no claim.
    """
    if not isinstance(source, str) or not source.strip():
        raise ChecksError(f"argument '--claims': got {source!r}; allowed: a module name or a .py file path")
    path = Path(source)
    looks_like_file = source.endswith(".py") or "/" in source or "\\" in source
    try:
        if looks_like_file:
            if not path.is_file():
                why = (
                    "a directory: name one .py file in it, or import it as a package by its module name"
                    if path.is_dir()
                    else "no such file"
                )
                raise ChecksError(
                    f"argument '--claims': got {source!r}; allowed: an existing .py file or a module name ({why})"
                )
            path = path.resolve()
            origin, module = str(path), _import_file(path)
        else:
            origin, module = source, importlib.import_module(source)
    except ChecksError:
        raise
    except Exception as e:  # noqa: BLE001 -- any error of the user's module is reported as a usage error
        raise ChecksError(f"argument '--claims': {source!r} failed to import: {type(e).__name__}: {e}") from None
    claims = claims_in(module)
    if not claims:
        raise ChecksError(
            f"argument '--claims': {source!r} defines no claim (no checks.Claim at its top level; "
            "declare one with @checks.claim)"
        )
    return origin, claims


def entry_point_sources() -> list[str]:
    """Module names declared by installed packages in the entry-point group :data:`ENTRY_POINT_GROUP`."""
    return [ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]


def build_registry(sources: Iterable[str] = (), *, builtin: bool = True, entry_points: bool = False) -> Registry:
    """A registry of the project's claims (``builtin``), the installed claim packages (``entry_points``) and
    ``sources`` (module names or file paths), in that order.

    Raises:
        ChecksError: a source that cannot be loaded (:func:`load_source`), or an id defined twice (the message
            names both origins).
    """
    registry = Registry()
    names = (list(BUILTIN) if builtin else []) + (entry_point_sources() if entry_points else []) + list(sources)
    for name in dict.fromkeys(names):
        origin, claims = load_source(name)
        for c in claims:
            registry.register(c, origin)
    return registry


def default_registry() -> Registry:
    """A fresh registry holding every claim of the project (:data:`BUILTIN`), in catalogue order."""
    return build_registry()
