"""Planted cases for the soundness suite: small networks whose true answer is known without the certifiers.

Every case is built from a toolkit construction (Yarotsky squares and products, Kuhn interpolation heads,
``select`` / ``gather`` routing), sometimes with one weight changed by a small rational (the construction record
``meta`` is kept, so the changed network still names its construction: a hidden counterexample for any path that
trusts the record), a target shifted by a constant, a search box other than the head's own, and a tolerance
``eps`` placed just above or just below the true sup error. The truth comes from
one of three independent sources, recorded in ``Case.truth``:

* ``"exact 1-D"``: the network restricted to its one input variable is piecewise linear; :func:`pl_restriction`
  computes it exactly (layer by layer, in Fractions, inserting every ReLU zero crossing as a knot), and
  :func:`exact_sup_1d` maximises ``|net - g|`` for a quadratic ``g`` piece by piece (endpoints and the
  stationary point of each piece). The sup is exact: ``sup_lower == sup_upper``.
* ``"analytic"``: a closed form for an unperturbed two-input head (Yarotsky 2017 Prop. 3 for the product;
  the Kuhn interpolant of ``x0 x1`` for the PL head, see :func:`_pl2_error_range`). Exact as well; the tests
  check that the claimed maximiser attains it.
* ``"grid"``: a perturbed two-input network evaluated exactly on a grid that contains the unperturbed maximisers.
  A grid maximum is only a LOWER bound of the sup (``sup_upper`` is None): such a case can expose an unsound
  ``"proved"`` (eps below the grid maximum), never judge a ``"refuted"`` other than by its witness.

Routing cases carry ``routes``: True for an unperturbed ``select`` / ``gather`` (true by construction, Wang & Wu
2023, reconstruction), False for a perturbed one, with an input point where the exact output differs from
``x[support]`` (found by exact evaluation at probe points, independent of the prover).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp

import theory
from theory import Network, SparseArray

ZERO, ONE = Fraction(0), Fraction(1)
N_CASES = 50
NEAR = Fraction(1, 1000)  # "just above / just below": eps = true * (1 +- 1/1000)
CLEAR = Fraction(1, 10)  # "clearly above / below": eps = true * (1 +- 1/10)


@dataclass(frozen=True, eq=False)
class Case:
    """One planted case. ``kind`` is ``"sup"`` (certify_sup_error) or ``"routing"`` (prove_routing).

    sup: ``target`` (sympy, global names), ``box`` (name -> (lo, hi)), ``eps``; the true
    ``sup_box |net - target|`` lies in ``[sup_lower, sup_upper]`` (``sup_upper`` None: unknown above).
    ``margin``: eps is ``true * (1 +- margin)`` (the grid maximum for ``truth == "grid"``); ``grid``: the exact
    evaluation grid of a two-input case (axes); ``facts``: construction details, and ``theorem_sup``, the sup a
    theorem gives for an unperturbed one-input head (checked against the exact 1-D computation).
    ``expect`` names the decisive outcome a complete certifier would give when the truth is known exactly and
    eps is off it by the margin (``"proved"`` / ``"refuted"``), else None; it is used only to check that
    the suite is not vacuous, never to fail a case.
    routing: ``support``; ``routes`` True (by construction) or False with ``violation`` (an input point).
    """

    name: str
    category: str
    kind: str
    net: Network
    truth: str
    target: sp.Expr | None = None
    box: dict[str, tuple[Fraction, Fraction]] = field(default_factory=dict)
    eps: Fraction | None = None
    margin: Fraction | None = None
    sup_lower: Fraction | None = None
    sup_upper: Fraction | None = None
    argmax: dict[str, Fraction] | None = None
    grid: tuple[tuple[Fraction, ...], ...] = ()
    support: tuple[int, ...] = ()
    routes: bool | None = None
    violation: tuple[Fraction, ...] | None = None
    expect: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def target_text(self) -> str:
        return str(self.target)


# ------------------------------------------------------------------------------------- exact evaluation
def sym(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def input_of(net: Network, point: dict[str, Fraction]) -> list[Fraction]:
    """The input of a one-channel network: ``point[x{i}]`` at position i, zero elsewhere."""
    assert net.c_in == 1, "planted cases use one-channel networks (global names x{i} are positions)"
    x = [ZERO] * net.d
    for name, v in point.items():
        assert name.startswith("x") and name[1:].isdigit(), name
        x[int(name[1:])] = Fraction(v)
    return x


def net_value(net: Network, point: dict[str, Fraction]) -> Fraction:
    (y,) = theory.evaluate_exact(net, input_of(net, point))
    return y


def target_value(expr: sp.Expr, point: dict[str, Fraction]) -> Fraction:
    """A polynomial target with rational coefficients at a rational point, exactly."""
    val = sp.expand(expr.xreplace({sym(n): sp.Rational(v.numerator, v.denominator) for n, v in point.items()}))
    assert val.is_Rational, (expr, point, val)
    return Fraction(int(val.p), int(val.q))


def abs_error(net: Network, expr: sp.Expr, point: dict[str, Fraction]) -> Fraction:
    return abs(net_value(net, point) - target_value(expr, point))


def _layer_input(flat: tuple[Fraction, ...], n: int, c: int) -> np.ndarray:
    """Position-major units -> the input array evaluate_exact takes ((n,) or channels first (c, n))."""
    arr = np.empty(n * c, dtype=object)
    arr[:] = list(flat)
    return arr if c == 1 else arr.reshape(n, c).T


def pl_restriction(net: Network, name: str, lo: Fraction, hi: Fraction) -> tuple[list[Fraction], list[Fraction]]:
    """``t -> net(t e_name)`` on ``[lo, hi]`` exactly: knots and output values, linear between knots.

    Layer by layer: the pre-activations at the knots come from the layer alone (evaluate_exact of a one-layer,
    linear copy); wherever a unit changes sign between two knots the zero crossing becomes a knot (all earlier
    units are linear between knots, so the values there are interpolated exactly); ReLU is then taken at the
    knots. Between consecutive knots every unit keeps its sign, so every unit, and the output, is linear there.
    """
    knots = [Fraction(lo), Fraction(hi)]
    states = [tuple(input_of(net, {name: t})) for t in knots]
    for layer, n_in, c_in in zip(net.layers, net.positions[:-1], net.channels[:-1]):
        linear = Network(d=n_in, c_in=c_in, layers=(dataclasses.replace(layer, relu=False),))
        pre = [tuple(theory.evaluate_exact(linear, _layer_input(h, n_in, c_in))) for h in states]
        if not layer.relu:
            states = pre
            continue
        new_knots, new_pre = [knots[0]], [pre[0]]
        for a in range(len(knots) - 1):
            ta, tb, pa, pb = knots[a], knots[a + 1], pre[a], pre[a + 1]
            crossings = sorted({ta + (tb - ta) * u / (u - v) for u, v in zip(pa, pb) if (u < 0 < v) or (v < 0 < u)})
            for t in crossings:
                lam = (t - ta) / (tb - ta)
                new_knots.append(t)
                new_pre.append(tuple(u + lam * (v - u) for u, v in zip(pa, pb)))
            new_knots.append(tb)
            new_pre.append(pb)
        knots = new_knots
        states = [tuple(v if v > 0 else ZERO for v in p) for p in new_pre]
    assert all(len(s) == 1 for s in states)
    return knots, [s[0] for s in states]


def exact_sup_1d(knots: list[Fraction], values: list[Fraction], expr: sp.Expr, name: str) -> tuple[Fraction, Fraction]:
    """``(max |pl - g|, argmax)`` over the knots' range for a PL function and a polynomial ``g`` of degree <= 2."""
    poly = sp.Poly(expr, sym(name))
    assert poly.degree() <= 2, expr
    c = [Fraction(int(sp.Rational(v).p), int(sp.Rational(v).q)) for v in reversed(poly.all_coeffs())] + [ZERO] * 3
    g = lambda t: c[0] + c[1] * t + c[2] * t * t  # noqa: E731
    best, arg = Fraction(-1), None
    for a in range(len(knots) - 1):
        ta, tb, ya, yb = knots[a], knots[a + 1], values[a], values[a + 1]
        slope = (yb - ya) / (tb - ta)
        candidates = [ta, tb]
        if c[2] != 0:
            t = (slope - c[1]) / (2 * c[2])  # stationary point of (linear - g) on this piece
            if ta < t < tb:
                candidates.append(t)
        for t in candidates:
            e = abs(ya + slope * (t - ta) - g(t))
            if e > best:
                best, arg = e, t
    return best, arg


