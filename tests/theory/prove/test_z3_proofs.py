"""z3 proofs: routing by induction over levels, the monolithic encoding, and sup-norm bounds of heads.

Independent computations used here: the routing claim ``output j == x[i_j]`` and the corrupted networks'
behaviour are re-checked with :func:`theory.evaluate_exact`; the encoding is compared with exact evaluation at
random rational points; the Yarotsky network is built in this file from the tent-map recursion and its value is
compared with the closed form (the piecewise-linear interpolant of x^2 on the dyadic grid of step 2^-m).
Sources: Wang & Wu (2023), sparse routing (reconstruction); Yarotsky (2017) Prop. 2 (square).
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import z3
from hypothesis import given
from hypothesis import strategies as st

import theory
from theory import ConvLayer, Network, PointwiseLayer, SparseArray

ZERO = Fraction(0)
NANO = Fraction(1, 10**9)
X0, X1 = sp.symbols("x0 x1", real=True)


# ---------------------------------------------------------------------------------------------- helpers
def x_from_witness(d: int, witness) -> list[Fraction]:
    """The full input of a routing counterexample: named nonzero coordinates, zeros elsewhere."""
    x = [ZERO] * d
    for name, v in witness.items():
        assert name.startswith("x")
        x[int(name[1:])] = v
    return x


def assert_routing_violated(net: Network, support, witness) -> None:
    """The witness really breaks output j == x[support[j]] (exact re-check, independent of the prover)."""
    x = x_from_witness(net.d, witness)
    out = theory.evaluate_exact(net, x)
    assert list(out) != [x[i] for i in support]


def replace_layer(net: Network, i: int, layer) -> Network:
    layers = list(net.layers)
    layers[i] = layer
    return Network(d=net.d, c_in=net.c_in, layers=tuple(layers), meta=dict(net.meta))


def with_weights(net: Network, i: int, changes: dict, bias_changes: dict | None = None) -> Network:
    """``net`` with layer i's weight entries set (``{coords: value}``; 0 removes) and biases likewise."""
    layer = net.layers[i]
    w = dict(layer.weight.items())
    w.update(changes)
    b = dict(layer.bias.items())
    b.update(bias_changes or {})
    new = type(layer)(
        SparseArray.from_dict(layer.weight.shape, w), SparseArray.from_dict(layer.bias.shape, b), relu=layer.relu
    )
    return replace_layer(net, i, new)


