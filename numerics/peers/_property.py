"""Properties of a spec on a box, exactly: the claim a peer verifier is asked to check, and its exact checker.

A :class:`Property` says: for every ``x`` in the box ``[lo, hi]^n``, every output ``j`` of the network satisfies
``|Y_j(x) - t_j(x)| <= eps``, where ``t_j`` is a linear target ``c_j + sum_i a_ji x_i`` with exact rational
coefficients, or a piecewise-linear one (``Min``, ``Max``, ``Abs`` of such; :mod:`numerics.peers._pieces`). The
routing claim of :func:`theory.select` / :func:`theory.gather` is the case ``t_j = x_{i_j}``, ``eps = 0``. A peer
verifier is given the negation (the VNN-LIB query, :func:`numerics.peers.export_vnnlib`):
``exists x in the box, j: Y_j - t_j(X) >= eps + tol or Y_j - t_j(X) <= -(eps + tol)``; its ``unsat`` proves the claim
up to the margin ``tol`` (for a piecewise-linear ``t_j`` each half is a disjunction of conjunctions of linear atoms,
:meth:`Property.conjunctions`). The margin exists because a strict inequality (``|Y - t| > eps``) cannot be stated in
VNN-LIB's ``<= / >=`` and a peer that computes in floats needs room for its own rounding: with ``tol = 0`` a
correct routing network would already satisfy the query (``Y_j - X_i >= 0`` holds with equality everywhere).

Inputs are numbered like the ONNX input ``x`` of :func:`numerics.export_onnx` flattened: ``X_{c d + p}`` is channel
``c`` at position ``p``; outputs ``Y_j`` are the spec's outputs, flattened position-major like
:func:`theory.evaluate_exact`. Source: the VNN-LIB standard (vnnlib.org); the encoding is ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
import sympy as sp

import theory
from theory.formula import structural_degree

from .._errors import NumericsError, bad, theory_errors
from .._tolerances import TOLERANCES
from ..scale._target import _split_outputs
from ._pieces import (
    MAX_CONJUNCTIONS,
    LinearTarget,
    PiecewiseTarget,
    Target,
    conjunctions,
    count,
    normalise,
    refuse_nonlinear,
)

CLAIMS = ("routing", "sup-norm")
DEFAULT_BOX = (Fraction(-1), Fraction(1))
"""The box of a routing property when none is given: every input in ``[-1, 1]``."""
DEFAULT_MARGIN = Fraction(TOLERANCES["vnnlib_margin"].atol)
"""The default margin ``tol`` of a property (``TOLERANCES["vnnlib_margin"]``, ``2^-10``)."""


@dataclass(frozen=True)
class Property:
    """For every x in ``[lo, hi]^n_inputs``: ``|Y_j(x) - t_j(x)| <= eps`` for all outputs j; checked by peers up to
    the margin ``tol`` (module docstring).

    Fields: ``claim`` (``"routing"`` or ``"sup-norm"``); ``n_inputs = c_in d``; ``n_outputs``; ``box = (lo, hi)``
    (exact, the same interval for every input); ``targets`` (one :class:`LinearTarget` or
    :class:`~numerics.peers._pieces.PiecewiseTarget` per output); ``eps`` and
    ``tol`` (exact, ``>= 0`` and ``> 0``); ``spec_hash`` (the content hash of the spec the claim is about);
    ``c_in``, ``d`` (the input layout); ``support`` (the routed indices of a routing claim, else None).
    """

    claim: str
    n_inputs: int
    n_outputs: int
    box: tuple[Fraction, Fraction]
    targets: tuple[Target, ...]
    eps: Fraction
    tol: Fraction
    spec_hash: str
    c_in: int = 1
    d: int = 0
    support: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS:
            raise bad("claim", self.claim, " | ".join(CLAIMS))
        lo, hi = self.box
        if type(lo) is not Fraction or type(hi) is not Fraction or not lo <= hi:
            raise bad("box", self.box, "(lo, hi) Fractions with lo <= hi")
        if len(self.targets) != self.n_outputs:
            raise bad("targets", f"{len(self.targets)} targets", f"one per output ({self.n_outputs})")
        if not all(isinstance(t, (LinearTarget, PiecewiseTarget)) for t in self.targets):
            raise bad("targets", self.targets, "LinearTarget or PiecewiseTarget records")
        if any(i >= self.n_inputs for t in self.targets for leaf in t.leaves() for i, _ in leaf.terms):
            raise bad("targets", "an input index", f"indices below n_inputs = {self.n_inputs}")
        for j, t in enumerate(self.targets):
            n = count(t, True) + count(t, False)
            if n > MAX_CONJUNCTIONS:
                raise bad(
                    "target",
                    f"target {j}, whose negation has {n} conjunctions",
                    f"at most MAX_CONJUNCTIONS "
                    f"= {MAX_CONJUNCTIONS} per output (above and below together; a Min of Maxes multiplies "
                    f"them)",
                )
        if type(self.eps) is not Fraction or self.eps < 0:
            raise bad("eps", self.eps, "a Fraction >= 0")
        if type(self.tol) is not Fraction or self.tol <= 0:
            raise bad("tol", self.tol, "a Fraction > 0 (a peer needs a margin; the module docstring says why)")
        if self.c_in * self.d != self.n_inputs:
            raise bad("d", self.d, f"c_in * d = n_inputs = {self.n_inputs}")

    @property
    def threshold(self) -> Fraction:
        """``eps + tol``: the VNN-LIB query asks for an output at least this far from its target."""
        return self.eps + self.tol

    @property
    def cases(self) -> int:
        """Disjuncts of the negated claim: output ``j`` above its target (case ``2j``) or below it (``2j + 1``)."""
        return 2 * self.n_outputs

    def conjunctions(self, case: int) -> tuple[tuple[LinearTarget, ...], ...]:
        """Case ``c`` as a disjunction of conjunctions of linear atoms (:func:`numerics.peers._pieces.conjunctions`):
        each conjunction is a tuple of linear pieces ``l`` of ``t_j`` (``j = c // 2``) and stands for ``Y_j - l >= m``
        for all of them (``c`` even, above) or ``l - Y_j >= m`` for all of them (``c`` odd, below), ``m = eps + tol``.
        A linear target gives one conjunction of one atom."""
        return conjunctions(self.targets[case // 2], case % 2 == 0)

    def statement(self) -> str:
        """The claim in one line."""
        lo, hi = self.box
        box = f"x in [{lo}, {hi}]^{self.n_inputs}"
        if self.claim == "routing":
            return (
                f"routing: for every {box}: Y_j = X_(support[j]) for all j < {self.n_outputs} (support = "
                f"{list(self.support or ())})"
            )
        return f"sup-norm: for every {box}: |Y_j - t_j(X)| <= {self.eps} for all j < {self.n_outputs}"

    def errors(self, x: Sequence[Fraction], y: Sequence[Fraction]) -> tuple[Fraction, ...]:
        """``|y_j - t_j(x)|`` for every output, exactly (``x`` in the X order, ``y`` the spec's outputs); a
        piecewise-linear ``t_j`` is evaluated exactly too (max and min of its pieces' exact values)."""
        return tuple(abs(yj - t.value(x)) for yj, t in zip(y, self.targets))

    def in_box(self, x: Sequence[Fraction]) -> bool:
        lo, hi = self.box
        return all(lo <= v <= hi for v in x)

    def network_input(self, x: Sequence[Fraction]) -> np.ndarray:
        """The X vector as :func:`theory.evaluate_exact` takes it: ``(d,)`` or ``(c_in, d)`` channels first."""
        arr = np.empty(self.n_inputs, dtype=object)
        arr[:] = list(x)
        return arr if self.c_in == 1 else arr.reshape(self.c_in, self.d)


def _fraction(value: Any, arg: str) -> Fraction:
    with theory_errors():
        return theory.as_rational(value, arg)


def _box(box: Any) -> tuple[Fraction, Fraction]:
    if box is None:
        return DEFAULT_BOX
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise bad("box", box, "a pair (lo, hi) of exact numbers, the interval of every input")
    lo, hi = _fraction(box[0], "box"), _fraction(box[1], "box")
    if not lo <= hi:
        raise bad("box", box, "lo <= hi")
    return lo, hi


def _margin(tol: Any) -> Fraction:
    if tol is None:
        return DEFAULT_MARGIN
    q = _fraction(tol, "tol")
    if q <= 0:
        raise bad("tol", tol, "a number > 0 (a strict margin; 0 would make a correct network satisfy the query)")
    return q


def _x_index(net: theory.Network, unit: int) -> int:
    """X index ``c d + p`` of the input unit ``p c_in + c``."""
    p, c = divmod(unit, net.c_in)
    return c * net.d + p


def resolve_support(net: theory.Network, support: Any) -> tuple[int, ...]:
    """The routed input of each output: ``support`` if given, else ``net.meta["support"]`` (a select spec whose
    meta a hash covers), else every input in order (a gather spec: output i is x_i)."""
    if support is None:
        meta = net.meta if net.meta_covered else {}
        if "support" in meta:
            support = meta["support"]
        elif meta.get("construction") == "gather":
            support = range(net.d)
        else:
            raise bad(
                "support",
                None,
                "the routed indices, or a spec built by theory.select / theory.gather whose meta a hash covers",
            )
    try:
        idx = tuple(int(i) for i in support)
    except (TypeError, ValueError):
        raise bad("support", support, "a sequence of input indices") from None
    if len(idx) != net.n_outputs or any(not 0 <= i < net.d for i in idx) or not all(int(i) == i for i in support):
        raise bad("support", support, f"{net.n_outputs} indices (one per output) in [0, {net.d})")
    return idx


def routing_property(net: theory.Network, *, support: Any = None, box: Any = None, tol: Any = None) -> Property:
    """The routing claim ``Y_j = x[support[j]]`` on a box, as a :class:`Property` (``eps = 0``).

    Args:
        net: a one-channel spec (``theory.select``, ``theory.gather`` or any network meant to route).
        support: the routed index of each output; default from the spec (:func:`resolve_support`).
        box: ``(lo, hi)``, the interval of every input; default ``[-1, 1]``.
        tol: the margin of the VNN-LIB query (module docstring); default :data:`DEFAULT_MARGIN`.
    Raises:
        NumericsError: not a Network, several input channels, no or a bad support, bad box or tol.
    """
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if net.c_in != 1:
        raise bad("net", f"a spec with c_in = {net.c_in}", "a one-channel spec (routing moves input coordinates)")
    idx = resolve_support(net, support)
    targets = tuple(LinearTarget(((i, Fraction(1)),)) for i in idx)
    return Property(
        "routing", net.d, net.n_outputs, _box(box), targets, Fraction(0), _margin(tol), net.content_hash, 1, net.d, idx
    )


def _linear(net: theory.Network, expr: sp.Expr, j: int) -> LinearTarget:
    """A formula without ``Min``, ``Max``, ``Abs`` as a :class:`LinearTarget` (refused unless linear)."""
    names = {str(s): s for s in expr.free_symbols}
    with theory_errors(f"target {j}: "):
        units = {s: theory.input_unit(net, n, "target") for n, s in names.items()}
    syms = list(units)
    # the degree as written first: (x0 + ... + x11)**64 is never expanded to find it is not linear
    linear = structural_degree(expr, set(syms)) <= 1 and (not syms or sp.Poly(expr, *syms).total_degree() <= 1)
    poly = sp.Poly(expr, *syms) if syms and linear else None
    if not linear:
        raise refuse_nonlinear(expr, "not a polynomial of degree 1 in the inputs")
    terms: dict[int, Fraction] = {}
    const = Fraction(0)
    for monom, coeff in poly.terms() if poly is not None else [((), expr)]:
        if not getattr(coeff, "is_Rational", False):
            raise bad("target", str(expr), "rational coefficients (pi, E and the like have no exact decimal)")
        q = Fraction(int(coeff.p), int(coeff.q))
        if sum(monom) == 0:
            const += q
        else:
            xi = _x_index(net, units[syms[monom.index(1)]])
            terms[xi] = terms.get(xi, Fraction(0)) + q
    return LinearTarget(tuple(sorted((i, c) for i, c in terms.items() if c != 0)), const)


def target_property(net: theory.Network, target: Any, *, eps: Any, box: Any = None, tol: Any = None) -> Property:
    """The sup-norm claim ``|Y_j - t_j(x)| <= eps`` on a box, for linear or piecewise-linear targets ``t_j``, as a
    :class:`Property`.

    Args:
        net: any spec.
        target: one formula per output: a comma-separated string, a sequence of strings (each parsed by
            :func:`theory.parse_formula`, never evaluated) or sympy expressions; each must be linear in the
            inputs (``x0 + 2*x5 - 1/2``) or piecewise-linear (``Max(x0, x5)``, ``Abs(x0 - x5)/2``,
            ``Min(x0, 1/2) + 2*x5``: sums, rational multiples, ``Min``, ``Max``, ``Abs`` of linear parts), with
            rational coefficients. A linear target becomes a :class:`LinearTarget`, a piecewise one a
            :class:`~numerics.peers._pieces.PiecewiseTarget` (its Max / Min normal form).
        eps: the claimed bound, an exact number ``>= 0``.
        box: ``(lo, hi)``, the interval of every input; default ``[-1, 1]``.
        tol: the margin of the VNN-LIB query; default :data:`DEFAULT_MARGIN`.
    Raises:
        NumericsError: bad target (unparsable, not one per output, not piecewise-linear, more than
            ``MAX_PIECES`` linear pieces, more than ``MAX_CONJUNCTIONS`` conjunctions for one output), eps, box
            or tol.
    """
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    texts = _split_outputs(target) if isinstance(target, str) else target
    if not isinstance(texts, (list, tuple)) or len(texts) != net.n_outputs:
        raise bad("target", target, f"{net.n_outputs} formulas (one per output), comma-separated or a sequence")
    exprs = []
    for j, t in enumerate(texts):
        if isinstance(t, sp.Expr):
            exprs.append(t)
            continue
        with theory_errors(f"target {j}: "):
            exprs.append(theory.parse_formula(t, variables="inputs", name="target"))
    q = _fraction(eps, "eps")
    if q < 0:
        raise bad("eps", eps, "a number >= 0")
    targets = tuple(normalise(e, partial(_linear, net, j=j)) for j, e in enumerate(exprs))
    return Property(
        "sup-norm",
        net.c_in * net.d,
        net.n_outputs,
        _box(box),
        targets,
        q,
        _margin(tol),
        net.content_hash,
        net.c_in,
        net.d,
    )


def replay(
    prop: Property, net: theory.Network, x: Sequence[Any]
) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...], tuple[Fraction, ...]]:
    """Evaluate ``net`` exactly at ``x`` (X order). Returns ``(x as Fractions, outputs, errors |Y_j - t_j|)``.

    Raises:
        NumericsError: ``net`` is not the spec the property is about, or ``x`` has the wrong length.
    """
    if net.content_hash != prop.spec_hash:
        raise NumericsError(
            f"argument 'net': content hash {net.content_hash[:16]}... is not the property's spec "
            f"{prop.spec_hash[:16]}...; allowed: the spec the property was built from"
        )
    if len(x) != prop.n_inputs:
        raise bad("x", f"{len(x)} values", f"{prop.n_inputs} (one per input)")
    xs = tuple(_fraction(v, "x") for v in x)
    with theory_errors():
        y = theory.evaluate_exact(net, prop.network_input(xs))
    return xs, tuple(y), prop.errors(xs, y)
