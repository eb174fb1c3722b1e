"""Float weights on disk: a spec directory with ``spec.json`` (exact) and ``weights.safetensors`` (floats).

Layout of a saved directory::

    out_dir/
        spec.json            exact spec, bytes of theory.spec.spec_bytes(net) (rationals as strings, content hash)
        weights.safetensors  state_dict of to_module(net, dtype), safetensors format, with metadata
                             {"format": "cnnverify.weights", "version": "1", "content_hash": net.content_hash,
                              "dtype": "float64" | "float32" | "float16" | "bfloat16"}

Every write goes through :func:`theory.io.atomic_write_dir` (temporary sibling directory, then rename), so a
failure leaves the old directory or nothing, never half a directory. Loading never unpickles: the weights
are parsed with ``safetensors.torch.load`` (after the header alone has been read and the memory budget
checked) and must be bit-identical to a fresh :func:`to_module` of the spec, so a file that loads is exactly
the correctly rounded conversion of the exact weights it names. The weights file's own bytes, metadata and checks
are :mod:`numerics.convert._weights`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

import theory
from theory.cli import MEMORY_BUDGET, check_budget, guard_memory
from theory.spec import SPEC_FILE

from .._errors import NumericsError, bad, theory_errors
from ._module import SpecModule, module_bytes, resolve_device, resolve_dtype, to_module
from ._weights import _check_metadata, _check_tensors, _dtype_name, _read_metadata, _weights_bytes

WEIGHTS_FILE = "weights.safetensors"


def _as_path(value: Any, arg: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise bad(arg, value, "a path (str or os.PathLike)")
    return Path(value)


def _write_dir(out: Path, files: dict[str, bytes], force: bool, **kwargs: Any) -> Path:
    """``theory.io.atomic_write_dir`` (``kwargs``: tool, update, written) with its TheoryError turned into this
    package's NumericsError."""
    with theory_errors():
        return theory.io.atomic_write_dir(out, files, force=force, **kwargs)


def save_module(
    net: theory.Network,
    out_dir: str | os.PathLike,
    dtype: Any = torch.float64,
    *,
    force: bool = False,
    memory_budget: int = MEMORY_BUDGET,
) -> Path:
    """Write the exact spec and its float weights to one new directory, all or nothing.

    Writes ``out_dir/spec.json`` (``theory.spec.spec_bytes(net)``) and ``out_dir/weights.safetensors`` (the
    ``state_dict`` of ``to_module(net, dtype)``, contiguous on CPU, with metadata format / version /
    content_hash / dtype), through :func:`theory.io.atomic_write_dir`.

    Args:
        net: a :class:`theory.Network`.
        out_dir: the directory to create; its parent is created if needed.
        dtype: float dtype of the weights (``torch.float64`` default, or a name such as ``"float32"``);
            every weight is correctly rounded from its exact value (see :func:`to_module`).
        force: replace an existing ``out_dir`` (atomically) instead of refusing.
        memory_budget: bytes the conversion may allocate (:func:`to_module`), checked before it allocates.
    Returns:
        The directory path.
    Raises:
        NumericsError: ``net`` is not a Network, bad ``dtype``, a weight overflows ``dtype``, weights too
            large for ``memory_budget``, or ``out_dir`` exists and ``force`` is False.
        OSError: the file system refused the write (nothing is left behind).
    """
    out = _as_path(out_dir, "out_dir")
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    dt = resolve_dtype(dtype)
    if out.exists() and not force:
        raise bad("out_dir", str(out), "a path that does not exist yet (pass force=True / --force to replace it)")
    files = {
        SPEC_FILE: theory.spec.spec_bytes(net),
        WEIGHTS_FILE: _weights_bytes(net, dt, check_budget(memory_budget, error=NumericsError)),
    }
    return _write_dir(out, files, force, tool="numerics.save_module")


def _read_spec(spec_dir: Path, note: Callable[[str], None] | None) -> theory.Network:
    """The spec of a directory, read by :func:`theory.load` (``note`` as there)."""
    p = spec_dir / SPEC_FILE
    if not p.is_file():
        raise bad(
            "path",
            str(spec_dir),
            f"a directory holding {SPEC_FILE} (write one with theory.save or `python -m theory build`)",
        )
    with theory_errors():
        return theory.load(p, note=note)


