"""Monolithic z3 encoding of a network spec, and the equivalence proof built on it.

Every weight and bias enters z3 as the exact rational it is (``z3.RealVal("p/q")``), ReLU as
``If(z > 0, z, 0)``. Only the output's cone (the units the outputs reach through nonzero weights, found with
:meth:`theory.Layer.edges` exactly like :func:`theory.evaluate_exact`) is built, so a routing network at
``d = 2^20`` encodes into ``O(k log d)`` terms. A z3 model is turned back into an exact rational point and
re-checked with :func:`theory.evaluate_exact` (the helpers of :mod:`theory.prove._solving`): a counterexample is
only reported after that exact re-check.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence, cast

import numpy as np
import z3

from .._errors import TheoryError, bad
from ..spec import Network, as_rational, evaluate_exact, input_name
from ..spec._rational import ZERO
from ._certificate import Certificate
from ._solving import (
    check_rlimit,
    check_timeout,
    exact_value,
    point_array,
    rational_candidates,
    relu,
    solve,
    witness_of,
    z3_rational,
)


# ---------------------------------------------------------------------------------------------- encoding
class InputVars(dict):
    """``{input unit: z3 Real}``; indexing a unit not yet present creates its variable (named as
    :func:`input_name`), so an expected function may read inputs outside the network's cone."""

    def __init__(self, net: Network):
        super().__init__()
        self.net = net

    def __missing__(self, unit: int) -> z3.ArithRef:
        unit = int(unit)
        if not 0 <= unit < self.net.d * self.net.c_in:
            raise bad("input unit", unit, f"an int in [0, {self.net.d * self.net.c_in})")
        var = z3.Real(input_name(self.net, unit))
        self[unit] = var
        return var


def _term(w: Fraction, v: z3.ArithRef) -> z3.ArithRef:
    if w == 1:
        return v
    if w == -1:
        return -v
    return z3_rational(w) * v


