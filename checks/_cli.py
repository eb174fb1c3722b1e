"""``python -m checks``: run the claim checks and write a report.

Exit status (the project's table, :data:`theory.cli.EXIT_CODES`, docs/cli.md): 0 when every claim run is pass or
not-testable, 1 when any is fail or unknown, 2 on a usage error (bad option, a pattern matching no claim, an
``--out`` that cannot be written, exists without ``--force``, or with ``--force`` was not written by cnnverify;
all checked before any claim runs). ``python -m checks --compare OLD NEW`` compares two reports (report.json files or
their directories) instead: 0 when every claim has the same status and observed value in both, 1 when any differs
(each difference printed), 2 when a file is not a report.

A run writes report.json, report.md and report.html (self-contained, plots inline; with ``--compare REPORT`` it
marks what changed since that report). Claims come from the project's catalogues, installed packages of the
entry-point group ``cnnverify.claims`` and ``--claims`` sources; they run in ``--jobs`` worker processes and
reuse cached results unless ``--no-cache`` (:mod:`checks.running`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence, TextIO

import numerics
import theory

from ._errors import ChecksError
from .claims import PROFILES, Context, Registry, build_registry
from .claims._result import quiet_progress
from .reporting import (
    build_document,
    check_out_dir,
    compare_reports,
    discard,
    environment,
    finish,
    load_document,
    render_html,
    report_json,
    staging_dir,
    summary_text,
    table,
)
from .running import Cache, default_cache_dir, run_claims


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m checks",
        description="Run the executable claims of cnnverify (Wang & Wu 2023 reconstructions) and write a report "
        "(report.md, report.json, PNG plots). Exit 0: all pass/not-testable; 1: any fail/unknown; "
        "2: usage error or unwritable --out (checked before any claim runs).",
    )
    p.add_argument(
        "--profile",
        default="quick",
        choices=PROFILES,
        help="quick: small sizes (--list shows each claim's estimated seconds); full: the real "
        "reproduction (default: quick)",
    )
    p.add_argument(
        "--only",
        metavar="PATTERN",
        default=None,
        help="run only claims whose id matches this fnmatch pattern, e.g. 'ww.select.*'",
    )
    p.add_argument("--list", action="store_true", help="list the (selected) claims and exit")
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help="report directory (must not exist unless --force); default reports/checks-<UTC time>",
    )
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out directory that cnnverify wrote (it has a .cnnverify marker)",
    )
    p.add_argument("--verbose", action="store_true", help="also show the checks' own progress lines")
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="REPORT",
        type=Path,
        default=None,
        help="OLD NEW: compare two reports (report.json or their directories) and exit; one REPORT: run, "
        "then compare this run with it in report.html/report.md",
    )
    p.add_argument(
        "--claims",
        metavar="SOURCE",
        action="append",
        default=[],
        help="also run the claims of a module (mypkg.claims) or a .py file; repeatable. Installed "
        "packages declaring the entry-point group cnnverify.claims are always included",
    )
    p.add_argument(
        "-j",
        "--jobs",
        metavar="N",
        type=int,
        default=None,
        help=f"worker processes (default: the number of cores, here {numerics.usable_cores()})",
    )
    p.add_argument("--no-cache", action="store_true", help="compute every claim, reusing nothing")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help=f"where results are cached (default $CNNVERIFY_CACHE or {default_cache_dir()})",
    )
    return p


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_out(now: datetime) -> Path:
    """``reports/checks-<UTC timestamp with microseconds>``, with a numeric suffix if that exists already."""
    base = Path("reports") / f"checks-{now.strftime('%Y%m%dT%H%M%S.%fZ')}"
    out, n = base, 1
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}"), n + 1
    return out


def main(
    argv: Sequence[str] | None = None,
    registry: Registry | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status (never calls ``sys.exit``).

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).
        registry: the claims to choose from (default: every claim of the project); tests pass isolated ones.
        stdout, stderr: streams for the table and for progress/errors (default the process streams).
    Returns:
        0, 1 or 2 (see the module docstring).
    """
    out_stream, err = stdout or sys.stdout, stderr or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse reports usage errors (code 2) and --help (code 0) by exiting
        return int(e.code or 0)
    if args.compare is not None and len(args.compare) > 2:
        print(
            "python -m checks: error: argument --compare: got 3 or more paths; allowed: OLD NEW (compare two "
            "reports) or one REPORT (the baseline of this run)",
            file=err,
        )
        return theory.cli.EXIT_USAGE
    if args.compare is not None and len(args.compare) == 2:
        try:
            diff = compare_reports(*args.compare)
        except ChecksError as e:
            print(f"python -m checks: error: {e}", file=err)
            return theory.cli.EXIT_USAGE
        print(diff.render(), file=out_stream)
        return theory.cli.EXIT_OK if diff.identical else theory.cli.EXIT_FAIL
    if args.seed < 0:
        print(f"python -m checks: error: argument --seed: got {args.seed}; allowed: an int >= 0", file=err)
        return theory.cli.EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print(f"python -m checks: error: argument --jobs: got {args.jobs}; allowed: an int >= 1", file=err)
        return theory.cli.EXIT_USAGE
    baseline = None
    try:
        if args.compare:
            baseline = load_document(report_json(args.compare[0]))[0]
        if registry is None:
            registry = build_registry(args.claims, entry_points=True)
        elif args.claims:
            raise ChecksError("argument '--claims': not available with a registry given by the caller")
        claims = registry.select(args.only)
    except ChecksError as e:
        print(f"python -m checks: error: {e}", file=err)
        return theory.cli.EXIT_USAGE
    if not claims:
        print(
            f"python -m checks: error: argument --only: got {args.only!r}; allowed: a pattern matching one of "
            f"{registry.ids()}",
            file=err,
        )
        return theory.cli.EXIT_USAGE
    if args.list:
        for c in claims:
            print(
                f"{c.id:<24} {c.kind:<14} ~{c.cost['quick']:g} s quick / ~{c.cost['full']:g} s full  "
                f"[{registry.origin(c.id) or '<unnamed>'}]  {c.statement}"
                + (f"  (recorded finding: fails in {', '.join(c.findings)})" if c.findings else ""),
                file=out_stream,
            )
        return theory.cli.EXIT_OK
    started = _utc_now()
    out = args.out if args.out is not None else default_out(started)
    try:
        check_out_dir(out, args.force)  # before any claim runs: a run never ends in an unwritable --out
    except ChecksError as e:
        print(f"python -m checks: error: {e}", file=err)
        return theory.cli.EXIT_USAGE
    staging = staging_dir(out)
    try:
        progress = (lambda msg: print(f"      {msg}", file=err, flush=True)) if args.verbose else quiet_progress
        ctx = Context(profile=args.profile, seed=args.seed, out_dir=staging, progress=progress)
        jobs = args.jobs or numerics.usable_cores()
        estimate = sum(c.cost[args.profile] for c in claims)
        print(
            f"running {len(claims)} claims ({args.profile} profile, about {estimate:.0f} s of work estimated, "
            f"{jobs} worker{'s' if jobs > 1 else ''})",
            file=err,
            flush=True,
        )
        outcomes = run_claims(
            registry,
            claims,
            ctx,
            jobs=jobs,
            verbose=args.verbose,
            cache=None if args.no_cache else Cache(args.cache_dir),
            report=lambda line: print(line, file=err, flush=True),
        )
        runs = [(o.claim, o.result) for o in outcomes]
        doc = build_document(
            runs,
            profile=args.profile,
            seed=args.seed,
            started=started.isoformat(),
            finished=_utc_now().isoformat(),
            env=environment(),
            cached={o.claim.id for o in outcomes if o.cached},
            rehashed={o.claim.id: o.rehashed for o in outcomes if o.rehashed},
            rechecked={o.claim.id: o.rechecked for o in outcomes if o.rechecked},
            origins={c.id: registry.origin(c.id) for c in claims},
        )
        finish(doc, staging, out, args.force, {"report.html": render_html(doc, staging, baseline)})
    except ChecksError as e:  # --out appeared while running
        discard(staging)
        print(f"python -m checks: error: {e}", file=err)
        return theory.cli.EXIT_USAGE
    except OSError as e:  # the file system refused a write the up-front check could not foresee
        discard(staging)
        if isinstance(e, BrokenPipeError):  # a reader went away: theory.cli.run_cli ends quietly
            raise
        print(f"python -m checks: error: {e}", file=err)
        return theory.cli.EXIT_USAGE
    except BaseException:
        discard(staging)
        raise
    print(table([(e, r) for e, (_, r) in zip(doc["claims"], runs)]), file=out_stream)
    summary = summary_text(doc)
    n_cached = sum(o.cached for o in outcomes)
    print(
        f"\n{summary}{f' ({n_cached} cached)' if n_cached else ''}; report: {out / 'report.html'} "
        f"(also report.md, report.json)",
        file=out_stream,
    )
    return int(doc["exit_code"])
