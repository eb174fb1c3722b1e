"""Certificates: what was proved, about which spec, under which assumptions, by which method."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from .._errors import TheoryError, bad
from ..io import atomic_write_file, read_json
from ..spec import as_rational
from ..spec._network import _freeze, thaw

CERTIFICATE_STATUSES = ("proved", "refuted", "unknown")
CERTIFICATE_METHODS = ("z3-induction", "z3-monolithic", "z3-nra", "interval-bnb", "kuhn-pieces", "symbolic", "exact")
CERT_FORMAT, CERT_VERSION = "cnnverify.certificate", 2  # version 1: the same without "proof"


def library_versions() -> dict[str, str]:
    """Versions of the libraries a proof depends on (recorded in every certificate)."""
    import numpy
    import sympy
    import z3

    return {
        "python": platform.python_version(),
        "z3": z3.get_version_string(),
        "sympy": sympy.__version__,
        "numpy": numpy.__version__,
    }


def _opt_rational(value: Any, name: str) -> Fraction | None:
    return None if value is None else as_rational(value, name)


def decide_status(upper: Fraction | None, lower: Fraction | None, eps: Fraction | None) -> str:
    """The status of a bound certificate: without ``eps`` ``"proved"`` when ``upper`` is finite (not None);
    with ``eps`` ``"proved"`` if ``upper <= eps``, ``"refuted"`` if ``lower > eps`` (a rigorous witness), else
    ``"unknown"``."""
    if eps is None:
        return "proved" if upper is not None else "unknown"
    if upper is not None and upper <= eps:
        return "proved"
    if lower is not None and lower > eps:
        return "refuted"
    return "unknown"


@dataclass(frozen=True, eq=False)
class Certificate:
    """The outcome of a proof attempt about exactly one network spec.

    Attributes:
        claim: the statement, in words and formulas (e.g. "for all x in R^d: output j == x[i_j]").
        status: ``"proved"`` (the prover established the claim about these weights), ``"refuted"`` (a
            counterexample is in ``witness`` and was re-checked exactly), or ``"unknown"`` (timeout, solver
            unknown, budget exhausted). A timeout is never ``"proved"``.
        method: one of :data:`CERTIFICATE_METHODS`.
        spec_hash: :attr:`theory.Network.content_hash` of the spec the claim is about.
        assumptions: JSON-able facts the proof relies on, e.g. ``{"domain": [["-1", "1"], ...],
            "semantics": "exact rational arithmetic"}``.
        upper: certified upper bound (e.g. of a sup-norm error), exact, when the claim is a bound.
        lower: best lower bound found (attained at ``witness``), exact.
        eps: the bound that was asked for, when one was.
        witness: a point (variable name -> exact rational) where ``lower`` is attained, or the counterexample.
        seconds: wall time of the proof attempt.
        versions: library versions (:func:`library_versions`).
        details: JSON-able method-specific record (lemmas per level, boxes explored, solver statistics).
        proof: JSON-able proof object a checker re-verifies without searching (a sup-norm search's final
            cover: :func:`theory.check_certificate`, docs/certificates.md); None: none recorded.
    """

    claim: str
    status: str
    method: str
    spec_hash: str
    assumptions: Mapping[str, Any] = field(default_factory=dict)
    upper: Fraction | None = None
    lower: Fraction | None = None
    eps: Fraction | None = None
    witness: Mapping[str, Fraction] | None = None
    seconds: float = 0.0
    versions: Mapping[str, str] = field(default_factory=library_versions)
    details: Mapping[str, Any] = field(default_factory=dict)
    proof: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.status not in CERTIFICATE_STATUSES:
            raise bad("status", self.status, f"one of {CERTIFICATE_STATUSES}")
        if self.method not in CERTIFICATE_METHODS:
            raise bad("method", self.method, f"one of {CERTIFICATE_METHODS}")
        if not isinstance(self.claim, str) or not self.claim:
            raise bad("claim", self.claim, "a non-empty statement")
        if not isinstance(self.spec_hash, str):
            raise bad("spec_hash", self.spec_hash, "a Network.content_hash string")
        for name in ("upper", "lower", "eps"):
            object.__setattr__(self, name, _opt_rational(getattr(self, name), name))
        if self.witness is not None:
            object.__setattr__(
                self, "witness", _freeze({str(k): as_rational(v, "witness") for k, v in self.witness.items()})
            )
        if self.status == "refuted" and self.witness is None:
            raise bad("witness", None, "a counterexample point when status is 'refuted'")
        if self.upper is not None and self.lower is not None and self.lower > self.upper:
            raise TheoryError(f"unsound certificate: lower bound {self.lower} exceeds upper bound {self.upper}")
        for name in ("assumptions", "versions", "details"):
            value = getattr(self, name)
            try:
                json.dumps(thaw(_freeze(dict(value))))
            except (TypeError, ValueError):
                raise bad(name, value, "a JSON-able mapping") from None
            object.__setattr__(self, name, _freeze(dict(value)))
        if self.proof is not None:
            if not isinstance(self.proof, Mapping):
                raise bad("proof", type(self.proof).__name__, "None or a JSON-able mapping")
            try:
                json.dumps(thaw(_freeze(dict(self.proof))))
            except (TypeError, ValueError):
                raise bad("proof", "...", "a JSON-able mapping") from None
            object.__setattr__(self, "proof", _freeze(dict(self.proof)))
        object.__setattr__(self, "seconds", float(self.seconds))

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    @property
    def incomplete(self) -> str | None:
        """Why a bound search stopped before its target ratio, or None when it did not.

        Only for a sup-norm certificate (``details`` with ``gap_reached``) asked for a bound rather than a
        decision (``eps`` None): ``"budget exhausted"`` (time limit reached), ``"boxes at the minimum width"``
        or ``"gap not reached"`` when ``upper > (1 + rel_gap) lower``. With a work budget (``details["max_work"]``
        set) the budget is named: ``"work budget exhausted"`` or ``"time budget exhausted"``
        (``details["stopped_by"]``). The upper bound is proved all the same (status ``"proved"``); it may just be
        far above the true error. An upper bound of 0 is exact.
        """
        d = self.details
        if "gap_reached" not in d or self.eps is not None or self.upper is None or self.upper == 0 or d["gap_reached"]:
            return None
        if d.get("max_work") is not None and d.get("stopped_by") in ("work", "time"):
            return f"{d['stopped_by']} budget exhausted"
        if d.get("timed_out"):
            return "budget exhausted"
        return "boxes at the minimum width" if d.get("min_width_reached") else "gap not reached"

    def bound_line(self) -> str | None:
        """``upper bound 6.05 (budget exhausted; upper/lower = 6000, target <= 1.01)`` for an incomplete bound
        search (:attr:`incomplete`), else None."""
        why = self.incomplete
        if why is None or self.upper is None:
            return None
        if self.lower:
            ratio = f"upper/lower = {float(self.upper / self.lower):.4g}"
        else:
            ratio = "no lower bound found"
        gap = self.details.get("rel_gap")
        target = f", target <= {1 + float(gap):g}" if isinstance(gap, (int, float)) else ""
        return (
            f"upper bound {float(self.upper):.6g} ({why}; {ratio}{target}): the bound is proved, but the "
            "true error may be far below it"
        )

    def smtlib(self) -> tuple[str, ...]:
        """The SMT-LIB 2 scripts of the z3 queries behind a ``proved`` z3 certificate (each ends in ``(check-sat)``;
        z3 answered ``unsat`` to every one), in the order they ran; empty for other methods. A record, not a
        program: :func:`theory.check_certificate` regenerates the queries and only compares this text with them."""
        return tuple(self.details.get("smtlib", ()))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; rationals as exact strings."""
        q = lambda v: None if v is None else str(v)  # noqa: E731
        return {
            "format": CERT_FORMAT,
            "version": CERT_VERSION,
            "claim": self.claim,
            "status": self.status,
            "method": self.method,
            "spec_hash": self.spec_hash,
            "assumptions": thaw(self.assumptions),
            "upper": q(self.upper),
            "lower": q(self.lower),
            "eps": q(self.eps),
            "witness": None if self.witness is None else {k: str(v) for k, v in self.witness.items()},
            "seconds": self.seconds,
            "versions": thaw(self.versions),
            "details": thaw(self.details),
            "proof": None if self.proof is None else thaw(self.proof),
        }

    @classmethod
    def from_json(cls, obj: Any) -> "Certificate":
        """Rebuild from :meth:`to_json` output. Raises TheoryError on a malformed document."""
        if not isinstance(obj, Mapping) or obj.get("format") != CERT_FORMAT:
            raise TheoryError(f"not a {CERT_FORMAT} document")
        if type(obj.get("version")) is not int or obj["version"] not in (1, CERT_VERSION):
            raise TheoryError(f"unsupported certificate version {obj.get('version')!r}")
        try:
            return cls(
                claim=obj["claim"],
                status=obj["status"],
                method=obj["method"],
                spec_hash=obj["spec_hash"],
                assumptions=obj["assumptions"],
                upper=obj["upper"],
                lower=obj["lower"],
                eps=obj["eps"],
                witness=obj["witness"],
                seconds=obj["seconds"],
                versions=obj["versions"],
                details=obj["details"],
                proof=obj.get("proof"),
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise TheoryError(f"malformed certificate: {type(e).__name__}: {e}") from None
        except RecursionError:
            raise TheoryError("malformed certificate: nested too deeply (a corrupted file)") from None

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the certificate as JSON to the file ``path``, atomically; an existing file needs ``force``."""
        return atomic_write_file(path, json.dumps(self.to_json(), indent=2).encode(), force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Certificate":
        """Read a certificate written by :meth:`save`. Raises TheoryError on an unreadable or malformed file."""
        obj = read_json(path, "certificate")
        try:
            return cls.from_json(obj)
        except TheoryError as e:
            raise TheoryError(f"{path}: {e}") from None

    def summary(self) -> str:
        """A few human-readable lines: status, claim, method, time, bounds with their ratio (and, for a bound search
        stopped before its target ratio, why: :meth:`bound_line`), witness."""
        parts = [
            f"[{self.status}] {self.claim}",
            f"  method: {self.method}, {self.seconds:.3f} s, spec {self.spec_hash[:12]}",
        ]
        if self.upper is not None:
            note = self.bound_line()
            parts.append(f"  {note}" if note else f"  upper: {float(self.upper):.6g}")
        if self.lower is not None:
            parts.append(
                f"  lower: {float(self.lower):.6g}"
                + (f" (ratio {float(self.upper / self.lower):.4f})" if self.upper is not None and self.lower else "")
            )
        if self.witness:
            parts.append("  witness: " + ", ".join(f"{k}={float(v):.6g}" for k, v in list(self.witness.items())[:8]))
        return "\n".join(parts)
