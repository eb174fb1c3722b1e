"""Certified sup-norm error of a network against a target function: interval branch and bound.

:func:`certify_sup_error` proves ``sup_{x in box} |net(x) - g(x)| <= upper`` for a single-output ReLU network
with exact weights and a sympy target ``g``, and finds a point where ``|net - g| >= lower`` rigorously. Two
searches implement the interface :class:`theory.certify.SupSearch` (:mod:`theory.certify._sup_search`), and the
certificate is assembled from that interface only: the piecewise certificate of :mod:`theory.certify.pieces`
(``"kuhn-pieces"``) where the construction record names a grid that its exact check proves, else the branch and
bound below (``"interval-bnb"``).

Method (reconstruction; standard ingredients): best-first branch and bound over sub-boxes of the variables
the output and the target depend on, processed in vectorised batches (:mod:`theory.certify._branch_and_bound`). On each box
the network is a perturbed affine-ReLU net (:mod:`theory.certify._cone`, :mod:`theory.certify._propagate`) whose dead and
active units are substituted away; what remains are the box's unstable ReLUs. A box's bound is, per side
(``net - g`` and ``g - net``), the better of

* the *relaxation bound*: forward affine bounds ``L(x) - E <= net(x) <= U(x) + E`` on the box, and
* the *pattern bound*: every point ``x`` follows some enumerated activation pattern ``p`` of the unstable
  units, and there ``net(x) = A_p(x) + e``, ``|e| <= E_p``, with ``A_p`` affine; so
  ``sup_box (net - g) <= max_p sup_{P_p} (A_p - g) + E_p`` over the polytope ``P_p`` of points following p.
  Patterns enumerated on a box stay valid on its sub-boxes (they are only filtered there).

For an affine ``F`` on a polytope, ``sup (F - g)`` is enclosed by the smallest of (1) the natural extension
``max_box F - min g(B)``; (2) the mean-value form ``(F - g)(c) + max_{P} (f - m).(x - c) + sum_a rad_a r_a``
with ``dg(B) in m +- rad`` and the linear maximum bounded by Lagrangian duality; (3) the second-order Taylor
form ``max_{|y| <= r} [(F - g)(c) + (f - dg(c)).y - y^T H(c) y / 2 + lam.(constraints)] + rho``,
``rho = sum_abc |d3 g(B)_abc| r_a r_b r_c / 6``, the quadratic maximised face by face in interval arithmetic.
``g`` and its derivatives are enclosed by outward-rounded interval arithmetic (numpy, with our own sin, cos,
exp, log; ``mpmath.iv`` for other functions). Boxes are split along the widest scaled axis, at a ReLU kink
of that axis when one lies near the middle. The largest bound over all boxes is valid at any time.
Lower bound: candidate points (centres, random points, maximising vertices and the stationary point of the
quadratic model) are ranked by a float surrogate, and the best is re-evaluated exactly: the network in
rational arithmetic, ``g`` in ``mpmath.iv`` at 256 bits.

This module checks the arguments and picks the search; :mod:`theory.certify._assemble` turns the finished search
into the certificate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from .._errors import bad
from ..heads import as_box
from ..heads._target import parse_global_target
from ..prove import Certificate
from ..spec import Network, input_name, input_unit
from ..spec._network import thaw
from ._assemble import certificate_of, no_pieces_certificate
from ._branch_and_bound import Search
from ._cone import extract_cone
from ._semantics import apply_semantics, check_semantics
from ._sup_search import SupSearch
from .pieces import certify_pieces


# ------------------------------------------------------------------------------------------------- public
def _variables(net: Network, expr: sp.Expr, cone_units: np.ndarray) -> tuple[sp.Expr, list[str], list[int]]:
    """``(expr in the network's own input names, search variables, index of each cone unit among them)``.

    Each symbol of the target is mapped to its input unit by :func:`theory.input_unit` (aliases such as
    ``x0_5`` for ``x5`` of a one-channel network become the network's name; a name that is not an input is a
    TheoryError). Variables: the cone's units and the target's, sorted by unit.
    """
    renamed = {s: input_unit(net, str(s), "target") for s in expr.free_symbols}
    expr = expr.xreplace({s: sp.Symbol(input_name(net, u), real=True) for s, u in renamed.items()})
    units = sorted({int(u) for u in cone_units} | set(renamed.values()))
    pos = {u: i for i, u in enumerate(units)}
    return expr, [input_name(net, u) for u in units], [pos[int(u)] for u in cone_units]


def _box_for(net: Network, box: Any, names: list[str]):
    """Intervals of the search variables ``names``: a pair for all, pairs in order, or a per-name mapping.

    A mapping's keys go through :func:`theory.input_unit` (aliases allowed); a key that is not an input, an
    input named twice, or an input that is not a variable of the search (it cannot change the error: a typo)
    is a TheoryError, as is a variable without an interval.
    """
    if isinstance(box, Mapping):
        given: dict[str, Any] = {}
        for key, value in box.items():
            name = input_name(net, input_unit(net, str(key), "box"))
            if name not in names:
                shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
                raise bad(
                    "box",
                    dict(box),
                    f"intervals of the variables of this search only ({shown}): "
                    f"{key} is an input the output and the target do not depend on",
                )
            if name in given:
                raise bad("box", dict(box), f"each input once ({key} names {name} again)")
            given[name] = value
        missing = [n for n in names if n not in given]
        if missing:
            raise bad("box", dict(box), f"an interval for every variable; missing {missing}")
        return as_box([given[n] for n in names], len(names))
    return as_box(box, len(names))


SEARCH_METHODS = ("auto", "pieces", "branch-and-bound")


def certify_sup_error(
    net: Network,
    target: Any = None,
    box: Any = None,
    *,
    eps: Any = None,
    time_limit_s: float = 30.0,
    rel_gap: float = 0.01,
    seed: int = 0,
    max_patterns: int = 64,
    progress: Callable[[dict], None] | None = None,
    semantics: str = "exact",
    method: str = "auto",
    max_work: int | None = None,
) -> Certificate:
    """Certified ``sup_{x in box} |net(x) - target(x)|``: a sound upper bound and a rigorous lower bound.

    Args:
        net: a single-output :class:`Network` with exact weights (e.g. ``compose(select(d, S), head)``).
        target: sympy expression or string in the global input names ``x{i}`` (``x{c}`` for one-position
            nets, ``x{c}_{p}`` for several channels and positions); default ``net.meta["target"]``. Floats in
            a string are read as decimals (``"0.1"`` is 1/10); sympy Floats count at their binary value.
            Every symbol must name an input of ``net`` (:func:`theory.input_unit`; an alias such as ``x0_5``
            for ``x5`` of a one-channel net is renamed to the network's own name).
        box: ``(lo, hi)`` for every variable, ``k`` pairs in variable order (sorted by index), or a mapping
            name -> ``(lo, hi)`` with exactly the variables as keys; default ``net.meta["box"]``. Variables:
            the inputs the output depends on through nonzero weights (no other input can change it) and the
            target's symbols.
        eps: optional tolerance to decide: ``"proved"`` if ``upper <= eps``, ``"refuted"`` if
            ``lower > eps`` (the witness violates, rigorously), else ``"unknown"``.
        time_limit_s: wall-clock budget; the bound found when it runs out is still sound. Where it stops the
            search depends on the machine and its load (``details["stopped_by"] == "time"``).
        rel_gap: stop once ``upper <= (1 + rel_gap) lower``.
        seed: seed of the random candidate points of the lower-bound search (the result is deterministic
            for a given seed).
        max_patterns: largest number of activation patterns enumerated per box.
        progress: called after every batch of boxes with ``{"boxes", "open_boxes", "upper", "lower",
            "elapsed_s"}`` (floats; ``lower`` None until a witness is found); it observes only (the command line
            draws a status line from it). None: no calls.
        semantics: what the claim is about: ``"exact"`` (default) the exact rational network; ``"float32"`` /
            ``"float64"`` the float module ``numerics.to_module(net, dtype=...)`` on the box's points of that
            format: ``upper = exact upper + R`` with ``R`` the a-priori rounding bound of
            :mod:`theory.spec._rounding`, ``lower`` exact ``|net - g|`` at the witness rounded to the format
            minus the rounding bound there, ``eps`` decided on these; ``details["semantics"]``,
            ``details["rounding_bound"]``, ``details["exact_upper"]`` record it (:mod:`theory.certify._semantics`).
        method: ``"auto"`` (default): the piecewise certificate of :mod:`theory.certify.pieces` when the
            construction record names a Kuhn grid and the network is proved affine on its simplices, else the
            general branch and bound; ``"pieces"``: the piecewise certificate or ``"unknown"`` with the reason;
            ``"branch-and-bound"``: the general search only.
        max_work: a deterministic work budget beside the time budget (None: none): the search stops once it has
            taken ``max_work`` boxes (sub-boxes, or simplices and their parts) to refine, as at the deadline (the
            bound is still sound); whichever budget is reached first stops it. The first bound of the whole box is
            always computed. A certificate stopped by work (or finished) is the same on every machine, apart from
            its timings. ``details`` record ``work``, ``max_work`` and ``stopped_by`` (``"work"``, ``"time"``,
            None: finished).
    Returns:
        A :class:`Certificate` (method ``"kuhn-pieces"`` or ``"interval-bnb"``; ``details["structure"]`` says
        what was tried): ``upper`` (exact rational), ``lower`` with its
        ``witness`` (global names -> rationals); without ``eps`` the status is ``"proved"`` (claim
        ``sup_box |net - target| <= upper``) whenever the bound is finite.
    Raises:
        TheoryError: more than one output, a bad target/box (a symbol that is not an input of ``net``, a box
            key that is not a variable of the search), or unsupported weights.

    Formula: ``upper = max over the final boxes B of min(relaxation, max_p pattern bound)`` (module docstring);
    ``lower = |net(w) - g(w)|`` at the witness ``w``, exactly for the network and from a 256-bit interval
    enclosure of ``g(w)``. The certificate's ``details`` record boxes, the largest unstable-unit count, open
    boxes, time, ``upper / lower``, whether the gap was reached and the a-priori bound of ``net.meta``.

    Soundness: see :mod:`theory.certify._propagate` (float rounding, relaxations), :mod:`theory.certify._simplify`
    (substitutions), :mod:`theory.certify._intervals` and :mod:`theory.certify._elementary` (interval functions)
    and :func:`theory.certify._patterns.enumerate_patterns` (patterns, Farkas-checked pruning); ``g`` is only ever
    enclosed by outward-rounded interval arithmetic; a computed lower bound above the upper bound raises
    (self-check). Source: interval branch and bound (e.g. Hansen & Walster, *Global Optimization Using
    Interval Analysis*, 2004) with symbolic-interval / CROWN-style ReLU relaxations and Taylor forms
    (Neumaier, *Interval Methods for Systems of Equations*, 1990); the combination is our reconstruction.
    """
    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if net.n_outputs != 1:
        raise bad("net", f"{net.n_outputs} outputs", "a network with exactly one output")
    meta = thaw(net.meta) if net.meta_covered else {}  # an uncovered meta (format-1 file) is never acted on
    if not net.meta_covered and (target is None or box is None):
        raise bad(
            "target/box",
            (target, box),
            "both given explicitly: this network's meta is not covered by a "
            "hash (a format-1 spec file; re-save it with theory.save to cover it)",
        )
    if target is None:
        if "target" not in meta:
            raise bad("target", None, "a target expression (the network's meta has no 'target')")
        target = meta["target"]
    expr = parse_global_target(target)
    if box is None:
        if "box" not in meta:
            raise bad("box", None, "a box (the network's meta has no 'box')")
        box = meta["box"]
    for name, v in (("time_limit_s", time_limit_s), ("rel_gap", rel_gap)):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not v >= 0
            or (v == float("inf") and name == "rel_gap")
        ):
            raise bad(name, v, "a finite number >= 0")
    if isinstance(max_patterns, bool) or not isinstance(max_patterns, int) or max_patterns < 1:
        raise bad("max_patterns", max_patterns, "an int >= 1")
    if max_work is not None and (isinstance(max_work, bool) or not isinstance(max_work, int) or max_work < 1):
        raise bad("max_work", max_work, "None or an int >= 1 (units of work: boxes taken to be refined)")
    if progress is not None and not callable(progress):
        raise bad("progress", progress, "None or a callable taking one dict")
    check_semantics(semantics)
    if method not in SEARCH_METHODS:
        raise bad("method", method, f"one of {', '.join(repr(m) for m in SEARCH_METHODS)}")
    eps_q = None
    if eps is not None:
        from ..spec._rational import as_rational

        eps_q = as_rational(eps, "eps")
        if eps_q < 0:
            raise bad("eps", eps, "a nonnegative number")
    cone = extract_cone(net)
    expr, names, var_index = _variables(net, expr, cone.input_units)
    boxq = _box_for(net, box, names) if names else ()
    s: SupSearch | None = None
    why = "not tried (method 'branch-and-bound')"
    if method != "branch-and-bound":
        s, why = certify_pieces(
            meta,
            cone,
            expr,
            names,
            var_index,
            boxq,
            None if eps_q is None else float(eps_q),
            float(time_limit_s),
            float(rel_gap),
            seed,
            progress,
            max_work,
        )
    if s is None and method == "pieces":
        seconds = time.perf_counter() - t0
        return apply_semantics(
            no_pieces_certificate(net, expr, names, boxq, eps_q, why, seconds, max_work), semantics, net, expr
        )
    if s is None:
        search = Search(
            cone,
            expr,
            names,
            var_index,
            boxq,
            None if eps_q is None else float(eps_q),
            max(0.0, float(time_limit_s) - (time.perf_counter() - t0)),
            float(rel_gap),
            max_patterns,
            seed,
            progress,
            max_work,
        )
        search.run()
        s = search
    cert = certificate_of(
        s,
        net,
        expr,
        names,
        boxq,
        eps_q,
        meta,
        cone,
        why,
        t0,
        rel_gap=rel_gap,
        time_limit_s=time_limit_s,
        max_patterns=max_patterns,
    )
    return apply_semantics(cert, semantics, net, expr)
