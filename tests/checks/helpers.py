"""Helpers shared by the checks tests: claims with fixed outcomes and a Context in a temporary directory."""

from __future__ import annotations

from pathlib import Path

from checks import Claim, Context, Result


def ok_check(ctx: Context) -> Result:
    return Result("pass", observed={"x": 1}, expected={"x": 1}, tolerance="exact")


def fail_check(ctx: Context) -> Result:
    return Result(
        "fail", observed={"x": 2}, expected={"x": 1}, tolerance="exact", evidence={"counterexamples": [{"x": 2}]}
    )


def raising_check(ctx: Context) -> Result:
    raise RuntimeError("boom")


def make_claim(id: str = "t.ok", check=ok_check, kind: str = "exact") -> Claim:
    return Claim(id, "a statement", "test source (reconstruction)", kind, {"quick": 0.1, "full": 0.1}, check)


def ctx_for(tmp_path: Path, **kw) -> Context:
    return Context(profile=kw.pop("profile", "quick"), seed=kw.pop("seed", 0), out_dir=tmp_path, **kw)
