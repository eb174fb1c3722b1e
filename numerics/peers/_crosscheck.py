"""Cross-check of the routing claim: our z3 induction proof against a peer verifier, every answer replayed exactly.

Steps of :func:`crosscheck`: (1) the claim as a :class:`Property` (:func:`routing_property`, box and margin); (2) ours:
:func:`theory.prove_routing` (exact, for every x in R^d); a refutation's witness is moved into the box by scaling
when it lies outside, and re-evaluated exactly; (3) the peer: each disjunct ("case") of the negated claim, one
query each, with its own timeout; (4) every ``sat`` point is replayed with :func:`theory.evaluate_exact` on the
exact value of its floats, first clipped onto the box (a peer's point may lie outside it by its feasibility
tolerance; the clipping is recorded); (5) :func:`classify`.

Verdicts (:data:`VERDICTS`): ``agree`` (both proved; or both refuted, the peer with a point that violates the
claim exactly), ``disagree`` (one proves while the other has an exactly re-checked counterexample: a soundness bug
in one of the two tools, reported loudly), ``spurious`` (the peer's only ``sat`` points satisfy the claim exactly:
a float-tolerance artefact), ``unknown`` (a tool timed out, failed or was not applicable). Source: ours.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import theory

from .._errors import bad, theory_errors
from ._marabou import PeerAnswer, solve_case, write_layers
from ._property import Property, replay, routing_property

PEERS = ("marabou",)
VERDICTS = ("agree", "disagree", "spurious", "unknown")
OUTCOMES = ("proved", "refuted", "spurious", "unknown")
"""What one tool's answers amount to: ``proved``, ``refuted`` (a counterexample that re-checks exactly),
``spurious`` (the peer's ``sat`` points all satisfy the claim exactly), ``unknown``."""


@dataclass(frozen=True)
class Replay:
    """A peer's point re-checked exactly: ``point`` (clipped onto the box; ``clipped`` coordinates were moved, by
    at most ``max_clip``), the exact ``outputs`` and ``errors`` ``|Y_j - t_j(x)|``; ``violates`` whether the claim
    fails there (some error above ``eps``), ``meets_margin`` whether the point satisfies the query as stated
    (some error ``>= eps + tol``)."""

    point: tuple[Fraction, ...]
    clipped: int
    max_clip: Fraction
    outputs: tuple[Fraction, ...]
    errors: tuple[Fraction, ...]
    violates: bool
    meets_margin: bool

    @property
    def max_error(self) -> Fraction:
        return max(self.errors, default=Fraction(0))


def replay_point(prop: Property, net: theory.Network, point: Any) -> Replay:
    """Clip ``point`` (X order, floats or exact numbers) onto the property's box and evaluate ``net`` exactly."""
    lo, hi = prop.box
    exact = [Fraction(v) for v in point]
    clipped = [min(max(v, lo), hi) for v in exact]
    moved = [abs(a - b) for a, b in zip(exact, clipped) if a != b]
    xs, ys, errs = replay(prop, net, clipped)
    return Replay(
        xs,
        len(moved),
        max(moved, default=Fraction(0)),
        ys,
        errs,
        any(e > prop.eps for e in errs),
        any(e >= prop.threshold for e in errs),
    )


@dataclass(frozen=True)
class Case:
    """One disjunct of the negated claim as the peer answered it, with the exact replay of a ``sat`` point."""

    case: int
    answer: PeerAnswer
    replay: Replay | None = None


def peer_outcome(cases: tuple[Case, ...], n_cases: int) -> str:
    """:data:`OUTCOMES` of the peer's answers: ``refuted`` if any point violates the claim exactly; ``proved`` if
    all ``n_cases`` are ``unsat``; ``spurious`` if some ``sat`` point satisfies the claim exactly and no case
    timed out or failed; else ``unknown``."""
    if any(c.replay is not None and c.replay.violates for c in cases):
        return "refuted"
    statuses = [c.answer.status for c in cases]
    if len(cases) == n_cases and all(s == "unsat" for s in statuses):
        return "proved"
    if len(cases) == n_cases and "sat" in statuses and all(s in ("sat", "unsat") for s in statuses):
        return "spurious"
    return "unknown"


def classify(ours: str, peer: str, ours_meets_margin: bool = False) -> tuple[str, str]:
    """The verdict and its reason from the two outcomes (:data:`OUTCOMES`).

    ``ours_meets_margin``: whether our counterexample (re-checked exactly, inside the box) satisfies the query the
    peer was given (an error ``>= eps + tol``): only then does a peer's ``unsat`` contradict it.
    """
    if ours not in OUTCOMES[:2] + ("unknown",) or peer not in OUTCOMES:
        raise bad("outcome", (ours, peer), f"ours in proved | refuted | unknown, peer in {' | '.join(OUTCOMES)}")
    if ours == "proved" and peer == "refuted":
        return "disagree", (
            "UNSOUND: prove_routing proved the claim, but the peer's point violates it in exact arithmetic"
        )
    if ours == "refuted" and peer == "proved" and ours_meets_margin:
        return "disagree", (
            "UNSOUND: the peer proved the claim (up to the margin), but our counterexample in the "
            "box violates it by more than the margin in exact arithmetic"
        )
    if peer == "spurious":
        return "spurious", "every sat point of the peer satisfies the claim exactly (a float-tolerance artefact)"
    if ours == peer == "proved":
        return "agree", "both proved the claim"
    if ours == peer == "refuted":
        return "agree", "both refuted the claim with counterexamples that re-check exactly"
    if ours == "refuted" and peer == "proved":
        return "unknown", "our counterexample is outside the box or below the margin, where the peer's unsat is silent"
    return "unknown", f"not both decided (ours: {ours}, peer: {peer})"


@dataclass(frozen=True)
class Crosscheck:
    """The record of one cross-check. ``verdict`` (:data:`VERDICTS`) and ``reason``; ``ours`` (the
    :class:`theory.Certificate` of :func:`theory.prove_routing`) and ``ours_outcome``; ``ours_replay`` (our
    witness, moved into the box, re-checked; None unless refuted); ``peer``, ``peer_outcome`` and ``cases``;
    ``prop``; seconds: ``ours_seconds``, ``peer_seconds`` (the peer's solver time, summed) and
    ``peer_wall_seconds`` (its processes, summed)."""

    verdict: str
    reason: str
    prop: Property
    ours: theory.Certificate
    ours_outcome: str
    peer: str
    peer_outcome: str
    cases: tuple[Case, ...]
    ours_replay: Replay | None = None
    ours_seconds: float = 0.0
    peer_seconds: float = 0.0
    peer_wall_seconds: float = 0.0
    spurious_points: int = field(default=0)

    @property
    def exit_code(self) -> int:
        """:data:`theory.cli.EXIT_CODES`: 0 agree (proved); 1 agree (refuted), spurious or unknown; 3 disagree."""
        if self.verdict == "disagree":
            return theory.cli.EXIT_UNSOUND
        return theory.cli.EXIT_OK if self.verdict == "agree" and self.ours_outcome == "proved" else theory.cli.EXIT_FAIL

    def summary(self) -> str:
        """A few lines for the command line."""
        p = self.prop
        head = f"{self.verdict.upper()}" + (f" ({self.ours_outcome})" if self.verdict == "agree" else "")
        lines = [
            f"crosscheck: {head}: {self.reason}",
            f"  claim: {p.statement()}, margin tol = {p.tol}",
            f"  ours (theory.prove_routing): {self.ours.status} in {self.ours_seconds:.3f} s",
            (
                f"  {self.peer}: {self.peer_outcome}; {len(self.cases)} of {p.cases} cases run, solver "
                f"{self.peer_seconds:.3f} s, processes {self.peer_wall_seconds:.3f} s"
            ),
        ]
        for c in self.cases:
            text = (
                f"    case {c.case} (output {c.case // 2} {'above' if c.case % 2 == 0 else 'below'}): {c.answer.status}"
            )
            if c.replay is not None:
                r = c.replay
                text += (
                    f", exact error at its point {float(r.max_error):.3g} ("
                    f"{'violates the claim' if r.violates else 'claim holds there: spurious'}"
                    f"{f'; {r.clipped} coordinates clipped onto the box' if r.clipped else ''})"
                )
            if c.answer.message:
                text += f" ({c.answer.message})"
            lines.append(text)
        if self.ours_replay is not None:
            lines.append(f"  our witness in the box: exact error {float(self.ours_replay.max_error):.3g}")
        return "\n".join(lines)


def _ours(net: theory.Network, prop: Property, timeout: float) -> tuple[theory.Certificate, str, Replay | None]:
    with theory_errors():
        cert = theory.prove_routing(net, prop.support, timeout_s=timeout)
    if cert.status != "refuted":
        return cert, ("proved" if cert.status == "proved" else "unknown"), None
    point = [Fraction(0)] * prop.n_inputs
    assert cert.witness is not None  # theory.Certificate refuses status 'refuted' without a witness
    with theory_errors():
        for name, v in cert.witness.items():
            point[theory.input_unit(net, name)] = Fraction(v)
    lo, hi = prop.box
    scale = Fraction(1)
    for v in point:  # a routing network without biases is positively homogeneous; the exact replay decides anyway
        if v > hi:
            scale = min(scale, hi / v) if hi > 0 else Fraction(0)
        elif v < lo:
            scale = min(scale, lo / v) if lo < 0 else Fraction(0)
    r = replay_point(prop, net, [v * scale for v in point])
    return cert, "refuted", r if r.violates else None


def crosscheck(
    net: theory.Network,
    with_: str = "marabou",
    *,
    timeout: float = 60,
    box: Any = None,
    support: Any = None,
    tol: Any = None,
    workdir: Any = None,
    force: bool = False,
    all_cases: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Crosscheck:
    """Check the routing claim of ``net`` with :func:`theory.prove_routing` and with a peer verifier; classify.

    Args:
        net: a routing spec (``theory.select``; a ``gather`` spec is checked by the peer, but ours does not apply
            to it, so the verdict is ``unknown``).
        with_: the peer, one of :data:`PEERS`.
        timeout: seconds for ours, and for each of the peer's ``2 k`` queries (a query that overruns is killed
            and counts as ``timeout``: never a proof).
        box: ``(lo, hi)`` of every input (default ``[-1, 1]``). support: the routed indices (default: the spec's).
        tol: the margin of the query (default ``TOLERANCES["vnnlib_margin"]``, 2^-10).
        workdir: a new directory to keep the peer's files in (network ``.npz``, the VNN-LIB file of each case,
            the answers), written as a whole at the end with the ``--out`` contract
            (:func:`theory.io.atomic_write_dir`): an existing one is refused, or replaced with ``force`` only when
            cnnverify wrote it; default none (the files live in a temporary directory, removed).
        force: replace an existing ``workdir`` that cnnverify wrote.
        all_cases: run every case even after an exact counterexample (default: stop at the first).
        progress: called with one line per finished case.
    Returns:
        A :class:`Crosscheck` (module docstring for the verdicts).
    Raises:
        NumericsError: unknown peer, maraboupy missing, bad spec, support, box, tol or timeout.
    """
    if with_ not in PEERS:
        raise bad("with", with_, " | ".join(PEERS))
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e6:
        raise bad("timeout", timeout, "seconds, a number in (0, 1e6)")
    prop = routing_property(net, support=support, box=box, tol=tol)
    if workdir is not None:
        with theory_errors():
            theory.io.check_writable(workdir, "directory", force=force, flag="workdir")
    t0 = time.perf_counter()
    cert, ours, ours_replay = _ours(net, prop, timeout)
    ours_seconds = time.perf_counter() - t0
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="cnnverify-crosscheck-") as tmp:
        work = Path(tmp)
        npz = write_layers(net, work / "network.npz")
        for c in range(prop.cases):
            answer = solve_case(npz, prop, c, timeout=timeout, work=work)
            r = replay_point(prop, net, answer.point) if answer.point is not None else None
            cases.append(Case(c, answer, r))
            if progress is not None:
                progress(f"case {c + 1}/{prop.cases}: {answer.status}")
            if r is not None and r.violates and not all_cases:
                break
        if workdir is not None:
            kept = {f.name: f.read_bytes() for f in sorted(work.iterdir()) if f.is_file()}
            with theory_errors():
                theory.io.atomic_write_dir(workdir, kept, force=force, tool="numerics.crosscheck")
    outcome = peer_outcome(tuple(cases), prop.cases)
    verdict, reason = classify(ours, outcome, ours_replay is not None and ours_replay.meets_margin)
    return Crosscheck(
        verdict,
        reason,
        prop,
        cert,
        ours,
        with_,
        outcome,
        tuple(cases),
        ours_replay,
        ours_seconds,
        sum(c.answer.seconds or 0.0 for c in cases),
        sum(c.answer.wall_seconds or 0.0 for c in cases),
        sum(1 for c in cases if c.replay is not None and not c.replay.violates),
    )
