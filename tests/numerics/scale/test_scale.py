"""Tests of numerics at scale: the two fast paths against the plain Conv1d module and exact arithmetic, the
rounding-error bound against measurements, sampling (seeds, memory budget), the sup-error search, the
certificate cross-check (planted unsound certificates), the claim checks and bad input (the command line
``numerics evaluate``: tests/numerics/test_cli.py).

Independent computations: :class:`numerics.SpecModule` (plain ``Conv1d`` chain), :func:`theory.evaluate_exact`
(exact rationals), the routed input columns themselves, closed-form sup errors of small hand-made heads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import numerics
import theory
from numerics import NumericsError
from tests.helpers import REPO
from tests.numerics.helpers import CUDA, F64_AFFINE, relu_head_net
from tests.numerics.helpers import relu_head_certificate as _cert

FAST = dict(search_steps=20, restarts=1, candidates=4, progress=False)  # small search: tests stay fast


@st.composite
def tree_net(draw, max_d: int = 256):
    """``(net, kind)``: a select/gather/LCN/FCN routing net, or select composed with a random two-layer head."""
    kind = draw(st.sampled_from(["select", "gather", "lcn", "fcn", "head"]))
    s = draw(st.integers(2, 4))
    cap = 64 if kind in ("lcn", "fcn") else max_d
    L_max = 1
    while s ** (L_max + 1) <= cap:
        L_max += 1
    d = s ** draw(st.integers(1, L_max))
    if kind == "gather":
        return theory.gather(d, s), kind
    support = draw(st.lists(st.integers(0, d - 1), min_size=1, max_size=min(4, d), unique=True))
    if kind in ("lcn", "fcn"):
        return theory.select(d, support, s, kind), kind
    net = theory.select(d, support, s)
    if kind == "head":
        k = len(support)
        frac = st.fractions(min_value=-3, max_value=3, max_denominator=7)
        m = draw(st.integers(1, 4))
        head = theory.TwoLayerHead(
            [[draw(frac) for _ in range(k)] for _ in range(m)],
            [draw(frac) for _ in range(m)],
            [[draw(frac) for _ in range(m)]],
            [draw(frac)],
        )
        net = theory.compose(net, head)
    return net, kind


def inputs(seed: int, batch: int, d: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, d, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(-2, 3, (batch, d), generator=g)
    return x.to(dtype)


# --------------------------------------------------------------------------------------- the two paths
@given(case=tree_net(), seed=st.integers(0, 2**31), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_paths_match_plain_conv1d(case, seed, dtype):
    net, kind = case
    mod = numerics.to_module(net, dtype)
    x = inputs(seed, 3, net.d, dtype)
    ref = mod(x)
    sp = numerics.StructuredPath(net, mod)
    dp = numerics.DensePath(net, mod, chunk_bytes=64, min_rows=2)  # tiny chunks: many groups and chunks
    if kind == "head":  # dense head: equal up to the order of additions, within the rounding bound
        live = sp.live_units
        for row, a, b in zip(x.double(), sp(x), dp(x)):
            rb = numerics.rounding_bound(
                net, row.abs()[live].numpy(), dtype, point=[Fraction(v) for v in row[live].tolist()]
            )
            exact = torch.tensor([float(q) for q in theory.evaluate_exact(net, row.numpy())], dtype=torch.float64)
            for out in (a, b):
                assert torch.all((out.double() - exact).abs() <= torch.as_tensor(rb.per_output))
    else:  # routing: bit for bit, and equal to the routed inputs
        assert torch.equal(sp(x), ref) and torch.equal(dp(x), ref)
        assert numerics.rounding_bound(net, 1.0, dtype).total == 0


def test_dense_path_random_weights_any_values():
    """Weights of the same shapes with arbitrary values (no structure): dense and cone paths vs plain Conv1d."""
    rng = np.random.default_rng(0)
    chans, s, d = [1, 5, 3, 4, 2], 2, 16

    def arr(shape):
        vals = rng.integers(-6, 7, size=shape)
        obj = np.empty(shape, dtype=object)
        obj.reshape(-1)[:] = [Fraction(int(v), 4) for v in vals.reshape(-1)]
        return theory.SparseArray.from_dense(obj)

    layers = [theory.ConvLayer(arr((chans[i + 1], chans[i], s)), arr((chans[i + 1],)), relu=i < 3) for i in range(4)]
    net = theory.Network(d=d, layers=tuple(layers))
    mod = numerics.to_module(net)
    x = inputs(1, 7, d)
    ref = mod(x)
    for path in (
        numerics.DensePath(net, mod),
        numerics.DensePath(net, mod, chunk_bytes=32, min_rows=1, threads=2),
        numerics.StructuredPath(net, mod),
    ):
        assert F64_AFFINE.ok(path(x), ref)  # tolerance "float64_affine": sums of <= 10 terms re-ordered
    exact = torch.tensor([[float(q) for q in theory.evaluate_exact(net, r.numpy())] for r in x], dtype=torch.float64)
    assert F64_AFFINE.ok(ref, exact)


def test_structured_path_reads_only_live_inputs():
    d = 4096
    net = theory.select(d, [7, 4000])
    sp = numerics.StructuredPath(net, dtype=torch.float32)
    assert sp.live_units.tolist() == [7, 4000]
    x = inputs(2, 2, d, torch.float32)
    poisoned = x.clone()
    dead = torch.ones(d, dtype=torch.bool)
    dead[[7, 4000]] = False
    poisoned[:, dead] = float("nan")
    assert torch.equal(sp(poisoned), x[:, [7, 4000]])  # never read: no effect
    with pytest.raises(NumericsError, match="argument 'x'"):
        sp(poisoned, check_finite="all")
    poisoned[0, 4000] = float("inf")
    with pytest.raises(NumericsError, match="argument 'x'"):
        sp(poisoned)


# --------------------------------------------------------------------------------------- rounding bound
def test_gamma_and_unit_roundoff():
    u = 2.0**-24
    assert numerics.unit_roundoff(torch.float32) == u and numerics.unit_roundoff("float64") == 2.0**-53
    assert numerics.gamma(3, torch.float32) == pytest.approx(3 * u / (1 - 3 * u), rel=1e-15)
    assert numerics.gamma(2**25, torch.float32) == np.inf


@pytest.mark.parametrize("depth_exp", [1, 5, 12])
def test_routing_bound_is_zero_at_every_depth(depth_exp):
    for net in (theory.select(2**depth_exp, [0, 2**depth_exp - 1]), theory.gather(2 ** min(depth_exp, 6), 2)):
        for dt in (torch.float32, torch.float64, torch.float16):
            rb = numerics.rounding_bound(net, 1e3, dt)
            assert rb.total == 0 and len(rb.exact_layers) == net.depth


def test_rounding_bound_respected_by_measurements_on_heads():
    head = theory.square_head(5, (-1, 1))
    net = theory.compose(theory.select(256, [77]), head.net)
    rng = np.random.default_rng(3)
    pts = [np.where(np.arange(256) == 77, v, 0.5) for v in rng.uniform(-1, 1, 20).astype(np.float32).astype(np.float64)]
    outs = {}
    for dt in (torch.float32, torch.float64):
        mod = numerics.to_module(net, dt)
        x = torch.as_tensor(np.stack(pts), dtype=dt)
        outs[f"module/{dt}"], outs[f"dense/{dt}"] = mod(x), numerics.DensePath(net, mod)(x)
        outs[f"structured/{dt}"] = numerics.StructuredPath(net, mod)(x)
    report = numerics.float_deviation(net, pts, outs)
    assert all(v["respected"] for v in report.values())
    assert report["module/torch.float32"]["max_deviation"] > 0  # the head does round in float32
    box = numerics.rounding_bound(net, 1.0, torch.float32)
    assert box.total >= max(v["bound"] for k, v in report.items() if "float32" in k)  # a-priori >= pointwise


# --------------------------------------------------------------------------------------- sampling at scale
def test_seeds_and_batch_size_independence():
    net = theory.select(2**12, [1, 2000, 4095])
    run = lambda **kw: numerics.evaluate_at_scale(net, 5000, device="cpu", progress=False, **kw)  # noqa: E731
    a, b, c = run(seed=3), run(seed=3), run(seed=4)
    assert (a.output_min, a.output_max, a.output_mean) == (b.output_min, b.output_max, b.output_mean)
    assert a.output_mean != c.output_mean
    small = run(
        seed=3,
        memory_budget=numerics.scale._engine.Engine(
            net, [1, 2000, 4095], [(-1, 1)] * 3, (-1, 1), device="cpu"
        ).planned_bytes(300),
    )
    assert small.batch_size < 5000 and small.output_mean == a.output_mean  # same samples whatever the batches
    for path in ("dense", "module"):  # the same samples through full inputs: routing agrees bit for bit
        full = numerics.evaluate_at_scale(net, 200, path=path, device="cpu", seed=3, progress=False)
        part = numerics.evaluate_at_scale(net, 200, path="structured", device="cpu", seed=3, progress=False)
        assert (full.output_min, full.output_max, full.output_mean) == (
            part.output_min,
            part.output_max,
            part.output_mean,
        )
    lo, hi = np.array(a.output_min), np.array(a.output_max)
    assert np.all(lo >= -1) and np.all(hi <= 1) and np.all(hi - lo > 1.9)


@pytest.mark.parametrize("path", ["structured", "dense", "module"])
def test_batch_size_arithmetic_fits_budget(path):
    net = theory.approximate_sparse(2**12, [5, 4000], "x0*x1", (-1, 1), Fraction(1, 100))
    units = numerics.cone(net)[0][0]
    budget = 64 << 20
    eng = numerics.scale._engine.Engine(
        net, units, [(-1, 1)] * len(units), (-1, 1), path=path, device="cpu", memory_budget=budget
    )
    assert eng.planned_bytes(eng.batch_size) <= budget
    assert eng.batch_size == numerics.scale._engine.MAX_ROWS or eng.planned_bytes(eng.batch_size + 1) > budget


_RSS_SCRIPT = """
import sys, resource, torch, theory, numerics
net = theory.select(2**16, [5, 40000])
budget, path = int(sys.argv[1]), sys.argv[2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
run = numerics.evaluate_at_scale(net, int(sys.argv[3]), path=path, device="cpu", memory_budget=budget, progress=False)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(run.batch_size, run.planned_peak_bytes, grew)
"""


@pytest.mark.parametrize("path,samples", [("dense", 600), ("module", 60), ("structured", 200000)])
def test_memory_budget_respected_cpu_rss(path, samples):
    """Peak RSS growth of a fresh process stays within the budget (tracemalloc cannot see torch)."""
    budget = 96 << 20
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(budget), path, str(samples)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    batch, planned, grew = map(int, out.stdout.split())
    assert batch < samples or path == "structured"  # the budget forced several batches
    assert planned <= budget and grew <= budget, (planned, grew)


@CUDA
def test_memory_budget_respected_cuda():
    net = theory.select(2**16, [5, 40000])
    budget = 64 << 20
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    run = numerics.evaluate_at_scale(net, 400, path="dense", device="cuda", memory_budget=budget, progress=False)
    assert torch.cuda.max_memory_allocated() - base <= budget and run.measured_peak_bytes <= budget


@CUDA
def test_cuda_paths_match_cpu():
    net = theory.compose(theory.select(4096, [3, 4000]), theory.TwoLayerHead([[1, 2]], [Fraction(1, 3)], [[3]], [1]))
    x = inputs(5, 4, 4096)
    ref = numerics.to_module(net)(x)
    for path in (
        numerics.StructuredPath(net, dtype=torch.float64, device="cuda"),
        numerics.DensePath(net, dtype=torch.float64, device="cuda"),
    ):
        assert F64_AFFINE.ok(path(x.cuda()).cpu(), ref)
    a = numerics.check_at_scale(net, "2*x3", (-1, 1), samples=10**4, device="cuda", **FAST)
    assert a.lower_bound >= 0 and a.run["device"].startswith("cuda")


# --------------------------------------------------------------------------------------- sup error and certificates
def test_check_at_scale_finds_known_sup_error_exactly():
    net = relu_head_net()
    r = numerics.check_at_scale(net, "x3", (-1, 1), samples=20000, device="cpu", seed=1, **FAST)
    assert r.lower_bound == 1 and r.max_error == 1.0 and r.argmax["x3"] == -1.0  # sup |relu(x) - x| = 1 at -1
    assert 0.24 < r.mean_error < 0.26  # E max(0, -x) = 1/4 on [-1, 1] (sd of the mean ~0.0023)
    assert r.float_max_error == 1.0 and not r.unsound and r.certified_upper is None
    assert r.cross_check["bitwise_equal"] and r.cross_check["consistent"]
    assert all(v["respected"] for v in r.float_error["measured"].values())
    again = numerics.check_at_scale(net, "x3", (-1, 1), samples=20000, device="cpu", seed=1, **FAST)
    assert (again.lower_bound, again.argmax, again.mean_error, again.search) == (
        r.lower_bound,
        r.argmax,
        r.mean_error,
        r.search,
    )


def test_wrong_certificate_is_flagged_and_right_one_passes():
    net = relu_head_net()
    with pytest.warns(numerics.UnsoundCertificateWarning, match="UNSOUND certified upper bound"):
        r = numerics.check_at_scale(
            net, "x3", (-1, 1), samples=5000, device="cpu", certificate=_cert(net, Fraction(99, 100)), **FAST
        )
    assert r.unsound and "UNSOUND" in r.summary() and r.gap < 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", numerics.UnsoundCertificateWarning)
        ok = numerics.check_at_scale(
            net, "x3", (-1, 1), samples=5000, device="cpu", certificate=_cert(net, 1, 1), **FAST
        )
    assert not ok.unsound and ok.gap == 0 and ok.ratio == 1 and ok.certificate["status"] == "proved"
    with pytest.raises(NumericsError, match="argument 'certificate'"):
        numerics.check_at_scale(net, "x3", (-1, 1), samples=10, certificate=_cert(theory.select(4, [0]), 1), **FAST)


def test_wrong_a_priori_bound_is_flagged():
    base = relu_head_net()
    net = theory.Network(
        d=base.d,
        layers=base.layers,
        meta={"target": "x3", "box": {"x3": ["-1", "1"], "x1023": ["-1", "1"]}, "a_priori_bound": "1/2"},
    )
    with pytest.warns(numerics.UnsoundCertificateWarning, match="a-priori bound"):
        r = numerics.check_at_scale(net, samples=3000, device="cpu", **FAST)
    assert r.unsound and r.a_priori_bound == Fraction(1, 2)


def test_certify_cross_check():
    net = theory.approximate_sparse(2**10, [5, 1000], "x0*x1", (-1, 1), Fraction(1, 100))
    r = numerics.check_at_scale(net, samples=5000, device="cpu", certify=True, time_limit_s=10, **FAST)
    assert r.certified_upper is not None and r.lower_bound <= r.certified_upper and not r.unsound
    assert r.lower_bound <= r.a_priori_bound <= Fraction(1, 100) and r.ratio >= 1


def test_target_enclosure_is_rigorous():
    from numerics.scale._target import make_target

    net = theory.select(16, [2, 9])
    tg = make_target(net, "sin(3*x2)*exp(x9), sqrt(x9 + 2) + tanh(x2)", (-1, 1))
    pt = [Fraction(1, 3), Fraction(-2, 7)]
    f = tg.torch_fn()(torch.tensor([[1 / 3, -2 / 7]], dtype=torch.float64))[0]
    for (a, b), v in zip(tg.enclose(pt), f.tolist()):
        assert (
            a <= Fraction(v) + Fraction(1, 10**14)
            and Fraction(v) - Fraction(1, 10**14) <= b
            and b - a < Fraction(1, 10**30)
        )
    poly = make_target(net, "x2*x9 - 1/3, x9**3", (-1, 1))
    assert poly.enclose(pt) == [(pt[0] * pt[1] - Fraction(1, 3),) * 2, (pt[1] ** 3,) * 2]


def test_search_climbs_to_the_maximum():
    from numerics.scale._ascent import ascend

    f = lambda x: -((x - torch.tensor([0.3, -0.7], dtype=x.dtype)) ** 2).sum(1) + torch.relu(x[:, 0])  # noqa: E731
    lo, hi = -torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    best, val = ascend(
        f,
        torch.zeros(3, 2, dtype=torch.float64),
        lo,
        hi,
        steps=200,
        restarts=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert best[0].tolist() == pytest.approx([0.8, -0.7], abs=1e-4)  # max of -(x-0.3)^2 + x at 0.8
    assert torch.all(best >= lo) and torch.all(best <= hi)


# --------------------------------------------------------------------------------------- claims
def test_claim_checks_pass_and_planted_violation_fails():
    from numerics import claim_head_bound, claim_routing_at_scale, claim_sparse_approx

    assert claim_routing_at_scale("select", d=2**12, k=8, samples=20000, device="cpu")["status"] == "pass"
    assert claim_routing_at_scale("gather", d=64, samples=50, device="cpu")["status"] == "pass"
    head = theory.square_head(3)
    r = claim_head_bound(head, samples=5000, device="cpu", search_steps=30)
    assert r["status"] == "pass" and r["observed"]["tightness"] == pytest.approx(1, abs=1e-6)
    json.dumps(r)
    prod = claim_head_bound(theory.product_head(2), samples=5000, device="cpu", search_steps=30)  # d = 1, c_in = 2
    assert prod["status"] == "pass" and set(prod["evidence"]["witness"]) == {"x0", "x1"}
    planted = dataclasses.replace(head, bound=head.bound * Fraction(99, 100))
    assert claim_head_bound(planted, samples=5000, device="cpu", search_steps=30)["status"] == "fail"
    s = claim_sparse_approx(2**10, (3, 1000), "x0*x1", (-1, 1), Fraction(1, 50), samples=5000, device="cpu")
    assert s["status"] == "pass", s
    json.dumps(s)


# --------------------------------------------------------------------------------------- bad input
NET = relu_head_net(64)


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"samples": 0}, "samples"),
        ({"samples": -3}, "samples"),
        ({"samples": 1.5}, "samples"),
        ({"samples": True}, "samples"),
        ({"memory_budget": 1000}, "memory_budget"),
        ({"memory_budget": 0}, "memory_budget"),
        ({"box": (1, -1)}, "box"),
        ({"box": (0,)}, "box"),
        ({"box": "ab"}, "box"),
        ({"box": (float("nan"), 1)}, "box"),
        ({"box": {"x63": (-1, 1)}}, "box"),
        ({"box": {"x3": (-1, 1), "x63": (0, 1), "y": (0, 1)}}, "box"),
        ({"box": {}}, "box"),
        ({"target": "x99999"}, "target"),
        ({"target": "y + x3"}, "target"),
        ({"target": "x3, x63"}, "target"),
        ({"target": "x3 +* 2"}, "target"),
        ({"target": 5}, "target"),
        ({"device": "tpu"}, "device"),
        ({"dtype": "int8"}, "dtype"),
        ({"path": "fast"}, "path"),
        ({"seed": -1}, "seed"),
        ({"search_steps": 0}, "search_steps"),
        ({"certificate": "cert"}, "certificate"),
    ],
)
def test_bad_input_names_the_argument(kwargs, arg):
    args = {"target": "x3", "box": (-1, 1), "samples": 100, "device": "cpu", **kwargs}
    with pytest.raises(NumericsError, match=f"argument '{arg}"):
        numerics.check_at_scale(NET, **args)


def test_bad_input_evaluate_at_scale_and_paths():
    with pytest.raises(NumericsError, match="argument 'samples'"):
        numerics.evaluate_at_scale(NET, 0)
    with pytest.raises(NumericsError, match="argument 'net'"):
        numerics.evaluate_at_scale("net", 10)
    with pytest.raises(NumericsError, match="argument 'x"):
        numerics.DensePath(NET)(torch.zeros(2, 63, dtype=torch.float64))
    with pytest.raises(NumericsError, match="argument 'x'"):
        numerics.DensePath(NET)(torch.full((1, 64), float("nan"), dtype=torch.float64))
    with pytest.raises(NumericsError, match="argument 'memory_budget'"):
        numerics.evaluate_at_scale(theory.gather(256), 10, device="cpu", memory_budget=1 << 20)  # weights alone
    seen = []
    numerics.evaluate_at_scale(
        NET, 10, device="cpu", reduce=lambda start, cols, y: seen.append((start, cols.shape, y.shape))
    )
    assert seen == [(0, (10, 1), (10, 1))]
    with pytest.raises(NumericsError, match="argument 'magnitudes'"):
        numerics.rounding_bound(NET, [1.0, -1.0], torch.float32)


# --------------------------------------------------------------------------------------- large d (slow)
@pytest.mark.slow
def test_large_d_select_and_approximant():
    r = numerics.check_at_scale(
        theory.select(2**20, [5, 700, 2**20 - 1]), "x5, x700, x1048575", (-1, 1), samples=10**6, device="auto", **FAST
    )
    assert r.lower_bound == 0 and r.float_max_error == 0 and r.cross_check["bitwise_equal"]
    net = theory.approximate_sparse(2**22, [5, 4000], "x0*x1", (-1, 1), Fraction(1, 1000))
    r = numerics.check_at_scale(net, samples=10**6, device="auto", memory_budget=2 << 30, **FAST)
    assert r.lower_bound <= r.a_priori_bound and not r.unsound and r.cross_check["consistent"]
