"""pytest plugin: claims as test items, so theory claims run in a project's CI next to its other tests.

Enable it with ``-p checks.pytest_plugin`` on the command line or ``addopts = "-p checks.pytest_plugin"`` in the
project's pytest configuration, then name the claim sources::

    pytest -p checks.pytest_plugin --claims mypkg.claims --claims-profile quick

Options: ``--claims SOURCE`` (a module name or a .py file; repeatable), ``--claims-profile quick|full``,
``--claims-seed N``, ``--claims-unknown fail|xfail`` (how an ``unknown`` result counts: a timeout or crash fails
the test by default; ``xfail`` reports it as an expected failure instead), ``--claims-entry-points`` (also the
installed packages of the entry-point group ``cnnverify.claims``). Each claim is one item named ``claims/<id>``;
``pass`` passes, ``fail`` fails with the observed and expected values and the evidence (a witness), and
``not-testable`` is skipped with its reason. A claim with a recorded finding for the profile (``Claim.findings``) is
an expected failure: its ``fail`` is reported as xfail with the finding, and a ``pass`` fails the item (the finding
no longer reproduces), as a strict xfail does. Artifacts (plots) go to pytest's temporary directory.
"""

from __future__ import annotations

import json

import pytest

from ._errors import ChecksError
from .claims import PROFILES, Claim, Context, build_registry, finding_state

UNKNOWN_POLICIES = ("fail", "xfail")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnnverify claims")
    group.addoption(
        "--claims",
        action="append",
        default=[],
        metavar="SOURCE",
        help="run the claims of a module (mypkg.claims) or a .py file as test items; repeatable",
    )
    group.addoption("--claims-profile", default="quick", choices=PROFILES, help="claim profile (default quick)")
    group.addoption("--claims-seed", type=int, default=0, help="seed of the claims' random draws (default 0)")
    group.addoption(
        "--claims-unknown",
        default="fail",
        choices=UNKNOWN_POLICIES,
        help="an 'unknown' result (timeout, crash) fails the item (default) or counts as xfail",
    )
    group.addoption(
        "--claims-entry-points",
        action="store_true",
        help="also collect the claims of installed packages (entry-point group cnnverify.claims)",
    )


class ClaimFailure(Exception):
    """A claim's check reported ``fail`` (or ``unknown`` under ``--claims-unknown fail``)."""


class ClaimItem(pytest.Item):
    """One claim as a test item."""

    def __init__(self, *, claim: Claim, origin: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.claim, self.origin = claim, origin

    def runtest(self) -> None:
        config = self.config
        # pytest's own session temp factory, which its tmpdir plugin sets on the config at run time and its stubs do
        # not declare (pytest reads it with the same ignore)
        out = config._tmp_path_factory.mktemp("claims")  # type: ignore[attr-defined]  # noqa: SLF001
        ctx = Context(profile=config.getoption("claims_profile"), seed=config.getoption("claims_seed"), out_dir=out)
        result = self.claim.run(ctx)
        self.user_properties.append(("claim_result", json.dumps(result.to_json())))
        finding = self.claim.findings.get(ctx.profile, "")
        if result.status == "not-testable":
            pytest.skip(f"not testable: {result.note}")
        if finding_state(finding, result.status) == "known":
            pytest.xfail(f"fails as recorded: {finding}")
        if finding_state(finding, result.status) == "stale":
            pytest.fail(
                f"claim {self.claim.id} passed, but a recorded finding says it fails in the {ctx.profile} "
                f"profile ({finding}): the finding no longer reproduces; update it and the docs",
                pytrace=False,
            )
        if result.status == "unknown" and config.getoption("claims_unknown") == "xfail":
            pytest.xfail(f"unknown: {result.note or result.evidence}")
        if result.status != "pass":
            raise ClaimFailure(result)

    def repr_failure(self, excinfo, style=None):  # noqa: ANN001 -- pytest's signature
        if isinstance(excinfo.value, ClaimFailure):
            r = excinfo.value.args[0]
            return "\n".join(
                [
                    f"claim {self.claim.id}: {r.status}",
                    f"statement: {self.claim.statement}",
                    f"source: {self.claim.source} (defined in {self.origin})",
                    f"observed: {json.dumps(r.observed)}",
                    f"expected: {json.dumps(r.expected)}",
                    f"tolerance: {r.tolerance}",
                    f"evidence: {json.dumps(r.evidence)[:2000]}",
                ]
                + ([f"note: {r.note}"] if r.note else [])
            )
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.origin, None, f"claim {self.claim.id}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    sources = config.getoption("claims")
    if not sources and not config.getoption("claims_entry_points"):
        return
    try:
        registry = build_registry(sources, builtin=False, entry_points=config.getoption("claims_entry_points"))
    except ChecksError as e:
        raise pytest.UsageError(str(e)) from None
    items.extend(
        ClaimItem.from_parent(session, name=f"claims/{c.id}", claim=c, origin=registry.origin(c.id)) for c in registry
    )