# ------------------------------------------------------------------------------------------ perturbation
def with_value(net: Network, layer_index: int, coords: tuple[int, ...], value: Fraction) -> Network:
    """``net`` with one weight entry set to ``value``: a new Network that keeps the original construction record
    (``meta``), so it still looks like the toolkit construction (the hidden counterexample of SoundnessBench)."""
    layer = net.layers[layer_index]
    entries = dict(layer.weight.items())
    entries[coords] = value
    weight = SparseArray.from_dict(layer.weight.shape, entries, arg="weight")
    layers = list(net.layers)
    layers[layer_index] = dataclasses.replace(layer, weight=weight)
    return Network(d=net.d, c_in=net.c_in, layers=tuple(layers), meta=_thaw(net.meta))


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def perturb(net: Network, rng: np.random.Generator, exponents: tuple[int, int]) -> tuple[Network, str]:
    """One stored weight ``w`` becomes ``w (1 +- 2^-e)``, e drawn from ``exponents`` (inclusive range)."""
    entries = [(li, coords, v) for li, layer in enumerate(net.layers) for coords, v in layer.weight.items()]
    li, coords, v = entries[int(rng.integers(len(entries)))]
    e = int(rng.integers(exponents[0], exponents[1] + 1))
    sign = 1 if rng.integers(2) else -1
    new = v * (1 + Fraction(sign, 2**e))
    return with_value(net, li, coords, new), f"layer {li} weight {coords}: {v} -> {new}"


