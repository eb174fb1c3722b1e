"""The weights file itself: the safetensors bytes of a spec's float module with this package's metadata, and the
checks a file passes before :func:`numerics.load_module` trusts it.

:func:`_weights_bytes` writes the ``state_dict`` of ``to_module(net, dtype)`` (contiguous, on CPU) with the metadata
``{"format": "cnnverify.weights", "version": "1", "content_hash": net.content_hash, "dtype": <name>}``. A file is
checked in three steps: :func:`_read_metadata` parses the header alone (its length checked against the file size
and safetensors' own limit first; no tensor is read), :func:`_check_metadata` its format, version, content hash and
dtype, and :func:`_check_tensors` the loaded tensors' names, dtypes, shapes and bit patterns against a fresh
:func:`to_module` of the spec. The directory around the file (``spec.json`` beside it, atomic writes, loading) is
:mod:`numerics.convert._files`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

import theory
from theory.cli import MEMORY_BUDGET
from theory.spec import SPEC_FILE

from .._errors import NumericsError, theory_errors
from ._module import DTYPES, to_module

WEIGHTS_FORMAT = "cnnverify.weights"
WEIGHTS_VERSION = "1"
_HEADER_LIMIT = 100 * 1024**2  # safetensors' own limit on the JSON header


def _dtype_name(dtype: torch.dtype) -> str:
    return next(name for name, dt in DTYPES.items() if dt == dtype)


def _weights_bytes(net: theory.Network, dtype: torch.dtype, memory_budget: int = MEMORY_BUDGET) -> bytes:
    """The safetensors file of ``to_module(net, dtype)``: contiguous CPU tensors plus metadata."""
    module = to_module(net, dtype, "cpu", memory_budget=memory_budget)
    tensors = {name: t.detach().contiguous() for name, t in module.state_dict().items()}
    metadata = {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "content_hash": net.content_hash,
        "dtype": _dtype_name(dtype),
    }
    return safetensors.torch.save(tensors, metadata)


def _read_metadata(wpath: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file, parsed from its header alone (8-byte length + JSON), without
    reading the tensors; the header length is checked against the file size and safetensors' own limit first."""
    size = wpath.stat().st_size
    with open(wpath, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise NumericsError(f"{wpath}: truncated safetensors file ({len(head)} bytes, no header)")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, _HEADER_LIMIT):
            raise NumericsError(
                f"{wpath}: corrupted or truncated safetensors file (header length {n} exceeds the "
                f"{size - 8} bytes that follow)"
            )
        raw = fh.read(n)
    with theory_errors():
        header = theory.io.parse_json(raw, wpath, "safetensors header")
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        raise NumericsError(
            f"{wpath}: no metadata in the safetensors header; not written by numerics.save_module/export"
        )
    return meta


def _check_metadata(meta: dict[str, Any], net: theory.Network, where: Path) -> torch.dtype:
    if meta.get("format") != WEIGHTS_FORMAT:
        raise NumericsError(f"{where}: metadata format is {meta.get('format')!r}, expected {WEIGHTS_FORMAT!r}")
    if meta.get("version") != WEIGHTS_VERSION:
        raise NumericsError(
            f"{where}: unsupported weights version {meta.get('version')!r}; this library reads "
            f"version {WEIGHTS_VERSION!r}"
        )
    if meta.get("content_hash") != net.content_hash:
        raise NumericsError(
            f"{where}: the weights belong to another spec (content_hash "
            f"{str(meta.get('content_hash'))[:16]}... in the weights, {net.content_hash[:16]}... "
            f"in {SPEC_FILE})"
        )
    name = meta.get("dtype")
    if name not in DTYPES:
        raise NumericsError(f"{where}: metadata dtype {name!r} is not one of {sorted(DTYPES)}")
    return DTYPES[name]


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The tensor's bit pattern as integers (so -0.0 != 0.0 and NaN payloads count)."""
    return t.view({8: torch.int64, 4: torch.int32, 2: torch.int16}[t.element_size()])


def _check_tensors(
    loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], dtype: torch.dtype, where: Path
) -> None:
    if set(loaded) != set(expected):
        missing, extra = sorted(set(expected) - set(loaded)), sorted(set(loaded) - set(expected))
        raise NumericsError(
            f"{where}: tensor names do not match the spec's module (missing {missing}, unexpected {extra})"
        )
    for name, want in expected.items():
        got = loaded[name]
        if got.dtype != dtype:
            raise NumericsError(f"{where}: tensor {name!r} has dtype {got.dtype}, the metadata says {dtype}")
        if got.shape != want.shape:
            raise NumericsError(
                f"{where}: tensor {name!r} has shape {tuple(got.shape)}, the spec's module needs {tuple(want.shape)}"
            )
        if not torch.equal(_bits(got), _bits(want.detach().contiguous())):
            raise NumericsError(
                f"{where}: weights do not match the exact spec (tensor {name!r} differs from "
                f"to_module(spec, {dtype}); corrupted or edited file)"
            )
