"""numerics reads spec files through theory.load (one loader: its warning line, its errors), checks the memory budget
from the safetensors header before reading any tensor, and never acts on a meta no hash covers."""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import pytest

import numerics
import numerics.convert
import numerics.convert._files as files
import theory
from numerics._cli import main as cli_main
from tests.helpers import downgrade_to_format_1


@pytest.fixture
def approx() -> theory.Network:
    return theory.approximate_sparse(16, [0, 9], "x0*x1", (-1, 1), "1/100")


def test_info_and_export_of_a_version_1_file_print_one_warning_line(tmp_path, approx, capsys, monkeypatch):
    theory.save(approx, tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Python warning reaches the user
        assert cli_main(["info", "spec"]) == 0
        err = capsys.readouterr().err
        assert err.startswith("warning: spec/spec.json: meta not covered by a hash") and len(err.splitlines()) == 1
        assert cli_main(["export", "spec"]) == 0
        err = capsys.readouterr().err
        assert err.startswith("warning: ") and len(err.splitlines()) == 1
        assert cli_main(["info", "spec"]) == 0
        assert len(capsys.readouterr().err.splitlines()) == 1
    # the library without a note: theory's warning
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        net, _ = numerics.load_module(tmp_path / "spec")
    assert not net.meta_covered
    # the exact bytes of a version 1 spec are kept by export (it is not silently re-saved as covered)
    assert json.loads((tmp_path / "spec" / theory.spec.SPEC_FILE).read_text())["version"] == 1


def test_a_deeply_nested_spec_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / theory.spec.SPEC_FILE).write_text("[" * 100_000)
    for argv in (["info", str(tmp_path / "spec")], ["export", str(tmp_path / "spec")]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert "corrupted spec file" in err and "Traceback" not in err
    with pytest.raises(numerics.NumericsError, match="corrupted spec file"):
        numerics.load_module(tmp_path / "spec")


def test_a_deeply_nested_safetensors_header_is_a_clear_error(tmp_path, approx):
    numerics.save_module(approx, tmp_path / "spec")
    header = b"[" * 100_000
    (tmp_path / "spec" / numerics.WEIGHTS_FILE).write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(numerics.NumericsError, match="corrupted safetensors header"):
        numerics.load_module(tmp_path / "spec")


def test_the_budget_is_checked_before_the_weights_are_read(tmp_path, approx, monkeypatch):
    numerics.save_module(approx, tmp_path / "spec")
    read = []
    real_read_bytes = Path.read_bytes

    def spy(self):
        read.append(self.name)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    monkeypatch.setattr(files.safetensors.torch, "load", lambda data: pytest.fail("tensors loaded before the check"))
    size = (tmp_path / "spec" / numerics.WEIGHTS_FILE).stat().st_size
    with pytest.raises(numerics.NumericsError, match=r"load: estimated .* exceeds memory_budget"):
        numerics.load_module(tmp_path / "spec", memory_budget=size)
    assert numerics.WEIGHTS_FILE not in read
    with pytest.raises(numerics.NumericsError, match="exceeds memory_budget"):
        numerics.convert.weights_info(tmp_path / "spec", memory_budget=size)
    monkeypatch.undo()
    with pytest.raises(numerics.NumericsError, match="exceeds memory_budget"):
        numerics.export(tmp_path / "spec", force=True, memory_budget=1000)
    need = size + numerics.convert.module_bytes(approx, "float64")
    assert numerics.load_module(tmp_path / "spec", memory_budget=need)[0] == approx
    with pytest.raises(numerics.NumericsError, match="memory_budget"):
        numerics.load_module(tmp_path / "spec", memory_budget=0)


def test_evaluate_refuses_an_uncovered_target_and_ignores_an_uncovered_bound(tmp_path, approx, capsys):
    """The downgrade attack: version 1, an edited target and a raised a-priori bound."""
    theory.save(approx, tmp_path / "spec")
    downgrade_to_format_1(tmp_path / "spec", target="x0*x9 + 100", a_priori_bound="1000")
    common = ["--samples", "200", "--device", "cpu", "--no-progress", "--search-steps", "5"]
    assert cli_main(["evaluate", str(tmp_path / "spec"), *common]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: {tmp_path / 'spec' / theory.spec.SPEC_FILE}: format version 1, its meta is not covered by a hash: "
        "pass --target and --box explicitly"
    ) in err
    # explicit target and box: runs, and the uncovered a-priori bound is not used (and the command says so)
    out_json = tmp_path / "report.json"
    rc = cli_main(
        ["evaluate", str(tmp_path / "spec"), "--target", "x0*x9", "--box", "-1", "1", *common, "--json", str(out_json)]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured
    assert "a_priori_bound is ignored" in captured.err
    assert json.loads(out_json.read_text())["a_priori_bound"] is None
    # the library refuses the defaults too
    with pytest.warns(theory.spec.MetaNotCoveredWarning):
        net = theory.load(tmp_path / "spec")
    with pytest.raises(numerics.NumericsError, match="not covered by a hash"):
        numerics.check_at_scale(net, samples=10, device="cpu")


def test_a_too_small_covered_bound_still_exits_3(tmp_path, approx):
    """What the downgrade attack tried to hide: a covered a-priori bound below the true error is unsound."""
    meta = {**theory.to_json(approx)["meta"], "a_priori_bound": "1/100000"}
    net = theory.Network(d=approx.d, c_in=approx.c_in, layers=approx.layers, meta=meta)
    theory.save(net, tmp_path / "spec")
    with pytest.warns(numerics.UnsoundCertificateWarning):
        assert (
            cli_main(["evaluate", str(tmp_path / "spec"), "--samples", "2000", "--device", "cpu", "--no-progress"]) == 3
        )


def test_the_a_priori_bound_speaks_only_about_its_own_target_and_box(tmp_path, approx):
    meta = {**theory.to_json(approx)["meta"], "a_priori_bound": "1/100000"}  # below the true error
    net = theory.Network(d=approx.d, c_in=approx.c_in, layers=approx.layers, meta=meta)
    run = {"samples": 500, "device": "cpu", "search_steps": 5, "progress": False}
    with pytest.warns(numerics.UnsoundCertificateWarning):  # the meta's own target, given explicitly
        assert numerics.check_at_scale(net, "x0*x9", (-1, 1), **run).unsound
    with pytest.warns(numerics.UnsoundCertificateWarning):  # a box inside the meta's
        assert numerics.check_at_scale(net, "x0*x9", (-1, 0), **run).unsound
    with warnings.catch_warnings():
        warnings.simplefilter("error", numerics.UnsoundCertificateWarning)
        other = numerics.check_at_scale(net, "-x0*x9", (-1, 1), **run)  # another function
        wider = numerics.check_at_scale(net, "x0*x9", (-2, 2), **run)  # a box outside the meta's
    assert not other.unsound and other.a_priori_bound is None
    assert not wider.unsound and wider.a_priori_bound is None
