"""Modules hold one concept each: the size rule of docs/architecture.md, checked on every package module."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_is_over_350_lines():
    """A module holds one concept: 100-300 lines, split before 350 (docs/architecture.md)."""
    long = sorted(
        f"{p.relative_to(ROOT)}: {n} lines"
        for package in ("theory", "numerics", "checks")
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 350
    )
    assert not long, "split by concept:\n" + "\n".join(long)
