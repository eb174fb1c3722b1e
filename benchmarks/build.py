"""Time and peak memory to build the routing specs ``theory.select`` and ``theory.gather`` for d = 2^10 ... 2^20.

Usage::

    python benchmarks/build.py                      # select and gather, d = 2^10 .. 2^20
    python benchmarks/build.py --max-log2 16 --repeat 1
    python benchmarks/build.py --json results.json  # also write the rows as JSON

Every case runs in a fresh subprocess, twice:

* a timing run: wall time of the build call (the first call, and the best of ``--repeat`` calls), and the
  peak resident set size, ``getrusage(RUSAGE_SELF).ru_maxrss`` at the end minus the resident set size
  right after the imports (so the interpreter, numpy and theory themselves are not counted);
* a tracemalloc run: the peak of Python-level allocations during one build (tracemalloc slows the build,
  so it is not timed).

``select`` uses k = 8 indices spread over [0, d-1], 0 and d-1 included, s = 2. ``gather`` uses s = 2 and
stops growing once a case exceeds the time or memory cap (``--cap-seconds``, ``--cap-mb``).

Target (README.md, "Benchmarks"): build ``select`` at d = 2^20, k = 8 in under 2 s and 200 MB. This script
prints measured figures and whether the target was met; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS, TARGET_MB = 2.0, 200.0


def spread_support(d: int, k: int) -> list[int]:
    """k distinct indices spread evenly over [0, d-1], both ends included."""
    if k == 1:
        return [0]
    return sorted({round(j * (d - 1) / (k - 1)) for j in range(k)})


def _rss_kb() -> int:
    """Current resident set size in KiB (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


# --------------------------------------------------------------------------------------------- child side
def _child(construction: str, log2d: int, k: int, mode: str, repeat: int) -> dict:
    import gc

    try:
        import theory
    except ImportError:  # running from a checkout without `pip install -e .`
        sys.path.insert(0, ROOT)
        import theory

    d = 2**log2d
    support = spread_support(d, k)

    def build():
        return theory.select(d, support, 2) if construction == "select" else theory.gather(d, 2)

    gc.collect()
    base_kb = _rss_kb()
    row: dict = {
        "construction": construction,
        "log2d": log2d,
        "d": d,
        "k": len(support) if construction == "select" else None,
    }
    if mode == "trace":
        import tracemalloc

        tracemalloc.start()
        net = build()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row["tracemalloc_mb"] = peak / 2**20
        return row
    t0 = time.perf_counter()
    net = build()
    first = time.perf_counter() - t0
    row["peak_rss_mb"] = max(0, _maxrss_kb() - base_kb) / 1024
    row["rss_after_imports_mb"] = base_kb / 1024
    times = [first]
    for _ in range(repeat - 1):
        del net
        gc.collect()
        t0 = time.perf_counter()
        net = build()
        times.append(time.perf_counter() - t0)
    row.update(
        first_s=first,
        best_s=min(times),
        nonzeros=net.nonzeros,
        param_count=net.param_count(),
        param_count_no_bias=net.param_count(biases=False),
        depth=net.depth,
    )
    return row


# --------------------------------------------------------------------------------------------- parent side
def _run_child(construction: str, log2d: int, k: int, mode: str, repeat: int, timeout: float) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        construction,
        str(log2d),
        "--k",
        str(k),
        "--mode",
        mode,
        "--repeat",
        str(repeat),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_count(n: int) -> str:
    return f"{n:,}" if n < 10**12 else f"{n:.3e}"


def _table(rows: list[dict]) -> str:
    head = (
        f"{'construction':<12} {'d':>9} {'k':>3} {'first s':>9} {'best s':>9} {'peak RSS MB':>12} "
        f"{'tracemalloc MB':>15} {'nonzeros':>12} {'param_count':>22}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        d = f"2^{r['log2d']}"
        if "error" in r:
            lines.append(f"{r['construction']:<12} {d:>9} {'':>3} {r['error']}")
            continue
        k = "" if r.get("k") is None else str(r["k"])
        tm = r.get("tracemalloc_mb")
        lines.append(
            f"{r['construction']:<12} {d:>9} {k:>3} {r['first_s']:>9.4f} {r['best_s']:>9.4f} {r['peak_rss_mb']:>12.1f} "
            f"{(f'{tm:.1f}' if tm is not None else 'n/a'):>15} {_fmt_count(r['nonzeros']):>12} {_fmt_count(r['param_count']):>22}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-log2", type=int, default=10)
    p.add_argument("--max-log2", type=int, default=20)
    p.add_argument("--k", type=int, default=8, help="support size of select (default 8)")
    p.add_argument("--repeat", type=int, default=3, help="build calls per timing run; 'best s' is the fastest")
    p.add_argument("--cap-seconds", type=float, default=60.0, help="stop growing a construction past this build time")
    p.add_argument("--cap-mb", type=float, default=4096.0, help="stop growing a construction past this peak RSS")
    p.add_argument("--only", choices=("select", "gather"), help="benchmark one construction")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--child", nargs=2, metavar=("CONSTRUCTION", "LOG2D"), help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("time", "trace"), default="time", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]), args.k, args.mode, args.repeat)))
        return 0

    print(
        f"# build benchmark: python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.platform()}"
    )
    print(f"# each case in a fresh subprocess; peak RSS = ru_maxrss - RSS after imports; best of {args.repeat} builds")
    rows: list[dict] = []
    timeout = 2 * args.cap_seconds * max(1, args.repeat) + 60
    for construction in ("select", "gather"):
        if args.only and construction != args.only:
            continue
        for log2d in range(args.min_log2, args.max_log2 + 1):
            row = _run_child(construction, log2d, args.k, "time", args.repeat, timeout)
            row.setdefault("construction", construction)
            row.setdefault("log2d", log2d)
            if "error" not in row:
                trace = _run_child(construction, log2d, args.k, "trace", 1, timeout)
                row["tracemalloc_mb"] = trace.get("tracemalloc_mb")
            rows.append(row)
            print(_table([row]).splitlines()[-1] if len(rows) > 1 else _table([row]), flush=True)
            if "error" in row or row["first_s"] > args.cap_seconds or row["peak_rss_mb"] > args.cap_mb:
                print(f"# {construction}: stopping at d = 2^{log2d} (cap {args.cap_seconds:g} s / {args.cap_mb:g} MB)")
                break

    target = [r for r in rows if r["construction"] == "select" and r["log2d"] == 20 and "error" not in r]
    if target:
        r = target[0]
        tm_text = "n/a" if r.get("tracemalloc_mb") is None else f"{r['tracemalloc_mb']:.2f}"
        ok = r["best_s"] < TARGET_SECONDS and r["first_s"] < TARGET_SECONDS and r["peak_rss_mb"] < TARGET_MB
        print(
            f"\ntarget: select at d = 2^20, k = {r['k']}: under {TARGET_SECONDS:g} s and {TARGET_MB:g} MB -> "
            f"first {r['first_s']:.4f} s, best {r['best_s']:.4f} s, peak RSS {r['peak_rss_mb']:.1f} MB, "
            f"tracemalloc {tm_text} MB: {'MET' if ok else 'NOT MET'}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
