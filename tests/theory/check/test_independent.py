"""The checker shares no code with the searches, and its kernel stays small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import theory
from theory.check import CheckReport

ROOT = Path(__file__).resolve().parents[3]
CHECK = ROOT / "theory" / "check"
KERNEL_LINES = 1500
# what the checker may read: the network record and its files, the formula grammar, the certificate record
ALLOWED = ("theory._errors", "theory.spec", "theory.formula", "theory.prove._certificate", "theory.io", "theory.check")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = "theory.check"
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                out.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_checker_imports_no_search_module():
    found = {}
    for path in sorted(CHECK.glob("*.py")):
        for name in _imports(path):
            if name.startswith("theory") and not name.startswith(ALLOWED):
                found.setdefault(path.name, []).append(name)
    assert not found, f"the checker imports search code: {found}"


def test_the_import_check_sees_a_planted_search_import(tmp_path):
    planted = tmp_path / "x.py"
    planted.write_text("from ..certify._intervals import up\n")
    assert any(n.startswith("theory.certify") for n in _imports(planted))


def test_kernel_size():
    lines = sum(len(p.read_text().splitlines()) for p in CHECK.glob("*.py"))
    print(f"theory/check: {lines} lines")
    assert lines <= KERNEL_LINES


def test_report_and_arguments():
    with pytest.raises(theory.TheoryError, match="cert"):
        theory.check_certificate("cert.json", theory.select(8, [1]))
    with pytest.raises(ValueError):
        CheckReport("maybe", "x")
    assert CheckReport("rejected", "interval-bnb", "bound", "leaf 3").exit_code == 3


def test_z3_certificates_are_unsupported_not_accepted():
    net = theory.select(16, [3, 12])
    cert = theory.prove_routing(net, [3, 12])
    report = theory.check_certificate(cert, net)
    assert report.verdict == "unsupported" and report.exit_code == 1