# ------------------------------------------------------------------------------------------ 1-D sup cases
def _square(rng, perturbed):
    m = int(rng.integers(2, 4))
    head = theory.square_head(m)
    return (
        head.net,
        "x0",
        (ZERO, ONE),
        sym("x0") ** 2,
        {"head": f"square_head({m})", "theorem_sup": Fraction(1, 4 ** (m + 1))},
    )


def _square_sel(rng, perturbed):
    m = int(rng.integers(2, 4))
    d = int(rng.choice([4, 8]))
    i = int(rng.integers(d))
    net = theory.compose(theory.select(d, [i], 2), theory.square_head(m).net)
    return (
        net,
        f"x{i}",
        (ZERO, ONE),
        sym(f"x{i}") ** 2,
        {"head": f"select({d}, [{i}]) + square_head({m})", "theorem_sup": Fraction(1, 4 ** (m + 1))},
    )


def _pl1_box(rng):
    lo = Fraction(int(rng.integers(-4, 2)), 4)
    return lo, lo + Fraction(int(rng.integers(2, 7)), 4)


def _other_box(rng, lo, hi, n, facts) -> tuple[Fraction, Fraction]:
    """The box of the search: the head's own (2 in 3), or one wider or narrower than it by part of a cell,
    so the head's grid no longer tiles the box (the theorem's sup no longer applies there)."""
    variant = int(rng.integers(6))
    h = (hi - lo) / n
    if variant < 4:
        return lo, hi
    facts.pop("theorem_sup")
    facts["search_box"] = "wider" if variant == 4 else "narrower"
    return (lo - h / 3, hi + h / 2) if variant == 4 else (lo + h / 3, hi - h / 4)


