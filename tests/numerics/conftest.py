"""Fixtures shared by the numerics tests."""

from __future__ import annotations

import pytest

import theory
from tests.numerics.helpers import rational_net


@pytest.fixture(scope="module")
def nets():
    return {
        "select": theory.select(16, [0, 7, 8, 15], 2),
        "other": theory.select(16, [1, 2], 2),
        "rational": rational_net(),
    }
