"""Forged certificates: every one is false, and the independent checker rejects every one.

Four honest certificates (a 1-D box cover, a 2-D box cover, a Kuhn cover on the box's own grid, a Kuhn cover on
a rotated grid) are each forged in the ways a wrong or tampered proof could differ: a region dropped from the
cover, a leaf's bound one ulp below the error at a point of it, a split moved outside its region, a leaf marked
as missing the region, a vertex value altered, the grid shifted, the certificate pointed at another network or
target, the witness moved, the status or domain changed, the tree's bytes corrupted. Each forgery is false (a
region left uncovered, a bound below a value the test computes exactly, a fact that does not hold); the honest
certificates are accepted (no false rejection).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import zlib
from fractions import Fraction

import numpy as np
import pytest

import theory
from theory.spec._network import thaw

BASES = {
    # name: (network builder, search method)
    "box-1d": (lambda: theory.approximate_sparse(16, [3], "x0**2", (0, 1), Fraction(1, 100)), "auto"),
    "box-2d": (lambda: theory.approximate_sparse(16, [2, 9], "x0*x1", (-1, 1), Fraction(1, 10)), "branch-and-bound"),
    "kuhn-box": (lambda: theory.approximate_sparse(16, [1, 12], "sin(2*x0)*x1", (-1, 1), Fraction(1, 20)), "auto"),
    "kuhn-rotated": (lambda: theory.approximate_sparse(16, [4, 11], "x0*x1", (-1, 1), Fraction(1, 50)), "auto"),
}


@pytest.fixture(scope="module")
def honest() -> dict:
    out = {}
    for name, (build, method) in BASES.items():
        net = build()
        cert = theory.certify_sup_error(net, time_limit_s=60, rel_gap=1e-2, method=method, max_work=20_000)
        out[name] = (net, cert)
    return out


def test_bases_are_what_they_say(honest):
    methods = {name: c.method for name, (_, c) in honest.items()}
    assert methods == {
        "box-1d": "interval-bnb",
        "box-2d": "interval-bnb",
        "kuhn-box": "kuhn-pieces",
        "kuhn-rotated": "kuhn-pieces",
    }
    assert honest["kuhn-rotated"][1].proof["frame"]["matrix"] is not None
    assert honest["kuhn-box"][1].proof["frame"]["matrix"] is None


@pytest.mark.parametrize("name", list(BASES))
def test_honest_certificates_are_accepted(honest, name):
    net, cert = honest[name]
    report = theory.check_certificate(cert, net)
    assert report.accepted, report.summary()
    assert theory.check_certificate(theory.Certificate.from_json(json.loads(json.dumps(cert.to_json()))), net).accepted


# ------------------------------------------------------------------------------------------- tree surgery
def _arrays(cert):
    tree = cert.proof["tree"]
    n = tree["nodes"]
    raw = zlib.decompress(base64.b64decode(tree["data"]))
    parent = np.frombuffer(raw[: 4 * n], "<i4").copy()
    axis = np.frombuffer(raw[4 * n : 5 * n], "<i1").copy()
    value = np.frombuffer(raw[5 * n :], "<f8").copy()
    return parent, axis, value


def _with_tree(cert, parent, axis, value, **changes):
    raw = parent.astype("<i4").tobytes() + axis.astype("<i1").tobytes() + value.astype("<f8").tobytes()
    proof = thaw(cert.proof)
    proof["tree"] = {"nodes": int(parent.size), "data": base64.b64encode(zlib.compress(raw)).decode()}
    return dataclasses.replace(cert, proof=proof, **changes)


def _with_proof(cert, edit):
    proof = thaw(cert.proof)
    edit(proof)
    return dataclasses.replace(cert, proof=proof)


def _leaf_boxes(cert, net):
    """Every leaf with its exact box (rebuilt here from the tree, independently of the checker)."""
    parent, axis, value = _arrays(cert)
    frame = cert.proof["frame"]
    k = len(cert.proof["variables"])
    boxes = {}
    for i in range(parent.size):
        if parent[i] < 0:
            piece = -1 - int(parent[i])
            if frame["kind"] == "box":
                lo = [Fraction(float.fromhex(a)) for a, _ in frame["root"]]
                hi = [Fraction(float.fromhex(b)) for _, b in frame["root"]]
            else:
                perms = math.factorial(k)
                cell = np.unravel_index(piece // perms, frame["cells"])
                lo, hi = [Fraction(int(c)) for c in cell], [Fraction(int(c) + 1) for c in cell]
            boxes[i] = (lo, hi)
        else:
            p = int(parent[i])
            lo, hi = boxes[p]
            a, at = int(axis[p]), Fraction(float(value[p]))
            first = not any(parent[j] == p for j in range(p + 1, i))
            boxes[i] = (lo, [*hi[:a], at, *hi[a + 1 :]]) if first else ([*lo[:a], at, *lo[a + 1 :]], hi)
    return {i: b for i, b in boxes.items() if axis[i] == -1}, parent, axis, value


def _witness_in_index(cert):
    """The witness in the frame's coordinates (x for a box cover, y = M x + o for a Kuhn cover)."""
    names = cert.proof["variables"]
    x = [cert.witness[n] for n in names]
    frame = cert.proof["frame"]
    if frame["kind"] == "box":
        return x
    box = [(Fraction(a), Fraction(b)) for a, b in frame["box"]]
    if frame["matrix"] is None:
        return [(v - lo) * n / (hi - lo) for v, (lo, hi), n in zip(x, box, frame["cells"])]
    M = [[Fraction(v) for v in row] for row in frame["matrix"]]
    o = [Fraction(v) for v in frame["offset"]]
    return [sum(M[a][b] * x[b] for b in range(len(x))) + o[a] for a in range(len(x))]


