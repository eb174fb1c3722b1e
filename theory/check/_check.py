""":func:`check_certificate`: re-verify a certificate from its proof object, sharing no code with the searches."""

from __future__ import annotations

import time
from typing import Any

import sympy as sp
from flint import ctx

from .._errors import bad
from ..prove._certificate import Certificate
from ..spec import Network
from ._balls import PRECISION
from ._report import CheckReport
from ._sup import check_sup
from ._tree import Rejected
from .solver import SOLVER_METHODS, check_solver_proof

CHECKED_METHODS = ("interval-bnb", "kuhn-pieces", *SOLVER_METHODS)
"""The certificate methods the checker has a procedure for (others are ``unsupported``)."""
MAX_SPLITS = 20_000
"""Default most halvings the checker adds in all, where its own bound of a leaf is looser than the claim."""


def check_certificate(
    cert: Any, net: Network, *, target: str | sp.Expr | None = None, max_splits: int = MAX_SPLITS
) -> CheckReport:
    """Re-check ``cert`` against ``net`` without searching: accepted, rejected (naming the first failing step,
    region or fact) or unsupported.

    Args:
        cert: a :class:`theory.Certificate` (e.g. :meth:`theory.Certificate.load` of a file).
        net: the network the certificate is about; its content hash must be the certificate's ``spec_hash``.
        target: optionally the target the caller means: it must be the certificate's (compared in canonical form).
        max_splits: most halvings the checker may add where its own bound is looser than a leaf's claim.
    Returns:
        A :class:`CheckReport`.

    What is checked (docs/certificates.md): for a sup-norm certificate (``interval-bnb`` or ``kuhn-pieces``, exact
    semantics), with python-flint balls and exact rationals, the network and target binding, the cover
    partitioning the domain, every leaf's claimed bound, the Kuhn frame's vertex values and affinity, the witness
    and the status; for a z3 proof (``z3-induction``, ``z3-monolithic``), :mod:`theory.check.solver`. Other
    methods are ``unsupported``.

    Formula: accepted iff every leaf ``R`` of the cover satisfies ``sup_R |net - g| <= claim(R)`` by the checker's own
    bound, the leaves partition the domain, ``max_R claim(R) <= upper`` and ``|net(w) - g(w)| >= lower``.
    Source: the separate-checker pattern of verified solvers (VIPR certificates of SCIP's exact mode, Marabou's
    proof checker); the kernel and its forms are ours (docs/certificates.md).
    """
    if not isinstance(cert, Certificate):
        raise bad("cert", type(cert).__name__, "a theory.Certificate")
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if target is not None and not isinstance(target, (str, sp.Expr)):
        raise bad("target", type(target).__name__, "None, a formula string or a sympy expression")
    if isinstance(max_splits, bool) or not isinstance(max_splits, int) or max_splits < 0:
        raise bad("max_splits", max_splits, "an int >= 0")
    t0, old, counts = time.perf_counter(), ctx.prec, {}
    ctx.prec = PRECISION
    try:
        if cert.spec_hash != net.content_hash:
            about = f"the certificate is about spec {cert.spec_hash[:16]}, not this network ({net.content_hash[:16]})"
            raise Rejected("network", about)
        if cert.method not in CHECKED_METHODS:
            raise Rejected("unsupported", f"no checker for method {cert.method!r} yet")
        solver = cert.method in SOLVER_METHODS
        counts = check_solver_proof(cert, net) if solver else check_sup(cert, net, target, max_splits)
        verdict, step, message = "accepted", "", ""
    except Rejected as r:
        verdict = r.step if r.step in ("unsupported", "unproven") else "rejected"
        step, message = r.step, str(r)
    except ValueError as e:  # a cone or grid beyond the checker's limits
        verdict, step, message = "unsupported", "limits", str(e)
    finally:
        ctx.prec = old
    n, seconds = counts.get, time.perf_counter() - t0
    return CheckReport(verdict, cert.method, step, message, n("leaves", 0), n("splits", 0), seconds, n("queries", 0))
