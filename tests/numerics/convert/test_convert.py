"""Tests of ``numerics.convert``: to_module against exact evaluation, correct rounding, weights files, bad input.

Every float result is checked against an independent computation: :func:`theory.evaluate_exact` (exact
rational arithmetic on the spec, a separate code path from torch), the routed input columns themselves, or
exact ``Fraction`` arithmetic on the neighbours of a rounded value. Float comparisons name their entry of
:data:`numerics.TOLERANCES`.
"""

from __future__ import annotations

import json
import math
import os
import struct
from fractions import Fraction
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import given
from hypothesis import strategies as st

import numerics
import theory
from numerics import TOLERANCES, NumericsError
from tests.numerics.helpers import CUDA, F64_AFFINE
from tests.numerics.helpers import rational_net as _rational_net

ROUTING_EXACT = TOLERANCES["routing_exact"]


# ---------------------------------------------------------------------------------------------- helpers
@st.composite
def tree_shape(draw, max_d: int = 64) -> tuple[int, int]:
    """``(d, s)`` with ``s`` in 2..4 and ``d = s^L <= max_d``, ``L >= 1``."""
    s = draw(st.integers(2, 4))
    L_max = 1
    while s ** (L_max + 1) <= max_d:
        L_max += 1
    return s ** draw(st.integers(1, L_max)), s


@st.composite
def support_for(draw, d: int) -> list[int]:
    """1-5 distinct indices in ``[0, d)``, often holding 0, d-1 and an adjacent pair, in random order."""
    idx = set(draw(st.lists(st.integers(0, d - 1), min_size=0, max_size=3)))
    if draw(st.booleans()):
        idx.add(0)
    if draw(st.booleans()):
        idx.add(d - 1)
    if d > 1 and draw(st.booleans()):
        i = draw(st.integers(0, d - 2))
        idx |= {i, i + 1}
    if not idx:
        idx.add(draw(st.integers(0, d - 1)))
    return draw(st.permutations(sorted(idx)))


def random_inputs(seed: int, batch: int, d: int) -> torch.Tensor:
    """``(batch, d)`` float64 values over many magnitudes and both signs, with some exact zeros."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, d, generator=g, dtype=torch.float64)
    x = x * 10.0 ** torch.randint(-3, 4, (batch, d), generator=g).double()
    return torch.where(torch.rand(batch, d, generator=g, dtype=torch.float64) < 0.1, torch.zeros_like(x), x)


def exact_outputs(net: theory.Network, x: torch.Tensor) -> torch.Tensor:
    """``theory.evaluate_exact`` row by row (float64 inputs converted exactly), rounded to float64 at the end."""
    rows = [[float(v) for v in theory.evaluate_exact(net, row.tolist())] for row in x]
    return torch.tensor(rows, dtype=torch.float64)


def both_layouts(module: numerics.SpecModule, x: torch.Tensor) -> list[torch.Tensor]:
    """The module's output for ``x`` given as ``(B, d)`` and as ``(B, 1, d)``."""
    return [module(x), module(x.unsqueeze(1))]


small_fraction = st.fractions(min_value=-3, max_value=3, max_denominator=7)


@st.composite
def two_layer_head(draw, k: int, max_m: int = 3) -> theory.TwoLayerHead:
    """A random TwoLayerHead with ``k`` inputs, 1 output, small exact rational entries (many zeros)."""
    m = draw(st.integers(1, max_m))
    entry = st.one_of(st.just(Fraction(0)), small_fraction)
    w1 = [[draw(entry) for _ in range(k)] for _ in range(m)]
    b1 = [draw(small_fraction) for _ in range(m)]
    w2 = [[draw(small_fraction) for _ in range(m)]]
    b2 = [draw(small_fraction)]
    return theory.TwoLayerHead(w1, b1, w2, b2)