def digits(i: int, s: int, L: int) -> list[int]:
    return [(i // s**l) % s for l in range(L)]


def perturb_weight(net, support, s, level):
    """Routing weight of channel (j=0, +) at ``level`` changed by 1e-9."""
    L = net.meta["L"]
    t = digits(support[0], s, L)[level]
    key = (0, 0, t)
    return with_weights(net, level, {key: net.layers[level].weight[key] + NANO})


def perturb_zero_weight(net, support, s, level):
    """A zero weight (wrong child of channel (0, +)) changed to 1e-9."""
    L = net.meta["L"]
    t = (digits(support[0], s, L)[level] + 1) % s
    return with_weights(net, level, {(0, 0, t): NANO})


def swap_digit(net, support, s, level):
    """Channel pair j = 0 at ``level`` reads the wrong child (one digit of i_0 swapped)."""
    L = net.meta["L"]
    t = digits(support[0], s, L)[level]
    t2 = (t + 1) % s
    changes = {}
    for e in (0, 1):
        c = 0 if level == 0 else e
        changes[(e, c, t)] = 0
        changes[(e, c, t2)] = net.layers[level].weight[(e, c, t)]
    return with_weights(net, level, changes)


def flip_sign(net, support, s, level):
    """The routing weight of channel (0, -) with its sign flipped (level 0) or the readout's sign flipped."""
    if level == net.meta["L"]:
        return with_weights(net, level, {(0, 1): Fraction(1)})
    t = digits(support[0], s, net.meta["L"])[level]
    key = (1, 0 if level == 0 else 1, t)
    return with_weights(net, level, {key: -net.layers[level].weight[key]})


CORRUPTIONS = [perturb_weight, perturb_zero_weight, swap_digit, flip_sign]


def yarotsky(m: int, *, readout_delta: Fraction = ZERO) -> Network:
    """Yarotsky's f_m(x) = x - sum_{s=1}^m g_s(x)/4^s on d = 1 position (built here, independently).

    Tent ``g(t) = 2 relu(t) - 4 relu(t - 1/2) + 2 relu(t - 1)``; hidden channels per layer:
    ``relu(t), relu(t - 1/2), relu(t - 1), relu(acc)`` (t = g_{s-1}(x), acc = f_{s-1}(x) >= 0 on [0, 1]).
    ``readout_delta`` is added to the readout's weight on ``acc`` (a planted violation).
    """
    half = Fraction(1, 2)
    shift = SparseArray.from_dense([0, -half, -1, 0])
    layers = [PointwiseLayer(SparseArray.from_dense([[1], [1], [1], [1]]), shift)]
    tent = [2, -4, 2, 0]
    for s in range(1, m):
        c = Fraction(1, 4**s)
        layers.append(PointwiseLayer(SparseArray.from_dense([tent, tent, tent, [-2 * c, 4 * c, -2 * c, 1]]), shift))
    c = Fraction(1, 4**m)
    readout = [[-2 * c, 4 * c, -2 * c, 1 + readout_delta]]
    layers.append(PointwiseLayer(SparseArray.from_dense(readout), SparseArray.zeros((1,)), relu=False))
    return Network(d=1, layers=tuple(layers), meta={"construction": "yarotsky_test", "m": m})


def interpolant_of_square(m: int, x: Fraction) -> Fraction:
    """Closed form of f_m on [0, 1]: linear interpolation of x^2 at the nodes j / 2^m."""
    n = 2**m
    j = min(math.floor(x * n), n - 1)
    a, b = Fraction(j, n), Fraction(j + 1, n)
    return a * a + (x - a) * (a + b)


def roundtrip(cert: theory.Certificate, tmp_path=None) -> None:
    again = theory.Certificate.from_json(json.loads(json.dumps(cert.to_json())))
    assert again.to_json() == cert.to_json()
    if tmp_path is not None:
        path = cert.save(tmp_path / f"{cert.method}-{cert.status}.json")
        assert theory.Certificate.load(path).to_json() == cert.to_json()


# ---------------------------------------------------------------------------------------------- routing: proved
ROUTING_CASES = [
    (2, 1, [0]),
    (2, 1, [1, 0]),
    (2, 3, [0, 7]),
    (2, 3, [1, 3]),
    (2, 4, [5, 6, 0, 15]),
    (2, 5, [31, 0, 16, 15]),
    (3, 1, [2]),
    (3, 2, [0, 8, 4]),
    (3, 3, [26, 0, 13, 14]),
    (3, 3, [1, 10, 19]),
    (4, 1, [3, 0]),
    (4, 2, [0, 15, 5]),
    (4, 3, [63, 0, 1, 2]),
    (4, 3, [7, 23, 39, 55]),
]


def random_support(rng: random.Random, d: int, k: int) -> list[int]:
    """k distinct indices with 0, d-1, an adjacent pair and a shared residue mixed in, shuffled."""
    forced = [0, d - 1, d // 2, d // 2 + 1, (d // 2 + 2) % d]
    rest = rng.sample(range(d), min(k, d))
    out = list(dict.fromkeys(rng.sample(forced, min(2, len(forced))) + rest))[:k]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("s,L,support", ROUTING_CASES)
def test_prove_routing_proves_select(s, L, support):
    d = s**L
    net = theory.select(d, support, s)
    cert = theory.prove_routing(net)
    assert cert.status == "proved", cert.details.get("reason")
    assert cert.method == "z3-induction" and cert.spec_hash == net.content_hash
    assert list(cert.assumptions["support"]) == support
    lemmas = cert.details["lemmas"]
    assert len(lemmas) == L + 1 and all(rec["z3"] == "unsat" for rec in lemmas)
    assert len(cert.details["index_identities"]) == L
    assert all(rec["z3"] == "unsat" for rec in cert.details["index_identities"])
    assert all(p["holds"] for p in cert.details["premises"])


@pytest.mark.parametrize("s", [2, 3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_prove_routing_random_supports(s, seed):
    rng = random.Random(1000 * s + seed)
    L = rng.randint(1, {2: 8, 3: 5, 4: 4}[s])
    d = s**L
    support = random_support(rng, d, rng.randint(1, min(5, d)))
    cert = theory.prove_routing(theory.select(d, support, s))
    assert cert.status == "proved", (support, cert.details.get("reason"))


def test_prove_routing_support_argument_overrides_meta():
    net = theory.select(16, [3, 12], 2)
    assert theory.prove_routing(net, [3, 12]).proved
    # the same weights do not route [12, 3]; channels still match, so this is a refutation, not a premise failure
    cert = theory.prove_routing(net, [12, 3])
    assert cert.status == "refuted"
    assert_routing_violated(net, [12, 3], cert.witness)


def test_prove_routing_d_2_20():
    d = 2**20
    support = [0, d // 2 + 1, d - 1]
    cert = theory.prove_routing(theory.select(d, support, 2))
    assert cert.proved and len(cert.details["lemmas"]) == 21


def test_shared_residues_are_one_variable():
    """support [1, 3] (d = 8, s = 2): both indices are 1 mod 2, so at level 1 channels (0, e) and (1, e) hold
    the same value everywhere. A network whose level-2 filter reads channel pair 1 for output pair 0 is still
    correct; the level-2 lemma must identify y_(t,0) and y_(t,1) to prove it (both provers agree)."""
    net = theory.select(8, [1, 3], 2)
    t = digits(1, 2, 3)[1]
    variant = with_weights(net, 1, {(0, 0, t): 0, (1, 1, t): 0, (0, 2, t): 1, (1, 3, t): 1})
    assert variant.content_hash != net.content_hash
    cert = theory.prove_routing(variant)
    assert cert.proved, cert.details.get("reason")
    assert cert.details["lemmas"][1]["variables"] == 2  # two children x one shared residue
    assert theory.prove_equivalent_monolithic(variant, [1, 3]).proved


# ---------------------------------------------------------------------------------------------- routing: refuted
@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("s,L,support", [(2, 4, [5, 6, 0, 15]), (3, 3, [26, 0, 13]), (4, 2, [15, 0, 5])])
def test_corrupted_routing_is_refuted_with_a_real_counterexample(corrupt, s, L, support):
    d = s**L
    net = theory.select(d, support, s)
    for level in range(L + (corrupt is flip_sign)):
        bad_net = corrupt(net, support, s, level)
        cert = theory.prove_routing(bad_net)
        assert cert.status == "refuted", (corrupt.__name__, level, cert.details.get("reason"))
        assert cert.spec_hash == bad_net.content_hash
        assert_routing_violated(bad_net, support, cert.witness)
        # the same point is routed correctly by the uncorrupted network
        x = x_from_witness(d, cert.witness)
        assert list(theory.evaluate_exact(net, x)) == [x[i] for i in support]


def test_corruption_at_d_2_20_is_refuted():
    d = 2**20
    support = [0, d // 2 + 1, d - 1]
    net = theory.select(d, support, 2)
    bad_net = with_weights(net, 17, {(4, 4, 1): 1 + NANO})  # channel (2, +) of i_2 = d - 1 (digit 1)
    cert = theory.prove_routing(bad_net)
    assert cert.status == "refuted"
    assert cert.details["failed_lemma"] == "level 18"
    assert_routing_violated(bad_net, support, cert.witness)
    assert any(int(name[1:]) > 2**18 for name in cert.witness)  # lifted at the ancestor of d - 1, not at p = 0


def test_readout_relu_and_bias_are_encoded_not_assumed():
    net = theory.select(8, [2, 5], 2)
    last = net.layers[-1]
    relu_readout = replace_layer(net, 3, PointwiseLayer(last.weight, last.bias, relu=True))
    cert = theory.prove_routing(relu_readout)
    assert cert.status == "refuted"
    assert_routing_violated(relu_readout, [2, 5], cert.witness)
    biased = with_weights(net, 0, {}, {(2,): NANO})
    cert = theory.prove_routing(biased)
    assert cert.status == "refuted"
    assert_routing_violated(biased, [2, 5], cert.witness)


def test_invariant_stronger_than_claim_gives_unknown_not_refuted():
    """A bias c > 0 on both channels of a pair after level 1 breaks the level invariant (values relu(y) + c)
    but cancels in the readout: the network is correct. The induction cannot lift the failing lemma and says
    unknown; the monolithic query proves the claim."""
    net = theory.select(16, [3, 9], 2)
    shifted = with_weights(net, 2, {}, {(0,): Fraction(1, 3), (1,): Fraction(1, 3)})
    x = [Fraction(v, 7) for v in range(-8, 8)]
    assert list(theory.evaluate_exact(shifted, x)) == [x[3], x[9]]
    cert = theory.prove_routing(shifted)
    assert cert.status == "unknown" and "lift" in cert.details["reason"]
    assert theory.prove_equivalent_monolithic(shifted, [3, 9]).proved


# ---------------------------------------------------------------------------------------------- routing: premises
def _two_channel_input_net() -> Network:
    w = SparseArray.from_dict((2, 2, 2), {(0, 0, 0): 1, (1, 0, 0): -1})
    readout = PointwiseLayer(
        SparseArray.from_dict((1, 2), {(0, 0): 1, (0, 1): -1}), SparseArray.zeros((1,)), relu=False
    )
    return Network(d=2, c_in=2, layers=(ConvLayer(w, SparseArray.zeros((2,))), readout), meta={"support": [0]})


PREMISE_CASES = {
    "lcn": (lambda: theory.select(16, [1, 14], 2, architecture="lcn"), "premise: shared ConvLayer filters"),
    "fcn": (lambda: theory.select(16, [1, 14], 2, architecture="fcn"), "premise: shared ConvLayer filters"),
    # a two-layer head after the routing: the fused 1x1 ReLU layer sits among the tree layers
    "composed_head": (
        lambda: theory.compose(
            theory.select(8, [1, 6], 2), theory.TwoLayerHead([[1, 0], [0, 1]], [0, 0], [[1, 0], [0, 1]], [0, 0])
        ),
        "premise: shared ConvLayer filters",
    ),
    "gather": (lambda: theory.gather(8, 2), "premise: channels"),
    "two_input_channels": (_two_channel_input_net, "premise: one input channel"),
    "mixed_kernels": (
        lambda: Network(
            d=6,
            layers=(
                ConvLayer(SparseArray.from_dict((2, 1, 2), {(0, 0, 0): 1, (1, 0, 0): -1}), SparseArray.zeros((2,))),
                ConvLayer(SparseArray.from_dict((2, 2, 3), {(0, 0, 0): 1, (1, 1, 0): 1}), SparseArray.zeros((2,))),
                PointwiseLayer(
                    SparseArray.from_dict((1, 2), {(0, 0): 1, (0, 1): -1}), SparseArray.zeros((1,)), relu=False
                ),
            ),
            meta={"support": [0]},
        ),
        "premise: kernel = stride",
    ),
}


@pytest.mark.parametrize("case", sorted(PREMISE_CASES))
def test_failed_premise_gives_unknown(case):
    build, reason = PREMISE_CASES[case]
    net = build()
    support = net.meta.get("support") or list(range(net.n_outputs))
    cert = theory.prove_routing(net, support)
    assert cert.status == "unknown"
    assert reason in cert.details["reason"]
    assert any(not p["holds"] for p in cert.details["premises"])


def test_tiny_budget_is_unknown_never_proved():
    cert = theory.prove_routing(theory.select(2**10, [0, 1023], 2), timeout_s=1e-9)
    assert cert.status == "unknown" and "z3 did not decide" in cert.details["reason"]


@pytest.mark.parametrize(
    "args,kwargs",
    [
        (("not a net",), {}),
        ((None,), {}),
        ((theory.gather(4, 2),), {}),  # no support in meta, none given
        ((theory.select(8, [1, 2], 2), [1, 8]), {}),  # out of range
        ((theory.select(8, [1, 2], 2), [1, 1]), {}),  # repeated
        ((theory.select(8, [1, 2], 2), []), {}),  # empty
        ((theory.select(8, [1, 2], 2), "12"), {}),  # a string
        ((theory.select(8, [1, 2], 2), [1.0, 2]), {}),  # not ints
        ((theory.select(8, [1, 2], 2),), {"timeout_s": 0}),
        ((theory.select(8, [1, 2], 2),), {"timeout_s": -1}),
        ((theory.select(8, [1, 2], 2),), {"timeout_s": float("nan")}),
        ((theory.select(8, [1, 2], 2),), {"timeout_s": "10"}),
        ((theory.select(8, [1, 2], 2),), {"timeout_s": True}),
    ],
)
def test_prove_routing_bad_input(args, kwargs):
    with pytest.raises(theory.TheoryError):
        theory.prove_routing(*args, **kwargs)


# ---------------------------------------------------------------------------------------------- monolithic
@pytest.mark.parametrize("s,L,support", [c for c in ROUTING_CASES if c[0] ** c[1] <= 32])
def test_monolithic_agrees_with_induction_on_correct_networks(s, L, support):
    net = theory.select(s**L, support, s)
    assert theory.prove_equivalent_monolithic(net, support).proved
    assert theory.prove_equivalent_monolithic(net, support, cone=False).proved
    assert theory.prove_routing(net).proved


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("s,L,support", [(2, 5, [31, 0, 16, 15]), (3, 3, [1, 10, 19]), (4, 2, [0, 15, 5])])
def test_monolithic_agrees_with_induction_on_corrupted_networks(corrupt, s, L, support):
    net = theory.select(s**L, support, s)
    for level in range(L + (corrupt is flip_sign)):
        bad_net = corrupt(net, support, s, level)
        mono = theory.prove_equivalent_monolithic(bad_net, support)
        ind = theory.prove_routing(bad_net)
        assert mono.status == ind.status == "refuted"
        assert mono.method == "z3-monolithic"
        assert_routing_violated(bad_net, support, mono.witness)


@given(data=st.data())
def test_monolithic_and_induction_agree_on_random_single_corruptions(data):
    s = data.draw(st.integers(2, 4))
    L = data.draw(st.integers(1, {2: 5, 3: 3, 4: 2}[s]))
    d = s**L
    support = data.draw(st.lists(st.integers(0, d - 1), min_size=1, max_size=min(4, d), unique=True))
    net = theory.select(d, support, s)
    level = data.draw(st.integers(0, L))
    layer = net.layers[level]
    coords = tuple(data.draw(st.integers(0, n - 1)) for n in layer.weight.shape)
    delta = data.draw(st.sampled_from([NANO, -NANO, Fraction(1), Fraction(-2)]))
    bad_net = with_weights(net, level, {coords: layer.weight[coords] + delta})
    ind, mono = theory.prove_routing(bad_net), theory.prove_equivalent_monolithic(bad_net, support)
    assert ind.status == mono.status, (ind.details.get("reason"), mono.details.get("reason"))
    if mono.status == "refuted":
        assert_routing_violated(bad_net, support, mono.witness)
        assert_routing_violated(bad_net, support, ind.witness)


def test_monolithic_on_lcn_and_fcn_counterparts():
    for arch in ("lcn", "fcn"):
        net = theory.select(16, [0, 15, 6], 2, architecture=arch)
        assert theory.prove_equivalent_monolithic(net, [0, 15, 6]).proved


def test_monolithic_with_a_callable_expected():
    head = theory.TwoLayerHead([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])
    net = head.network()
    absdiff = lambda v: [z3.If(v[0] >= 0, v[0], -v[0]) - z3.If(v[1] >= 0, v[1], -v[1])]  # noqa: E731
    assert theory.prove_equivalent_monolithic(net, absdiff).proved
    wrong = lambda v: [z3.If(v[0] >= 0, v[0], -v[0]) - v[1]]  # noqa: E731
    cert = theory.prove_equivalent_monolithic(net, wrong)
    assert cert.status == "refuted"
    x = [cert.witness.get("x0", ZERO), cert.witness.get("x1", ZERO)]
    assert theory.evaluate_exact(net, [[x[0]], [x[1]]]) != (abs(x[0]) - x[1],)
    # gather is the identity: expected given as constants and expressions mixed
    g = theory.gather(4, 2)
    assert theory.prove_equivalent_monolithic(g, lambda v: [v[0], v[1], v[2], v[3]]).proved
    cert = theory.prove_equivalent_monolithic(g, lambda v: [v[0], v[1], v[2], 0])
    assert cert.status == "refuted" and cert.witness["x3"] != 0


@pytest.mark.parametrize(
    "expected",
    [
        [0, 1],
        [0, 1, 2, 3, 4, 5, 6, 99],
        "ab",
        5,
        lambda v: [v[0]],
        lambda v: 1 / 0,
        lambda v: ["x"] * 8,
        lambda v: [v[100]] * 8,
    ],
)
def test_monolithic_bad_expected(expected):
    with pytest.raises(theory.TheoryError):
        theory.prove_equivalent_monolithic(theory.gather(8, 2), expected)


def test_monolithic_bad_net_and_timeout():
    with pytest.raises(theory.TheoryError):
        theory.prove_equivalent_monolithic("net", [0])
    with pytest.raises(theory.TheoryError):
        theory.prove_equivalent_monolithic(theory.select(8, [1], 2), [1], timeout_s=0)
    cert = theory.prove_equivalent_monolithic(theory.select(8, [1], 2), [1], timeout_s=1e-9)
    assert cert.status == "unknown"


# ---------------------------------------------------------------------------------------------- encode
ENCODE_NETS = {
    "select": lambda: theory.select(27, [26, 0, 4], 3),
    "select_lcn": lambda: theory.select(8, [5, 2], 2, architecture="lcn"),
    "select_fcn": lambda: theory.select(8, [5, 2], 2, architecture="fcn"),
    "gather": lambda: theory.gather(9, 3),
    "tree_sum": lambda: theory.tree_sum(
        8, 2, theory.TwoLayerHead([[1, 0], [-1, 0], [0, 1], [0, -1]], [0] * 4, [[1, 1, -1, -1]], [0])
    ),
    "yarotsky": lambda: yarotsky(4),
    "head": lambda: theory.TwoLayerHead(
        [[1, -2], [Fraction(1, 3), 1]], [Fraction(-1, 2), 1], [[2, -1]], [Fraction(5, 7)]
    ).network(),
}


@pytest.mark.parametrize("name", sorted(ENCODE_NETS))
@pytest.mark.parametrize("cone", [True, False])
def test_encode_matches_exact_evaluation(name, cone):
    net = ENCODE_NETS[name]()
    variables, outs = theory.encode(net, cone=cone)
    assert len(outs) == net.n_outputs
    rng = random.Random(7)
    n_in = net.d * net.c_in
    for _ in range(3):
        flat = [Fraction(rng.randint(-40, 40), rng.choice((1, 3, 8))) for _ in range(n_in)]
        x = flat if net.c_in == 1 else np.array(flat, dtype=object).reshape(net.d, net.c_in).T
        subs = [(v, z3.RealVal(str(flat[u]))) for u, v in variables.items()]
        got = [z3.simplify(z3.substitute(o, *subs)) for o in outs]
        got = [Fraction(g.numerator_as_long(), g.denominator_as_long()) for g in got]
        assert tuple(got) == theory.evaluate_exact(net, x)


def test_encode_names_inputs_like_input_symbols():
    net = theory.select(8, [7, 2], 2)
    variables, _ = theory.encode(net)
    assert sorted(map(str, variables.values())) == ["x2", "x7"]  # only the cone
    assert str(variables[5]) == "x5"  # created on demand
    head = yarotsky(2)
    assert [str(v) for v in theory.encode(head)[0].values()] == [str(s) for s in theory.input_symbols(head)]
    with pytest.raises(theory.TheoryError):
        theory.encode(net, inputs=[z3.Real("a")])  # missing the cone's inputs
    with pytest.raises(theory.TheoryError):
        theory.encode(net, inputs={2: 1, 7: 2})  # not z3 expressions
    with pytest.raises(theory.TheoryError):
        theory.encode("net")


# ---------------------------------------------------------------------------------------------- bounds
def yarotsky_bound(m: int) -> Fraction:
    return Fraction(1, 2 ** (2 * m + 2))


def test_yarotsky_network_is_the_interpolant():
    """The network built here equals the closed form (independent check of the test's own construction)."""
    for m in range(1, 7):
        net = yarotsky(m)
        for j in range(0, 65):
            x = Fraction(j, 64) + Fraction(1, 997) * (j < 64)
            assert theory.evaluate_exact(net, [x]) == (interpolant_of_square(m, x),)


@pytest.mark.parametrize("m", range(1, 9))
def test_yarotsky_square_bound_is_proved_and_tight(m):
    net, eps = yarotsky(m), yarotsky_bound(m)
    cert = theory.prove_bound(net, X0**2, (0, 1), eps)
    assert cert.status == "proved" and cert.upper == eps and cert.method == "z3-nra"
    assert cert.details["strategy"] == "pieces" and cert.details["pieces"] == 2**m
    tight = theory.prove_bound(net, X0**2, (0, 1), eps * Fraction(99, 100))
    assert tight.status == "refuted"
    x = tight.witness["x0"]
    assert 0 <= x <= 1
    value = interpolant_of_square(m, x)
    assert theory.evaluate_exact(net, [x]) == (value,)
    assert eps * Fraction(99, 100) < abs(value - x * x) == tight.lower <= eps


@pytest.mark.parametrize("strategy", ["smt", "nlsat"])
@pytest.mark.parametrize("m", [1, 3, 5])
def test_yarotsky_bound_with_the_whole_query_strategies(m, strategy):
    """The single-query encodings (ReLU units as defined variables) give the same answers as the pieces."""
    net, eps = yarotsky(m), yarotsky_bound(m)
    assert theory.prove_bound(net, X0**2, (0, 1), eps, strategy=strategy).proved
    assert theory.prove_bound(net, X0**2, (0, 1), eps, strategy=strategy, splits=3).proved
    tight = theory.prove_bound(net, X0**2, (0, 1), eps * Fraction(99, 100), strategy=strategy)
    assert tight.status == "refuted"
    x = tight.witness["x0"]
    assert abs(interpolant_of_square(m, x) - x * x) > eps * Fraction(99, 100)


@pytest.mark.parametrize("name", ["yarotsky", "head"])
def test_linear_pieces_match_exact_evaluation(name):
    from theory.prove._bound_queries import linear_pieces

    net = (
        yarotsky(5)
        if name == "yarotsky"
        else Network(
            d=1,
            layers=(
                PointwiseLayer(
                    SparseArray.from_dense([[1], [-2], [Fraction(1, 3)]]),
                    SparseArray.from_dense([Fraction(-1, 5), 1, 0]),
                ),
                PointwiseLayer(
                    SparseArray.from_dense([[1, -1, 3], [2, 1, -1]]), SparseArray.from_dense([0, Fraction(-1, 2)])
                ),
                PointwiseLayer(SparseArray.from_dense([[1, -3]]), SparseArray.from_dense([Fraction(1, 7)]), relu=False),
            ),
        )
    )
    lo, hi = Fraction(-3, 2), Fraction(5, 3)
    pieces = linear_pieces(net, lo, hi)
    assert pieces[0][0] == lo and pieces[-1][1] == hi
    assert all(p[1] == q[0] and p[0] < p[1] for p, q in zip(pieces, pieces[1:]))
    rng = random.Random(3)
    for u, v, a, b in pieces:
        for x in (u, v, (u + v) / 2, u + (v - u) * Fraction(rng.randint(1, 99), 100)):
            assert theory.evaluate_exact(net, [x]) == (a * x + b,)


@pytest.mark.parametrize("m", [2, 5])
def test_planted_violation_in_head_is_refuted_at_the_true_bound(m):
    """Readout weight on the accumulator + 1e-9: the error at the interior nodes' midpoints grows by
    1e-9 * f_{m-1}(x) > 0, beyond the true bound, which is then refuted with a real counterexample."""
    eps = yarotsky_bound(m)
    bad_net = yarotsky(m, readout_delta=NANO)
    cert = theory.prove_bound(bad_net, X0**2, (0, 1), eps)
    assert cert.status == "refuted"
    x = cert.witness["x0"]
    (got,) = theory.evaluate_exact(bad_net, [x])
    assert 0 <= x <= 1 and abs(got - x * x) > eps
    assert cert.lower == abs(got - x * x)


def test_prove_bound_two_inputs_and_nonlinear_targets():
    net = Network(
        d=1, c_in=2, layers=(PointwiseLayer(SparseArray.from_dense([[1, 1]]), SparseArray.zeros((1,))),), meta={}
    )
    # relu(x0 + x1) vs x0 + x1 on [0, 1]^2 is exact; vs x0 x1 the gap 1 - (1 - x0)(1 - x1) peaks at 1
    assert theory.prove_bound(net, X0 + X1, (0, 1), 0).proved
    assert theory.prove_bound(net, X0 * X1, [(0, 1), (0, 1)], 1).proved
    cert = theory.prove_bound(net, X0 * X1, (0, 1), Fraction(99, 100))
    assert cert.status == "refuted"
    a, b = cert.witness["x0"], cert.witness["x1"]
    assert abs(max(a + b, ZERO) - a * b) > Fraction(99, 100)
    # a cubic target with rational coefficients and a negative box
    assert theory.prove_bound(net, Fraction(1, 2) * X0**3 - X1**2 + 3, [(-1, 0), (-2, -1)], 5).proved


def test_algebraic_models_become_rational_witnesses():
    """0 vs x0^2 on [0, 2] with eps = 2 - 10^-30: the violated set is (sqrt(2 - 1e-30), 2], found exactly."""
    zero = Network(d=1, layers=(PointwiseLayer(SparseArray.zeros((1, 1)), SparseArray.zeros((1,)), relu=False),))
    eps = 2 - Fraction(1, 10**30)
    cert = theory.prove_bound(zero, X0**2, (0, 2), eps)
    assert cert.status == "refuted" and cert.witness["x0"] ** 2 > eps
    solver = z3.Solver()
    x = z3.Real("x")
    solver.add(x * x == 2, x > 0)
    assert solver.check() == z3.sat
    from theory.prove._solving import rational_candidates

    cands = rational_candidates(solver.model()[x], Fraction(0), Fraction(3, 2))
    assert any(abs(c * c - 2) < Fraction(1, 10**100) for c in cands) and all(0 <= c <= Fraction(3, 2) for c in cands)


def test_tiny_budget_bound_is_unknown():
    cert = theory.prove_bound(yarotsky(3), X0**2, (0, 1), yarotsky_bound(3), timeout_s=1e-9)
    assert cert.status == "unknown" and cert.upper is None


def _as_fraction(q) -> Fraction:
    return Fraction(int(q.p), int(q.q))


def _target_at(head, x) -> Fraction:
    value = head.target.xreplace(
        {s: sp.Rational(v.numerator, v.denominator) for s, v in zip(theory.head_symbols(head.k), x)}
    )
    return _as_fraction(value)


def _assert_really_violates(head, cert, eps):
    x = [cert.witness[f"x{j}"] for j in range(head.k)]
    assert all(lo <= v <= hi for v, (lo, hi) in zip(x, head.box))
    (got,) = theory.evaluate_exact(head.net, [[v] for v in x])
    assert abs(got - _target_at(head, x)) == cert.lower > eps


def _heads():
    """pytest params (builder, tight) of theory's approximation heads, when that module is there."""
    if not hasattr(theory, "square_head"):
        return [pytest.param(None, False, id="none", marks=pytest.mark.skip(reason="theory.square_head not available"))]
    P = pytest.param
    out = [P(lambda m=m: theory.square_head(m), True, id=f"square-m{m}") for m in range(1, 9)]
    out += [
        P(lambda: theory.square_head(3, (-1, 2)), True, id="square-m3-box[-1,2]"),
        P(lambda: theory.square_head(4, (Fraction(1, 3), Fraction(5, 2))), True, id="square-m4-box[1/3,5/2]"),
        P(lambda: theory.product_head(1), True, id="product-m1"),
        P(lambda: theory.product_head(2), True, id="product-m2"),
        P(lambda: theory.product_head(2, Fraction(1, 3)), True, id="product-m2-B1/3"),
        P(lambda: theory.product_head(3), True, id="product-m3", marks=pytest.mark.slow),
        P(lambda: theory.product_head(4), True, id="product-m4", marks=pytest.mark.slow),
        P(lambda: theory.polynomial_head("x0**3", (0, 1), 3, k=1), False, id="poly-x0^3-m3"),
        P(lambda: theory.polynomial_head("2*x0**4 - x0", (-1, 1), 2, k=1), False, id="poly-2x0^4-x0-m2"),
        P(lambda: theory.polynomial_head("x0**2 - x0*x1 + 3*x1", (-1, 1), 2, k=2), False, id="poly-x0^2-x0x1+3x1-m2"),
    ]
    return out


@pytest.mark.parametrize("build,tight", _heads())
def test_theory_heads_a_priori_bounds(build, tight):
    """Cross-check of the heads module: its a-priori bound is proved for the exact weights, and where the
    head claims tightness, 0.99 of it is refuted with a real counterexample."""
    head = build()
    eps = _as_fraction(head.bound)
    cert = theory.prove_bound(head, timeout_s=300)
    assert cert.proved and cert.eps == eps, cert.details
    if tight:
        low = theory.prove_bound(head, eps=eps * Fraction(99, 100))
        assert low.status == "refuted", low.details
        _assert_really_violates(head, low, eps * Fraction(99, 100))


@pytest.mark.parametrize("m", [1, 3])
def test_interval_bnb_brackets_the_exact_sup(m):
    """Two independent provers: z3 shows sup |f_m - x^2| on [0, 1] is exactly 2^(-2m-2) (proved at it, attained
    at the refutation witness of a smaller eps); the interval branch and bound must bracket that value."""
    certify = getattr(theory, "certify_sup_error", None)
    if certify is None or not hasattr(theory, "square_head"):
        pytest.skip("theory.certify_sup_error / square_head not available")
    head, eps = theory.square_head(m), yarotsky_bound(m)
    assert theory.prove_bound(head, eps=eps).proved
    assert theory.prove_bound(head, eps=eps * Fraction(99, 100)).lower == eps  # the sup is attained: exactly eps
    cert = certify(head.net, head.target, head.box, time_limit_s=20)
    assert cert.lower <= eps <= cert.upper


NOT_POLYNOMIAL = [
    sp.sin(X0),
    sp.Abs(X0),
    X0**-1,
    sp.sqrt(X0),
    sp.Float(0.5) * X0,
    sp.Max(0, X0),
    sp.Symbol("y") + X0,
    X0**X1,
    sp.exp(X0),
    sp.pi * X0,
    X0 ** sp.Rational(1, 2),
]


@pytest.mark.parametrize("target", NOT_POLYNOMIAL, ids=str)
def test_non_polynomial_target_is_refused_by_name(target):
    net = Network(d=1, c_in=2, layers=(PointwiseLayer(SparseArray.from_dense([[1, 1]]), SparseArray.zeros((1,))),))
    with pytest.raises(theory.TheoryError, match="target"):
        theory.prove_bound(net, target, (0, 1), 1)


def test_sympy_to_z3_polynomials():
    xs = {"x0": z3.Real("x0"), "x1": z3.Real("x1")}
    expr = sp.Rational(-3, 7) * X0**3 * X1 + 2 * X1**2 - X0 + 5 + X1**0
    term = theory.sympy_to_z3(expr, xs)
    for a, b in [(Fraction(1, 2), Fraction(-3)), (Fraction(-5, 3), Fraction(2, 9))]:
        got = z3.simplify(z3.substitute(term, (xs["x0"], z3.RealVal(str(a))), (xs["x1"], z3.RealVal(str(b)))))
        want = Fraction(-3, 7) * a**3 * b + 2 * b * b - a + 6
        assert Fraction(got.numerator_as_long(), got.denominator_as_long()) == want
    # a plain (assumption-free) symbol works by name, an unknown name does not
    assert theory.sympy_to_z3(sp.Symbol("x1") * 2, xs) is not None
    with pytest.raises(theory.TheoryError, match="x2"):
        theory.sympy_to_z3(sp.Symbol("x2"), xs)


def _head_with_bound(bound):
    net = Network(d=1, layers=(PointwiseLayer(SparseArray.from_dense([[1]]), SparseArray.zeros((1,))),))
    return theory.Head(net=net, target=X0, box=(0, 1), bound=bound, formula=bound, source="test")


@pytest.mark.parametrize(
    "args,kwargs",
    [
        (("head",), {}),
        ((theory.select(4, [1], 2), X0, (0, 1), 1), {}),  # more than one position
        (
            (
                Network(d=1, layers=(PointwiseLayer(SparseArray.from_dense([[1], [1]]), SparseArray.zeros((2,))),)),
                X0,
                (0, 1),
                1,
            ),
            {},
        ),  # two outputs
        ((yarotsky(2),), {}),  # bare network without target/box/eps
        ((yarotsky(2), X0**2, (0, 1)), {}),  # no eps
        ((yarotsky(2), X0**2, (1, 0), 1), {}),  # empty box
        ((yarotsky(2), X0**2, [(0, 1), (0, 1)], 1), {}),  # box for 2 inputs
        ((yarotsky(2), X0**2, (0, 1), -1), {}),  # negative eps
        ((yarotsky(2), X0**2, (0, 1), float("nan")), {}),
        ((yarotsky(2), X0**2, (0, 1), "abc"), {}),
        ((yarotsky(2), "x0 +* 2", (0, 1), 1), {}),  # not parseable
        ((yarotsky(2), X0**2, (0, 1), 1), {"timeout_s": 0}),
        ((_head_with_bound(sp.sqrt(2) / 10),), {}),  # irrational a-priori bound and no eps
        ((yarotsky(2), X0**2, (0, 1), 1), {"strategy": "z3"}),
        (
            (
                Network(
                    d=1, c_in=2, layers=(PointwiseLayer(SparseArray.from_dense([[1, 1]]), SparseArray.zeros((1,))),)
                ),
                X0,
                (0, 1),
                1,
            ),
            {"strategy": "pieces"},
        ),  # pieces need one input
        ((yarotsky(2), X0**2, (0, 1), 1), {"splits": 0}),
        ((yarotsky(2), X0**2, (0, 1), 1), {"splits": 2.0}),
        ((yarotsky(2), X0**2, (0, 1), 1), {"splits": 65}),
    ],
)
def test_prove_bound_bad_input(args, kwargs):
    with pytest.raises(theory.TheoryError):
        theory.prove_bound(*args, **kwargs)


def test_prove_bound_head_defaults():
    head = _head_with_bound(sp.Rational(0))
    cert = theory.prove_bound(head)
    assert cert.proved and cert.eps == 0
    assert theory.prove_bound(head, target=X0**2, eps=Fraction(1, 4)).proved  # max of x - x^2 on [0, 1] is 1/4
    cert = theory.prove_bound(head, target=X0**2, eps=Fraction(1, 5))
    assert cert.status == "refuted" and cert.witness["x0"] - cert.witness["x0"] ** 2 > Fraction(1, 5)


# ---------------------------------------------------------------------------------------------- certificates
def test_certificates_round_trip_through_json(tmp_path):
    net = theory.select(16, [3, 12], 2)
    bad_net = flip_sign(net, [3, 12], 2, 1)
    certs = [
        theory.prove_routing(net),  # proved
        theory.prove_routing(bad_net),  # refuted, witness
        theory.prove_routing(theory.select(16, [3, 12], 2, architecture="lcn")),  # unknown (premise)
        theory.prove_equivalent_monolithic(net, [3, 12]),
        theory.prove_equivalent_monolithic(bad_net, [3, 12]),
        theory.prove_bound(yarotsky(3), X0**2, (0, 1), yarotsky_bound(3)),
        theory.prove_bound(yarotsky(3), X0**2, (0, 1), yarotsky_bound(3) / 2),  # refuted, lower and witness
        theory.prove_bound(yarotsky(3), X0**2, (0, 1), yarotsky_bound(3), timeout_s=1e-9),
    ]
    assert [c.status for c in certs] == [
        "proved",
        "refuted",
        "unknown",
        "proved",
        "refuted",
        "proved",
        "refuted",
        "unknown",
    ]
    for cert in certs:
        roundtrip(cert, tmp_path)
    again = theory.Certificate.from_json(json.loads(json.dumps(certs[6].to_json())))
    assert again.witness == certs[6].witness and again.lower == certs[6].lower and again.eps == certs[6].eps
    assert "z3" in again.versions
