"""Every certificate a check passes on is re-checked, written beside the report, and named with its re-check command.

:func:`keep_certificate` runs the independent checker (:func:`theory.check_certificate`) on a certificate and the
network it is about; with a :class:`~checks.Context` it also writes both as artifacts of the claim
(``<claim>.<name>.certificate.json`` and the spec directory ``<claim>.<name>.spec``), which the runner moves into
the report directory and the cache keeps with the result. The evidence it returns holds the checker's verdict,
the file names and the one command that re-checks the certificate from them. A certificate the checker rejects
makes the claim fail (:func:`rejected`): a proof that does not re-check is a finding, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Mapping

import theory

CERTIFICATE_SUFFIX = ".certificate.json"
"""Suffix of a certificate artifact; its spec directory has the same stem with ``.spec``."""


def recheck_command(cert_file: str, spec_dir: str) -> str:
    """The command that re-checks a written certificate with the independent checker."""
    return f"python -m theory check {cert_file} {spec_dir}"


def keep_certificate(
    cert: theory.Certificate,
    net: theory.Network,
    ctx: Any = None,
    name: str = "cert",
    *,
    key: str | None = None,
    report: theory.CheckReport | None = None,
) -> dict:
    """Re-check ``cert`` against ``net`` (unless ``report`` is the checker's report on them already); with
    ``ctx``, write both as artifacts. Returns the evidence entry: ``{"check": verdict, "check_step",
    "check_message", "certificate", "spec", "recheck", "call"}`` (file names relative to the report directory;
    ``call``: the helper call's key, under which a later run may reuse the certificate, :mod:`._replay`)."""
    report = report if report is not None else theory.check_certificate(cert, net)
    out: dict[str, Any] = {"check": report.verdict}  # no timing: evidence is the same on every run
    if key is not None:
        out["call"] = key
    if not report.accepted:
        out.update(check_step=report.step, check_message=report.message)
    if ctx is not None:
        cert_path = ctx.artifact(name + CERTIFICATE_SUFFIX)
        spec_path = ctx.artifact(name + ".spec")
        cert.save(cert_path, force=True)
        theory.save(net, spec_path, force=True)
        out.update(
            certificate=cert_path.name,
            spec=spec_path.name,
            recheck=recheck_command(cert_path.name, spec_path.name),
        )
    return out


def rejected(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The rejection messages among kept certificates' evidence entries."""
    return [f"{e.get('check_step')}: {e.get('check_message')}" for e in entries if e.get("check") == "rejected"]
