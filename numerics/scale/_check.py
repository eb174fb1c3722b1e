"""The sup-norm error of a network against a target at scale: sampling, search, exact witness, certificates.

Source of the method: Monte-Carlo sampling plus projected gradient ascent (standard) for a lower bound;
exact rational re-evaluation of the network and mpmath interval enclosure of the target make the lower bound
rigorous; the certified upper bound comes from :func:`theory.certify_sup_error` (interval branch and bound).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
import torch

import theory

from ..convert import to_module
from theory.cli import MAX_SECONDS, plan_samples
from .._errors import NumericsError, bad
from ._rounding import float_deviation, rounding_bound
from ._dense import DensePath
from ._paths import StructuredPath, serial
from ._engine import DEFAULT_BUDGET, Engine, PeakMemory, _mix, check_count, inward
from ._ascent import TopK, ascend
from ._target import exact_constant, make_target


TARGET_SLACK = 1e-12  # absolute slack for the float64 evaluation of the target (torch's float64 functions: a few ulps)


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
        lines += [f"max error (rigorous lower bound on the sup error): {self.max_error:.6g} at {self.argmax}",
                  f"float ({self.run.get('dtype')}) max error {self.float_max_error:.6g}, mean {self.mean_error:.6g}, "
                  f"{self.samples} samples at {self.samples_per_s:.4g}/s on {self.run.get('path')}/{self.run.get('device')}"]
        if self.certified_upper is not None:
            lines.append(f"certified upper {float(self.certified_upper):.6g}: gap {self.gap:.3g}, ratio {self.ratio:.4g}")
        if self.a_priori_bound is not None:
            lines.append(f"a-priori bound {float(self.a_priori_bound):.6g}")
        for label, v in self.float_error.get("measured", {}).items():
            lines.append(f"  {label}: |float - exact| {v['max_deviation']:.3g} <= bound {v['bound']:.3g}: {v['respected']}")
        return "\n".join(lines)


def _exact_error(net: theory.Network, tg: Any, point: np.ndarray, values: list[Fraction]) -> Fraction:
    """Rigorous lower bound of ``max_j |net_j - g_j|`` at a point: exact network, target enclosed in [a, b]."""
    out = theory.evaluate_exact(net, point)
    return max(max(Fraction(0), a - q, q - b) for q, (a, b) in zip(out, tg.enclose(values)))


def _certificate_witness(net: theory.Network, tg: Any, cert: Any, fill: float) -> dict[str, Any] | None:
    """Re-check a certificate's lower bound at its witness (exactly); None when it has none."""
    if cert is None or cert.witness is None or cert.lower is None:
        return None
    try:
        values = [cert.witness[n] for n in tg.names]
    except KeyError as e:
        return {"checked": False, "why": f"witness lacks coordinate {e}"}
    if all(Fraction(float(v)) == v for v in values):  # dyadic: a float64 point holds it exactly, at any d
        point = _full_point(net, np.asarray(tg.units), np.array([float(v) for v in values]), fill)
    elif net.d * net.c_in <= 1 << 16:
        point = np.full(net.d * net.c_in, Fraction(fill), dtype=object)
        point[np.asarray(tg.units)] = values
        point = point if net.c_in == 1 else point.reshape(net.d, net.c_in).T
    else:
        return {"checked": False, "why": "non-dyadic witness at d > 2^16 (exact conversion of the whole input skipped)"}
    err = _exact_error(net, tg, point, values)
    return {"checked": True, "error_at_witness": str(err), "certified_lower": str(cert.lower), "holds": err >= cert.lower}


def _full_point(net: theory.Network, units: np.ndarray, values: np.ndarray, fill: float) -> np.ndarray:
    flat = np.full(net.d * net.c_in, fill, dtype=np.float64)
    flat[units] = values
    return flat if net.c_in == 1 else flat.reshape(net.d, net.c_in).T.copy()


def _applicable_a_priori(net: theory.Network, tg: Any) -> Fraction | None:
    """The meta's a-priori bound when it speaks about this run: a hash covers the meta (``net.meta_covered``), the
    targets are the meta's, and the box lies inside the meta's box; None otherwise (a bound on another function or
    on a smaller box says nothing here, so comparing with it would report a false violation)."""
    if not net.meta_covered or net.meta.get("a_priori_bound") is None:
        return None
    try:
        own = make_target(net)
    except NumericsError:
        return None
    if own.exprs != tg.exprs or own.units != tg.units:
        return None
    if not all(mlo <= lo and hi <= mhi for (lo, hi), (mlo, mhi) in zip(tg.box, own.box)):
        return None
    return _a_priori(net.meta.get("a_priori_bound"))


