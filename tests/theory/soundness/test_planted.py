"""Planted soundness suite for the certifiers ``theory.certify_sup_error`` and ``theory.prove_routing``.

Idea from SoundnessBench (Zhou et al. 2024, "Testing Neural Network Verifiers: A Soundness Benchmark with Hidden
Counterexamples"): run the verifier on instances whose answer is known by construction, including instances
with planted violations, and count every answer that contradicts the known truth. Here the instances are 50
small toolkit networks (:mod:`tests.theory.soundness.cases`, deterministic in ``SEED``): Yarotsky square and
product heads and Kuhn interpolation heads, alone or after ``select`` routing, some with one weight changed by a
small rational, some with the target shifted by a constant, with ``eps`` just above or just below the true sup
error; and ``select`` / ``gather`` routing networks, correct or with one weight changed.

What is checked (independently of the certifiers: networks by ``theory.evaluate_exact`` in Fractions, targets
are polynomials with rational coefficients evaluated exactly):

* no unsound ``"proved"``: a proved sup bound with ``eps`` below a rigorous lower bound of the true sup, a
  certified ``upper`` below it, or a proved routing claim for a network with a known violating input;
* every ``"refuted"`` has a witness that really violates: inside the box and ``|net(w) - g(w)| > eps``
  exactly (sup), or an input whose exact output differs from ``x[support]`` (routing); and no ``"refuted"``
  where ``eps`` is at least the exactly known sup;
* every witness attains the certificate's ``lower`` (``|net(w) - g(w)| >= lower`` exactly), and no ``lower``
  exceeds an exactly known sup;
* the suite is not vacuous: correct cases with eps above the exact truth are proved, eps clearly below is
  refuted, correct routing is proved and perturbed routing refuted (each for at least half such cases).

``"unknown"`` (a time-out, an undecided gap) is allowed and counted, never a failure. Every comparison is
exact (Fractions), so no float tolerance enters and no TOLERANCES entry is needed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pytest

import theory
from theory import Certificate

from .cases import (
    CLEAR,
    N_CASES,
    Case,
    abs_error,
    exact_sup_1d,
    generate_cases,
    grid_max,
    net_value,
    pl_restriction,
    routing_violation,
    target_value,
)

SEED = 0
TIME_LIMIT_S = 1.0  # per sup case; a time-out gives "unknown" (counted, allowed)
ROUTING_TIMEOUT_S = 10.0  # per routing case; every lemma here is a few linear real constraints


@dataclass
class Outcome:
    case: Case
    status: str | None = None
    cert: Certificate | None = None
    error: str | None = None
    unsound: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ judges
def judge_sup(case: Case, cert: Certificate) -> list[str]:
    """Contradictions between a sup-norm certificate and the independent truth of ``case``."""
    out = []
    eps, lo_true, hi_true = case.eps, case.sup_lower, case.sup_upper
    if cert.status == "proved" and eps < lo_true:
        out.append(f"proved sup <= {eps} but the true sup is >= {lo_true} ({case.truth})")
    if cert.upper is not None and cert.upper < lo_true:
        out.append(f"certified upper bound {cert.upper} below the true sup >= {lo_true} ({case.truth})")
    if cert.lower is not None and hi_true is not None and cert.lower > hi_true:
        out.append(f"lower bound {cert.lower} above the exact true sup {hi_true}")
    err = None
    if cert.witness is not None:
        w = dict(cert.witness)
        if set(w) != set(case.box):
            out.append(f"witness variables {sorted(w)} are not the box's {sorted(case.box)}")
        elif not all(case.box[n][0] <= v <= case.box[n][1] for n, v in w.items()):
            out.append(f"witness {w} outside the box {case.box}")
        else:
            err = abs_error(case.net, case.target, w)
            if cert.lower is not None and err < cert.lower:
                out.append(f"witness {w} has error {err} < the claimed lower bound {cert.lower}")
    if cert.status == "refuted":
        if cert.witness is None:
            out.append("refuted without a witness")
        elif err is not None and not err > eps:
            out.append(f"refuted, but the witness {dict(cert.witness)} has error {err} <= eps {eps}")
        if hi_true is not None and eps >= hi_true:
            out.append(f"refuted although eps {eps} >= the exact true sup {hi_true}")
    return out


def judge_routing(case: Case, cert: Certificate) -> list[str]:
    """Contradictions between a routing certificate and the independent truth of ``case``."""
    out = []
    if cert.status == "proved" and case.routes is False:
        out.append(f"proved, but input {list(case.violation)} violates output j == x[support[j]]")
    if cert.status == "refuted":
        names = dict(cert.witness or {})
        if not names or not all(n.startswith("x") and n[1:].isdigit() and int(n[1:]) < case.net.d for n in names):
            out.append(f"refuted with an unusable witness {names}")
        else:
            x = [Fraction(0)] * case.net.d
            for n, v in names.items():
                x[int(n[1:])] = v
            if list(theory.evaluate_exact(case.net, x)) == [x[i] for i in case.support]:
                out.append(f"refuted, but the witness {names} is routed correctly")
    return out


def run_case(case: Case) -> Outcome:
    o = Outcome(case)
    try:
        if case.kind == "sup":
            o.cert = theory.certify_sup_error(
                case.net, case.target_text, case.box, eps=case.eps, time_limit_s=TIME_LIMIT_S
            )
            o.unsound = judge_sup(case, o.cert)
        else:
            o.cert = theory.prove_routing(case.net, case.support, timeout_s=ROUTING_TIMEOUT_S)
            o.unsound = judge_routing(case, o.cert)
        o.status = o.cert.status
    except Exception as e:  # recorded and reported by test_every_case_runs; the other cases still run
        o.error = f"{type(e).__name__}: {e}"
    return o


def summary(outcomes: list[Outcome]) -> str:
    count = lambda s: sum(o.status == s for o in outcomes)  # noqa: E731
    line = (
        f"planted: {len(outcomes)} cases, {count('proved')} proved, {count('refuted')} refuted, "
        f"{count('unknown')} unknown, {sum(bool(o.unsound) for o in outcomes)} unsound"
    )
    errors = sum(o.error is not None for o in outcomes)
    return line + (f", {errors} errors" if errors else "")


def describe(o: Outcome) -> str:
    c = o.case
    head = f"{c.name} [{c.category}] status={o.status}"
    if c.kind == "sup" and o.cert is not None:
        head += (
            f" eps={c.eps} true in [{c.sup_lower}, {c.sup_upper}] upper={o.cert.upper} lower={o.cert.lower} "
            f"witness={dict(o.cert.witness) if o.cert.witness else None} target={c.target_text} box={c.box}"
        )
    return head + f" facts={c.facts}"


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return generate_cases(SEED)


@pytest.fixture(scope="module")
def outcomes(cases) -> list[Outcome]:
    return [run_case(c) for c in cases]


# ------------------------------------------------------------------------------------------------ tests
def test_no_unsound_answer(outcomes):
    line = summary(outcomes)
    print(line)
    print("planted methods:", dict(Counter(o.cert.method for o in outcomes if o.cert is not None)))
    bad = [f"{describe(o)}\n    " + "\n    ".join(o.unsound) for o in outcomes if o.unsound]
    assert not bad, line + "\n" + "\n".join(bad)


def test_every_case_runs(outcomes):
    errors = [f"{o.case.name} [{o.case.category}]: {o.error}" for o in outcomes if o.error]
    assert not errors, summary(outcomes) + "\n" + "\n".join(errors)


def test_suite_is_not_vacuous(outcomes):
    """Decisive answers where the truth is exact and eps is off it: at least half of each group."""

    def share(select, want):
        group = [o for o in outcomes if select(o.case)]
        assert group, "empty group"
        return sum(o.status == want for o in group), len(group)

    groups = {
        "correct heads, eps above the exact sup -> proved": (
            lambda c: c.kind == "sup" and c.expect == "proved" and "perturbed" not in c.facts,
            "proved",
        ),
        "eps below the exact sup -> refuted": (lambda c: c.kind == "sup" and c.expect == "refuted", "refuted"),
        "eps clearly below the exact sup -> refuted": (
            lambda c: c.kind == "sup" and c.expect == "refuted" and c.margin == CLEAR,
            "refuted",
        ),
        "correct routing -> proved": (lambda c: c.kind == "routing" and c.routes is True, "proved"),
        "perturbed routing -> refuted": (lambda c: c.kind == "routing" and c.routes is False, "refuted"),
    }
    weak = []
    for what, (select, want) in groups.items():
        got, n = share(select, want)
        if 2 * got < n:
            weak.append(f"{what}: {got} of {n}")
    assert not weak, summary(outcomes) + "\n" + "\n".join(weak)


def test_planted_truths_hold(cases):
    """The generator's truths, re-derived: exact 1-D sups agree with theorems and are attained; analytic sups are
    attained and no grid point exceeds them; violating routing inputs violate; correct routing routes at probes."""
    assert len(cases) == N_CASES
    problems = []
    for c in cases:
        if c.truth == "exact 1-D":
            ((name, (lo, hi)),) = c.box.items()
            knots, values = pl_restriction(c.net, name, lo, hi)
            # the restriction is the network: direct exact evaluation at every knot and piece midpoint
            for a in range(len(knots) - 1):
                mid = (knots[a] + knots[a + 1]) / 2
                if (
                    net_value(c.net, {name: mid}) != (values[a] + values[a + 1]) / 2
                    or net_value(c.net, {name: knots[a]}) != values[a]
                ):
                    problems.append(f"{c.name}: exact restriction disagrees with evaluate_exact near {mid}")
                    break
            sup, _ = exact_sup_1d(knots, values, c.target, name)
            if not (sup == c.sup_lower == c.sup_upper == abs_error(c.net, c.target, c.argmax)):
                problems.append(
                    f"{c.name}: sup {sup}, recorded [{c.sup_lower}, {c.sup_upper}], at argmax "
                    f"{abs_error(c.net, c.target, c.argmax)}"
                )
            if "theorem_sup" in c.facts and sup != c.facts["theorem_sup"]:
                problems.append(f"{c.name}: exact sup {sup} != theorem {c.facts['theorem_sup']}")
        elif c.truth == "analytic":
            names = list(c.box)
            top, _ = grid_max(c.net, c.target, names, c.grid)
            if top > c.sup_upper:
                problems.append(f"{c.name}: grid error {top} exceeds the analytic sup {c.sup_upper}")
            if c.argmax is not None and abs_error(c.net, c.target, c.argmax) != c.sup_lower:
                problems.append(f"{c.name}: analytic maximiser {c.argmax} does not attain {c.sup_lower}")
            if c.argmax is None and top != c.sup_lower:  # shifted: the sup sits at a grid point of the other sign
                problems.append(f"{c.name}: grid maximum {top} != analytic sup {c.sup_lower}")
        elif c.truth == "grid":
            if abs_error(c.net, c.target, c.argmax) != c.sup_lower:
                problems.append(f"{c.name}: grid maximum {c.sup_lower} not attained at {c.argmax}")
            if c.eps not in (c.sup_lower * (1 + c.margin), c.sup_lower * (1 - c.margin)):
                problems.append(f"{c.name}: eps {c.eps} is not the grid maximum {c.sup_lower} * (1 +- {c.margin})")
        elif c.routes is False:
            x = list(c.violation)
            if list(theory.evaluate_exact(c.net, x)) == [x[i] for i in c.support]:
                problems.append(f"{c.name}: the recorded violation is routed correctly")
        else:
            assert c.routes is True
            if routing_violation(c.net, c.support, np.random.default_rng(SEED)) is not None:
                problems.append(f"{c.name}: an unperturbed routing network fails at a probe point")
    assert not problems, "\n".join(problems)


def test_targets_are_exact_polynomials(cases):
    """Targets are evaluated exactly: polynomials with rational coefficients in the box's variables."""
    for c in cases:
        if c.kind == "sup":
            assert {str(s) for s in c.target.free_symbols} <= set(c.box), c.name
            point = {n: lo for n, (lo, hi) in c.box.items()}
            assert isinstance(target_value(c.target, point), Fraction), c.name


