"""Running claims: in this process or in worker processes, reusing cached results, reporting progress and an ETA.

Each unit of work (a claim, or the claims of one :attr:`Claim.group`) runs with a private artifact directory
(``<staging>/.claims/<name>/``) whose files then move into the report directory, so a cached entry holds exactly
the files its unit wrote. Workers are fresh processes (the
``spawn`` start method: no state is shared with the parent) that import the claim's origin, a module name or a
file path, and find it by id; claims registered without an origin (isolated registries in tests) run in this
process. Work is handed out longest-estimate first; results come back in catalogue order.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numerics
from theory.io import FileRead, recording_reads

from .._errors import bad
from ..claims import Claim, Context, Registry, Result, status_label
from ..claims._result import quiet_progress
from ..expect._replay import recording_networks, reusing
from ._cache import Cache

_WORKER: dict[str, dict[str, Claim]] = {}
"""In a worker process: origin -> {id: claim} of the sources it has loaded."""


@dataclass(frozen=True)
class Outcome:
    """One claim's result in a run; ``cached`` when it was reused from the cache rather than computed, with the
    files re-hashed to make sure the cached result is still about them (``rehashed``); ``rechecked``: the cached
    certificates the independent checker re-checked before their reuse (a served entry's, or those a claim run
    again reused about the networks it built now)."""

    claim: Claim
    result: Result
    cached: bool = False
    rehashed: tuple[str, ...] = ()
    rechecked: tuple[str, ...] = ()


def _run_unit(
    unit: Sequence[Claim],
    ctx: Context,
    before: Callable[[int, Claim], None] = lambda i, c: None,
    reuse: Mapping[str, Path] | None = None,
) -> tuple[list[Result], list[FileRead], list[str], list[str]]:
    """Run a unit's claims in order (``before(i, claim)`` first); also return every file they read (through the
    toolkit's readers), the networks their helpers saw and the cached certificates they reused (from ``reuse``).
    A unit's claims may share what one of them computed, so each depends on every file the unit read."""
    results = []
    with recording_reads() as reads, recording_networks() as networks, reusing(reuse or {}) as used:
        for i, c in enumerate(unit):
            before(i, c)
            results.append(c.run(ctx))
    return results, list(dict.fromkeys(reads)), list(dict.fromkeys(networks)), used


def _worker_run(
    origin: str, claim_ids: Sequence[str], ctx: Context, verbose: bool
) -> tuple[list[dict], list[dict[str, str]], list[str]]:
    from ..claims import load_source

    if origin not in _WORKER:
        _WORKER[origin] = {c.id: c for c in load_source(origin)[1]}
    if verbose:
        ctx = dataclasses.replace(ctx, progress=lambda msg: print(f"      {msg}", file=sys.stderr, flush=True))
    results, reads, networks, _ = _run_unit([_WORKER[origin][i] for i in claim_ids], ctx)
    return [r.to_json() for r in results], [r.to_json() for r in reads], networks


def _collect(private: Path, staging: Path) -> list[Path]:
    """Move a unit's artifacts (files and folders) into the report directory; returns their new paths."""
    moved = []
    if private.is_dir():
        for f in sorted(private.iterdir()):
            target = staging / f.name
            if f.is_dir():
                shutil.copytree(f, target, dirs_exist_ok=True)
                shutil.rmtree(f)
            else:
                os.replace(f, target)
            moved.append(target)
        private.rmdir()
    return moved


def _units(claims: Sequence[Claim]) -> list[list[Claim]]:
    """Claims grouped into units of work: one per claim, or one per :attr:`Claim.group` (in order)."""
    units: dict[str, list[Claim]] = {}
    for c in claims:
        units.setdefault(c.group or f"claim:{c.id}", []).append(c)
    return list(units.values())


