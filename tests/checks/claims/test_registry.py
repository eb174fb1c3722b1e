"""The claim registry (checks.Registry): duplicates, pattern selection, the decorator."""

from __future__ import annotations

import pytest

import checks
from checks import ChecksError, Registry, Result
from tests.checks.helpers import make_claim


def test_registry_rejects_duplicates_and_non_claims():
    reg = Registry([make_claim("t.a")])
    mutated = make_claim("t.m")
    object.__setattr__(mutated, "id", "Bad Id")
    with pytest.raises(ChecksError, match="argument 'claim.id'"):
        reg.register(mutated)
    with pytest.raises(ChecksError, match=r"duplicate claim id 't.a': defined in <unnamed> and again in mine.py"):
        reg.register(make_claim("t.a"), "mine.py")
    with pytest.raises(ChecksError, match="argument 'claim'"):
        reg.register("t.b")
    assert reg.ids() == ["t.a"] and len(reg) == 1 and "t.a" in reg


def test_registry_pattern_selection():
    reg = Registry([make_claim(i) for i in ("ww.select.exact", "ww.select.params", "ww.gather.exact", "duat.E1")])
    assert [c.id for c in reg.select("ww.select.*")] == ["ww.select.exact", "ww.select.params"]
    assert [c.id for c in reg.select("*.exact")] == ["ww.select.exact", "ww.gather.exact"]
    assert len(reg.select(None)) == 4 and len(reg.select("*")) == 4
    assert reg.select("nothing.*") == []
    assert reg.select("duat.e1") == []  # case-sensitive
    with pytest.raises(ChecksError, match="argument 'pattern'"):
        reg.select("")
    with pytest.raises(ChecksError, match="argument 'id'"):
        reg["missing.id"]


def test_claim_decorator_makes_the_record():
    def check(ctx):
        return Result("pass")

    record = checks.claim("t.deco", statement="s", source="src", kind="exact", cost={"quick": 0, "full": 0})(check)
    assert isinstance(record, checks.Claim) and record.check is check and record.id == "t.deco"
    reg = Registry()
    reg.register(record, "here.py")
    assert reg.ids() == ["t.deco"] and reg.origin("t.deco") == "here.py"
    with pytest.raises(ChecksError, match="argument 'kind'"):
        checks.claim("t.bad", statement="s", source="src", kind="proof", cost={"quick": 0, "full": 0})(check)
