"""The sup-norm error of a network against a target at scale: sampling, search, exact witness, certificates.

Source of the method: Monte-Carlo sampling plus projected gradient ascent (standard) for a lower bound;
exact rational re-evaluation of the network and mpmath interval enclosure of the target make the lower bound
rigorous; the certified upper bound comes from :func:`theory.certify_sup_error` (interval branch and bound).

Here is the driver, :func:`check_at_scale`, with its first two steps (sampling, search); the exact side is
:mod:`numerics.scale._bounds`, the float side :mod:`numerics.scale._float_checks`, the options
:mod:`numerics.scale._options` and the result :mod:`numerics.scale._report`.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any, NamedTuple

import sympy as sp
import torch

import theory

from .._errors import NumericsError, bad
from ._ascent import TopK, ascend
from ._bounds import Bounds, Witness, exact_witness, judge_bounds
from ._engine import Engine, _mix, inward
from ._float_checks import cross_check, float_error
from ._meters import PeakMemory
from ._options import ScaleOptions, ScaleOverrides, scale_options
from ._paths import StructuredPath, serial
from ._report import ScaleReport
from ._target import Target, make_target

if TYPE_CHECKING:
    from typing_extensions import Unpack


class _Sampled(NamedTuple):
    """Step 1: the worst samples (``top``), the mean float error, non-finite outputs, the run's meter."""

    top: TopK
    mean_error: float
    nonfinite: int
    peak: PeakMemory


class _Searched(NamedTuple):
    """Step 2: the best sampled error, the best searched float64 error, the witnesses ``(3, n)`` (searched and
    rounded to the dtype, best sample, searched in float64) and the float error at the first two."""

    sample_best: float
    search_best: float
    witnesses: torch.Tensor
    float_at: torch.Tensor


def _nodes(exprs: Any) -> int:
    return sum(sum(1 for _ in sp.preorder_traversal(e)) for e in exprs)