def _a_priori(value: Any) -> Fraction | None:
    """The meta's a-priori bound as an exact rational, rounded up when it is irrational (e.g. has sqrt)."""
    if value is None:
        return None
    try:
        v = exact_constant(value if isinstance(value, (str, sp.Basic)) else str(value), "a_priori_bound")
    except NumericsError:
        return None
    if v.is_Rational:
        return Fraction(int(v.p), int(v.q))
    if not v.is_number or not v.is_finite:
        return None
    q = Fraction(str(sp.N(v, 40)))
    return q + abs(q) * Fraction(1, 10**30)


def _nodes(exprs: Any) -> int:
    return sum(sum(1 for _ in sp.preorder_traversal(e)) for e in exprs)


def check_at_scale(net: theory.Network, target: Any = None, box: Any = None, *, samples: int = 10**6,
                   device: Any = "auto", dtype: Any = torch.float32, seed: int = 0,
                   memory_budget: int = DEFAULT_BUDGET, path: str = "auto", certificate: Any = None,
                   certify: bool = False, time_limit_s: float = 30.0, search_steps: int = 200, restarts: int = 4,
                   candidates: int = 16, full_rows: int = 4, progress: bool | None = None,
                   max_seconds: float = MAX_SECONDS, force: bool = False) -> ScaleReport:
    """Sup-norm error of ``net`` against ``target`` on ``box``: sampled at scale, searched, certified, cross-checked.

    Steps: (1) ``samples`` uniform points of the box (seeded generators on the device, batches sized by
    ``memory_budget``) through ``path``, float error ``max_j |net_j(x) - g_j(x)|`` with ``g`` in float64;
    (2) projected sign-gradient ascent (float64 cone) from the ``candidates`` worst samples, ``restarts``
    rounds of ``search_steps`` steps; (3) the best points are re-evaluated exactly
    (:func:`theory.evaluate_exact`, target enclosed at 128 bits): ``lower_bound``; (4) float32 and float64
    deviations from exact arithmetic at the witnesses against :func:`numerics.rounding_bound`; (5) the
    certified upper bound (``certificate``, or :func:`theory.certify_sup_error` when ``certify``) and the
    a-priori bound in ``net.meta`` (only when a hash covers it, ``net.meta_covered``, and the run checks the meta's
    own target on a box inside the meta's box; otherwise it is ignored) must not be below ``lower_bound``: a violation sets ``unsound`` and warns
    :class:`UnsoundCertificateWarning`; (6) the first ``full_rows`` samples through a second path (full inputs).

    Args:
        net: the spec. target: one formula per output in the input symbols (``"x5*x4000"``, ``"x0, x700"``);
            default ``net.meta["target"]``. box: ``(lo, hi)`` or ``{symbol: (lo, hi)}``; default
            ``net.meta["box"]`` (both required when ``net.meta_covered`` is False). samples: >= 1. device: ``"auto"``/``"cpu"``/``"cuda"``. dtype: float dtype of the
            sampled network. seed: every random choice derives from it. memory_budget: bytes.
        path: ``"auto"``, ``"structured"``, ``"dense"`` or ``"module"`` (see :func:`evaluate_at_scale`).
        certificate: a :class:`theory.Certificate` about this net (same ``spec_hash``).
        max_seconds: refuse a sampling run estimated to take longer (default 600 s): first ``samples / 1e9`` s
            before anything is built, then from the rate measured on the first batches. force: sample anyway.
    Returns:
        :class:`ScaleReport`.
    Raises:
        NumericsError: bad samples (an int in ``[1, 2**63)``)/budget/box/target/dtype/device/path, target or box
            missing for a net whose meta no hash covers, a certificate
            about another spec, or sampling estimated above ``max_seconds`` (``check_at_scale: 1e+12 samples would
            take at least 1e+03 s (...), more than max_seconds 600 s; pass force=True / --force-samples ...``).
    """
    samples, limit = plan_samples("check_at_scale", samples, max_seconds, force, error=NumericsError)
    for name, v, lo in (("search_steps", search_steps, 1), ("restarts", restarts, 0), ("candidates", candidates, 1),
                        ("full_rows", full_rows, 0)):
        check_count(name, v, lo)
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if certificate is not None and (not isinstance(certificate, theory.Certificate) or certificate.spec_hash != net.content_hash):
        raise bad("certificate", getattr(certificate, "spec_hash", certificate), f"a theory.Certificate about this net "
                  f"(spec_hash {net.content_hash[:16]}...)")
    if not net.meta_covered and (target is None or box is None):
        raise NumericsError("check_at_scale: the net's meta is not covered by a hash (a format-1 spec file), so its "
                            "target and box are not used: pass target and box explicitly, or re-save the spec with "
                            "theory.save to cover it")
    tg = make_target(net, target, box)
    fn = tg.torch_fn()
    extra = 8 * (_nodes(tg.exprs) + 4 * net.n_outputs)
    eng = Engine(net, tg.units, tg.box, tg.default, path=path, device=device, dtype=dtype, seed=seed,
                 memory_budget=memory_budget, extra_per_row=extra, extra_fixed=candidates * len(tg.units) * 16)
    dev, dt = eng.device, eng.dtype

    # (1) sampling
    top = TopK(candidates)
    total = torch.zeros((), dtype=torch.float64, device=dev)
    nonfinite = torch.zeros((), dtype=torch.int64, device=dev)
    with PeakMemory(dev) as peak:
        for _, cols, y in eng.batches(samples, progress, max_seconds=limit, what="check_at_scale"):
            err = (y.double() - fn(cols.double())).abs().amax(1)
            ok = torch.isfinite(err)
            nonfinite += (~ok).sum()
            err = torch.where(ok, err, torch.full_like(err, math.inf))
            total += torch.where(ok, err, torch.zeros_like(err)).sum()
            top.update(err, cols)
    n_bad = int(nonfinite)
    mean_error = float(total) / max(samples - n_bad, 1)

    # (2) local search in float64 on the cone
    net64 = StructuredPath(net, dtype=torch.float64, device=dev)
    live = eng.live_idx
    lo64, hi64 = inward(tg.box, torch.float64, dev)

    def error64(x: torch.Tensor) -> torch.Tensor:
        return (net64.from_live(x[:, live]) - fn(x)).abs().amax(1)

    gen = torch.Generator(device=dev)
    gen.manual_seed(_mix(eng.seed, 2, 0))
    starts = top.rows.double()
    with serial() if dev.type == "cpu" else contextlib.nullcontext():  # a few rows: serial is faster
        best_x, best_v = ascend(error64, starts, lo64, hi64, steps=search_steps, restarts=restarts, generator=gen)
    with torch.no_grad():
        sample_best = float(top.values[0])
        rounded = torch.clamp(best_x[:1].to(dt), eng.lo, eng.hi)
        witnesses = torch.cat([rounded.double(), top.rows[:1].double(), best_x[:1]])
        float_at = (eng.structured.from_live(witnesses[:2].to(dt)[:, live]).double() - fn(witnesses[:2])).abs().amax(1)

    # (3) exact re-evaluation
    fill = float(eng.dlo[0])
    lower, arg_i, pts = Fraction(-1), 0, []
    for i, w in enumerate(witnesses.cpu().numpy()):
        pts.append(_full_point(net, eng.units, w, fill))
        e = _exact_error(net, tg, pts[-1], [Fraction(float(v)) for v in w])
        if e > lower:
            lower, arg_i = e, i
    argmax = {n: float(v) for n, v in zip(tg.names, witnesses[arg_i].tolist())}

    # (4) float deviation at the dtype-representable witnesses
    float_error = _float_error(net, eng, tg, witnesses[:2], pts[:2], dt)

    # (5) bounds
    # the box of exactly the certifier's variables (tg.units: the cone and the target's inputs, in the
    # network's own names): coordinates a mapping gave beyond them would be refused there as typos
    cert = (theory.certify_sup_error(net, target, dict(zip(tg.names, tg.box)), time_limit_s=time_limit_s)
            if certify and certificate is None else certificate)
    upper = cert.upper if cert is not None and cert.status == "proved" else None
    a_priori = _applicable_a_priori(net, tg)
    unsound = False
    for name, bound in (("certified upper bound", upper), ("a-priori bound", a_priori)):
        if bound is not None and lower > bound:
            unsound = True
            warnings.warn(UnsoundCertificateWarning(
                f"UNSOUND {name}: the error at {argmax} is {float(lower):.17g} (exact network, target enclosed "
                f"rigorously) > {name} {float(bound):.17g}"), stacklevel=2)
    cert_info = None if cert is None else {
        "status": cert.status, "method": cert.method, "upper": None if cert.upper is None else str(cert.upper),
        "lower": None if cert.lower is None else str(cert.lower), "seconds": cert.seconds,
        "lower_recheck": _certificate_witness(net, tg, cert, fill)}
    if cert_info and isinstance(cert_info["lower_recheck"], dict) and cert_info["lower_recheck"].get("holds") is False:
        unsound = True
        warnings.warn(UnsoundCertificateWarning(f"UNSOUND certified lower bound {cert.lower}: the exact error at the "
                                                f"certificate's witness is {cert_info['lower_recheck']['error_at_witness']}"),
                      stacklevel=2)

    # The float network's error is at most the exact sup plus its rounding: a float error above
    # (upper bound + a-priori rounding bound on the box + float64 target slack) convicts one of the two bounds.
    float_max = max(sample_best, float(float_at.max()))
    rounding = float_error["a_priori_box"][str(dt).replace("torch.", "")]["bound"]
    for name, bound in (("certified upper bound", upper), ("a-priori bound", a_priori)):
        if bound is not None and float_max > float(bound) * (1 + 1e-12) + rounding + TARGET_SLACK:
            unsound = True
            warnings.warn(UnsoundCertificateWarning(
                f"UNSOUND {name} or rounding bound: the float error {float_max:.17g} exceeds {name} {float(bound):.17g} "
                f"+ rounding bound {rounding:.3g}"), stacklevel=2)

    # (6) cross-check on full inputs
    cross = _cross_check(eng, min(full_rows, samples), tg)
    return ScaleReport(
        max_error=float(lower), lower_bound=lower, argmax=argmax, mean_error=mean_error,
        float_max_error=float_max, samples=samples,
        samples_per_s=samples / max(peak.seconds, 1e-12), sampling_seconds=peak.seconds,
        search={"steps": search_steps, "restarts": restarts, "candidates": candidates, "best_sampled": sample_best,
                "best_searched_float64": float(best_v[0]), "witness": ["searched, rounded to dtype", "best sample",
                                                                       "searched, float64"][arg_i]},
        certified_upper=upper, certificate=cert_info, a_priori_bound=a_priori,
        gap=None if upper is None else float(upper - lower),
        ratio=None if upper is None or lower <= 0 else float(upper / lower), unsound=unsound,
        float_error=float_error, cross_check=cross,
        run={"path": eng.path, "device": str(dev), "dtype": str(dt).replace("torch.", ""), "batch_size": eng.batch_size,
             "memory_budget": eng.memory_budget, "planned_peak_bytes": eng.planned_bytes(min(eng.batch_size, samples)),
             "measured_peak_bytes": int(peak.bytes), "measured_peak_kind": peak.kind, "nonfinite_outputs": n_bad,
             "seed": eng.seed, "d": net.d})


