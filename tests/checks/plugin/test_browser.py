"""report.html in a real browser (headless Chromium; skipped where it is not installed): the table and the plots
render, the script runs without console errors, and a screenshot shows a page that is not blank."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import numpy as np
import pytest

import checks
from checks import Result
from tests.helpers import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]


def page(tmp_path, png: bytes) -> str:
    from checks.reporting import build_document, environment, render_html

    (tmp_path / "t.a.plot.png").write_bytes(png)
    mk = lambda i: checks.claim(i, statement="s", source="t", kind="exact", cost={"quick": 0, "full": 0})(
        lambda ctx: Result("pass")
    )
    runs = [
        (mk("t.a"), Result("pass", observed={"x": 1}, evidence={"plots": ["t.a.plot.png"]})),
        (mk("t.b"), Result("fail", observed={"x": 2})),
    ]
    doc = build_document(runs, profile="quick", seed=0, started="a", finished="b", env=environment())
    path = tmp_path / "report.html"
    path.write_text(render_html(doc, tmp_path))
    return path.as_uri()


def chromium(*args, tmp_path):
    res = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return res.stdout, [line for line in res.stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_chromium(tmp_path):
    png = next((REPO / "docs" / "img").glob("*.png")).read_bytes()
    url = page(tmp_path, png)
    dom, console = chromium("--dump-dom", url, tmp_path=tmp_path)
    assert console == []
    assert 'data-sortable="ready"' in dom and 'data-images="1/1"' in dom
    assert len(re.findall(r"<tr", dom)) == 3 and 'id="summary"' in dom
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", url, tmp_path=tmp_path)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] > 100 and float(np.std(pixels)) > 0.01  # not a blank page


def test_a_plot_that_does_not_decode_is_caught(tmp_path):
    """The planted failure: a corrupted PNG must show up as an undecoded plot."""
    url = page(tmp_path, base64.b64decode("iVBORw0KGgoAAAANSUhEUg==") + b"garbage")
    dom, _ = chromium("--dump-dom", url, tmp_path=tmp_path)
    assert 'data-images="0/1"' in dom