def _checked_target(net: Any, target: Any, box: Any, certificate: Any) -> Target:
    """The run's target and box, after checking ``net`` and ``certificate`` (NumericsError naming either)."""
    if not isinstance(net, theory.Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if certificate is not None and (
        not isinstance(certificate, theory.Certificate) or certificate.spec_hash != net.content_hash
    ):
        raise bad(
            "certificate",
            getattr(certificate, "spec_hash", certificate),
            f"a theory.Certificate about this net (spec_hash {net.content_hash[:16]}...)",
        )
    if not net.meta_covered and (target is None or box is None):
        raise NumericsError(
            "check_at_scale: the net's meta is not covered by a hash (a format-1 spec file), so its "
            "target and box are not used: pass target and box explicitly, or re-save the spec with "
            "theory.save to cover it"
        )
    return make_target(net, target, box)


def _sample(eng: Engine, fn: Any, opts: ScaleOptions) -> _Sampled:
    """Step 1: ``opts.samples`` points through the engine's path; the float error of each against ``fn``."""
    top = TopK(opts.candidates)
    total = torch.zeros((), dtype=torch.float64, device=eng.device)
    nonfinite = torch.zeros((), dtype=torch.int64, device=eng.device)
    with PeakMemory(eng.device) as peak:
        for _, cols, y in eng.batches(
            opts.samples, opts.progress, max_seconds=opts.sampling_limit, what="check_at_scale"
        ):
            err = (y.double() - fn(cols.double())).abs().amax(1)
            ok = torch.isfinite(err)
            nonfinite += (~ok).sum()
            err = torch.where(ok, err, torch.full_like(err, math.inf))
            total += torch.where(ok, err, torch.zeros_like(err)).sum()
            top.update(err, cols)
    n_bad = int(nonfinite)
    return _Sampled(top, float(total) / max(opts.samples - n_bad, 1), n_bad, peak)


def _search(net: theory.Network, eng: Engine, tg: Target, fn: Any, top: TopK, opts: ScaleOptions) -> _Searched:
    """Step 2: projected sign-gradient ascent in float64 on the cone from the worst samples."""
    dev, dt = eng.device, eng.dtype
    net64 = StructuredPath(net, dtype=torch.float64, device=dev)
    live = eng.live_idx
    lo64, hi64 = inward(tg.box, torch.float64, dev)

    def error64(x: torch.Tensor) -> torch.Tensor:
        return (net64.from_live(x[:, live]) - fn(x)).abs().amax(1)

    gen = torch.Generator(device=dev)
    gen.manual_seed(_mix(eng.seed, 2, 0))
    assert top.rows is not None and top.values is not None  # ScaleOptions: samples >= 1, so _sample merged a batch
    starts = top.rows.double()
    with serial() if dev.type == "cpu" else contextlib.nullcontext():  # a few rows: serial is faster
        best_x, best_v = ascend(
            error64, starts, lo64, hi64, steps=opts.search_steps, restarts=opts.restarts, generator=gen
        )
    with torch.no_grad():
        sample_best = float(top.values[0])
        rounded = torch.clamp(best_x[:1].to(dt), eng.lo, eng.hi)
        witnesses = torch.cat([rounded.double(), top.rows[:1].double(), best_x[:1]])
        float_at = (eng.structured.from_live(witnesses[:2].to(dt)[:, live]).double() - fn(witnesses[:2])).abs().amax(1)
    return _Searched(sample_best, float(best_v[0]), witnesses, float_at)


def check_at_scale(
    net: theory.Network,
    target: Any = None,
    box: Any = None,
    *,
    certificate: theory.Certificate | None = None,
    options: ScaleOptions | None = None,
    **overrides: Unpack[ScaleOverrides],
) -> ScaleReport:
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
            ``net.meta["box"]`` (both required when ``net.meta_covered`` is False).
        certificate: a :class:`theory.Certificate` about this net (same ``spec_hash``).
        options: a :class:`ScaleOptions` record (default: its defaults).
        **overrides: fields of :class:`ScaleOptions` (:class:`numerics.scale._options.ScaleOverrides`), replacing
            those of ``options``: ``samples`` (default ``10**6``, >= 1), ``device`` (``"auto"``/``"cpu"``/
            ``"cuda"``), ``dtype`` (float dtype of the sampled network, ``torch.float32``), ``seed`` (every random
            choice derives from it, 0), ``memory_budget`` (bytes, 1 GiB), ``path`` (``"auto"``, ``"structured"``,
            ``"dense"`` or ``"module"``, see :func:`evaluate_at_scale`), ``certify`` (False), ``time_limit_s``
            (30), ``max_work`` (None: the certifier's work budget, boxes refined), ``search_steps`` (200),
            ``restarts`` (4), ``candidates`` (16), ``full_rows`` (4), ``progress`` (None: a bar on stderr when it
            is a terminal; True / False: the bar always / never; a callable: called after every sampled batch
            with ``{"samples_done", "samples", "seconds"}``, no bar), ``max_seconds``
            (refuse a sampling run estimated to take longer, default 600 s: first ``samples / 1e9`` s before
            anything is built, then from the rate measured on the first batches) and ``force`` (sample anyway).
    Returns:
        :class:`ScaleReport`.
    Raises:
        NumericsError: bad samples (an int in ``[1, 2**63)``)/budget/box/target/dtype/device/path/progress, target
            or box missing for a net whose meta no hash covers, a certificate
            about another spec, or sampling estimated above ``max_seconds`` (``check_at_scale: 1e+12 samples would
            take at least 1e+03 s (...), more than max_seconds 600 s; pass force=True / --force-samples ...``).
        TypeError: a keyword that is no field of :class:`ScaleOptions`.
    """
    opts = scale_options(options, overrides)
    tg = _checked_target(net, target, box, certificate)
    fn = tg.torch_fn()
    eng = Engine(
        net,
        tg.units,
        tg.box,
        tg.default,
        path=opts.path,
        device=opts.device,
        dtype=opts.dtype,
        seed=opts.seed,
        memory_budget=opts.memory_budget,
        extra_per_row=8 * (_nodes(tg.exprs) + 4 * net.n_outputs),
        extra_fixed=opts.candidates * len(tg.units) * 16,
    )
    sampled = _sample(eng, fn, opts)  # (1)
    searched = _search(net, eng, tg, fn, sampled.top, opts)  # (2)
    witness = exact_witness(net, tg, eng, searched.witnesses)  # (3)
    if abs(witness.lower) > theory.spec._rational.MAX_MAGNITUDE:  # no float can report it: refuse, clearly
        raise bad(
            "target",
            target if target is not None else "the spec's target",
            f"an error within the float64 range on the box (|net - g| at the witness is about "
            f"1e{len(str(int(abs(witness.lower)))) - 1}); shrink the box or scale the target",
        )
    floats = float_error(net, eng, tg, searched.witnesses[:2], witness.points[:2], eng.dtype)  # (4)
    # (5) the box of exactly the certifier's variables (tg.units: the cone and the target's inputs, in the
    # network's own names): coordinates a mapping gave beyond them would be refused there as typos
    cert = (
        theory.certify_sup_error(
            net, target, dict(zip(tg.names, tg.box)), time_limit_s=opts.time_limit_s, max_work=opts.max_work
        )
        if opts.certify and certificate is None
        else certificate
    )
    float_max = max(searched.sample_best, float(searched.float_at.max()))
    rounding = floats["a_priori_box"][str(eng.dtype).replace("torch.", "")]["bound"]
    bounds = judge_bounds(net, tg, cert, witness, float_max, rounding, stacklevel=3)
    cross = cross_check(eng, min(opts.full_rows, opts.samples), tg)  # (6)
    return _report(net, eng, opts, sampled, searched, witness, floats, bounds, cross, float_max)


def _report(
    net: theory.Network,
    eng: Engine,
    opts: ScaleOptions,
    sampled: _Sampled,
    searched: _Searched,
    witness: Witness,
    floats: dict[str, Any],
    bounds: Bounds,
    cross: dict[str, Any],
    float_max: float,
) -> ScaleReport:
    """The :class:`ScaleReport` of a run from its steps."""
    lower, upper, peak, samples = witness.lower, bounds.upper, sampled.peak, opts.samples
    return ScaleReport(
        max_error=float(lower),
        lower_bound=lower,
        argmax=witness.argmax,
        mean_error=sampled.mean_error,
        float_max_error=float_max,
        samples=samples,
        samples_per_s=samples / max(peak.seconds, 1e-12),
        sampling_seconds=peak.seconds,
        search={
            "steps": opts.search_steps,
            "restarts": opts.restarts,
            "candidates": opts.candidates,
            "best_sampled": searched.sample_best,
            "best_searched_float64": searched.search_best,
            "witness": witness.source,
        },
        certified_upper=upper,
        certificate=bounds.certificate,
        a_priori_bound=bounds.a_priori,
        gap=None if upper is None else float(upper - lower),
        ratio=None if upper is None or lower <= 0 else float(upper / lower),
        unsound=bounds.unsound,
        float_error=floats,
        cross_check=cross,
        run={
            "path": eng.path,
            "device": str(eng.device),
            "dtype": str(eng.dtype).replace("torch.", ""),
            "batch_size": eng.batch_size,
            "memory_budget": eng.memory_budget,
            "planned_peak_bytes": eng.planned_bytes(min(eng.batch_size, samples)),
            "measured_peak_bytes": int(peak.bytes),
            "measured_peak_kind": peak.kind,
            "nonfinite_outputs": sampled.nonfinite,
            "seed": eng.seed,
            "d": net.d,
        },
    )
