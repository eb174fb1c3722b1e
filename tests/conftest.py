"""Shared pytest configuration: hypothesis profiles and the tolerance table."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# dev: fast local iteration; ci: derandomized (reproducible in CI); thorough: many examples, opt-in.
settings.register_profile("dev", max_examples=15, deadline=None)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
