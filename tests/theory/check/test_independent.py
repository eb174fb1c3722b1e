"""The checker shares no code with the searches, and its kernel stays small."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest

import theory
from theory.check import CheckReport

ROOT = Path(__file__).resolve().parents[3]
CHECK = ROOT / "theory" / "check"
KERNEL_LINES = 1500
"""The sup-norm kernel (flint balls and exact rationals): ``theory/check/*.py``."""
SOLVER_KERNEL_LINES = 600
"""The solver-proof kernel (routing, monolithic and head-bound queries regenerated, answered by cvc5):
``theory/check/solver/*.py``."""
# what the checker may read: the network record and its files, the formula grammar, the certificate record
ALLOWED = ("theory._errors", "theory.spec", "theory.formula", "theory.prove._certificate", "theory.io", "theory.check")


def _imports(path: Path, package: str = "theory.check") -> set[str]:
    tree = ast.parse(path.read_text())
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
    for path in sorted(CHECK.rglob("*.py")):
        package = ".".join(("theory", *path.relative_to(ROOT / "theory").parent.parts))
        for name in _imports(path, package):
            if name.startswith("theory") and not name.startswith(ALLOWED):
                found.setdefault(path.name, []).append(name)
    assert not found, f"the checker imports search code: {found}"


def test_the_import_check_sees_a_planted_search_import(tmp_path):
    planted = tmp_path / "x.py"
    planted.write_text("from ..certify._intervals import up\n")
    assert any(n.startswith("theory.certify") for n in _imports(planted))


@pytest.mark.parametrize("folder, most", [(CHECK, KERNEL_LINES), (CHECK / "solver", SOLVER_KERNEL_LINES)])
def test_kernel_size(folder, most):
    lines = sum(len(p.read_text().splitlines()) for p in folder.glob("*.py"))
    print(f"{folder.relative_to(ROOT)}: {lines} lines")
    assert lines <= most


def test_report_and_arguments():
    with pytest.raises(theory.TheoryError, match="cert"):
        theory.check_certificate("cert.json", theory.select(8, [1]))
    with pytest.raises(ValueError):
        CheckReport("maybe", "x")
    assert CheckReport("rejected", "interval-bnb", "bound", "leaf 3").exit_code == 3


def test_a_certificate_without_a_procedure_is_unsupported_not_accepted():
    net = theory.approximate_sparse(16, [3], "x0**2", (0, 1), Fraction(1, 100))
    cert = theory.certify_sup_error(net, semantics="float32", max_work=2_000)
    assert cert.status == "proved"
    report = theory.check_certificate(cert, net)
    assert report.verdict == "unsupported" and report.exit_code == 1 and "float32" in report.message