def _pl1(rng, perturbed):
    n = int(rng.integers(3, 7))
    lo, hi = _pl1_box(rng)
    b = Fraction(int(rng.integers(-3, 4)), 3)
    g = sym("x0") ** 2 - b * sym("x0")
    head = theory.pl_head(g, (lo, hi), n, k=1)
    # interpolating x^2 - b x on cells of width h: error h^2/4 at every cell midpoint (Yarotsky's bound, scaled)
    facts = {"head": f"pl_head({g}, ({lo}, {hi}), {n})", "theorem_sup": ((hi - lo) / n) ** 2 / 4}
    return head.net, "x0", _other_box(rng, lo, hi, n, facts), g, facts


def _pl1_sel(rng, perturbed):
    n = int(rng.integers(3, 7))
    lo, hi = _pl1_box(rng)
    d = int(rng.choice([4, 8]))
    i = int(rng.integers(d))
    head = theory.pl_head(sym("x0") ** 2, (lo, hi), n, k=1)
    net = theory.compose(theory.select(d, [i], 2), head.net)
    facts = {"head": f"select({d}, [{i}]) + pl_head(x0**2, ({lo}, {hi}), {n})", "theorem_sup": ((hi - lo) / n) ** 2 / 4}
    return net, f"x{i}", _other_box(rng, lo, hi, n, facts), sym(f"x{i}") ** 2, facts


BUILDERS_1D = {"square": _square, "square-sel": _square_sel, "pl1": _pl1, "pl1-sel": _pl1_sel}


def _eps(true: Fraction, side: str, margin: Fraction) -> Fraction:
    return true * (1 + margin) if side == "above" else true * (1 - margin)


def _sup_1d(rng, index, family, side, margin=NEAR, perturbed=False, shift=None) -> Case:
    net, name, (lo, hi), g, facts = BUILDERS_1D[family](rng, perturbed)
    label = "exact"
    if perturbed:
        net, how = perturb(net, rng, (3, 7))
        facts["perturbed"] = how
        label = "perturbed"
    if perturbed or shift is not None:
        facts.pop("theorem_sup", None)
    knots, values = pl_restriction(net, name, lo, hi)
    if shift is not None:
        base, _ = exact_sup_1d(knots, values, g, name)
        eta = Fraction(1, 2 ** int(rng.integers(6, 10))) * base
        c = base / 2 + (eta if shift == "plus" else -eta)
        g = g + sp.Rational(c.numerator, c.denominator)
        facts["shift"] = str(c)
        label += "-shifted"
    true, arg = exact_sup_1d(knots, values, g, name)
    assert true > 0, (family, facts)
    facts["knots"] = len(knots)
    expect = "proved" if side == "above" else "refuted"
    return Case(
        name=f"{index:02d}-{family}-{label}-eps-{side}",
        category=f"sup/{family}/{label}/eps-{side}",
        kind="sup",
        net=net,
        truth="exact 1-D",
        target=g,
        box={name: (lo, hi)},
        eps=_eps(true, side, margin),
        margin=margin,
        sup_lower=true,
        sup_upper=true,
        argmax={name: arg},
        expect=expect,
        facts=facts,
    )


# ------------------------------------------------------------------------------------------ 2-D sup cases
def _pl2_error_range(h0: Fraction, h1: Fraction) -> tuple[Fraction, Fraction]:
    """Range of ``I - x0 x1`` for the Kuhn interpolant I of ``x0 x1`` (cells h0 x h1): exactly ``[0, h0 h1 / 4]``.

    Every simplex has two axis-parallel edges, where ``x0 x1`` is linear (error 0), and one edge along the main
    diagonal ``(a + h0 t, b + h1 t)``, where the error is ``h0 h1 t (1 - t)``; inside a simplex ``I - x0 x1`` has
    the indefinite Hessian ``-[[0, 1], [1, 0]]``, so it has no interior extremum: the range is the edges'.
    """
    return ZERO, h0 * h1 / 4


