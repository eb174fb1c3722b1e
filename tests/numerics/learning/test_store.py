"""The sweep store: its marker lists the exact files the sweep writes (a PNG of the user's own is foreign), --force
removes the old configuration's plots, and corrupted config.json / points.jsonl are clear errors."""

from __future__ import annotations

import json

import pytest

import theory
from numerics import NumericsError
from numerics.learning._store import (
    CONFIG_FILE,
    PLOT_FILES,
    POINTS_FILE,
    STORE_FILES,
    SweepStore,
)


def test_the_marker_lists_exact_names(tmp_path):
    SweepStore(tmp_path / "s", {"a": 1})
    marker = theory.io.read_marker(tmp_path / "s")
    assert sorted(marker["files"]) == sorted(STORE_FILES)
    assert not any(ch in name for name in marker["files"] for ch in "*?[")
    assert set(PLOT_FILES) == {"n_star.png", "cnn_log2.png", "error_curves.png"}


def test_force_keeps_a_users_png_and_removes_the_old_plots(tmp_path):
    out = tmp_path / "s"
    SweepStore(out, {"a": 1})
    for name in PLOT_FILES:
        (out / name).write_bytes(b"old plot")
    (out / "mine.png").write_bytes(b"the user's own")
    with pytest.raises(NumericsError, match="mine.png"):
        SweepStore(out, {"a": 2}, force=True)
    assert (out / "mine.png").exists() and all((out / n).exists() for n in PLOT_FILES)
    (out / "mine.png").unlink()
    SweepStore(out, {"a": 2}, force=True)
    assert not any((out / n).exists() for n in PLOT_FILES)


def test_a_store_with_the_old_pattern_marker_keeps_a_users_png(tmp_path):
    """Stores written when the marker listed ``*.png``: --force still deletes only the sweep's own plots."""
    out = tmp_path / "s"
    SweepStore(out, {"a": 1})
    theory.io.write_marker(out, "numerics separation", ["config.json", "points.jsonl", "summary.json", "*.png"])
    (out / "n_star.png").write_bytes(b"old plot")
    (out / "mine.png").write_bytes(b"the user's own")
    SweepStore(out, {"a": 2}, force=True)
    assert (out / "mine.png").read_bytes() == b"the user's own" and not (out / "n_star.png").exists()
    assert "*.png" not in theory.io.read_marker(out)["files"]  # the marker now lists the exact names


def test_a_deeply_nested_config_counts_as_another_configuration(tmp_path):
    out = tmp_path / "s"
    SweepStore(out, {"a": 1})
    (out / CONFIG_FILE).write_text("[" * 100_000)
    with pytest.raises(NumericsError, match="differs"):
        SweepStore(out, {"a": 1})
    assert SweepStore(out, {"a": 1}, force=True).points == {}


def test_a_deeply_nested_points_line_is_a_clear_error(tmp_path):
    out = tmp_path / "s"
    SweepStore(out, {"a": 1}).append({"arch": "cnn", "d": 8, "n": 4, "error": None, "x": 1})
    with open(out / POINTS_FILE, "a") as fh:
        fh.write("[" * 100_000 + "\n")
    with pytest.raises(NumericsError, match=r"points.jsonl, line 2: not a point record"):
        SweepStore(out, {"a": 1})
    (out / POINTS_FILE).write_text(json.dumps({"arch": "cnn", "d": 8, "n": 4}) + "\n")
    assert list(SweepStore(out, {"a": 1}).points) == [("cnn", 8, 4)]
