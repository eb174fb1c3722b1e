"""The command line ``python -m numerics duat`` (numerics.duat._cli): the summary of a decomposition, bad input."""

from __future__ import annotations

from numerics.duat._cli import main as cli_main


def test_cli_prints_summary_and_rejects_bad_input(capsys):
    assert cli_main(["duat", "--model", "vgg-small", "--input", "3x8x8", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "MaxPool2d" in out and "dynamic" in out and "reconstruction" in out
    assert "full autograd Jacobian" in out and "ok" in out.split("Jacobian check")[-1]
    assert cli_main(["duat", "--model", "vit-block", "--input", "4x64"]) == 0
    assert "not applicable" in capsys.readouterr().out
    assert cli_main(["duat", "--model", "resnet-basic-block", "--input", "3x32"]) == 2
    assert cli_main(["duat", "--model", "resnet-basic-block", "--input", "3x3z"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
