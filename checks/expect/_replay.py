"""The networks a claim's helpers saw, and the certificates a cached run may reuse about exactly those networks.

A cached result is about the networks its claim built. A network built from code or read from a file is covered by
the cache key (the code) and the files' hashes; one built in memory (a torch module trained by the claim, a
network assembled from parameters) is not: it may differ on the next run with the same code. So every network a
helper (:func:`checks.expect_routing`, :func:`checks.expect_sup_error`, :func:`checks.expect_equal`) receives is
noted by its content hash (:func:`note_network`), and a cached entry that saw networks is never served as it is:
the claim runs again (its networks are built now), and each helper call may reuse the cached certificate made by
the same call (:func:`call_key`: helper, arguments, network hash) only after the independent checker accepts it
against the network built now (:func:`reused`). A network that changed gets a new certificate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import theory

_SEEN: ContextVar[list[str] | None] = ContextVar("cnnverify_networks_seen", default=None)
_REUSABLE: ContextVar[tuple[Mapping[str, Path], list[str]] | None] = ContextVar("cnnverify_reusable", default=None)


def note_network(net: theory.Network) -> None:
    """Record ``net``'s content hash when inside :func:`recording_networks` (else nothing)."""
    seen = _SEEN.get()
    if seen is not None:
        seen.append(net.content_hash)


@contextmanager
def recording_networks() -> Iterator[list[str]]:
    """Collect the content hashes of the networks the helpers see inside the block (in order, repeats kept)."""
    seen: list[str] = []
    token = _SEEN.set(seen)
    try:
        yield seen
    finally:
        _SEEN.reset(token)


@contextmanager
def reusing(certificates: Mapping[str, Path]) -> Iterator[list[str]]:
    """Inside the block, helper calls may reuse ``certificates`` (call key -> certificate file); yields the names
    of those reused."""
    used: list[str] = []
    token = _REUSABLE.set((certificates, used))
    try:
        yield used
    finally:
        _REUSABLE.reset(token)


def call_key(helper: str, net: theory.Network, **arguments: Any) -> str:
    """The identity of one helper call: the helper, its network's content hash and its other arguments (as text)."""
    record = {"helper": helper, "network": net.content_hash, **{k: str(v) for k, v in sorted(arguments.items())}}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def reused(key: str, net: theory.Network) -> tuple[theory.Certificate, theory.CheckReport] | None:
    """The certificate a cached run made for the call ``key`` and the checker's acceptance of it against ``net``
    (the network built now), or None: no reusable certificate, unreadable, or not accepted (then recompute)."""
    state = _REUSABLE.get()
    if state is None or key not in state[0]:
        return None
    path = state[0][key]
    try:
        cert = theory.Certificate.load(path)
    except (theory.TheoryError, OSError):
        return None
    report = theory.check_certificate(cert, net)
    if not report.accepted:
        return None
    state[1].append(path.name)
    return cert, report
