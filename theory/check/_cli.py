"""``python -m theory check CERT.json SPEC``: re-check a certificate file against a spec, with the checker only.

Exit 0 accepted, 3 rejected (the first failing step, region or fact is printed), 1 unsupported (no procedure
for this certificate yet), 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from .._errors import bad
from ..prove._certificate import Certificate
from ..spec import load
from ._check import MAX_SPLITS, check_certificate
from ._report import CheckReport


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``check`` subcommand of ``python -m theory``."""
    c = sub.add_parser(
        "check",
        help="re-check a certificate file against a spec with the independent checker (exit 0 accepted; "
        "3 rejected; 1 unsupported; 2 error)",
    )
    c.add_argument("cert", help="a certificate JSON file (Certificate.save, python -m theory certify --out)")
    c.add_argument("spec", help="the spec directory or spec.json the certificate is about")
    c.add_argument("--target", help="the target you mean (must be the certificate's, in canonical form)")
    c.add_argument(
        "--max-splits", type=int, default=MAX_SPLITS, help=f"most halvings the checker may add (default {MAX_SPLITS})"
    )
    c.add_argument("--json", action="store_true", help="print the report as JSON")


def report_line(report: CheckReport) -> str:
    """``check: accepted ...`` / ``check: rejected (bound): ...``."""
    return f"check: {report.summary()}"


def run(args: argparse.Namespace, note: Callable[[str], None] | None = None) -> int:
    """Run ``check``; returns the exit code of the report."""
    if args.max_splits < 0:
        raise bad("--max-splits", args.max_splits, "an int >= 0")
    cert = Certificate.load(args.cert)
    net = load(args.spec, note=note)
    report = check_certificate(cert, net, target=args.target, max_splits=args.max_splits)
    print(json.dumps(report.to_json(), indent=2) if args.json else report_line(report))
    return report.exit_code
