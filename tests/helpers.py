"""Helpers shared by test packages under tests/."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The repository root (the directory holding theory/, numerics/, checks/ and tests/)."""