# ------------------------------------------------------------------------------------------------ forgeries
def drop_leaf(net, cert, nth):
    parent, axis, value = _arrays(cert)
    leaves = np.flatnonzero(axis == -1)
    j = int(leaves[nth % leaves.size])
    keep = np.arange(parent.size) != j
    parent = np.where(parent > j, parent - 1, parent)[keep]
    return _with_tree(cert, parent, axis[keep], value[keep])


def _leaf_with_witness(cert, boxes, parent):
    """A leaf whose region (box, and simplex for a Kuhn cover) holds the witness."""
    w = _witness_in_index(cert)
    k = len(w)
    frame = cert.proof["frame"]
    for i, (lo, hi) in boxes.items():
        if not all(a <= v <= b for a, v, b in zip(lo, w, hi)):
            continue
        if frame["kind"] == "kuhn":
            root = i
            while parent[root] >= 0:
                root = int(parent[root])
            piece = -1 - int(parent[root])
            cell = np.unravel_index(piece // math.factorial(k), frame["cells"])
            perm = list(__import__("itertools").permutations(range(k)))[piece % math.factorial(k)]
            t = [w[a] - int(cell[a]) for a in perm]
            if any(t[q] < t[q + 1] for q in range(k - 1)):
                continue
        return i
    raise AssertionError("no leaf holds the witness")


def shrink_at_witness(net, cert, _):
    """The leaf holding the witness claims one ulp less than the exact error there."""
    boxes, parent, axis, value = _leaf_boxes(cert, net)
    j = _leaf_with_witness(cert, boxes, parent)
    value = value.copy()
    value[j] = (
        math.nextafter(float(cert.lower), 0.0)
        if Fraction(float(cert.lower)) <= cert.lower
        else math.nextafter(math.nextafter(float(cert.lower), 0.0), 0.0)
    )
    assert Fraction(float(value[j])) < cert.lower  # false: the error at the witness exceeds it
    return _with_tree(cert, parent, axis, value)


def split_outside(net, cert, nth):
    """A split moved outside its region (where the cover has no split, a leaf is split there)."""
    parent, axis, value = _arrays(cert)
    inner = np.flatnonzero(axis >= 0)
    if not inner.size:
        j = int(np.flatnonzero(axis == -1)[nth % int((axis == -1).sum())])
        parent = np.concatenate([parent, [j, j]])
        axis = np.concatenate([axis, [-1, -1]])
        value = np.concatenate([value, value[[j, j]]])
        axis[j] = 0
    else:
        j = int(inner[nth % inner.size])
    value = value.copy()
    value[j] = 1e6
    return _with_tree(cert, parent, axis, value)


def leaf_as_missed(net, cert, nth):
    """A leaf holding the witness marked as missing the region (it does not)."""
    boxes, parent, axis, value = _leaf_boxes(cert, net)
    j = _leaf_with_witness(cert, boxes, parent)
    axis = axis.copy()
    axis[j] = -2
    return _with_tree(cert, parent, axis, value)


def nan_bound(net, cert, nth):
    parent, axis, value = _arrays(cert)
    leaves = np.flatnonzero(axis == -1)
    value = value.copy()
    value[int(leaves[nth % leaves.size])] = float("nan")
    return _with_tree(cert, parent, axis, value)


def corrupt_bytes(net, cert, _):
    return _with_proof(cert, lambda p: p["tree"].update(data=p["tree"]["data"][:-12] + "AAAAAAAAAAAA"))


def other_network(net, cert, _):
    """The certificate's spec hash re-pointed at a network whose output is shifted by 1/8 (more than twice every
    base's bound, so the claim is false for it); the test passes that network."""
    other = _perturbed(net)
    return dataclasses.replace(cert, spec_hash=other.content_hash), other


def other_target(net, cert, _):
    tgt = cert.assumptions["target"] + " + 1/64"
    assumptions = dict(thaw(cert.assumptions), target=tgt)
    forged = dataclasses.replace(cert, assumptions=assumptions)
    return _with_proof(forged, lambda p: p.update(target=tgt))


def move_witness(net, cert, _):
    """The witness moved to the lower corner of the domain, where the exact error is smaller than ``lower``."""
    corner = {n: Fraction(lo) for n, lo, _ in cert.assumptions["domain"]}
    return dataclasses.replace(cert, witness=corner)


def flip_status(net, cert, _):
    return dataclasses.replace(cert, status="refuted" if cert.status != "refuted" else "proved")


def widen_domain(net, cert, _):
    dom = [[n, lo, str(Fraction(hi) + 1)] for n, lo, hi in cert.assumptions["domain"]]
    return dataclasses.replace(cert, assumptions=dict(thaw(cert.assumptions), domain=dom))


def alter_vertex(net, cert, nth):
    def edit(p):
        vals = zlib.decompress(base64.b64decode(p["frame"]["vertex_values"])).decode().split(",")
        j = (7 * nth + 3) % len(vals)
        vals[j] = str(Fraction(vals[j]) + Fraction(1, 2**40))
        p["frame"]["vertex_values"] = base64.b64encode(zlib.compress(",".join(vals).encode())).decode()

    return _with_proof(cert, edit)


def shift_grid(net, cert, _):
    def edit(p):
        if p["frame"]["matrix"] is None:
            p["frame"]["box"][0][0] = str(Fraction(p["frame"]["box"][0][0]) - Fraction(1, 8))
        else:
            p["frame"]["offset"][0] = str(Fraction(p["frame"]["offset"][0]) + Fraction(1, 2))

    return _with_proof(cert, edit)


def more_cells(net, cert, _):
    return _with_proof(cert, lambda p: p["frame"]["cells"].__setitem__(0, p["frame"]["cells"][0] + 1))


def _perturbed(net):
    layers = list(net.layers)
    b = layers[-1].bias
    bias = np.array([b.values[list(b.keys).index(0)] if 0 in list(b.keys) else 0], dtype=object) + Fraction(1, 8)
    layers[-1] = dataclasses.replace(layers[-1], bias=theory.SparseArray.from_dense(bias))
    return dataclasses.replace(net, layers=tuple(layers))


COMMON = [
    ("drop-leaf-0", drop_leaf, 0),
    ("drop-leaf-1", drop_leaf, 5),
    ("drop-leaf-2", drop_leaf, 17),
    ("shrink-at-witness", shrink_at_witness, 0),
    ("split-outside", split_outside, 0),
    ("split-outside-2", split_outside, 3),
    ("leaf-as-missed", leaf_as_missed, 0),
    ("nan-bound", nan_bound, 1),
    ("corrupt-bytes", corrupt_bytes, 0),
    ("other-network", other_network, 0),
    ("other-target", other_target, 0),
    ("move-witness", move_witness, 0),
    ("flip-status", flip_status, 0),
    ("widen-domain", widen_domain, 0),
]
KUHN = [
    ("alter-vertex-0", alter_vertex, 0),
    ("alter-vertex-1", alter_vertex, 1),
    ("alter-vertex-2", alter_vertex, 2),
    ("shift-grid", shift_grid, 0),
    ("more-cells", more_cells, 0),
]
FORGERIES = [(b, *f) for b in BASES for f in COMMON] + [(b, *f) for b in BASES if b.startswith("kuhn") for f in KUHN]


def test_at_least_fifty_forgeries():
    assert len(FORGERIES) >= 50


@pytest.mark.parametrize("base, kind, forge, nth", FORGERIES, ids=[f"{b}-{k}" for b, k, _, _ in FORGERIES])
def test_forgery_is_rejected(honest, base, kind, forge, nth):
    net, cert = honest[base]
    forged = forge(net, cert, nth)
    if isinstance(forged, tuple):
        forged, net = forged
    if kind == "move-witness":  # a forgery only if the moved witness really has a smaller error
        x = [Fraction(0)] * net.d
        for n, v in forged.witness.items():
            x[int(n[1:])] = v
        g = theory.parse_formula(cert.assumptions["target"]).subs(
            {s: forged.witness[str(s)] for s in theory.parse_formula(cert.assumptions["target"]).free_symbols}
        )
        err = abs(theory.evaluate_exact(net, x)[0] - Fraction(str(g.evalf(60))))
        assert err < cert.lower - Fraction(1, 10**30)
    report = theory.check_certificate(forged, net, max_splits=2000)
    assert report.verdict == "rejected", f"{kind}: {report.summary()}"
    assert report.step and report.message