# ------------------------------------------------------------------------- to_module vs exact evaluation
@given(shape=tree_shape(), data=st.data(), arch=st.sampled_from(theory.ARCHITECTURES), seed=st.integers(0, 2**31))
def test_select_is_bit_exact(shape, data, arch, seed):
    d, s = shape
    support = data.draw(support_for(d), label="support")
    net = theory.select(d, support, s, arch)
    x = random_inputs(seed, 3, d)
    want = x[:, support]
    exact = exact_outputs(net, x)
    assert torch.equal(exact, want)  # the exact path routes exactly (independent of torch)
    for out in both_layouts(numerics.to_module(net), x):
        assert out.dtype == torch.float64 and out.shape == (3, len(support))
        assert torch.equal(out, want) and ROUTING_EXACT.ok(out, exact)  # tolerance "routing_exact" (zero)


@given(shape=tree_shape(), seed=st.integers(0, 2**31))
def test_gather_is_bit_exact(shape, seed):
    d, s = shape
    net = theory.gather(d, s)
    x = random_inputs(seed, 2, d)
    exact = exact_outputs(net, x)
    assert torch.equal(exact, x)
    for out in both_layouts(numerics.to_module(net), x):
        assert torch.equal(out, x) and ROUTING_EXACT.ok(out, exact)


