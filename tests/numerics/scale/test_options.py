"""The options of check_at_scale as one record (numerics.ScaleOptions) and the progress vocabulary of both runs.

The record: its defaults are the function's, each bad field is refused when the record is made with the message
the run gives for it (naming the argument), and a call with keywords equals the call with the record. Progress:
None / True / False (a bar) or a callable that receives a dict after every batch, and draws no bar.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest
import torch

import numerics
import theory
from numerics import NumericsError, ScaleOptions
from numerics.scale._options import FIELDS, ScaleOverrides
from tests.numerics.helpers import relu_head_net

NET = relu_head_net(64)
FAST = {"search_steps": 5, "restarts": 1, "candidates": 2, "progress": False}
RUN = {"samples": 2000, "device": "cpu", "seed": 3, **FAST}


def _deterministic(report: numerics.ScaleReport) -> dict:
    """The report without what depends on the clock or the process (throughput, measured memory)."""
    out = report.to_json()
    for key in ("samples_per_s", "sampling_seconds"):
        out.pop(key)
    out["run"].pop("measured_peak_bytes")
    return out


# --------------------------------------------------------------------------------------- the record
def test_defaults_are_check_at_scale_s():
    o = ScaleOptions()
    assert (o.samples, o.device, o.dtype, o.seed, o.memory_budget, o.path) == (
        10**6,
        "auto",
        torch.float32,
        0,
        1 << 30,
        "auto",
    )
    assert (o.certify, o.time_limit_s, o.search_steps, o.restarts, o.candidates, o.full_rows) == (
        False,
        30.0,
        200,
        4,
        16,
        4,
    )
    assert (o.progress, o.max_seconds, o.force, o.sampling_limit) == (None, 600.0, False, 600.0)
    assert numerics.scale.ScaleOptions is ScaleOptions and "ScaleOptions" in numerics.__all__
    assert set(typing.get_type_hints(ScaleOverrides)) == set(FIELDS) == {f.name for f in dataclasses.fields(o)}


def test_the_record_is_frozen_and_normalised():
    o = ScaleOptions(samples=1e4, dtype="float64", search_steps=7.0, force=True, max_seconds=5)
    assert (o.samples, o.dtype, o.search_steps, o.max_seconds, o.sampling_limit) == (
        10_000,
        torch.float64,
        7,
        5.0,
        None,
    )
    assert type(o.samples) is int and type(o.max_seconds) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.samples = 3  # type: ignore[misc]
    assert dataclasses.replace(o, seed=4).seed == 4 and dataclasses.replace(o, seed=4).samples == 10_000


BAD = [
    ({"samples": 0}, "samples"),
    ({"samples": True}, "samples"),
    ({"samples": 2.5}, "samples"),
    ({"samples": 10**12}, None),  # the time estimate: "check_at_scale: 1e+12 samples would take at least ..."
    ({"max_seconds": 0}, "max_seconds"),
    ({"force": "yes"}, "force"),
    ({"search_steps": 0}, "search_steps"),
    ({"restarts": -1}, "restarts"),
    ({"candidates": 0}, "candidates"),
    ({"full_rows": -1}, "full_rows"),
    ({"dtype": "int8"}, "dtype"),
    ({"device": "tpu"}, "device"),
    ({"seed": -1}, "seed"),
    ({"memory_budget": 0}, "memory_budget"),
    ({"path": "fast"}, "path"),
    ({"certify": "yes"}, "certify"),
    ({"time_limit_s": -1}, "time_limit_s"),
    ({"time_limit_s": True}, "time_limit_s"),
    ({"progress": 3}, "progress"),
    ({"progress": "bar"}, "progress"),
]


@pytest.mark.parametrize("kwargs,arg", BAD)
def test_a_bad_field_names_the_argument_with_the_run_s_message(kwargs, arg):
    with pytest.raises(NumericsError, match=f"argument '{arg}'" if arg else "^check_at_scale: 1e\\+12 samples") as made:
        ScaleOptions(**kwargs)
    with pytest.raises(NumericsError) as called:
        numerics.check_at_scale(NET, "x3", (-1, 1), **{"samples": 100, "device": "cpu", **kwargs})
    assert str(called.value) == str(made.value)


def test_keywords_and_record_give_the_same_report():
    by_keywords = numerics.check_at_scale(NET, "x3", (-1, 1), **RUN)
    by_record = numerics.check_at_scale(NET, "x3", (-1, 1), options=ScaleOptions(**RUN))
    assert _deterministic(by_keywords) == _deterministic(by_record)
    assert by_keywords.lower_bound == 1 and by_keywords.search["steps"] == 5
    mixed = numerics.check_at_scale(NET, "x3", (-1, 1), options=ScaleOptions(**{**RUN, "seed": 0}), seed=3)
    assert _deterministic(mixed) == _deterministic(by_keywords)  # keywords beside the record replace its fields


def test_unknown_keywords_and_bad_records_are_refused():
    with pytest.raises(TypeError, match="check_at_scale\\(\\) got an unexpected keyword argument 'sample'"):
        numerics.check_at_scale(NET, "x3", (-1, 1), sample=10)
    with pytest.raises(NumericsError, match="argument 'options'"):
        numerics.check_at_scale(NET, "x3", (-1, 1), options={"samples": 10})


# --------------------------------------------------------------------------------------- progress
def _checked_calls(calls: list[dict], samples: int) -> None:
    assert calls and all(set(c) == {"samples_done", "samples", "seconds"} for c in calls)
    done = [c["samples_done"] for c in calls]
    assert done == sorted(done) and done[-1] == samples and all(c["samples"] == samples for c in calls)
    assert all(isinstance(c["seconds"], float) and c["seconds"] >= 0 for c in calls)


def test_a_progress_callable_gets_a_dict_per_batch_and_no_bar_is_drawn(capsys):
    calls: list[dict] = []
    report = numerics.check_at_scale(NET, "x3", (-1, 1), **{**RUN, "progress": calls.append})
    _checked_calls(calls, 2000)
    assert len(calls) >= 2  # the timed run's warm-up batch, then the rest
    quiet = numerics.check_at_scale(NET, "x3", (-1, 1), **RUN)
    assert _deterministic(report)["lower_bound"] == _deterministic(quiet)["lower_bound"]
    assert report.mean_error == quiet.mean_error and report.argmax == quiet.argmax  # it observes only
    calls.clear()
    run = numerics.evaluate_at_scale(NET, 3000, device="cpu", progress=calls.append)
    _checked_calls(calls, 3000)
    assert run.output_mean == numerics.evaluate_at_scale(NET, 3000, device="cpu", progress=False).output_mean
    assert capsys.readouterr().err == ""


def test_progress_true_draws_the_bar_and_bad_progress_is_refused(capsys):
    numerics.evaluate_at_scale(NET, 500, device="cpu", progress=True)
    assert "sample" in capsys.readouterr().err
    numerics.evaluate_at_scale(NET, 500, device="cpu", progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(NumericsError, match="argument 'progress': got 3; allowed: None, True, False or a callable"):
        numerics.evaluate_at_scale(NET, 500, device="cpu", progress=3)
    with pytest.raises(NumericsError, match="argument 'progress'"):
        numerics.evaluate_at_scale(theory.select(64, [3]), 10, device="cpu", progress="yes")
