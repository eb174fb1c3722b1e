"""Shared pytest configuration: hypothesis profiles, and the fixtures more than one test package uses."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# dev: fast local iteration; ci: derandomized (reproducible in CI); thorough: many examples, opt-in.
settings.register_profile("dev", max_examples=15, deadline=None)
settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def one_thread():
    """Train with one torch thread, as the experiments do (threads spin-waiting on tiny kernels are slow).

    The DUAT experiment tests use it for every test (``pytestmark = pytest.mark.usefixtures("one_thread")``).
    numerics is imported here, not at the top, so that loading this file imports no package under test."""
    from numerics import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(autouse=True)
def _private_claim_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own result cache for ``python -m checks`` (also in subprocesses): no test reads
    results another test (or the user's own runs in ~/.cache) computed."""
    monkeypatch.setenv("CNNVERIFY_CACHE", str(tmp_path_factory.mktemp("claim-cache")))