def _spec_bytes_of(spec_dir: Path, net: theory.Network) -> bytes:
    """The exact bytes of ``spec_dir``'s spec file, checked to be those ``net`` was loaded from (same weights and
    meta), so that a rewrite carries them over unchanged."""
    p = spec_dir / SPEC_FILE
    data = p.read_bytes()
    with theory_errors():
        obj = theory.io.parse_json(data, p, "spec file")
    if (
        not isinstance(obj, dict)
        or obj.get("content_hash") != net.content_hash
        or (obj.get("meta") or {}) != theory.to_json(net)["meta"]
    ):
        raise NumericsError(f"{p}: changed while it was being read; try again")
    return data


def _spec_dir(path: Any, arg: str) -> Path:
    """A spec directory from ``path``: the directory itself, or ``spec.json`` / ``weights.safetensors`` in it."""
    p = _as_path(path, arg)
    if p.is_file() and p.name in (SPEC_FILE, WEIGHTS_FILE):
        p = p.parent
    if not p.is_dir():
        raise bad(arg, str(path), f"an existing directory holding {SPEC_FILE}")
    return p


def export(
    spec_dir: str | os.PathLike,
    dtype: Any = torch.float64,
    *,
    force: bool = False,
    memory_budget: int = MEMORY_BUDGET,
    note: Callable[[str], None] | None = None,
) -> Path:
    """Add ``weights.safetensors`` to a directory that holds a ``spec.json``, atomically.

    The spec is read and verified (content hash), then the directory is rewritten as a whole by
    :func:`theory.io.atomic_write_dir` (``update=True``) with its ``spec.json`` bytes unchanged, any other plain
    files it holds copied unchanged, and the new ``weights.safetensors`` (as in :func:`save_module`). A failure leaves
    the directory as it was. Its ``.cnnverify`` marker, when it has one, then lists the weights file too; a
    directory without a marker (not written by cnnverify) gets none.

    Args:
        spec_dir: a directory written by :func:`theory.save` or ``python -m theory build``.
        dtype: float dtype of the weights (default ``torch.float64``, or a name such as ``"float32"``).
        force: replace an existing ``weights.safetensors`` instead of refusing.
        memory_budget: bytes the conversion may allocate (:func:`to_module`), checked before it allocates.
        note: called with the message of a spec file whose meta no hash covers, instead of a
            :class:`theory.spec.MetaNotCoveredWarning` (:func:`theory.load`).
    Returns:
        The directory path.
    Raises:
        NumericsError: no such directory or no ``spec.json`` in it, a corrupted or edited spec, bad
            ``dtype``, weights above ``memory_budget``, existing weights without ``force``, or a subdirectory / link in ``spec_dir`` (it could
            not be carried over by the atomic rewrite).
        OSError: the file system refused the write (the directory is left unchanged).
    """
    d = _spec_dir(spec_dir, "spec_dir")
    dt = resolve_dtype(dtype)
    budget = check_budget(memory_budget, error=NumericsError)
    net = _read_spec(d, note)
    spec_data = _spec_bytes_of(d, net)
    if (d / WEIGHTS_FILE).exists() and not force:
        raise bad("spec_dir", str(d), f"a directory without {WEIGHTS_FILE} (pass force=True / --force to replace it)")
    files: dict[str, bytes] = {}
    for entry in sorted(d.iterdir()):
        if entry.name in (SPEC_FILE, WEIGHTS_FILE, theory.io.MARKER_FILE):  # the marker is rewritten by theory
            continue
        if entry.is_symlink() or not entry.is_file():
            raise bad(
                "spec_dir",
                str(d),
                f"a directory of plain files only ({entry.name!r} is not one; the atomic rewrite cannot carry it over)",
            )
        files[entry.name] = entry.read_bytes()
    files[SPEC_FILE] = spec_data
    files[WEIGHTS_FILE] = _weights_bytes(net, dt, budget)
    return _write_dir(d, files, force=True, tool="numerics.export", update=True, written=[WEIGHTS_FILE])