def _two_inputs(rng, family):
    """(net, names, box, g, error range (lo, hi) of net - g when unperturbed, maximiser, grid axes, facts)."""
    d = int(rng.choice([4, 8]))
    i, j = (int(v) for v in rng.choice(d, size=2, replace=False))
    xi, xj = sym(f"x{i}"), sym(f"x{j}")
    if family == "product":
        m = int(rng.integers(1, 3))
        B = Fraction(int(rng.choice([1, 2])), int(rng.choice([1, 2])))
        net = theory.compose(theory.select(d, [i, j], 2), theory.product_head(m, B).net)
        delta = B * B / 4 ** (m + 1)
        # Yarotsky Prop. 3: net - x0 x1 = B^2 [(f_m(|u|) - u^2) - (f_m(|v|) - v^2)], each bracket in [0, delta / B^2]
        # and reaching both ends (f_m = t^2 on the grid j/2^m, = t^2 + 2^(-2m-2) at odd/2^(m+1)): range [-delta, delta].
        top = {f"x{i}": B / 2 ** (m + 1), f"x{j}": B / 2 ** (m + 1)}  # u = 1/2^(m+1), v = 0
        box = {f"x{i}": (-B, B), f"x{j}": (-B, B)}
        step = B / 2 ** (m + 2)
        axes = (tuple(-B + step * r for r in range(2 ** (m + 3) + 1)),) * 2
        return (
            net,
            box,
            xi * xj,
            (-delta, delta),
            top,
            axes,
            {"head": f"select({d}, [{i}, {j}]) + product_head({m}, {B})"},
        )
    n = int(rng.integers(2, 4))
    lo0, lo1 = (Fraction(int(v), 2) for v in rng.integers(-2, 1, size=2))
    w0, w1 = (Fraction(int(v), 2) for v in rng.integers(1, 4, size=2))
    boxh = ((lo0, lo0 + w0), (lo1, lo1 + w1))
    head = theory.pl_head(sym("x0") * sym("x1"), boxh, n, k=2)
    net = theory.compose(theory.select(d, [i, j], 2), head.net)
    h0, h1 = w0 / n, w1 / n
    top = {f"x{i}": lo0 + h0 / 2, f"x{j}": lo1 + h1 / 2}  # a diagonal midpoint
    box = {f"x{i}": boxh[0], f"x{j}": boxh[1]}
    axes = (tuple(lo0 + h0 / 2 * r for r in range(2 * n + 1)), tuple(lo1 + h1 / 2 * r for r in range(2 * n + 1)))
    return (
        net,
        box,
        xi * xj,
        _pl2_error_range(h0, h1),
        top,
        axes,
        {"head": f"select({d}, [{i}, {j}]) + pl_head(x0*x1, {_show(boxh)}, {n})"},
    )


def _show(box) -> str:
    return "(" + ", ".join(f"({lo}, {hi})" for lo, hi in box) + ")"


def grid_max(net: Network, g: sp.Expr, names: list[str], axes) -> tuple[Fraction, dict[str, Fraction]]:
    """Exact maximum of ``|net - g|`` over a grid: a lower bound of the sup over the box, nothing more."""
    best, arg = Fraction(-1), None
    for a in axes[0]:
        for b in axes[1]:
            p = {names[0]: a, names[1]: b}
            e = abs_error(net, g, p)
            if e > best:
                best, arg = e, p
    return best, arg