def test_generation_is_deterministic(cases):
    again = generate_cases(SEED)
    key = lambda c: (
        c.name,
        c.net.content_hash,
        c.eps,
        c.sup_lower,
        c.sup_upper,
        c.target_text,  # noqa: E731
        tuple(sorted(c.box.items())),
        c.support,
        c.violation,
    )
    assert [key(c) for c in again] == [key(c) for c in cases]


def test_judges_catch_false_answers(cases):
    """The judges are not blind: forged certificates that contradict the truth are flagged."""
    below = next(c for c in cases if c.kind == "sup" and c.expect == "refuted" and c.truth == "exact 1-D")
    above = next(c for c in cases if c.kind == "sup" and c.expect == "proved" and c.truth == "exact 1-D")
    forge = lambda c, **kw: Certificate(
        claim="forged",
        method=kw.pop("method", "interval-bnb"),  # noqa: E731
        spec_hash=c.net.content_hash,
        **kw,
    )
    assert judge_sup(below, forge(below, status="proved", upper=below.eps, eps=below.eps))
    assert not judge_sup(above, forge(above, status="proved", upper=above.eps, eps=above.eps))
    ((name, (lo, hi)),) = above.box.items()
    calm = min(
        (lo + (hi - lo) * Fraction(r, 64) for r in range(65)),
        key=lambda t: abs_error(above.net, above.target, {name: t}),
    )  # a point of small error
    assert abs_error(above.net, above.target, {name: calm}) <= above.eps
    assert judge_sup(above, forge(above, status="refuted", witness={name: calm}, eps=above.eps))
    assert judge_sup(above, forge(above, status="refuted", witness={name: hi + 1}, eps=above.eps))
    assert judge_sup(above, forge(above, status="unknown", lower=above.sup_upper * 2, eps=above.eps))
    honest = forge(below, status="refuted", witness=below.argmax, lower=below.sup_lower, eps=below.eps)
    assert not judge_sup(below, honest)

    wrong = next(c for c in cases if c.kind == "routing" and c.routes is False)
    right = next(c for c in cases if c.kind == "routing" and c.routes is True)
    assert judge_routing(wrong, forge(wrong, status="proved", method="z3-induction"))
    assert not judge_routing(right, forge(right, status="proved", method="z3-induction"))
    assert judge_routing(right, forge(right, status="refuted", method="z3-induction", witness={"x0": 1}))
    real = {f"x{i}": v for i, v in enumerate(wrong.violation) if v != 0}
    assert not judge_routing(wrong, forge(wrong, status="refuted", method="z3-induction", witness=real))


def test_checker_accepts_every_decided_sup_certificate(outcomes):
    """No false rejection: the independent checker re-establishes every proved or refuted sup-norm certificate
    of the suite from its proof object (the hidden counterexamples included: their certificates are true)."""
    checked, wrong = 0, []
    for o in outcomes:
        if o.case.kind != "sup" or o.cert is None or o.cert.status not in ("proved", "refuted"):
            continue
        report = theory.check_certificate(o.cert, o.case.net)
        checked += 1
        if not report.accepted:
            wrong.append(f"{o.case.name} [{o.case.category}] {o.cert.method} {o.cert.status}: {report.summary()}")
    print(f"checker: {checked} decided sup certificates, {len(wrong)} not accepted")
    assert checked >= 10, "too few decided certificates to say anything"
    assert not wrong, "\n".join(wrong)
