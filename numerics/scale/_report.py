"""What :func:`numerics.check_at_scale` returns: the :class:`ScaleReport` record, and the warning it raises when an
exactly re-evaluated error convicts a claimed bound (:class:`UnsoundCertificateWarning`).

The report's numbers are made by :mod:`numerics.scale._check` (sampling and search),
:mod:`numerics.scale._bounds` (exact witnesses, certified and a-priori bounds) and
:mod:`numerics.scale._float_checks` (float deviations and the second path); here they are only held, turned into
plain JSON and summarised in a few lines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any


class UnsoundCertificateWarning(UserWarning):
    """An exactly re-evaluated error exceeds a certified (or a-priori) upper bound: the bound is unsound."""


@dataclass(frozen=True)
class ScaleReport:
    """What :func:`check_at_scale` measured.

    ``max_error`` is the largest error found, evaluated rigorously at :attr:`argmax` (exact network, target
    enclosed by mpmath intervals): a rigorous lower bound on the sup error, exactly :attr:`lower_bound`.
    ``float_max_error`` is the largest error of the float network (``dtype``) over samples and search;
    ``mean_error`` the mean float error over the random samples. ``unsound`` is set when ``lower_bound``
    exceeds the certified upper bound or the construction's a-priori bound.
    """

    max_error: float
    lower_bound: Fraction
    argmax: dict[str, float]
    mean_error: float
    float_max_error: float
    samples: int
    samples_per_s: float
    sampling_seconds: float
    search: dict[str, Any]
    certified_upper: Fraction | None
    certificate: dict[str, Any] | None
    a_priori_bound: Fraction | None
    gap: float | None
    ratio: float | None
    unsound: bool
    float_error: dict[str, Any]
    cross_check: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (Fractions as exact strings)."""
        out = asdict(self)
        for k in ("lower_bound", "certified_upper", "a_priori_bound"):
            out[k] = None if out[k] is None else str(out[k])
        return out

    def summary(self) -> str:
        """A few human-readable lines: errors found, throughput, certified and a-priori bounds, soundness flags."""
        lines = []
        if self.unsound:
            lines.append("!!! UNSOUND BOUND: the exactly re-evaluated error exceeds a claimed upper bound !!!")
        lines += [
            f"max error (rigorous lower bound on the sup error): {self.max_error:.6g} at {self.argmax}",
            f"float ({self.run.get('dtype')}) max error {self.float_max_error:.6g}, mean {self.mean_error:.6g}, "
            f"{self.samples} samples at {self.samples_per_s:.4g}/s on {self.run.get('path')}/{self.run.get('device')}",
        ]
        if self.certified_upper is not None:
            lines.append(
                f"certified upper {float(self.certified_upper):.6g}: gap {self.gap:.3g}, ratio {self.ratio:.4g}"
            )
        if self.a_priori_bound is not None:
            lines.append(f"a-priori bound {float(self.a_priori_bound):.6g}")
        for label, v in self.float_error.get("measured", {}).items():
            lines.append(
                f"  {label}: |float - exact| {v['max_deviation']:.3g} <= bound {v['bound']:.3g}: {v['respected']}"
            )
        return "\n".join(lines)
