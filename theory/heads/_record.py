"""Approximation heads: exact ReLU networks on k routed coordinates with an a-priori sup-norm error bound."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Sequence

import sympy as sp

from .._errors import bad
from ..spec import Network, as_rational
from ..spec._network import _freeze
from ._target import as_expr


def head_symbols(k: int) -> list[sp.Symbol]:
    """Real symbols ``x0 .. x{k-1}`` of a head's inputs (the routed coordinates, in support order)."""
    return [sp.Symbol(f"x{j}", real=True) for j in range(k)]


def as_box(box: Any, k: int, name: str = "box") -> tuple[tuple[Fraction, Fraction], ...]:
    """A box ``[(lo, hi)] * k`` from ``(lo, hi)`` (same interval on every axis) or ``k`` pairs; lo < hi exact."""
    try:
        items = list(box)
    except TypeError:
        raise bad(name, box, "(lo, hi) or a sequence of k (lo, hi) pairs") from None
    if len(items) == 2 and not any(isinstance(v, (list, tuple)) for v in items):
        items = [tuple(items)] * k
    if len(items) != k or any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in items):
        raise bad(name, box, f"(lo, hi) or {k} (lo, hi) pairs")
    out = tuple((as_rational(lo, name), as_rational(hi, name)) for lo, hi in items)
    if any(lo >= hi for lo, hi in out):
        raise bad(name, box, "intervals with lo < hi")
    return out


@dataclass(frozen=True, eq=False)
class Head:
    """An exact ReLU network on k inputs approximating ``target`` on ``box`` with a proved a-priori bound.

    Attributes:
        net: the network: ``d = 1`` position, ``c_in = k`` channels, one output (composes after ``select``).
        target: sympy expression in :func:`head_symbols` ``x0 .. x{k-1}``.
        box: per-input interval ``((lo, hi), ...)``, exact rationals.
        bound: a-priori bound on ``sup_box |net - target|``: a sympy number (exact where possible).
        formula: the bound as a sympy expression in the head's parameters (e.g. ``2**(-2*m - 2)``).
        source: where the construction and its bound come from (paper, section; "reconstruction"/"standard").
        params: JSON-able construction parameters (``{"m": 6}``, ``{"n": 32}``).
    """

    net: Network
    target: sp.Expr
    box: tuple[tuple[Fraction, Fraction], ...]
    bound: sp.Expr
    formula: sp.Expr
    source: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.net, Network) or self.net.d != 1 or self.net.n_outputs != 1:
            raise bad("net", self.net, "a Network on 1 position with k input channels and 1 output")
        k = self.net.c_in
        object.__setattr__(self, "box", as_box(self.box, k))
        target = as_expr(self.target, "target", "head")
        extra = target.free_symbols - set(head_symbols(k))
        if extra:
            raise bad(
                "target", target, f"an expression in x0..x{k - 1} (real symbols); unexpected {sorted(map(str, extra))}"
            )
        object.__setattr__(self, "target", target)
        bound = as_expr(self.bound, "bound", "none")
        if not bound.is_number or not bound.is_nonnegative:
            raise bad("bound", bound, "a nonnegative sympy number")
        object.__setattr__(self, "bound", bound)
        object.__setattr__(self, "formula", as_expr(self.formula, "formula", "parameters"))
        object.__setattr__(self, "params", _freeze(dict(self.params)))

    @property
    def k(self) -> int:
        """Number of inputs."""
        return self.net.c_in

    def network(self) -> Network:
        """The head's network (so ``compose(select(...), head)`` works)."""
        return self.net

    def __repr__(self) -> str:
        return f"<Head {self.params.get('name', '')} k={self.k} target={self.target} bound={sp.N(self.bound, 4)} depth={self.net.depth}>"


def symbols_for(support: Sequence[int]) -> list[sp.Symbol]:
    """Real symbols ``x{i}`` of the given global input indices (e.g. ``[x5, x4000]``)."""
    return [sp.Symbol(f"x{i}", real=True) for i in support]
