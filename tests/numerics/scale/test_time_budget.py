"""The time budget of the sampling runs: absurd sample counts are refused before anything is built, long runs after
the rate measured on the first batches, unless forced; the timed batches do not change the samples."""

from __future__ import annotations

import math

import pytest

import numerics
import theory
from numerics import NumericsError
from numerics._cli import main as cli_main
from tests.numerics.helpers import relu_head_net

NET = theory.select(1024, [3, 900])
ARGS = {
    "target": "x3, x900",
    "box": (-1, 1),
    "device": "cpu",
    "search_steps": 5,
    "restarts": 1,
    "candidates": 2,
    "progress": False,
}


def test_absurd_count_refused_before_building():
    """The message's "at least ... (even at 1e+09 samples/s" is the estimate made before anything is built."""
    with pytest.raises(
        NumericsError,
        match=r"^check_at_scale: 1e\+12 samples would take at least 1e\+03 s "
        r"\(even at 1e\+09 samples/s.*\), more than max_seconds 600 s; pass "
        r"force=True / --force-samples to run it anyway",
    ):
        numerics.check_at_scale(NET, samples=10**12, **ARGS)
    with pytest.raises(NumericsError, match="^evaluate_at_scale: 1e\\+12 samples would take at least"):
        numerics.evaluate_at_scale(NET, 10**12, device="cpu", progress=False)


def test_measured_rate_refuses_long_runs():
    with pytest.raises(
        NumericsError,
        match=r"^check_at_scale: 1e\+08 samples would take about .* s \(measured "
        r"[0-9.e+]+ samples/s on [0-9]+ samples\), more than max_seconds 0.5 s",
    ):
        numerics.check_at_scale(NET, samples=10**8, max_seconds=0.5, **ARGS)  # pre-check: >= 0.1 s, passes
    with pytest.raises(NumericsError, match=r"^evaluate_at_scale: .* \(measured"):
        numerics.evaluate_at_scale(NET, 10**8, device="cpu", progress=False, max_seconds=0.5)


def test_force_runs_and_probing_keeps_the_samples():
    with pytest.raises(NumericsError, match="at least"):
        numerics.evaluate_at_scale(NET, 5000, device="cpu", progress=False, max_seconds=1e-9)
    forced = numerics.evaluate_at_scale(NET, 5000, device="cpu", progress=False, max_seconds=1e-9, force=True)
    timed = numerics.evaluate_at_scale(NET, 5000, device="cpu", progress=False)  # warm-up batch, then the rest
    assert (forced.output_min, forced.output_max) == (timed.output_min, timed.output_max)
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(forced.output_mean, timed.output_mean))
    report = numerics.check_at_scale(NET, samples=5000, max_seconds=1e-9, force=True, **ARGS)
    assert report.samples == 5000 and report.lower_bound == 0


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"samples": 2**63}, "samples"),
        ({"samples": 1e30}, "samples"),
        ({"samples": float("inf")}, "samples"),
        ({"samples": float("nan")}, "samples"),
        ({"samples": "1e6"}, "samples"),
        ({"samples": 2.5}, "samples"),
        ({"max_seconds": 0}, "max_seconds"),
        ({"max_seconds": -1}, "max_seconds"),
        ({"max_seconds": float("inf")}, "max_seconds"),
        ({"max_seconds": True}, "max_seconds"),
        ({"force": "yes"}, "force"),
        ({"force": 1}, "force"),
    ],
)
def test_bad_sizes_name_the_argument(kwargs, arg):
    with pytest.raises(NumericsError, match=f"argument '{arg}'"):
        numerics.check_at_scale(NET, **{"samples": 100, **ARGS, **kwargs})


def test_cli_samples_budget(tmp_path, capsys):
    theory.save(relu_head_net(64), tmp_path / "net")
    base = [
        "evaluate",
        str(tmp_path / "net"),
        "--target",
        "x3",
        "--box",
        "-1",
        "1",
        "--device",
        "cpu",
        "--search-steps",
        "5",
        "--no-progress",
    ]
    assert cli_main(base + ["--samples", "1e12"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "more than max_seconds 600 s" in err[0] and "--force-samples" in err[0]
    assert cli_main(base + ["--samples", "1e30"]) == 2
    assert "argument 'samples'" in capsys.readouterr().err
    assert cli_main(base + ["--samples", "2000", "--max-seconds", "1e-9"]) == 2
    assert cli_main(base + ["--samples", "2000", "--max-seconds", "1e-9", "--force-samples"]) == 0