def run_claims(
    registry: Registry,
    claims: Sequence[Claim],
    ctx: Context,
    *,
    jobs: int = 1,
    cache: Cache | None = None,
    verbose: bool = False,
    report: Callable[[str], None] = lambda line: None,
) -> list[Outcome]:
    """Run ``claims`` (from ``registry``) and return their outcomes in the given order.

    Args:
        ctx: profile, seed and the staging directory (``ctx.out_dir``) of the report.
        jobs: worker processes (1: everything in this process).
        cache: reuse and store results (claims with an origin only); None: compute everything.
        verbose: pass the checks' own progress lines through; report: receives one line per finished claim
            (``[done/total] id: status in s``, cached or not, and the estimated time left).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise bad("jobs", jobs, "an int >= 1 (worker processes)")
    if cache is not None and not isinstance(cache, Cache):
        raise bad("cache", type(cache).__name__, "None or a checks.Cache")
    staging, profile = ctx.out_dir, ctx.profile
    outcomes: dict[str, Outcome] = {}
    keys: dict[str, str] = {}
    reuse: dict[str, Path] = {}  # certificates by helper call, reusable once re-checked against the new networks
    replayed: dict[str, Result] = {}  # the cached results of the claims run again to build their networks
    for c in claims:
        origin = registry.origin(c.id)
        if cache is not None and origin:
            keys[c.id] = cache.key(c.id, origin, profile, ctx.seed)
            hit = cache.get(keys[c.id], staging)
            if hit is not None:
                result, rehashed = hit
                rechecked = tuple(cache.rechecked.get(keys[c.id], ()))
                outcomes[c.id] = Outcome(c, result, cached=True, rehashed=rehashed, rechecked=rechecked)
                files = (
                    f"; {len(rehashed)} file{'s' * (len(rehashed) != 1)} it read re-hashed, unchanged"
                    if rehashed
                    else ""
                )
                report(
                    f"[{len(outcomes)}/{len(claims)}] {c.id}: "
                    f"{status_label(result.status, c.findings.get(profile, ''))} (cached{files})"
                )
            elif cache.stale.get(keys[c.id]):
                report(f"{c.id}: cached result is stale ({', '.join(cache.stale[keys[c.id]])}); recomputing")
            elif keys[c.id] in cache.replay:
                replayed[c.id], calls = cache.replay[keys[c.id]]
                reuse.update(calls)
                report(f"{c.id}: cached result is about networks built in memory; running it again to build them")
    units = _units([c for c in claims if c.id not in outcomes])
    cost = {id(u): max(c.cost[profile] for c in u) for u in units}
    left, start = sum(cost.values()), time.perf_counter()

    def finished(
        unit: list[Claim], results: list[Result], reads: list[FileRead], networks: list[str], used: Sequence[str] = ()
    ) -> None:
        nonlocal left
        files = _collect(staging / ".claims" / _name(unit), staging)
        left -= cost[id(unit)]
        eta = left / max(1, min(jobs, len(units)))
        for c, result in zip(unit, results):
            if cache is not None and c.id in keys:
                cache.put(keys[c.id], result, files, reads, networks)
            # served after all when its networks were built again, every search was replaced by a cached
            # certificate the checker accepted against them, and the result came out the same
            cached = bool(used) and c.id in replayed and _same(result, replayed[c.id])
            outcomes[c.id] = Outcome(c, result, cached=cached, rechecked=tuple(used))
            report(
                f"[{len(outcomes)}/{len(claims)}] {c.id}: {status_label(result.status, c.findings.get(profile, ''))} "
                f"in {result.seconds:.2f} s"
                + (
                    f" (reused {len(used)} cached certificates the checker accepted against its networks)"
                    if used
                    else ""
                )
                + (
                    f"; about {eta:.0f} s left (estimates), {time.perf_counter() - start:.0f} s so far"
                    if left > 0
                    else ""
                )
            )

    remote = (  # a replayed unit stays here: the certificates it may reuse are this process's context
        [
            u
            for u in units
            if registry.origin(u[0].id)
            and len({registry.origin(c.id) for c in u}) == 1
            and not any(c.id in replayed for c in u)
        ]
        if jobs > 1
        else []
    )
    if remote:
        _run_in_workers(registry, remote, ctx, jobs, verbose, finished, cost)
    for unit in (u for u in units if not any(u is r for r in remote)):
        private = dataclasses.replace(ctx, out_dir=staging / ".claims" / _name(unit))
        results, reads, networks, used = _run_unit(
            unit,
            private,
            lambda i, c: report(
                f"[{len(outcomes) + i + 1}/{len(claims)}] {c.id}: running ({profile}, about {c.cost[profile]:g} s)"
            ),
            reuse,
        )
        finished(unit, results, reads, networks, used)
    discard_private(staging)
    return [outcomes[c.id] for c in claims]


def _same(a: Result, b: Result) -> bool:
    """Two results alike but for their wall time."""
    return dataclasses.replace(a, seconds=0.0).to_json() == dataclasses.replace(b, seconds=0.0).to_json()


def _name(unit: list[Claim]) -> str:
    return unit[0].group or unit[0].id


def _run_in_workers(
    registry: Registry,
    units: Sequence[list[Claim]],
    ctx: Context,
    jobs: int,
    verbose: bool,
    finished: Callable[[list[Claim], list[Result], list[FileRead], list[str]], None],
    cost: dict[int, float],
) -> None:
    order = sorted(units, key=lambda u: -cost[id(u)])
    workers = min(jobs, len(order))
    threads = max(1, numerics.usable_cores() // workers)
    quiet = dataclasses.replace(ctx, progress=quiet_progress)  # the parent's callback need not pickle
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=numerics.set_worker_threads,
        initargs=(threads,),
    ) as pool:
        pending: dict[Future, list[Claim]] = {
            pool.submit(
                _worker_run,
                registry.origin(u[0].id),
                [c.id for c in u],
                dataclasses.replace(quiet, out_dir=ctx.out_dir / ".claims" / _name(u)),
                verbose,
            ): u
            for u in order
        }
        try:
            while pending:
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    unit = pending.pop(fut)
                    reads: list[FileRead] = []
                    networks: list[str] = []
                    try:
                        results_json, reads_json, networks = fut.result()
                        results = [Result.from_json(r) for r in results_json]
                        reads = [FileRead.from_json(r) for r in reads_json]
                    except Exception as e:  # noqa: BLE001 -- a worker that died is an 'unknown', never a pass
                        results = [
                            Result(
                                "unknown",
                                evidence={"exception": type(e).__name__, "message": str(e)},
                                note="the worker process running this check failed; nothing was decided",
                            )
                            for _ in unit
                        ]
                    finished(unit, results, reads, networks)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def discard_private(staging: Path) -> None:
    """Remove the per-claim directories left by a failed run."""
    shutil.rmtree(staging / ".claims", ignore_errors=True)