@given(shape=tree_shape(), data=st.data(), seed=st.integers(0, 2**31))
def test_tree_sum_matches_exact(shape, data, seed):
    d, s = shape
    head = data.draw(two_layer_head(s), label="head")
    L = round(math.log(d, s))
    signs = data.draw(st.none() | st.lists(st.sampled_from([1, -1]), min_size=s, max_size=s)) if L >= 2 else None
    net = theory.tree_sum(d, s, head, signs)
    g = torch.Generator().manual_seed(seed)
    x = 4 * torch.rand(3, d, generator=g, dtype=torch.float64) - 2  # |x| <= 2 keeps sum|terms| small
    exact = exact_outputs(net, x)
    # A second exact path: the formula sum_p sign(p) h(x_p), with the head evaluated by dense loops.
    for row, e in zip(x, exact):
        vals = [Fraction(v) for v in row.tolist()]
        per = d // s  # patches per root subtree: d / s patches in s subtrees of d / s^2 patches each
        total = sum(
            (
                (signs[p // (per // s)] if signs else 1) * head.evaluate(vals[p * s : (p + 1) * s])[0]
                for p in range(per)
            ),
            Fraction(0),
        )
        assert float(total) == e.item()
    for out in both_layouts(numerics.to_module(net), x):
        assert out.shape == (3, 1)
        assert F64_AFFINE.ok(out, exact), (out - exact).abs().max()  # tolerance "float64_affine"


@given(shape=tree_shape(max_d=16), data=st.data(), seed=st.integers(0, 2**31))
def test_compose_gather_head_matches_exact(shape, data, seed):
    d, s = shape
    head = data.draw(two_layer_head(d, max_m=4), label="head")
    net = theory.compose(theory.gather(d, s), head)
    assert net.depth == round(math.log(d, s)) + 2
    g = torch.Generator().manual_seed(seed)
    x = 4 * torch.rand(3, d, generator=g, dtype=torch.float64) - 2
    exact = exact_outputs(net, x)
    for row, e in zip(x, exact):
        assert float(head.evaluate([Fraction(v) for v in row.tolist()])[0]) == e.item()
    for out in both_layouts(numerics.to_module(net), x):
        assert F64_AFFINE.ok(out, exact), (out - exact).abs().max()  # tolerance "float64_affine"


# ------------------------------------------------------------------------------------------ round_rational
FLOAT_DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
_INT_VIEW = {8: torch.int64, 4: torch.int32, 2: torch.int16}


def _from_bits(bits: int, dtype: torch.dtype) -> float:
    size = torch.tensor([], dtype=dtype).element_size()
    return torch.tensor([bits], dtype=_INT_VIEW[size]).view(dtype).double().item()


def _bits_of(value: float, dtype: torch.dtype) -> int:
    t = torch.tensor([value], dtype=torch.float64).to(dtype)
    assert t.double().item() == value, f"{value!r} is not representable in {dtype}"
    return int(t.view(_INT_VIEW[t.element_size()]).item())


def _overflow_threshold(dtype: torch.dtype) -> Fraction:
    """Smallest |q| that rounds to infinity: halfway between the largest finite value and the next power of two."""
    big = torch.finfo(dtype).max
    next_down = _from_bits(_bits_of(big, dtype) - 1, dtype)
    return Fraction(big) + (Fraction(big) - Fraction(next_down)) / 2


def assert_correctly_rounded(q: Fraction, dtype: torch.dtype) -> None:
    """Check ``round_rational(q, dtype)`` by exact comparison with the neighbours of the result."""
    if abs(q) >= _overflow_threshold(dtype):
        with pytest.raises(NumericsError, match="overflows"):
            numerics.round_rational(q, dtype)
        return
    c = numerics.round_rational(q, dtype)
    assert isinstance(c, float)
    assert c == 0 or (c > 0) == (q > 0), "sign"
    a, ca = abs(q), abs(c)
    bits = _bits_of(ca, dtype)  # also asserts representability
    up = _from_bits(bits + 1, dtype)
    up_q = _overflow_threshold(dtype) * 2 - Fraction(torch.finfo(dtype).max) if up == float("inf") else Fraction(up)
    err = abs(a - Fraction(ca))
    assert err <= abs(up_q - a), f"{q} -> {c}: the next value up {up} is nearer"
    if ca > 0:
        down = Fraction(_from_bits(bits - 1, dtype))
        assert err <= abs(a - down), f"{q} -> {c}: the next value down {down} is nearer"
        tie = err == abs(a - down)
    else:
        tie = False
    if err == abs(up_q - a) or tie:
        assert bits % 2 == 0, f"{q} -> {c}: a tie must round to the even significand"


@st.composite
def rationals_for(draw, dtype: torch.dtype) -> Fraction:
    """Rationals over the dtype's whole range: generic, dyadic, subnormal, near ties and near overflow."""
    info = torch.finfo(dtype)
    emax = int(math.log2(info.max))
    emin_sub = round(math.log2(info.smallest_normal)) + round(math.log2(info.eps))  # smallest subnormal: 2^emin_sub
    kind = draw(st.sampled_from(["fraction", "scaled", "tie", "overflow"]))
    if kind == "fraction":
        q = draw(st.fractions(max_denominator=10**9).filter(lambda f: abs(f) < 10**6))
    elif kind == "scaled":
        q = draw(st.fractions(min_value=-2, max_value=2, max_denominator=10**6)) * Fraction(2) ** draw(
            st.integers(emin_sub - 3, emax)
        )
    elif kind == "tie":  # a midpoint between two neighbours, nudged by 0 or a tiny amount either way
        bits = draw(st.integers(0, _bits_of(info.max, dtype) - 1))
        lo, hi = Fraction(_from_bits(bits, dtype)), Fraction(_from_bits(bits + 1, dtype))
        mid = (lo + hi) / 2
        q = mid + draw(st.sampled_from([0, 1, -1])) * (hi - lo) / 2**40
        q = -q if draw(st.booleans()) else q
    else:
        q = _overflow_threshold(dtype) + draw(st.sampled_from([-1, 0, 1])) * Fraction(1, 2**20)
    return q


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@given(data=st.data())
def test_round_rational_is_correctly_rounded(dtype, data):
    q = data.draw(rationals_for(dtype), label="q")
    assert_correctly_rounded(q, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_round_rational_float64_agrees_with_python(dtype):
    """Python's float(Fraction) is correctly rounded to float64: a second, independent oracle there."""
    for q in [Fraction(1, 3), Fraction(-2, 7), Fraction(10**20 + 1, 3), Fraction(1, 10**30), Fraction(2**53 + 1)]:
        if dtype == torch.float64:
            assert numerics.round_rational(q, dtype) == float(q)
        assert_correctly_rounded(q, dtype)


@pytest.mark.parametrize("dtype, p", [(torch.float32, 24), (torch.float16, 11), (torch.bfloat16, 8)], ids=str)
def test_round_rational_avoids_double_rounding(dtype, p):
    q = 1 + Fraction(2) ** -p + Fraction(2) ** -60  # just above the midpoint between 1 and 1 + 2^(1-p)
    naive = torch.tensor(float(q), dtype=torch.float64).to(dtype).item()  # through float64: a tie -> 1
    assert naive == 1.0
    assert numerics.round_rational(q, dtype) == 1 + 2.0 ** (1 - p)
    assert numerics.round_rational(-q, dtype) == -(1 + 2.0 ** (1 - p))


def test_round_rational_float32_double_rounding_case():
    assert numerics.round_rational(1 + Fraction(2) ** -24 + Fraction(2) ** -60, torch.float32) == 1 + 2.0**-23


@pytest.mark.parametrize(
    "dtype, q",
    [
        (torch.float32, Fraction(2) ** 128),
        (torch.float16, Fraction(65520)),
        (torch.float16, Fraction(-(10**6))),
        (torch.bfloat16, -(Fraction(2) ** 128)),
        pytest.param(torch.float64, Fraction(2) ** 1024, id="float64-2**1024"),
    ],
    ids=lambda v: (
        str(v).removeprefix("torch.") if isinstance(v, torch.dtype) else (str(v) if len(str(v)) < 20 else "big")
    ),
)
def test_round_rational_overflow_raises(dtype, q):
    with pytest.raises(NumericsError, match="overflows"):
        numerics.round_rational(q, dtype)


def test_round_rational_largest_finite_does_not_overflow():
    assert numerics.round_rational(Fraction(65519), torch.float16) == 65504.0  # below the threshold 65520
    assert (
        numerics.round_rational(Fraction(torch.finfo(torch.float32).max), torch.float32)
        == torch.finfo(torch.float32).max
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_module_weights_are_round_rational_of_exact_weights(dtype):
    for net in (
        _rational_net(),
        theory.compose(
            theory.gather(4, 2),
            theory.TwoLayerHead(
                [[Fraction(1, 3), 0, Fraction(-2, 3), Fraction(1, 7)]], [Fraction(1, 10)], [[Fraction(5, 3)]], [0]
            ),
        ),
    ):
        module = numerics.to_module(net, dtype)
        params = [p for p in module.parameters()]
        assert len(params) == 2 * net.depth
        for i, layer in enumerate(net.layers):
            for exact, got in ((layer.weight, params[2 * i]), (layer.bias, params[2 * i + 1])):
                want = torch.zeros(exact.size, dtype=torch.float64)
                for key, v in zip(exact.keys.tolist(), exact.values):
                    want[key] = numerics.round_rational(v, dtype)
                assert got.dtype == dtype and got.numel() == exact.size
                assert torch.equal(got.detach().reshape(-1).double(), want)


# ----------------------------------------------------------------------------------------- save / load
def _listing(path: Path) -> list[str]:
    """The entries of ``path`` other than the ``.cnnverify`` marker (its own tests are below)."""
    return sorted(n for n in os.listdir(path) if n != theory.io.MARKER_FILE)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("which", ["select", "rational"])
def test_save_load_round_trip(tmp_path, nets, which, dtype):
    net = nets[which]
    out = numerics.save_module(net, tmp_path / "w", dtype)
    assert _listing(out) == ["spec.json", "weights.safetensors"]
    assert (out / "spec.json").read_bytes() == theory.spec.spec_bytes(net)
    loaded_net, module = numerics.load_module(out)
    assert loaded_net == net and loaded_net.content_hash == net.content_hash
    ref = numerics.to_module(net, dtype)
    assert module.dtype == dtype and module.device == torch.device("cpu")
    got, want = module.state_dict(), ref.state_dict()
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)
    assert all(not p.requires_grad for p in module.parameters())
    x = random_inputs(0, 4, net.d).clamp(-100, 100).to(dtype)
    assert torch.equal(module(x), ref(x))


def test_load_accepts_files_inside_the_directory(tmp_path, nets):
    out = numerics.save_module(nets["select"], tmp_path / "w")
    for p in (out / "spec.json", out / "weights.safetensors"):
        assert numerics.load_module(p)[0] == nets["select"]


def test_export_adds_weights_to_a_theory_spec_dir(tmp_path, nets):
    net = nets["rational"]
    d = theory.save(net, tmp_path / "spec")
    (d / "notes.txt").write_text("kept")
    spec_before = (d / "spec.json").read_bytes()
    assert numerics.export(d, "float32") == d
    assert _listing(d) == ["notes.txt", "spec.json", "weights.safetensors"]
    assert (d / "spec.json").read_bytes() == spec_before and (d / "notes.txt").read_text() == "kept"
    # the marker now lists the weights too, but not the user's notes: a later --force would refuse the directory
    assert theory.io.read_marker(d)["files"] == ["spec.json", "weights.safetensors"]
    with pytest.raises(theory.TheoryError, match="notes.txt"):
        theory.save(net, d, force=True)
    assert numerics.load_module(d)[1].dtype == torch.float32
    with pytest.raises(NumericsError, match="spec_dir.*force"):
        numerics.export(d)
    numerics.export(d, torch.float64, force=True)
    assert numerics.load_module(d)[1].dtype == torch.float64
    assert _listing(tmp_path) == ["spec"]


def test_export_into_a_spec_dir_without_marker_adds_none(tmp_path, nets):
    """A spec directory cnnverify did not create (no marker) gets its weights, but no marker claiming it."""
    d = tmp_path / "hand"
    d.mkdir()
    (d / "spec.json").write_bytes(theory.spec.spec_bytes(nets["select"]))
    numerics.export(d)
    assert sorted(os.listdir(d)) == ["spec.json", "weights.safetensors"]


def test_export_refuses_dir_without_spec(tmp_path):
    with pytest.raises(NumericsError, match="spec_dir"):
        numerics.export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NumericsError, match="spec.json"):
        numerics.export(tmp_path / "empty")


def test_existing_out_dir_refused_unless_force(tmp_path, nets):
    out = numerics.save_module(nets["select"], tmp_path / "w")
    with pytest.raises(NumericsError, match="out_dir.*force"):
        numerics.save_module(nets["other"], out)
    assert numerics.load_module(out)[0] == nets["select"]
    numerics.save_module(nets["other"], out, force=True)
    assert numerics.load_module(out)[0] == nets["other"]
    assert _listing(tmp_path) == ["w"]


@pytest.fixture
def saved(tmp_path, nets) -> Path:
    return numerics.save_module(nets["select"], tmp_path / "w")


def _header_len(data: bytes) -> int:
    return 8 + struct.unpack("<Q", data[:8])[0]


@pytest.mark.parametrize("cut", ["empty", "4", "half_header", "header_only", "minus_1", "half"])
def test_truncated_weights_rejected(saved, cut):
    w = saved / "weights.safetensors"
    data = w.read_bytes()
    n = {
        "empty": 0,
        "4": 4,
        "half_header": _header_len(data) // 2,
        "header_only": _header_len(data),
        "minus_1": len(data) - 1,
        "half": len(data) // 2,
    }[cut]
    w.write_bytes(data[:n])
    with pytest.raises(NumericsError, match="weights.safetensors"):
        numerics.load_module(saved)


@pytest.mark.parametrize("where", ["length", "header", "data_first", "data_last"])
def test_flipped_bytes_rejected(saved, where):
    w = saved / "weights.safetensors"
    data = bytearray(w.read_bytes())
    h = _header_len(data)
    i = {"length": 3, "header": h // 2, "data_first": h, "data_last": len(data) - 1}[where]
    data[i] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(NumericsError, match="weights.safetensors"):
        numerics.load_module(saved)


def test_every_single_data_byte_flip_is_caught(saved):
    """Any change to any weight byte is caught by the bit-identity check (exhaustive over the data bytes)."""
    w = saved / "weights.safetensors"
    data = w.read_bytes()
    for i in range(_header_len(data), len(data), 7):
        bad = bytearray(data)
        bad[i] ^= 0x01
        w.write_bytes(bytes(bad))
        with pytest.raises(NumericsError, match="weights do not match the exact spec"):
            numerics.load_module(saved)


def test_weights_of_another_spec_rejected(tmp_path, saved, nets):
    other = numerics.save_module(nets["other"], tmp_path / "other")
    (saved / "weights.safetensors").write_bytes((other / "weights.safetensors").read_bytes())
    with pytest.raises(NumericsError, match="another spec"):
        numerics.load_module(saved)


def test_edited_spec_rejected(saved):
    spec = saved / "spec.json"
    obj = json.loads(spec.read_text())
    obj["layers"][0]["weight"]["values"][0] = "2"
    spec.write_text(json.dumps(obj))
    with pytest.raises(NumericsError, match="spec.json.*hash"):
        numerics.load_module(saved)
    spec.write_text("{not json")
    with pytest.raises(NumericsError, match="spec.json.*JSON"):
        numerics.load_module(saved)


def test_missing_weights_rejected(tmp_path, nets):
    d = theory.save(nets["select"], tmp_path / "spec")
    with pytest.raises(NumericsError, match="no weights.safetensors.*export"):
        numerics.load_module(d)


def _rewrite(saved: Path, tensors: dict, metadata: dict | None) -> None:
    (saved / "weights.safetensors").write_bytes(safetensors.torch.save(tensors, metadata))


def _good(net: theory.Network, dtype=torch.float64) -> tuple[dict, dict]:
    tensors = {k: v.contiguous() for k, v in numerics.to_module(net, dtype).state_dict().items()}
    return tensors, {
        "format": "cnnverify.weights",
        "version": "1",
        "content_hash": net.content_hash,
        "dtype": str(dtype).removeprefix("torch."),
    }


@pytest.mark.parametrize(
    "case, match",
    [
        ("no_metadata", "no metadata"),
        ("format", "format"),
        ("version", "version"),
        ("no_hash", "another spec"),
        ("dtype_name", "dtype"),
        ("dtype_mismatch", "dtype"),
        ("missing_tensor", "missing"),
        ("extra_tensor", "unexpected"),
        ("shape", "shape"),
        ("value", "do not match the exact spec"),
        ("negative_zero", "do not match the exact spec"),
    ],
)
def test_bad_weights_content_rejected(saved, nets, case, match):
    tensors, meta = _good(nets["select"])
    name = "layers.0.weight"
    if case == "no_metadata":
        meta = None
    elif case == "format":
        meta["format"] = "something.else"
    elif case == "version":
        meta["version"] = "2"
    elif case == "no_hash":
        del meta["content_hash"]
    elif case == "dtype_name":
        meta["dtype"] = "float8"
    elif case == "dtype_mismatch":
        tensors = {k: v.float() for k, v in tensors.items()}
    elif case == "missing_tensor":
        del tensors[name]
    elif case == "extra_tensor":
        tensors["layers.9.weight"] = torch.zeros(2, dtype=torch.float64)
    elif case == "shape":
        tensors[name] = tensors[name].reshape(-1).contiguous()
    elif case == "value":
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] += 1e-9
    elif case == "negative_zero":
        t = tensors[name].clone().view(-1)
        t[(t == 0).nonzero()[0]] = -0.0
        tensors[name] = t.reshape(tensors[name].shape)
    _rewrite(saved, tensors, meta)
    with pytest.raises(NumericsError, match=match):
        numerics.load_module(saved)


def _fail_on_call(monkeypatch, n: int) -> None:
    """Make the ``n``-th ``os.fsync`` (1-based) raise, as a full disk would in the middle of a write."""
    real, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == n:
            raise OSError(28, "No space left on device (simulated)")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("n", [1, 2])
def test_failed_save_leaves_nothing(tmp_path, nets, monkeypatch, n):
    parent = tmp_path / "parent"
    parent.mkdir()
    _fail_on_call(monkeypatch, n)
    with pytest.raises(OSError, match="simulated"):
        numerics.save_module(nets["select"], parent / "w")
    assert _listing(parent) == []


def test_failed_forced_save_and_export_keep_the_old_directory(tmp_path, nets, monkeypatch):
    old = numerics.save_module(nets["select"], tmp_path / "w")
    before = {p: (old / p).read_bytes() for p in _listing(old)}
    spec_only = theory.save(nets["other"], tmp_path / "s")
    _fail_on_call(monkeypatch, 2)
    with pytest.raises(OSError, match="simulated"):
        numerics.save_module(nets["other"], old, force=True)
    _fail_on_call(monkeypatch, 2)
    with pytest.raises(OSError, match="simulated"):
        numerics.export(spec_only)
    monkeypatch.undo()
    assert _listing(tmp_path) == ["s", "w"]
    assert {p: (old / p).read_bytes() for p in _listing(old)} == before
    assert _listing(spec_only) == ["spec.json"]


# ------------------------------------------------------------------------------------------ bad inputs
def _select_module():
    return numerics.to_module(theory.select(8, [0, 7], 2))


BAD_INPUTS = [
    ("dtype int32", lambda tmp: numerics.to_module(theory.gather(4, 2), dtype=torch.int32), "dtype"),
    ("dtype float8", lambda tmp: numerics.to_module(theory.gather(4, 2), dtype="float8"), "dtype"),
    ("device tpu", lambda tmp: numerics.to_module(theory.gather(4, 2), device="tpu"), "device"),
    pytest.param(
        "device cuda",
        lambda tmp: numerics.to_module(theory.gather(4, 2), device="cuda"),
        "device",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here"),
        id="device cuda",
    ),
    ("net not a Network", lambda tmp: numerics.to_module("gather"), "net"),
    ("x wrong length", lambda tmp: _select_module()(torch.zeros(2, 9, dtype=torch.float64)), "x"),
    ("x wrong rank", lambda tmp: _select_module()(torch.zeros(8, dtype=torch.float64)), "x"),
    ("x wrong channels", lambda tmp: _select_module()(torch.zeros(2, 2, 8, dtype=torch.float64)), "x"),
    ("x wrong dtype", lambda tmp: _select_module()(torch.zeros(2, 8, dtype=torch.float32)), "x"),
    ("x nan", lambda tmp: _select_module()(torch.full((2, 8), float("nan"), dtype=torch.float64)), "x"),
    ("x inf", lambda tmp: _select_module()(torch.tensor([[0.0] * 7 + [float("-inf")]], dtype=torch.float64)), "x"),
    (
        "memory_budget",
        lambda tmp: numerics.to_module(theory.select(64, [0, 63], 2, "fcn"), memory_budget=1000),
        "memory_budget",
    ),
    ("save dtype", lambda tmp: numerics.save_module(theory.gather(4, 2), tmp / "w", dtype="float8"), "dtype"),
    ("save net", lambda tmp: numerics.save_module({"d": 4}, tmp / "w"), "net"),
    ("save out_dir", lambda tmp: numerics.save_module(theory.gather(4, 2), 42), "out_dir"),
    ("export dtype", lambda tmp: numerics.export(theory.save(theory.gather(4, 2), tmp / "s"), "int8"), "dtype"),
    (
        "load device",
        lambda tmp: numerics.load_module(numerics.save_module(theory.gather(4, 2), tmp / "w"), device="tpu"),
        "device",
    ),
    ("load path", lambda tmp: numerics.load_module(tmp / "missing"), "path"),
]


@pytest.mark.parametrize(
    "name, call, arg", [b if hasattr(b, "marks") else pytest.param(*b, id=b[0]) for b in BAD_INPUTS]
)
def test_bad_input_raises_numerics_error_naming_the_argument(tmp_path, name, call, arg):
    with pytest.raises(NumericsError) as info:
        call(tmp_path)
    assert isinstance(info.value, ValueError)
    assert arg in str(info.value), str(info.value)
    assert not [n for n in _listing(tmp_path) if n.startswith(".")], "a refused call left a temporary directory"
    assert "w" not in _listing(tmp_path) or name == "load device", "a refused save wrote its directory"


# --------------------------------------------------------------------------------------------------- CUDA
@CUDA
def test_cuda_routing_and_load(tmp_path, nets):
    net = nets["select"]
    x = random_inputs(1, 4, net.d)
    module = numerics.to_module(net, device="cuda")
    assert torch.equal(module(x.cuda()).cpu(), x[:, [0, 7, 8, 15]])
    loaded_net, m = numerics.load_module(numerics.save_module(net, tmp_path / "w"), device="cuda")
    assert all(p.device.type == "cuda" for p in m.parameters())
    assert torch.equal(m(x.cuda()).cpu(), x[:, [0, 7, 8, 15]])
