"""VNN-LIB files of a :class:`Property`: the negated claim, written exactly in decimal, atomically.

VNN-LIB (vnnlib.org) states a query whose ``unsat`` is the proof: the input box, then the negation of the claim as
a disjunction of linear constraints. For a property ``|Y_j - t_j(X)| <= eps`` with margin ``tol``
(:mod:`numerics.peers._property`) and ``m = eps + tol``, each output contributes two disjuncts::

    (and (>= (- Y_j t_j(X)) m))        ; Y_j above its target by at least m
    (and (<= (- Y_j t_j(X)) -m))       ; Y_j below its target by at least m

A piecewise-linear target (``Min``, ``Max``, ``Abs``; :mod:`numerics.peers._pieces`) contributes, for each half, a
disjunction of conjunctions of the same atoms over its linear pieces ``l`` (:meth:`Property.conjunctions`), all
inside the one ``(assert (or (and ...) ...))`` that VNN-LIB 1.0 allows. For ``t = Max(X_3, X_9)``::

    (and (>= (- Y_0 X_3) m) (>= (- Y_0 X_9) m))      ; above: Y_0 above both pieces
    (and (<= (- Y_0 X_3) -m))                        ; below: under one piece or the other
    (and (<= (- Y_0 X_9) -m))

Two renderings of the same property:

* ``version="1.0"`` (default): ``(declare-const X_i Real)`` / ``Y_j``, one ``assert`` per bound and one ``(assert
  (or (and ...) ...))``: the format of VNN-COMP and of Marabou's ``loadProperty``, which :func:`numerics.crosscheck`
  feeds it to (Marabou 2.0's parser reads the routing form ``(- Y_j X_i)`` but refuses a product inside a sum or
  difference, ``(- Y_0 X_0 (* 2.0 X_9))``: linear targets with other coefficients are for other tools);
* ``version="2.0"``: ``(vnnlib-version <2.0>)`` with a ``declare-network`` block (input ``X`` of shape ``[1, d]`` or
  ``[1, c_in, d]``, output ``Y`` of shape ``[1, n]``, float64, the shapes of :func:`numerics.export_onnx`) and
  indexed variables ``X[0, i]``: the format the ``vnnlib`` Python package (1.0.x) parses.

Numbers: every rational is written exactly as a terminating decimal, which exists when its denominator is
``2^a 5^b`` (all dyadic rationals, so every float); any other (``1/3``) raises :class:`NumericsError` rather than
being rounded silently. A peer reading the file rounds decimals to its own floats, which for dyadic numbers up to
53 significant bits (every float64) is exact.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import theory

from .._errors import bad, theory_errors
from ._property import LinearTarget, Property

VERSIONS = ("1.0", "2.0")


def decimal(q: Fraction) -> str:
    """``q`` as an exact decimal with a point (``-0.5``, ``3.0``, ``0.0009765625``).

    Raises:
        NumericsError: ``q``'s denominator has a prime factor other than 2 and 5 (no terminating decimal).
    """
    den, a, b = q.denominator, 0, 0
    while den % 2 == 0:
        den, a = den // 2, a + 1
    while den % 5 == 0:
        den, b = den // 5, b + 1
    if den != 1:
        raise bad(
            "property",
            f"the number {q}",
            "rationals with a terminating decimal (denominator 2^a 5^b, e.g. "
            "every dyadic rational); VNN-LIB numbers are decimals and this one would have to be rounded",
        )
    n = max(a, b)
    scaled = abs(q.numerator) * 10**n // q.denominator
    digits = str(scaled).rjust(n + 1, "0")
    whole, frac = (digits[:-n], digits[-n:]) if n else (digits, "0")
    return f"{'-' if q < 0 else ''}{whole}.{frac}"


def _names(prop: Property, version: str) -> tuple[list[str], list[str]]:
    if version == "1.0":
        return [f"X_{i}" for i in range(prop.n_inputs)], [f"Y_{j}" for j in range(prop.n_outputs)]
    if prop.c_in == 1:
        xs = [f"X[0, {i}]" for i in range(prop.n_inputs)]
    else:
        xs = [f"X[0, {i // prop.d}, {i % prop.d}]" for i in range(prop.n_inputs)]
    return xs, [f"Y[0, {j}]" for j in range(prop.n_outputs)]


def _difference(y: str, target: LinearTarget, xs: list[str]) -> tuple[str, Fraction]:
    """``Y_j - (sum_i a_i X_i)`` as an S-expression, and the constant ``c`` of ``t_j`` (moved to the right side)."""
    parts = []
    for i, c in target.terms:
        if c == 1:
            parts.append(xs[i])
        else:
            parts.append(f"(* {decimal(c)} {xs[i]})")
    return (f"(- {y} {' '.join(parts)})" if parts else y), target.constant


def _conjunctions(prop: Property, case: int, y: str, xs: list[str]) -> list[str]:
    """The conjunctions of case ``case`` (:meth:`Property.conjunctions`) as ``(and ...)`` S-expressions."""
    m, out = prop.threshold, []
    for conj in prop.conjunctions(case):
        atoms = []
        for leaf in conj:
            diff, c = _difference(y, leaf, xs)
            atoms.append(f"(>= {diff} {decimal(c + m)})" if case % 2 == 0 else f"(<= {diff} {decimal(c - m)})")
        out.append(f"(and {' '.join(atoms)})")
    return out


def render(prop: Property, version: str = "1.0", case: int | None = None) -> str:
    """The VNN-LIB text of ``prop`` (module docstring); with ``case`` ``c`` only its disjunct ``c`` (output
    ``j = c // 2``, above its target when ``c`` is even, below when odd) as a single ``assert``: the whole query is
    the disjunction of its ``2 n_outputs`` cases, and solving them one by one is how peers usually go about it.
    A case of a piecewise-linear target that is itself a disjunction is written ``(assert (or (and ...) ...))``."""
    if not isinstance(prop, Property):
        raise bad("prop", type(prop).__name__, "a numerics.peers.Property (routing_property / target_property)")
    if version not in VERSIONS:
        raise bad("version", version, " | ".join(repr(v) for v in VERSIONS))
    if case is not None and (not isinstance(case, int) or isinstance(case, bool) or not 0 <= case < prop.cases):
        raise bad("case", case, f"None (the whole disjunction) or an int in [0, {prop.cases})")
    lo, hi = (decimal(v) for v in prop.box)
    lines = [
        f"; cnnverify VNN-LIB {version} property: {prop.statement()}",
        f"; spec content hash {prop.spec_hash}",
        (
            f"; query (unsat proves the claim up to the margin): exists X in the box and j with "
            f"|Y_j - t_j(X)| >= eps + tol = {prop.eps} + {prop.tol}"
        ),
        (
            "; inputs X: the ONNX input x (numerics.export_onnx) flattened, X_(c d + p) = channel c, position p; "
            "outputs Y: the ONNX output y"
        ),
    ]
    xs, ys = _names(prop, version)
    if version == "1.0":
        lines += [f"(declare-const {x} Real)" for x in xs] + [f"(declare-const {y} Real)" for y in ys]
    else:
        shape = f"[1, {prop.n_inputs}]" if prop.c_in == 1 else f"[1, {prop.c_in}, {prop.d}]"
        lines = (
            ["(vnnlib-version <2.0>)"]
            + lines
            + [
                "(declare-network N",
                f"  (declare-input X float64 {shape})",
                f"  (declare-output Y float64 [1, {prop.n_outputs}])",
                ")",
            ]
        )
    for x in xs:
        lines += [f"(assert (>= {x} {lo}))", f"(assert (<= {x} {hi}))"]
    if case is None:
        disjuncts = [dj for c in range(prop.cases) for dj in _conjunctions(prop, c, ys[c // 2], xs)]
        lines += ["(assert (or"] + [f"    {dj}" for dj in disjuncts] + ["))"]
    else:
        disjuncts = _conjunctions(prop, case, ys[case // 2], xs)
        lines += [
            f"; case {case} of {prop.cases}: output {case // 2} {'above' if case % 2 == 0 else 'below'} its target",
            f"(assert {disjuncts[0]})" if len(disjuncts) == 1 else f"(assert (or {' '.join(disjuncts)}))",
        ]
    return "\n".join(lines) + "\n"


def export_vnnlib(
    prop: Property, path: str | os.PathLike, *, version: str = "1.0", case: int | None = None, force: bool = False
) -> Path:
    """Write ``prop`` as a VNN-LIB file, atomically (temp file + rename, :func:`theory.io.atomic_write_file`).

    Args:
        prop: from :func:`routing_property` or :func:`target_property`.
        path: the ``.vnnlib`` file; its parent is created if needed.
        version: ``"1.0"`` (VNN-COMP, Marabou) or ``"2.0"`` (the ``vnnlib`` Python package); module docstring.
        case: None (the whole query) or one disjunct, as :func:`render` says.
        force: replace an existing file.
    Returns:
        The path written.
    Raises:
        NumericsError: bad ``prop`` or ``version``; a number without a terminating decimal; ``path`` exists
            without ``force`` or cannot be written.
        OSError: the file system refused the write (nothing is left behind).
    """
    text = render(prop, version, case)
    if not isinstance(path, (str, os.PathLike)):
        raise bad("path", path, "a path (str or os.PathLike)")
    with theory_errors():
        out = theory.io.check_writable(path, "file", force=force, flag="path")
        return theory.io.atomic_write_file(out, text.encode(), force=force)
