"""numerics.peers: the routing claim in the ecosystem's property format, and a cross-check against peer verifiers.

Properties (exact, on a box; :mod:`numerics.peers._property`): :class:`Property` with its targets, built by
:func:`routing_property` (output j equals its routed input ``x[support[j]]``) or :func:`target_property`
(``|Y_j - t_j(x)| <= eps`` for piecewise-linear targets ``t_j``: :class:`LinearTarget`, or a
:class:`PiecewiseTarget` max/min tree from Min, Max, Abs, written as a disjunction of linear conjunctions, at most
:data:`MAX_PIECES` pieces and :data:`MAX_CONJUNCTIONS` conjunctions per output); :data:`DEFAULT_MARGIN`, the margin
``tol`` of the negated query. Files: :func:`export_vnnlib` writes the negated claim as VNN-LIB 1.0 (VNN-COMP,
Marabou) or 2.0 (the ``vnnlib`` Python package), numbers exact in decimal, atomically; :func:`render` gives its text.

Cross-check (:mod:`numerics.peers._crosscheck`): :func:`crosscheck` runs :func:`theory.prove_routing` and a peer
(:data:`PEERS`: Marabou, through the optional ``cnnverify[peers]`` extra, in a child process with its own timeout),
replays every counterexample exactly (:func:`replay_point`) and returns a :class:`Crosscheck` whose verdict
(:data:`VERDICTS`) is ``agree``, ``disagree``, ``spurious`` or ``unknown`` (:func:`classify`,
:func:`peer_outcome`); the peer's answers are :class:`PeerAnswer` s, one per :class:`Case`.
:func:`marabou_available` says whether maraboupy imports. The command line is ``python -m numerics crosscheck``
(in numerics, because theory never imports torch or onnx). docs/peers.md.
"""

from ._crosscheck import (
    OUTCOMES,
    PEERS,
    VERDICTS,
    Case,
    Crosscheck,
    Replay,
    classify,
    crosscheck,
    peer_outcome,
    replay_point,
)
from ._marabou import PeerAnswer, marabou_available
from ._pieces import MAX_CONJUNCTIONS, MAX_PIECES, PiecewiseTarget
from ._property import (
    DEFAULT_BOX,
    DEFAULT_MARGIN,
    LinearTarget,
    Property,
    routing_property,
    target_property,
)
from ._vnnlib import VERSIONS, decimal, export_vnnlib, render

__all__ = [
    "MAX_CONJUNCTIONS",
    "MAX_PIECES",
    "PiecewiseTarget",
    "DEFAULT_BOX",
    "DEFAULT_MARGIN",
    "OUTCOMES",
    "PEERS",
    "VERDICTS",
    "VERSIONS",
    "Case",
    "Crosscheck",
    "LinearTarget",
    "PeerAnswer",
    "Property",
    "Replay",
    "classify",
    "crosscheck",
    "decimal",
    "export_vnnlib",
    "marabou_available",
    "peer_outcome",
    "render",
    "replay_point",
    "routing_property",
    "target_property",
]