def encode(
    net: Network, inputs: Any = None, *, cone: bool = True, definitions: list | None = None
) -> tuple[Mapping[int, z3.ArithRef], list[z3.ArithRef]]:
    """The network's outputs as exact z3 real expressions.

    Formula: ``h_l[u] = act(b_l[u] + sum_{edges u <- v} W_l[u, v] h_{l-1}[v])`` with ``act(z) = If(z > 0, z, 0)``
    for ReLU layers and the identity otherwise; weights and biases are the spec's exact rationals.

    Args:
        net: the spec.
        inputs: ``None`` (fresh ``z3.Real`` per input unit, named ``x{p}`` / ``x{c}`` / ``x{c}_{p}`` like
            :func:`theory.input_symbols`), or a mapping / sequence giving a z3 arithmetic expression for each
            input unit ``p * c_in + c`` the outputs depend on.
        cone: build only the units the outputs depend on (default). ``False`` builds every unit of every
            level (the naive whole-network encoding, kept as a benchmark baseline).
        definitions: when a list is given, each ReLU unit becomes a fresh variable ``h{l}_{u}`` and its
            defining equation ``h == If(z > 0, z, 0)`` is appended to the list (a flat encoding that
            z3's nonlinear solver handles much better than nested ``If`` terms); assert them with the query.
    Returns:
        ``(input_vars, outputs)``: the input variables by unit (an :class:`InputVars` when ``inputs`` is None:
        reading a missing unit creates it) and the ``n_D * C_D`` output expressions, position-major.
    Raises:
        TheoryError: ``net`` is not a Network, or ``inputs`` lacks a unit the outputs need.
    Source: exact semantics of :func:`theory.evaluate_exact`; standard SMT encoding of ReLU networks.
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if definitions is not None and not isinstance(definitions, list):
        raise bad("definitions", definitions, "None or a list to append the ReLU definitions to")
    counts = [p * c for p, c in zip(net.positions, net.channels)]
    needed: list[np.ndarray] = [None] * (net.depth + 1)  # type: ignore[list-item]
    needed[-1] = np.arange(counts[-1], dtype=np.int64)
    edges: list[Any] = [None] * net.depth
    for i in range(net.depth - 1, -1, -1):
        units = needed[i + 1] if cone else np.arange(counts[i + 1], dtype=np.int64)
        needed[i + 1] = units
        edges[i] = net.layers[i].edges(units)
        needed[i] = np.unique(edges[i][1]) if cone else np.arange(counts[i], dtype=np.int64)
    if inputs is None:
        input_vars: Mapping[int, z3.ArithRef] = InputVars(net)
    elif isinstance(inputs, Mapping):
        input_vars = inputs
    else:
        try:
            input_vars = dict(enumerate(inputs))
        except TypeError:
            raise bad("inputs", inputs, "None, or a mapping/sequence of z3 expressions per input unit") from None
    values: dict[int, z3.ArithRef] = {}
    for u in needed[0].tolist():
        try:
            v = input_vars[u]
        except (KeyError, IndexError):
            raise bad(
                "inputs", f"no expression for input unit {u}", "one z3 expression per input unit the outputs read"
            ) from None
        if not isinstance(v, z3.ArithRef):
            raise bad("inputs", v, f"z3 arithmetic expressions (input unit {u})")
        values[u] = v
    for i, layer in enumerate(net.layers):
        which, src, nz = edges[i]
        units = needed[i + 1]
        biases = layer.bias_of(units)
        terms: list[list[z3.ArithRef]] = [[] for _ in range(units.size)]
        weights = layer.weight.values
        for w_idx, s_unit, n in zip(which.tolist(), src.tolist(), nz.tolist()):
            terms[w_idx].append(_term(weights[n], values[s_unit]))
        new: dict[int, z3.ArithRef] = {}
        for pos, u in enumerate(units.tolist()):
            ts = terms[pos]
            b = biases[pos]
            if b != 0:
                ts.append(z3_rational(b))
            e = ts[0] if len(ts) == 1 else (z3.Sum(*ts) if ts else z3.RealVal(0))
            if layer.relu:
                if definitions is not None:
                    h = z3.Real(f"h{i + 1}_{u}")
                    definitions.append(h == relu(e))
                    e = h
                else:
                    e = relu(e)
            new[u] = e
        values = new
    return input_vars, [values[u] for u in needed[-1].tolist()]


# ---------------------------------------------------------------------------------------------- proof
def prove_equivalent_monolithic(
    net: Network,
    expected: Callable[[Mapping[int, z3.ArithRef]], Sequence[Any]] | Sequence[int],
    *,
    timeout_s: float = 60,
    cone: bool = True,
    claim: str | None = None,
    rlimit: int | None = None,
) -> Certificate:
    """Prove with one z3 query that ``net(x) == expected(x)`` for every real input x.

    The query is ``exists x: OR_j net_j(x) != expected_j(x)`` over the encoding of :func:`encode`; ``unsat``
    is the proof. A ``sat`` model is turned into an exact rational point (missing inputs 0) and re-checked
    with :func:`theory.evaluate_exact`; only a re-checked point is reported as ``"refuted"``.

    Args:
        net: the spec.
        expected: either a support (sequence of input units; the claim is ``output j == x[support[j]]``,
            the routing claim of :func:`theory.select`), or a callable receiving the input variables
            (``{unit: z3 Real}``, indexing creates missing ones) and returning one value per output: z3
            arithmetic expressions or exact rationals.
        timeout_s: wall-clock budget of the whole attempt.
        cone: encode only the output's cone (default) or every unit (baseline; see :func:`encode`).
        claim: optional wording of the claim for the certificate.
        rlimit: z3's deterministic resource limit for the query (None: none; ``details["rlimit"]``); hitting it
            gives ``"unknown"`` with the reason ``"resource limit: ..."``, the same on every machine.
    Returns:
        A :class:`theory.Certificate` with method ``"z3-monolithic"``: ``proved`` (unsat), ``refuted`` (witness
        = the nonzero coordinates of the re-checked counterexample, names ``x{i}``) or ``unknown`` (timeout,
        z3 unknown, or a model that did not survive the exact re-check; ``details["reason"]``).
    Raises:
        TheoryError: bad ``net``, ``expected`` (wrong length, units out of range, non-numeric values) or
            ``timeout_s``.
    Source: standard SMT encoding of ReLU networks (exact rationals); the cross-check of the level-by-level
    proof of :func:`theory.prove_routing` (Wang & Wu 2023, sparse construction, reconstruction).
    """
    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    budget = check_timeout(timeout_s)
    deadline = t0 + budget
    rlimit = check_rlimit(rlimit)
    n_in = net.d * net.c_in
    support: list[int] | None = None
    if callable(expected):
        pass
    elif isinstance(expected, (str, bytes)) or not isinstance(expected, Iterable):
        raise bad("expected", expected, "a support (sequence of input units) or a callable inputs -> outputs")
    else:
        support = list(expected)
        for i in support:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < n_in:
                raise bad("expected", expected, f"a support of ints in [0, {n_in})")
        support = [int(i) for i in support]
        if len(support) != net.n_outputs:
            raise bad("expected", expected, f"{net.n_outputs} indices, one per output")
    definitions: list = []
    variables, outs = encode(net, cone=cone, definitions=definitions)
    if support is not None:
        wanted = [variables[i] for i in support]
        claim = (
            claim
            or f"for every x in R^{net.d}: output j == x[support[j]] for all j < {len(support)} (support = {support})"
        )
    else:
        try:
            raw = list(cast(Callable[..., Sequence[Any]], expected)(variables))
        except TheoryError:
            raise
        except Exception as e:  # the user's function failed on z3 variables
            raise bad(
                "expected", expected, f"a callable accepting the input variables ({type(e).__name__}: {e})"
            ) from None
        if len(raw) != len(outs):
            raise bad("expected", f"{len(raw)} values", f"{len(outs)}, one per output")
        wanted = []
        for v in raw:
            if isinstance(v, z3.ArithRef):
                wanted.append(v)
            else:
                wanted.append(z3_rational(as_rational(v, "expected")))
        claim = claim or f"for every x in R^{n_in}: net(x) == expected(x) (a given function, {len(outs)} outputs)"
    base: dict[str, Any] = dict(
        claim=claim,
        method="z3-monolithic",
        spec_hash=net.content_hash,
        assumptions={
            "domain": f"R^{n_in}",
            "semantics": "exact rational arithmetic (z3 reals, ReLU as If)",
            **({"support": support} if support is not None else {}),
        },
    )
    solver = z3.Solver()
    solver.add(*definitions)
    solver.add(z3.Or(*[o != w for o, w in zip(outs, wanted)]) if len(outs) > 1 else outs[0] != wanted[0])
    details: dict[str, Any] = {
        "encoding": "cone" if cone else "whole network",
        "inputs_encoded": len(variables),
        "definitions": len(definitions),
        "rlimit": rlimit,
    }
    queries: list[str] = []
    result, reason = solve(solver, deadline, queries, rlimit)
    details["z3"] = result
    if result == "unsat":
        details["smtlib"] = queries
        return Certificate(status="proved", seconds=time.perf_counter() - t0, details=details, **base)
    if result == "unknown":
        details["reason"] = reason
        return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
    model = solver.model()
    value_lists = {u: rational_candidates(model.eval(v, model_completion=True)) for u, v in variables.items()}
    for depth in range(max((len(c) for c in value_lists.values()), default=1)):
        point = {u: c[min(depth, len(c) - 1)] for u, c in value_lists.items() if c}
        if len(point) != len(value_lists):
            break
        got = evaluate_exact(net, point_array(net, point))
        want: list[Any]
        if support is not None:
            want = [point.get(i, ZERO) for i in support]
        else:
            want = [exact_value(w, point, variables) for w in wanted]
            if any(v is None for v in want):
                continue
        bad_outputs = [j for j, (g, w) in enumerate(zip(got, want)) if g != w]
        if bad_outputs:
            details.update(
                violated_outputs=bad_outputs[:16],
                output_at_witness={str(j): str(got[j]) for j in bad_outputs[:16]},
                expected_at_witness={str(j): str(want[j]) for j in bad_outputs[:16]},
            )
            return Certificate(
                status="refuted",
                witness=witness_of(net, point),
                seconds=time.perf_counter() - t0,
                details=details,
                **base,
            )
    details["reason"] = "z3 found a model but no exact rational point near it violates the claim (exact re-check)"
    return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
