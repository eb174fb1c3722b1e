"""The outcome of a certificate check: a frozen record, its one-line summary and its exit code."""

from __future__ import annotations

from dataclasses import asdict, dataclass

CHECK_VERDICTS = ("accepted", "rejected", "unproven", "unsupported")
"""``accepted``: every fact re-established; ``rejected``: a fact is false or the proof malformed (the first failing
step named, with a point showing a false bound); ``unproven``: a leaf's bound or a query not shown within the
checker's budget, nothing showing it false; ``unsupported``: no procedure (method, semantics, size, no proof)."""


@dataclass(frozen=True)
class CheckReport:
    """What :func:`theory.check_certificate` found.

    Attributes:
        verdict: one of :data:`CHECK_VERDICTS`.
        method: the certificate's method.
        step: the step that failed (``"cover"``, ``"bound"``, ``"vertex values"``, ``"affine"``, ``"witness"``,
            ``"status"``, ``"network"``, ``"target"``, ...); ``""`` when accepted.
        message: what failed, naming the region, node, vertex or fact; ``""`` when accepted.
        leaves: leaves of the cover whose bounds were re-derived.
        splits: halvings the checker added where its own bound was looser than a leaf's claim.
        seconds: wall time of the check.
        queries: the queries the checker regenerated and had cvc5 answer (each compared with the certificate's).
    """

    verdict: str
    method: str
    step: str = ""
    message: str = ""
    leaves: int = 0
    splits: int = 0
    seconds: float = 0.0
    queries: int = 0

    def __post_init__(self) -> None:
        if self.verdict not in CHECK_VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {CHECK_VERDICTS}")

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"

    @property
    def exit_code(self) -> int:
        """0 accepted, 3 rejected (the exit code of an unsound result), 1 unproven or unsupported."""
        return {"accepted": 0, "rejected": 3, "unproven": 1, "unsupported": 1}[self.verdict]

    def summary(self) -> str:
        if not self.accepted:
            return f"{self.verdict} ({self.step}): {self.message}"
        work = f"{self.leaves} leaves, {self.splits} extra halvings" if self.leaves else "the witness re-evaluated"
        work = f"{self.queries} cvc5 queries" if self.queries else work
        return f"accepted: {self.method} certificate re-checked ({work}, {self.seconds:.2f} s)"

    def to_json(self) -> dict:
        return asdict(self)