def _sup_2d(rng, index, family, side, margin=NEAR, perturbed=False, shift=False) -> Case:
    net, box, g, (elo, ehi), top, axes, facts = _two_inputs(rng, family)
    names = list(box)
    if perturbed:
        net, how = perturb(net, rng, (3, 6))
        facts["perturbed"] = how
        true, arg = grid_max(net, g, names, axes)
        facts["grid_points"] = len(axes[0]) * len(axes[1])
        assert true > 0
        return Case(
            name=f"{index:02d}-{family}-perturbed-grid-eps-{side}",
            category=f"sup/{family}/perturbed-grid/eps-{side}",
            kind="sup",
            net=net,
            truth="grid",
            target=g,
            box=box,
            eps=_eps(true, side, margin),
            margin=margin,
            sup_lower=true,
            sup_upper=None,
            argmax=arg,
            grid=axes,
            facts=facts,
        )
    label = "analytic"
    if shift:
        # net - (g + c) ranges over [elo - c, ehi - c] (net - g is continuous and attains both ends)
        c = (ehi - elo) / 2 + Fraction(1, 2 ** int(rng.integers(3, 6))) * (ehi - elo) + elo
        g = g + sp.Rational(c.numerator, c.denominator)
        elo, ehi = elo - c, ehi - c
        facts["shift"] = str(c)
        label += "-shifted"
    true = max(abs(elo), abs(ehi))
    attained = top if abs(ehi) >= abs(elo) else None
    facts["error_range"] = (str(elo), str(ehi))
    return Case(
        name=f"{index:02d}-{family}-{label}-eps-{side}",
        category=f"sup/{family}/{label}/eps-{side}",
        kind="sup",
        net=net,
        truth="analytic",
        target=g,
        box=box,
        eps=_eps(true, side, margin),
        margin=margin,
        grid=axes,
        sup_lower=true,
        sup_upper=true,
        argmax=attained,
        expect="proved" if side == "above" else "refuted",
        facts=facts,
    )


# ------------------------------------------------------------------------------------------ routing cases
def routing_violation(net: Network, support: tuple[int, ...], rng: np.random.Generator) -> tuple[Fraction, ...] | None:
    """A probe point where the exact output differs from ``x[support]``: +-e_u for every u, then random points."""
    probes = []
    for u in range(net.d):
        for s in (ONE, -ONE):
            x = [ZERO] * net.d
            x[u] = s
            probes.append(x)
    for _ in range(8):
        probes.append([Fraction(int(v), 7) for v in rng.integers(-20, 21, size=net.d)])
    for x in probes:
        if list(theory.evaluate_exact(net, x)) != [x[i] for i in support]:
            return tuple(x)
    return None


def _routing(rng, index, family, perturbed, exponents=(10, 30)) -> Case:
    if family == "gather":
        d = int(rng.choice([2, 3, 4]))
        net, support = theory.gather(d, d), tuple(range(d))
        facts = {"net": f"gather({d}, {d})"}
    else:
        d, s = [(4, 2), (8, 2), (9, 3), (16, 4), (16, 2), (27, 3)][int(rng.integers(6))]
        k = int(rng.integers(1, 4))
        support = tuple(int(v) for v in rng.choice(d, size=k, replace=False))
        net = theory.select(d, support, s)
        facts = {"net": f"select({d}, {list(support)}, {s})"}
    if not perturbed:
        return Case(
            name=f"{index:02d}-{family}-unperturbed",
            category=f"routing/{family}/unperturbed",
            kind="routing",
            net=net,
            truth="construction",
            support=support,
            routes=True,
            expect="proved",
            facts=facts,
        )
    bad, how = perturb(net, rng, exponents)
    point = routing_violation(bad, support, rng)
    assert point is not None, (facts, how)
    facts["perturbed"] = how
    return Case(
        name=f"{index:02d}-{family}-perturbed",
        category=f"routing/{family}/perturbed",
        kind="routing",
        net=bad,
        truth="probe point",
        support=support,
        routes=False,
        violation=point,
        expect="refuted",
        facts=facts,
    )


def _routing_new_connection(rng, index) -> Case:
    """select with one zero weight of a tree layer made a small nonzero: an extra input leaks into an output."""
    d, s = (8, 2)
    support = tuple(int(v) for v in rng.choice(d, size=2, replace=False))
    net = theory.select(d, support, s)
    li = int(rng.integers(net.depth - 1))
    layer = net.layers[li]
    zeros = [c for c in np.ndindex(*layer.weight.shape) if layer.weight[c] == 0]
    coords = tuple(int(v) for v in zeros[int(rng.integers(len(zeros)))])
    bad = with_value(net, li, coords, Fraction(1, 2 ** int(rng.integers(10, 30))))
    point = routing_violation(bad, support, rng)
    assert point is not None
    return Case(
        name=f"{index:02d}-select-new-connection",
        category="routing/select/new-connection",
        kind="routing",
        net=bad,
        truth="probe point",
        support=support,
        routes=False,
        violation=point,
        expect="refuted",
        facts={"net": f"select({d}, {list(support)}, {s})", "perturbed": f"layer {li} weight {coords}: 0 -> small"},
    )


