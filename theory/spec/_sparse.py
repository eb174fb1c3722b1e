"""Sparse exact arrays: the storage of every weight and bias in a network spec.

A :class:`SparseArray` is an immutable n-d array of exact rationals that stores only its nonzeros,
in canonical form (row-major linear keys, strictly increasing, no explicit zeros). Two arrays with
the same entries are therefore equal field by field, and hashing is deterministic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._errors import TheoryError, bad
from ._rational import ZERO, as_rational

_INT64_MAX = np.iinfo(np.int64).max


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class SparseArray:
    """Immutable sparse array of exact rationals.

    Attributes:
        shape: the dense shape, a tuple of positive ints.
        keys: int64 array (nnz,), row-major linear indices of the nonzeros, strictly increasing.
        values: object array (nnz,) of nonzero :class:`~fractions.Fraction` values, aligned with ``keys``.

    Build with :meth:`from_dict`, :meth:`from_dense`, :meth:`from_coo` or :meth:`zeros`; the raw
    constructor validates canonical form and is meant for trusted, already-canonical data.
    """

    shape: tuple[int, ...]
    keys: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if not shape or any(not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1 for n in shape):
            raise bad("shape", self.shape, "a non-empty tuple of positive ints")
        shape = tuple(int(n) for n in shape)
        size = 1
        for n in shape:
            size *= n
        if size > _INT64_MAX:
            raise bad("shape", shape, "at most 2**63 - 1 entries in all")
        keys = np.asarray(self.keys)
        if keys.ndim != 1 or (keys.size and keys.dtype.kind not in "iu"):
            raise bad("keys", keys.dtype, "a 1-d integer array of linear indices")
        keys = keys.astype(np.int64, copy=True)
        values = np.asarray(self.values, dtype=object)
        if values.shape != keys.shape:
            raise bad("values", values.shape, f"one value per key, shape {keys.shape}")
        if keys.size:
            if keys[0] < 0 or keys[-1] >= size:
                raise bad("keys", (int(keys.min()), int(keys.max())), f"linear indices in [0, {size})")
            if np.any(np.diff(keys) <= 0):
                raise TheoryError("argument 'keys': not strictly increasing; use SparseArray.from_coo to canonicalise")
            for v in values:
                if type(v) is not Fraction:
                    raise bad("values", v, "Fraction entries (use from_dict/from_coo to convert)")
                if v == 0:
                    raise TheoryError("argument 'values': explicit zero stored; canonical form keeps nonzeros only")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "keys", _readonly(keys))
        object.__setattr__(self, "values", _readonly(values.copy()))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def zeros(cls, shape: Sequence[int]) -> "SparseArray":
        """The all-zero array of the given shape."""
        return cls(tuple(shape), np.zeros(0, np.int64), np.zeros(0, object))

    @classmethod
    def from_coo(cls, shape: Sequence[int], indices: Any, values: Any, *, arg: str = "values") -> "SparseArray":
        """Build from coordinates.

        Args:
            shape: dense shape.
            indices: int array (nnz, ndim) of coordinates; duplicates are summed exactly.
            values: nnz exact rationals (anything :func:`as_rational` accepts), or one value for all.
            arg: the argument name used in error messages.
        """
        shape = tuple(shape)
        if not shape or any(not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1 for n in shape):
            raise bad("shape", shape, "a non-empty tuple of positive ints")
        shape = tuple(int(n) for n in shape)
        try:
            raw = np.asarray(indices) if len(indices) else np.zeros((0, len(shape)), np.int64)
        except (TypeError, ValueError):
            raise bad(
                f"{arg} indices", indices, f"rows of {len(shape)} ints (ragged or non-numeric coordinates)"
            ) from None
        if raw.dtype.kind not in "iu" or raw.ndim != 2 or raw.shape[1] != len(shape):
            raise bad(
                f"{arg} indices",
                indices,
                f"an int array of shape (nnz, {len(shape)}): one row of "
                f"{len(shape)} ints per entry (no floats or bools)",
            )
        idx = raw.astype(np.int64)
        for axis, n in enumerate(shape):
            col = idx[:, axis]
            if col.size and (col.min() < 0 or col.max() >= n):
                raise bad(f"{arg} index (axis {axis})", (int(col.min()), int(col.max())), f"indices in [0, {n})")
        keys = np.ravel_multi_index(tuple(idx.T), shape) if idx.size else np.zeros(0, np.int64)
        if np.ndim(values) == 0 and not isinstance(values, (list, tuple, np.ndarray)):
            one = as_rational(values, arg)
            vals = np.empty(keys.size, dtype=object)
            vals[:] = [one] * keys.size
        else:
            vals = np.empty(len(values), dtype=object)
            vals[:] = [as_rational(v, arg) for v in values]
        if vals.size != keys.size:
            raise bad(arg, f"{vals.size} values", f"one value per index row ({keys.size})")
        return cls._canonical(shape, keys.astype(np.int64), vals)

    @classmethod
    def from_dict(cls, shape: Sequence[int], entries: Mapping[Any, Any], *, arg: str = "values") -> "SparseArray":
        """Build from ``{(i, j, ...): value}``; zero values are dropped."""
        if not isinstance(entries, Mapping):
            raise bad(arg, entries, "a mapping {(i, j, ...): value}")
        items = list(entries.items())
        coords = [k if isinstance(k, tuple) else (k,) for k, _ in items]
        for c in coords:
            if len(c) != len(tuple(shape)) or any(
                not isinstance(i, (int, np.integer)) or isinstance(i, bool) for i in c
            ):
                raise bad(f"{arg} index", c, f"a tuple of {len(tuple(shape))} ints")
        idx = np.array(coords, dtype=np.int64).reshape(-1, len(tuple(shape)))
        return cls.from_coo(shape, idx, [v for _, v in items], arg=arg)

    @classmethod
    def from_dense(cls, dense: Any, *, arg: str = "values") -> "SparseArray":
        """Build from a nested sequence or array of exact rationals (zeros are dropped)."""
        arr = np.asarray(dense, dtype=object)
        if arr.ndim == 0:
            raise bad(arg, dense, "an array with at least one axis")
        flat = arr.reshape(-1)
        vals = [as_rational(v, arg) for v in flat]
        nz = [i for i, v in enumerate(vals) if v != 0]
        out = np.empty(len(nz), dtype=object)
        out[:] = [vals[i] for i in nz]
        return cls(arr.shape, np.asarray(nz, dtype=np.int64), out)

    @classmethod
    def _canonical(cls, shape: tuple[int, ...], keys: np.ndarray, vals: np.ndarray) -> "SparseArray":
        """Sort, sum duplicates exactly and drop zeros."""
        if keys.size:
            order = np.argsort(keys, kind="stable")
            keys, vals = keys[order], vals[order]
            if np.any(np.diff(keys) == 0):
                uniq, start = np.unique(keys, return_index=True)
                summed = np.empty(uniq.size, dtype=object)
                summed[:] = [sum(vals[a:b], ZERO) for a, b in zip(start, list(start[1:]) + [keys.size])]
                keys, vals = uniq, summed
            nonzero = np.fromiter((v != 0 for v in vals), dtype=bool, count=vals.size)
            keys, vals = keys[nonzero], vals[nonzero]
        return cls(shape, keys, vals)

    # ------------------------------------------------------------------ views
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nnz(self) -> int:
        """Number of stored nonzeros."""
        return int(self.keys.size)

    @property
    def size(self) -> int:
        """Dense number of entries (product of the shape)."""
        out = 1
        for n in self.shape:
            out *= n
        return out

    @property
    def indices(self) -> np.ndarray:
        """int64 array (nnz, ndim) of the nonzeros' coordinates, row-major order."""
        if not self.keys.size:
            return np.zeros((0, self.ndim), np.int64)
        return np.stack(np.unravel_index(self.keys, self.shape), axis=1).astype(np.int64)

    def items(self) -> Iterable[tuple[tuple[int, ...], Fraction]]:
        """Iterate ``(coordinates, value)`` over the nonzeros."""
        for row, v in zip(self.indices.tolist(), self.values):
            yield tuple(row), v

    def to_dense(self) -> np.ndarray:
        """Dense object array of Fractions (for small arrays: allocates the full shape)."""
        out = np.empty(self.size, dtype=object)
        out[:] = [ZERO] * self.size
        out[self.keys] = self.values
        return out.reshape(self.shape)

    def __getitem__(self, coords: tuple[int, ...]) -> Fraction:
        coords = coords if isinstance(coords, tuple) else (coords,)
        if len(coords) != self.ndim or any(not 0 <= c < n for c, n in zip(coords, self.shape)):
            raise bad("coords", coords, f"{self.ndim} indices within shape {self.shape}")
        key = int(np.ravel_multi_index(coords, self.shape))
        pos = int(np.searchsorted(self.keys, key))
        if pos < self.keys.size and self.keys[pos] == key:
            return self.values[pos]
        return ZERO

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SparseArray):
            return NotImplemented
        return (
            self.shape == other.shape
            and np.array_equal(self.keys, other.keys)
            and all(a == b for a, b in zip(self.values, other.values))
        )

    __hash__ = None  # type: ignore[assignment]  # equality is by content; use digest() for a stable hash

    def digest(self, h: "hashlib._Hash | None" = None) -> "hashlib._Hash":
        """Feed a canonical byte encoding (shape, keys, values as 'p/q') into a sha256 and return it."""
        h = h if h is not None else hashlib.sha256()
        h.update(repr(self.shape).encode())
        h.update(self.keys.astype("<i8").tobytes())
        h.update(",".join(map(str, self.values)).encode())
        return h

    def __repr__(self) -> str:
        return f"SparseArray(shape={self.shape}, nnz={self.nnz})"
