"""``python -m checks --out DIR --force`` never deletes a file that appeared in DIR after the first check."""

from __future__ import annotations

import io
import os

import checks
import checks.reporting._report as report_module
from checks import Registry
from tests.checks.helpers import make_claim


def _run(out, force=False):
    argv = ["--out", str(out)] + (["--force"] if force else [])
    err = io.StringIO()
    code = checks.main(argv, registry=Registry([make_claim("t.a")]), stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def test_a_file_added_during_the_replacement_is_kept(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    assert _run(out)[0] in (0, 1)
    real_rename = os.rename

    def racing_rename(src, dst):
        if os.fspath(src) == os.fspath(out):  # moving the old report aside: a file appears just before
            (out / "mine.txt").write_text("the user's own")
        real_rename(src, dst)

    monkeypatch.setattr(report_module.os, "rename", racing_rename)
    code, err = _run(out, force=True)
    assert code == 2 and "mine.txt" in err and "Traceback" not in err
    assert (out / "mine.txt").read_text() == "the user's own" and (out / "report.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]
