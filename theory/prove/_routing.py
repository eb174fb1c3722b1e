"""Proof of the select routing claim by induction over tree levels: one small z3 lemma per level.

Reconstruction of the sparse construction of Wang & Wu (2023, arXiv 2305.08404; docs/catalogue.md): weight
sharing makes the selection rule of every level independent of the position, so one position-free lemma per
level, plus an integer index identity, proves the claim for all ``d = s^L`` positions at once. Cost: ``O(L)`` lemmas of
``O(k s)`` variables each, whatever ``d``.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Sequence

import z3

from .._errors import bad
from ..constructions._routing import validate_support
from ..spec import ConvLayer, Network, PointwiseLayer, evaluate_exact
from ._certificate import Certificate
from ._solving import (
    as_fraction,
    check_rlimit,
    check_timeout,
    limit_note,
    point_array,
    relu,
    solve,
    witness_of,
    z3_rational,
)

ARGUMENT = (
    "Induction on the level l = 1..L. Invariant I(l): at every position p of level l, channel 2j+e (e in {0: +, 1: -}) "
    "holds relu((-1)^e x[p s^l + (i_j mod s^l)]). I(1) is lemma 1 (layer 1 reads input positions p s + t, t < s, "
    "and delta_0(i_j) = i_j mod s). I(l) => I(l+1): position p of level l+1 reads children p s + t of level l, whose "
    "channel (j, e) holds relu((-1)^e y_{t,j}) with y_{t,j} = x[(p s + t) s^l + (i_j mod s^l)] by I(l); the filter is "
    "shared, so lemma l+1 (for all reals y, variables identified when i_j mod s^l coincide, exactly as the input "
    "coordinates are) gives relu((-1)^e y_{delta_l(i_j), j}), and the index identity (p s + delta_l(i)) s^l + (i mod s^l) "
    "= p s^(l+1) + (i mod s^(l+1)) turns it into I(l+1). At level L only p = 0 exists: channel (j, e) holds "
    "relu((-1)^e x[i_j]), and the readout lemma gives output j = x[i_j]."
)


def _premises(net: Network, k: int) -> tuple[list[dict[str, Any]], int, int]:
    """Structural premises of the induction, checked on the spec. Returns (records, s, L)."""
    layers = net.layers
    tree, last = layers[:-1], layers[-1]
    L = len(tree)
    kernels = sorted({getattr(layer, "kernel", 0) for layer in tree})
    s = kernels[0] if len(kernels) == 1 else 0
    rec: list[dict[str, Any]] = []

    def premise(name: str, holds: bool, observed: Any) -> None:
        rec.append({"premise": name, "holds": bool(holds), "observed": observed})

    premise("one input channel", net.c_in == 1, f"c_in = {net.c_in}")
    premise(
        "shared ConvLayer filters",
        L >= 1 and all(type(layer) is ConvLayer for layer in tree),
        f"layers 0..{L - 1} are {[layer.kind for layer in tree]}",
    )
    premise("kernel = stride = s for all tree layers", len(kernels) == 1 and s >= 2, f"kernels {kernels}")
    premise("d = s^L", s >= 2 and net.d == s**L, f"d = {net.d}, s = {s}, L = {L}")
    want = (1,) + (2 * k,) * L
    premise(
        "channels 1 -> 2k -> ... -> 2k",
        tuple(net.channels[: L + 1]) == want,
        f"channels {list(net.channels[: L + 1])}, k = {k}",
    )
    premise(
        "readout PointwiseLayer (k, 2k)",
        type(last) is PointwiseLayer and last.weight.shape == (k, 2 * k),
        f"last layer {last.kind} with weight shape {list(last.weight.shape)}",
    )
    rec.append(
        {
            "premise": "activations",
            "holds": True,
            "observed": "encoded as given in the spec: "
            + ", ".join("relu" if layer.relu else "linear" for layer in layers),
        }
    )
    return rec, s, L


def _layer_out(layer: Any, h: Any, tree: bool) -> list[z3.ArithRef]:
    """Outputs of one layer at one position. ``h[t][c]`` (tree layer, child t) or ``h[c]`` (pointwise)."""
    rows: list[list[z3.ArithRef]] = [[] for _ in range(layer.c_out)]
    for coords, w in layer.weight.items():
        o, c = coords[0], coords[1]
        v = h[coords[2]][c] if tree else h[c]
        rows[o].append(v if w == 1 else (-v if w == -1 else z3_rational(w) * v))
    for (o,), b in layer.bias.items():
        rows[o].append(z3_rational(b))
    outs = []
    for ts in rows:
        e = ts[0] if len(ts) == 1 else (z3.Sum(*ts) if ts else z3.RealVal(0))
        outs.append(relu(e) if layer.relu else e)
    return outs


def _lemma(net: Network, idx: list[int], s: int, level: int, L: int) -> dict[str, Any]:
    """Lemma for layer ``level`` (0-based; ``L`` is the readout) as a z3 query whose unsat is the lemma.

    Returns ``{"query", "outs", "expected", "vars": [(var, offset)], "block", "statement"}``; ``offset`` is the
    variable's input coordinate inside a block of ``block`` positions (position p's block starts at p*block).
    """
    k = len(idx)
    layer = net.layers[level]
    sign = lambda e, v: v if e == 0 else -v  # noqa: E731
    if level == 0:
        xs = [z3.Real(f"x_t{t}") for t in range(s)]
        h = [[x] for x in xs]
        outs = _layer_out(layer, h, tree=True)
        expected = [relu(sign(e, xs[idx[j] % s])) for j in range(k) for e in (0, 1)]
        variables = [(xs[t], t) for t in range(s)]
        block, statement = s, "for all reals x_0..x_{s-1}: out(j,e) = relu((-1)^e x_{delta_0(i_j)})"
    elif level < L:
        span = s**level
        residues = sorted({i % span for i in idx})
        y: dict[Any, z3.ArithRef] = {(t, r): z3.Real(f"y_t{t}_r{r}") for t in range(s) for r in residues}
        h = [[relu(sign(e, y[(t, idx[j] % span)])) for j in range(k) for e in (0, 1)] for t in range(s)]
        outs = _layer_out(layer, h, tree=True)
        expected = [relu(sign(e, y[((idx[j] // span) % s, idx[j] % span)])) for j in range(k) for e in (0, 1)]
        variables = [(y[(t, r)], t * span + r) for t in range(s) for r in residues]
        block = span * s
        statement = (
            f"for all reals y_(t,r) (t < {s}, r in the {len(residues)} residues i_j mod s^{level}), "
            f"h[t, 2j+e] = relu((-1)^e y_(t, i_j mod s^{level})): out(j,e) = relu((-1)^e y_(delta_{level}(i_j), i_j mod s^{level}))"
        )
    else:
        y = {i: z3.Real(f"y_i{i}") for i in idx}
        h = [relu(sign(e, y[idx[j]])) for j in range(k) for e in (0, 1)]
        outs = _layer_out(layer, h, tree=False)
        expected = [y[i] for i in idx]
        variables = [(y[i], i) for i in idx]
        block, statement = net.d, "for all reals y_j, h[2j+e] = relu((-1)^e y_j): out_j = y_j"
    query = z3.Or(*[o != w for o, w in zip(outs, expected)])
    return {
        "query": query,
        "outs": outs,
        "expected": expected,
        "vars": variables,
        "block": block,
        "statement": statement,
    }


def _index_identity(s: int, level: int) -> z3.BoolRef:
    """Negation of (p s + delta_l(i)) s^l + (i mod s^l) == p s^(l+1) + (i mod s^(l+1)), p and i symbolic Ints."""
    p, i = z3.Int("p"), z3.Int("i")
    span = s**level
    lhs = (p * s + (i / span) % s) * span + i % span
    return z3.Not(lhs == p * (span * s) + i % (span * s))


def _lift(
    net: Network, idx: list[int], lemma: dict[str, Any], model: z3.ModelRef
) -> tuple[dict[int, Fraction], list] | None:
    """Place a failing lemma's model at the input coordinates of a block and re-check the whole network.

    Candidate blocks: the level ancestor ``p = i_j // block`` of every support index whose channel the model
    breaks, then ``p = 0``. Returns ``(point, output)`` of the first candidate whose exact output differs from
    ``x[support]``, else None.
    """
    values = {}
    for var, offset in lemma["vars"]:
        q = as_fraction(model.eval(var, model_completion=True))
        if q is None:  # linear lemma: z3 models are rational; anything else is not liftable
            return None
        values[offset] = q
    k = len(idx)
    broken = []
    for o, (got, want) in enumerate(zip(lemma["outs"], lemma["expected"])):
        if as_fraction(model.eval(got, model_completion=True)) != as_fraction(model.eval(want, model_completion=True)):
            broken.append(o)
    per_channel = 2 if len(lemma["outs"]) == 2 * k else 1
    blocks = list(dict.fromkeys([idx[o // per_channel] // lemma["block"] for o in broken] + [0]))
    for p in blocks:
        point = {p * lemma["block"] + off: q for off, q in values.items() if q != 0}
        out = evaluate_exact(net, point_array(net, point))
        if any(out[j] != point.get(i, Fraction(0)) for j, i in enumerate(idx)):
            return point, list(out)
    return None


def prove_routing(
    net: Network, support: Sequence[int] | None = None, *, timeout_s: float = 60, rlimit: int | None = None
) -> Certificate:
    """Prove that ``net`` routes: for every x in R^d, output j == x[support[j]], by induction over levels.

    Premises checked on the spec (``details["premises"]``): one input channel; layers ``0..L-1`` are
    :class:`theory.ConvLayer` (one shared filter for all positions) with the same kernel = stride = s and
    ``d = s^L``; channels ``1 -> 2k -> ... -> 2k``; the last layer a :class:`theory.PointwiseLayer` ``(k, 2k)``.
    Activations and biases are encoded exactly as the spec has them (a ReLU readout is refuted, not assumed
    away). A failed premise gives ``"unknown"`` with ``details["reason"] = "premise: <name>"``: the induction
    does not apply (LCN/FCN counterparts: use :func:`theory.prove_equivalent_monolithic` for small d).

    Lemmas (z3, exact rationals, ReLU as ``If(z > 0, z, 0)``; each proved by unsat of its negation):

    * level 1: for all reals ``x_0..x_{s-1}``: ``out(j, e) = relu((-1)^e x_{delta_0(i_j)})``;
    * level l+1: for all reals ``y_{t,r}`` (child t, residue r = i_j mod s^l; indices j with the same residue
      share the variable, as they share the input coordinate) with ``h[t, 2j+e] = relu((-1)^e y_{t, r_j})``:
      ``out(j, e) = relu((-1)^e y_{delta_l(i_j), r_j})``;
    * readout: for all ``y_j`` with ``h[2j+e] = relu((-1)^e y_j)``: ``out_j = y_j``;
    * index identity, each l < L, symbolic integers p and i:
      ``(p s + delta_l(i)) s^l + (i mod s^l) = p s^(l+1) + (i mod s^(l+1))``.

    Induction: by induction on l, at every position p channel (j, e) holds ``relu((-1)^e x[p s^l + (i_j mod s^l)])``
    (lemma l+1 applies at every p because the filter is shared, the identity moves the index); at level L,
    p = 0 gives ``x[i_j]`` and the readout lemma gives output j = ``x[i_j]``.

    A lemma that fails (sat) is lifted to a concrete input: its model's values placed at their coordinates in
    the block of an ancestor position (zeros elsewhere) and re-checked with :func:`theory.evaluate_exact`; a
    real violation gives ``"refuted"`` (witness: nonzero coordinates ``x{i}``), otherwise ``"unknown"`` (the
    invariant is stronger than the claim, e.g. a bias that cancels in the readout).

    Args:
        net: the spec (e.g. ``theory.select(d, support, s)``).
        support: the k routed indices; default ``net.meta["support"]`` (only when a hash covers the meta,
            ``net.meta_covered``).
        timeout_s: wall-clock budget for all lemmas; running out gives ``"unknown"``, never ``"proved"``.
        rlimit: z3's deterministic resource limit per query (None: none; ``details["rlimit"]``); a lemma that
            hits it is ``"unknown"`` with the reason ``"resource limit: ..."``, the same on every machine.
    Returns:
        A :class:`theory.Certificate`, method ``"z3-induction"``; ``details`` holds premises, every lemma's
        statement/result/time, the index identities and the argument.
    Raises:
        TheoryError: ``net`` not a Network, no support (argument or meta), an invalid support, bad timeout.
    Source: Wang & Wu (2023), sparse long-range routing with shared filters (reconstruction);
    proof by induction over levels is ours.
    """
    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    budget = check_timeout(timeout_s)
    deadline = t0 + budget
    rlimit = check_rlimit(rlimit)
    if support is None and not net.meta_covered and "support" in net.meta:
        raise bad(
            "support",
            None,
            "the support given explicitly: the net's meta is not covered by a hash (a "
            "format-1 spec file), so its 'support' is not used (re-save it with theory.save to cover it)",
        )
    raw = support if support is not None else net.meta.get("support")
    if raw is None:
        raise bad("support", None, "a sequence of k distinct indices, or a net built by select (net.meta['support'])")
    idx = validate_support(raw, net.d)
    k = len(idx)
    claim = f"for every x in R^{net.d}: output j == x[support[j]] for all j < {k} (support = {idx})"
    base: dict[str, Any] = dict(
        claim=claim,
        method="z3-induction",
        spec_hash=net.content_hash,
        assumptions={
            "domain": f"R^{net.d}",
            "support": idx,
            "semantics": "exact rational arithmetic (z3 reals, ReLU as If(z > 0, z, 0))",
        },
    )
    premises, s, L = _premises(net, k)
    details: dict[str, Any] = {"premises": premises, "argument": ARGUMENT, "rlimit": rlimit}
    failed = [p["premise"] for p in premises if not p["holds"]]
    if failed:
        details["reason"] = "; ".join(f"premise: {name}" for name in failed)
        return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
    details.update(s=s, L=L, k=k)

    lemmas: list[Any] = []
    identities: list[Any] = []
    failures: list[Any] = []
    unknowns: list[Any] = []
    queries: list[Any] = []
    for level in range(L + 1):
        lemma = _lemma(net, idx, s, level, L)
        solver = z3.Solver()
        solver.add(lemma["query"])
        t = time.perf_counter()
        result, reason = solve(solver, deadline, queries, rlimit)
        rec = {
            "layer": level,
            "lemma": "readout" if level == L else f"level {level + 1}",
            "statement": lemma["statement"],
            "variables": len(lemma["vars"]),
            "z3": result,
            "seconds": round(time.perf_counter() - t, 6),
        }
        if reason:
            rec["reason"] = reason
        lemmas.append(rec)
        if result == "sat":
            failures.append((level, lemma, solver.model()))
        elif result == "unknown":
            unknowns.append(rec["lemma"])
        if level < L:
            isolver = z3.Solver()
            isolver.add(_index_identity(s, level))
            t = time.perf_counter()
            iresult, ireason = solve(isolver, deadline, queries, rlimit)
            identities.append(
                {
                    "l": level,
                    "identity": f"(p*{s} + delta_{level}(i))*{s}^{level} + i mod {s}^{level} == "
                    f"p*{s}^{level + 1} + i mod {s}^{level + 1}",
                    "z3": iresult,
                    "seconds": round(time.perf_counter() - t, 6),
                    **({"reason": ireason} if ireason else {}),
                }
            )
            if iresult == "sat":  # cannot happen for a true identity; kept so a broken z3 never proves
                unknowns.append(f"index identity l={level} (sat)")
            elif iresult == "unknown":
                unknowns.append(f"index identity l={level}")
    details.update(lemmas=lemmas, index_identities=identities)

    for level, lemma, model in failures:
        lifted = _lift(net, idx, lemma, model)
        if lifted is not None:
            point, out = lifted
            details.update(
                failed_lemma=lemmas[level]["lemma"],
                output_at_witness=[str(v) for v in out],
                expected_at_witness=[str(point.get(i, Fraction(0))) for i in idx],
            )
            return Certificate(
                status="refuted",
                witness=witness_of(net, point),
                seconds=time.perf_counter() - t0,
                details=details,
                **base,
            )
    if failures:
        names = [lemmas[level]["lemma"] for level, _, _ in failures]
        details["reason"] = (
            f"lemma(s) {names} failed but no counterexample lifts to the network (the level "
            "invariant is stronger than the claim); try prove_equivalent_monolithic for small d"
        )
        return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
    if unknowns:
        details["reason"] = f"z3 did not decide {unknowns}" + limit_note(lemmas + identities, rlimit)
        return Certificate(status="unknown", seconds=time.perf_counter() - t0, details=details, **base)
    details["smtlib"] = queries
    return Certificate(status="proved", seconds=time.perf_counter() - t0, details=details, **base)