def _float_error(net, eng, tg, points, full_points, dt) -> dict[str, Any]:
    """Deviation of float32/float64 evaluations from exact arithmetic at ``points`` (representable in ``dt``)."""
    outs: dict[str, torch.Tensor] = {}
    dtypes = [dt] + ([torch.float64] if dt != torch.float64 else [])
    full_bytes = len(full_points) * net.d * net.c_in * 8
    with torch.no_grad():
        for t in dtypes:
            name = str(t).replace("torch.", "")
            mod = eng.module if t == dt else to_module(net, t, eng.device)
            sp_ = eng.structured if t == dt else StructuredPath(net, mod)
            outs[f"structured/{name}"] = sp_.from_live(points.to(t)[:, eng.live_idx])
            dense = DensePath(net, mod)
            if eng.planned_bytes(len(full_points), "dense") + full_bytes <= eng.memory_budget:
                x = torch.as_tensor(np.stack(full_points), dtype=t, device=eng.device)
                outs[f"dense/{name}"] = dense(x.view(len(full_points), net.c_in, net.d))
                if net.d * net.c_in <= 1 << 20:
                    outs[f"module/{name}"] = mod(x.view(len(full_points), net.c_in, net.d))
    box_mag = np.array([float(max(abs(a), abs(b))) for a, b in tg.box])[np.searchsorted(tg.units, eng.structured.live_units)]
    apriori = {str(t).replace("torch.", ""): rounding_bound(net, box_mag, t) for t in dtypes}
    return {"measured": float_deviation(net, full_points, outs),
            "a_priori_box": {k: {"bound": v.total, "exact_layers": len(v.exact_layers), "layers": net.depth}
                             for k, v in apriori.items()}}


def _cross_check(eng: Engine, rows: int, tg) -> dict[str, Any]:
    """The first ``rows`` samples through the chosen path and a second one; routing must agree bit for bit."""
    if rows == 0:
        return {"rows": 0}
    other = "dense" if eng.path == "structured" else "structured"
    need = eng.planned_bytes(rows, "dense")
    if need > eng.memory_budget:
        return {"rows": 0, "skipped": f"{rows} full rows need {need} bytes > memory_budget"}
    cols = eng.columns(0, rows)
    with torch.no_grad():
        a, b = eng.evaluate(0, cols), eng.evaluate(0, cols, other)
    diff = float((a.double() - b.double()).abs().max())
    box_mag = np.array([float(max(abs(p), abs(q))) for p, q in tg.box])[np.searchsorted(tg.units, eng.structured.live_units)]
    bound = 2 * rounding_bound(eng.net, box_mag, eng.dtype).total
    return {"rows": rows, "paths": [eng.path, other], "max_abs_diff": diff, "bitwise_equal": bool(torch.equal(a, b)),
            "rounding_bound_x2": bound, "consistent": diff <= bound}
