"""Wall time of ``python -m checks`` on the quick profile: cold (empty result cache) with 1 and N workers, and
warm (every result reused from the cache).

Usage::

    python benchmarks/checks.py                   # cold -j 1, cold -j 2, warm -j 2
    python benchmarks/checks.py --jobs 2 --skip-serial
    python benchmarks/checks.py --only 'ww.*'     # a subset

Each run is a fresh ``python -m checks`` process (imports included) writing to a temporary report directory;
the cache is a temporary directory (``--cache-dir``), so nothing from earlier runs is reused by the cold runs.
Reported: wall time, CPU time of the process and its workers (``RUSAGE_CHILDREN``), exit status, the number of
cached results, and the sum of the checks' own seconds. Targets: cold <= 60 s wall with 2 workers, warm <= 5 s.
Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 60.0, "warm": 5.0}


def run(label: str, args: list[str], cache: Path, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "checks", "--profile", "quick", "--out", str(out), "--cache-dir", str(cache), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    doc = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else {"claims": []}
    return {
        "run": label,
        "args": " ".join(args),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "exit": proc.returncode,
        "claims": len(doc["claims"]),
        "cached": sum(bool(e.get("cached")) for e in doc["claims"]),
        "checks_s": round(sum(e["result"]["seconds"] for e in doc["claims"]), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=2, help="workers of the parallel runs (default 2)")
    p.add_argument("--only", default=None, help="fnmatch pattern of claim ids (default: all)")
    p.add_argument("--skip-serial", action="store_true", help="skip the cold -j 1 baseline")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = p.parse_args()
    extra = ["--only", args.only] if args.only else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_serial:
            rows.append(run("cold, one worker", ["-j", "1", *extra], tmp / "cache-serial", tmp / "r-serial"))
        rows.append(run("cold", ["-j", str(args.jobs), *extra], tmp / "cache", tmp / "r-cold"))
        rows.append(run("warm", ["-j", str(args.jobs), *extra], tmp / "cache", tmp / "r-warm"))
    print(f"python -m checks --profile quick; {os.cpu_count()} cores; python {sys.version.split()[0]}\n")
    print("| run | args | wall s | CPU s | exit | claims | cached | sum of checks s | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = TARGETS.get(r["run"])
        met = (
            "baseline"
            if target is None
            else f"<= {target:g} s: " + ("met" if r["wall_s"] <= target else f"missed by {r['wall_s'] - target:.1f} s")
        )
        print(
            f"| {r['run']} | {r['args']} | {r['wall_s']} | {r['cpu_s']} | {r['exit']} | {r['claims']} | "
            f"{r['cached']} | {r['checks_s']} | {met} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