# ------------------------------------------------------------------------------------------ the suite
def generate_cases(seed: int = 0) -> list[Case]:
    """The 50 planted cases, deterministic in ``seed`` (one numpy Generator drives every choice)."""
    rng = np.random.default_rng(seed)
    plan = [
        # 1-D, exact truth: unperturbed heads, eps just above / below
        lambda i: _sup_1d(rng, i, "square", "above"),
        lambda i: _sup_1d(rng, i, "square", "below"),
        lambda i: _sup_1d(rng, i, "square-sel", "above"),
        lambda i: _sup_1d(rng, i, "square-sel", "below"),
        lambda i: _sup_1d(rng, i, "pl1", "above"),
        lambda i: _sup_1d(rng, i, "pl1", "below"),
        lambda i: _sup_1d(rng, i, "pl1-sel", "above"),
        lambda i: _sup_1d(rng, i, "pl1-sel", "below"),
        lambda i: _sup_1d(rng, i, "square-sel", "above", CLEAR),
        lambda i: _sup_1d(rng, i, "pl1", "below", CLEAR),
        # 1-D, one weight perturbed
        *[
            (lambda f, sd: lambda i: _sup_1d(rng, i, f, sd, perturbed=True))(f, sd)
            for f in BUILDERS_1D
            for sd in ("above", "below")
        ],
        # 1-D, target shifted by a constant a little above / below half the error
        lambda i: _sup_1d(rng, i, "square-sel", "above", shift="plus"),
        lambda i: _sup_1d(rng, i, "square-sel", "below", shift="minus"),
        lambda i: _sup_1d(rng, i, "pl1", "below", shift="plus"),
        lambda i: _sup_1d(rng, i, "pl1", "above", shift="minus"),
        lambda i: _sup_1d(rng, i, "square", "above", CLEAR, perturbed=True),
        lambda i: _sup_1d(rng, i, "pl1-sel", "below", CLEAR, perturbed=True),
        lambda i: _sup_1d(rng, i, "square-sel", "above", perturbed=True, shift="plus"),
        lambda i: _sup_1d(rng, i, "pl1", "below", perturbed=True, shift="minus"),
        # 2-D: analytic truth, shifted targets, perturbed with a grid lower bound
        lambda i: _sup_2d(rng, i, "product", "above"),
        lambda i: _sup_2d(rng, i, "product", "below"),
        lambda i: _sup_2d(rng, i, "product", "below", shift=True),
        lambda i: _sup_2d(rng, i, "pl2", "above"),
        lambda i: _sup_2d(rng, i, "pl2", "below"),
        lambda i: _sup_2d(rng, i, "pl2", "above", shift=True),
        lambda i: _sup_2d(rng, i, "product", "below", perturbed=True),
        lambda i: _sup_2d(rng, i, "product", "above", perturbed=True),
        lambda i: _sup_2d(rng, i, "pl2", "below", perturbed=True),
        lambda i: _sup_2d(rng, i, "pl2", "above", perturbed=True),
        # routing
        *[(lambda i: _routing(rng, i, "select", False))] * 5,
        *[(lambda i: _routing(rng, i, "select", True))] * 5,
        lambda i: _routing(rng, i, "select", True, exponents=(40, 60)),
        lambda i: _routing(rng, i, "gather", False),
        lambda i: _routing(rng, i, "gather", True),
        lambda i: _routing_new_connection(rng, i),
    ]
    assert len(plan) == N_CASES, len(plan)
    return [make(i) for i, make in enumerate(plan)]
