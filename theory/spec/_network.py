"""The network spec: a frozen, self-validating feed-forward ReLU network with exact rational weights."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._errors import TheoryError, bad
from ._layers import Layer

MAX_META_DEPTH = 32
"""How deep ``Network.meta`` may nest (dicts and lists inside one another): a construction needs a few levels; a
deeper one is a corrupted or hostile file, refused before any recursive pass over it."""


def _meta_depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON-like value (a scalar: 0), computed without recursion; stops past ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(v, Mapping):
            children = v.values()
        elif isinstance(v, (list, tuple)):
            children = v
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def _freeze(value: Any) -> Any:
    """JSON-like value -> immutable (dict -> MappingProxy, list -> tuple)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of the freezing used for ``Network.meta``: plain dicts and lists, JSON-ready."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward network on a 1-D signal of ``d`` positions with ``c_in`` channels.

    Shape: input ``(d, c_in)`` (or ``(d,)`` when ``c_in == 1``); layer ``l`` maps ``(n_{l-1}, C_{l-1})`` to
    ``(n_l, C_l)``; the output is the final signal flattened position-major, ``n_D * C_D`` numbers.

    Everything else (depth, channels, positions, parameter counts, nonzeros, receptive fields) is derived
    from the layers, never passed in. Creation validates that shapes chain and that every tree layer tiles
    its input exactly. ``meta`` is a free-form, JSON-able description (construction name and arguments, and
    the target, box and bounds the tools act on); it is not part of :attr:`content_hash`, which identifies the
    weights alone, but :attr:`meta_hash` binds it to them (spec files record both).
    """

    d: int
    layers: tuple[Layer, ...]
    c_in: int = 1
    meta: Mapping[str, Any] = field(default_factory=dict)
    meta_covered: bool = True
    """Whether a hash covers ``meta``: True for a network built in memory or loaded from a format-2 file (its
    ``meta_hash`` checked); False for a format-1 file with a non-empty ``meta``, which anyone may have edited.
    The tools act on an uncovered meta's target, box, support, bounds or eps only when told to explicitly."""

    def __post_init__(self) -> None:
        for name in ("d", "c_in"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise bad(name, v, "a positive int")
        layers = tuple(self.layers)
        if not layers:
            raise bad("layers", self.layers, "at least one layer")
        n, c = int(self.d), int(self.c_in)
        positions, channels = [n], [c]
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise bad(f"layers[{i}]", type(layer).__name__, "a ConvLayer, LocalLayer, PointwiseLayer or DenseLayer")
            if layer.c_in != c:
                raise TheoryError(
                    f"layers[{i}] ({layer.kind}) expects {layer.c_in} input channels but layer {i - 1} gives {c}"
                )
            try:
                n = layer.out_positions(n)
            except TheoryError as e:
                raise TheoryError(f"layers[{i}]: {e}") from None
            c = layer.c_out
            positions.append(n)
            channels.append(c)
        object.__setattr__(self, "d", int(self.d))
        object.__setattr__(self, "c_in", int(self.c_in))
        object.__setattr__(self, "layers", layers)
        if not isinstance(self.meta, Mapping):
            raise bad("meta", self.meta, "a mapping of JSON-able values")
        if not isinstance(self.meta_covered, bool):
            raise bad("meta_covered", self.meta_covered, "True or False")
        if _meta_depth(self.meta, MAX_META_DEPTH) > MAX_META_DEPTH:
            raise TheoryError(
                f"argument 'meta': nested more than {MAX_META_DEPTH} levels deep; allowed: JSON-able "
                f"values nested at most {MAX_META_DEPTH} deep (a corrupted or hostile file)"
            )
        meta = _freeze(dict(self.meta))
        try:
            json.dumps(thaw(meta), allow_nan=False)
        except (TypeError, ValueError):
            raise bad("meta", self.meta, "JSON-able values only (str, int, float, bool, None, lists, dicts)") from None
        object.__setattr__(self, "meta", meta)
        object.__setattr__(self, "_positions", tuple(positions))
        object.__setattr__(self, "_channels", tuple(channels))

    # ---------------------------------------------------------------- derived facts
    @property
    def depth(self) -> int:
        """Number of weight layers (affine maps), ReLU and linear alike."""
        return len(self.layers)

    @property
    def channels(self) -> tuple[int, ...]:
        """``(C_0, C_1, ..., C_D)``: channels of the input and after each layer."""
        return self._channels  # type: ignore[attr-defined]

    @property
    def positions(self) -> tuple[int, ...]:
        """``(n_0 = d, n_1, ..., n_D)``: positions of the input and after each layer."""
        return self._positions  # type: ignore[attr-defined]

    @property
    def n_outputs(self) -> int:
        """Length of the flattened output, ``n_D * C_D``."""
        return self.positions[-1] * self.channels[-1]

    def param_count(self, biases: bool = True) -> int:
        """Dense count of the architecture's free parameters (CNN filters count once; LCN per position)."""
        return sum(layer.param_count(biases) for layer in self.layers)

    @property
    def nonzeros(self) -> int:
        """Stored nonzero weights and biases: the size of the spec."""
        return sum(layer.nonzeros for layer in self.layers)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Kind of each layer: 'conv', 'local', 'pointwise' or 'dense'."""
        return tuple(layer.kind for layer in self.layers)

    def receptive_span(self) -> tuple[tuple[int, int], ...]:
        """Architectural receptive field of each output position: ``(first, last + 1)`` input positions.

        Every weight is treated as possibly nonzero: a tree layer multiplies the span by its kernel, a dense
        layer sees all ``d`` positions. Compare :meth:`receptive_field` (the weights' actual dependencies).
        """
        span, full = 1, False
        for layer in self.layers:
            if layer.kind in ("conv", "local"):
                span *= layer.kernel
            elif layer.kind == "dense":
                full = True
        n = self.positions[-1]
        if full:
            return ((0, self.d),) * n
        return tuple((p * span, (p + 1) * span) for p in range(n))

    def receptive_field(self) -> tuple[np.ndarray, ...]:
        """Input positions each output unit actually depends on through nonzero weights.

        Returns one sorted int64 array per output unit (flattened output order). For ``select`` this is
        ``{i_j}`` for output j; for ``gather`` output i it is ``{i}``. Computed by walking the nonzero
        connections backwards from every output unit (cost: the size of the cones, not of the network).
        """
        n_units = self.n_outputs
        owner = np.arange(n_units, dtype=np.int64)  # which output unit a cone entry belongs to
        units = np.arange(n_units, dtype=np.int64)
        for layer, n_in_units in zip(
            reversed(self.layers), reversed([p * c for p, c in zip(self.positions[:-1], self.channels[:-1])])
        ):
            which, in_units, _ = layer.edges(units)
            pair = np.unique(owner[which] * n_in_units + in_units)
            owner, units = pair // n_in_units, pair % n_in_units
        pos = units // self.c_in
        pair = np.unique(owner * self.d + pos)
        owner, pos = pair // self.d, pair % self.d
        bounds = np.searchsorted(owner, np.arange(n_units + 1))
        return tuple(pos[bounds[i] : bounds[i + 1]] for i in range(n_units))

    # ---------------------------------------------------------------- identity
    @functools.cached_property
    def content_hash(self) -> str:
        """sha256 of the exact weights (d, c_in, each layer's kind, activation, weight and bias)."""
        h = hashlib.sha256()
        h.update(json.dumps({"d": self.d, "c_in": self.c_in}).encode())
        for layer in self.layers:
            h.update(f"|{layer.kind}|relu={layer.relu}|".encode())
            layer.weight.digest(h)
            h.update(b"|")
            layer.bias.digest(h)
        return h.hexdigest()

    @functools.cached_property
    def meta_hash(self) -> str:
        """sha256 of ``meta`` bound to the weights: ``sha256("cnnverify.meta|" + content_hash + "|" + JSON)``,
        the JSON canonical (keys sorted, no spaces, ASCII), so equal metas give equal hashes."""
        canonical = json.dumps(
            thaw(self.meta), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
        return hashlib.sha256(f"cnnverify.meta|{self.content_hash}|{canonical}".encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (
            self.d == other.d
            and self.c_in == other.c_in
            and len(self.layers) == len(other.layers)
            and all(
                type(a) is type(b) and a.relu == b.relu and a.weight == b.weight and a.bias == b.bias
                for a, b in zip(self.layers, other.layers)
            )
        )

    __hash__ = None  # type: ignore[assignment]  # use content_hash

    def summary(self) -> str:
        """A human-readable table of the layers and the derived facts."""
        rows = [
            f"Network {self.meta.get('construction', '(unnamed)')}: d={self.d}, c_in={self.c_in}, depth={self.depth}",
            f"  {'layer':>5} {'kind':<9} {'act':<6} {'positions':>10} {'channels':>9} {'params':>12} {'nonzeros':>10}",
        ]
        for i, layer in enumerate(self.layers):
            rows.append(
                f"  {i + 1:>5} {layer.kind:<9} {'relu' if layer.relu else 'linear':<6} "
                f"{self.positions[i + 1]:>10} {self.channels[i + 1]:>9} {layer.param_count():>12} {layer.nonzeros:>10}"
            )
        rows.append(f"  params (dense, with biases): {self.param_count()}   nonzeros: {self.nonzeros}")
        rows.append(f"  content hash: {self.content_hash[:16]}...")
        return "\n".join(rows)

    def __repr__(self) -> str:
        name = self.meta.get("construction", "Network")
        return f"<{name}: d={self.d}, depth={self.depth}, channels={self.channels}, nonzeros={self.nonzeros}>"


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Validate an int argument >= minimum (bools rejected)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise bad(name, value, f"an int >= {minimum}")
    return int(value)


def tree_levels(d: Any, s: Any) -> int:
    """Return L with ``d == s**L``, L >= 1, after validating ``s >= 2`` and ``d`` a power of ``s``."""
    s = check_positive_int("s", s, 2)
    d = check_positive_int("d", d, 1)
    L, n = 0, 1
    while n < d:
        n *= s
        L += 1
    if n != d or L < 1:
        raise bad("d", d, f"a power of s = {s} with exponent >= 1 (e.g. {s}, {s**2}, {s**3}, ...)")
    return L


def positions_sequence(values: Sequence[Any], name: str) -> list[Any]:
    """Turn a sequence argument into a list (strings rejected)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise bad(name, values, "a sequence")
    return list(values)