def load_module(
    path: str | os.PathLike,
    device: Any = "cpu",
    *,
    memory_budget: int = MEMORY_BUDGET,
    note: Callable[[str], None] | None = None,
) -> tuple[theory.Network, SpecModule]:
    """Load a directory written by :func:`save_module` / :func:`export`: the exact spec and its float module.

    Reads ``path/spec.json`` (verified by its content hash) and ``path/weights.safetensors`` (parsed by
    ``safetensors.torch.load``, never unpickled). The weights must carry this package's metadata, name the
    spec's content hash, and be bit-identical to ``to_module(spec, dtype)``.

    Args:
        path: the directory (or its ``spec.json`` / ``weights.safetensors``).
        device: ``'cpu'`` (default), ``'cuda'``, ``'cuda:N'`` or ``'auto'``.
        memory_budget: bytes loading may fill: the weights file plus the module it is checked against
            (:func:`module_bytes`), estimated from the spec and the file's header before any tensor is read.
        note: called with the message of a spec file whose meta no hash covers, instead of a
            :class:`theory.spec.MetaNotCoveredWarning` (:func:`theory.load`).
    Returns:
        ``(net, module)``: the :class:`theory.Network` and a :class:`SpecModule` on ``device`` whose
        parameters are the loaded tensors. Module shape: ``(B, d)`` or ``(B, c_in, d)`` in, ``(B, n_D C_D)``
        out.
    Raises:
        NumericsError: bad ``path``, ``device`` or ``memory_budget``; missing, corrupted or truncated spec or
            weights; missing or wrong metadata; a weights file and module above ``memory_budget``; weights of another spec; tensor names, shapes, dtype or values that do not
            match the exact spec.
    """
    d = _spec_dir(path, "path")
    dev = resolve_device(device)
    budget = check_budget(memory_budget, error=NumericsError)
    net = _read_spec(d, note)
    wpath = d / WEIGHTS_FILE
    if not wpath.is_file():
        raise NumericsError(f"{d}: no {WEIGHTS_FILE}; write it with numerics.export or `python -m numerics export {d}`")
    dtype = _check_metadata(_read_metadata(wpath), net, wpath)
    size = wpath.stat().st_size
    guard_memory(
        "load",
        size + module_bytes(net, dtype),
        budget,
        f"the weights file ({size} bytes) and the module it is checked against ({str(dtype).replace('torch.', '')})",
        "use a CNN spec (LCN / FCN weights grow with d)",
        error=NumericsError,
    )
    data = wpath.read_bytes()
    theory.io.note_read(wpath, data)
    try:
        loaded = safetensors.torch.load(data)
    except (safetensors.SafetensorError, KeyError, ValueError, RuntimeError, TypeError) as e:
        raise NumericsError(f"{wpath}: corrupted safetensors file ({type(e).__name__}: {e})") from None
    del data
    module = to_module(net, dtype, "cpu", memory_budget=budget)
    _check_tensors(loaded, module.state_dict(), dtype, wpath)
    module.load_state_dict({k: v.clone() for k, v in loaded.items()}, assign=True)
    for p in module.parameters():
        p.requires_grad_(False)
    module.to(dev)
    module.device = dev
    return net, module


def weights_info(
    path: str | os.PathLike, *, memory_budget: int = MEMORY_BUDGET, note: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Facts about a directory's weights file for ``python -m numerics info`` (after :func:`load_module` checks).

    Args:
        path: the directory (or its ``spec.json`` / ``weights.safetensors``).
        memory_budget, note: as :func:`load_module`.
    Returns:
        ``{"net": Network, "file": Path | None, "bytes": int, "dtype": str}``; ``file`` is None (and
        ``bytes`` / ``dtype`` absent) when the directory has no weights file; the weights, when present, passed
        every check of :func:`load_module`.
    Raises:
        NumericsError: as :func:`load_module`.
    """
    d = _spec_dir(path, "path")
    wpath = d / WEIGHTS_FILE
    if not wpath.is_file():
        return {"net": _read_spec(d, note), "file": None}
    net, module = load_module(d, memory_budget=memory_budget, note=note)
    return {"net": net, "file": wpath, "bytes": wpath.stat().st_size, "dtype": _dtype_name(module.dtype)}
