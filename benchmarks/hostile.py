"""Hostile inputs: each reproduction run in a fresh interpreter, with its outcome, time and peak memory.

Prints a Markdown table: reproduction, what it did before the hardening (as reported when it was found), what it
does now (a clear package error, exit 2, or a correct result), seconds, and the process's peak resident memory.
Each case runs under an 8 GiB address-space limit and a 120 s timeout, so a regression shows as a crash or a
timeout instead of taking the machine down. Figures are measured, never asserted.

Usage: python benchmarks/hostile.py [--only SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap

HARNESS = """
import json, os, resource, sys, time
os.chdir(sys.argv[1])
t0 = time.perf_counter()
try:
    from theory._errors import CnnverifyError
    out = None
    exec(compile(sys.argv[2], "case", "exec"))
    outcome = out or "ran"
except SystemExit as e:
    outcome = f"exit {e.code}"
except CnnverifyError as e:
    outcome = "clear error: " + str(e).split(";")[0][:70]
except BaseException as e:  # what the table is for: anything else is a crash
    outcome = f"CRASH {type(e).__name__}"
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SPEC = "import theory; spec = theory.save(theory.approximate_sparse(16, [1, 9], 'x0*x1', (-1, 1), 0.1), 's')\n"
CERT = "import theory; net = theory.select(16, [1, 9]); cert = theory.prove_routing(net, [1, 9])\n"
BIG = "'(' + ' + '.join(f'x{i}' for i in range(12)) + ')**64'"
ONNX = textwrap.dedent("""
    import numpy as np, numerics
    from onnx import TensorProto, helper, numpy_helper
    def model(node, inits, shape, sparse=()):
        out = [1, 2, 'n'] if len(shape) == 3 else [1, 2]
        g = helper.make_graph([node], 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, out)], inits,
                              sparse_initializer=list(sparse))
        open('m.onnx', 'wb').write(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]).SerializeToString())
        return numerics.from_onnx('m.onnx')
    w3 = numpy_helper.from_array(np.ones((2, 1, 3), np.float32), 'w')
    w2 = numpy_helper.from_array(np.ones((2, 4), np.float32), 'w')
""")
TORCH = "import torch, numerics\nnn = torch.nn\n"
MAIN = textwrap.dedent("""
    import contextlib, io
    from theory._main import main as theory_main
    from numerics._cli import main as numerics_main
    def cli(main, argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        last = (err.getvalue().strip().splitlines() or [''])[-1]
        return f'exit {code}: {last.split(";")[0][:70]}'
""")

CASES = [
    # name, before (as found), code (sets `out` or raises)
    (
        "theory check: query with (set-option :regular-output-channel victim)",
        "cvc5 ran it: victim.txt emptied",
        CERT + "import dataclasses; open('victim.txt', 'w').write('data'); q = list(cert.smtlib())\n"
        "forged = dataclasses.replace(cert, details={**cert.details, 'smtlib': ['(set-option :regular-output-channel "
        '"victim.txt")\\n\' + q[0], *q[1:]]})\nr = theory.check_certificate(forged, net)\n'
        "out = f'{r.verdict} ({r.step}); victim.txt ' + ('intact' if open('victim.txt').read() == 'data' else 'LOST')",
    ),
    (
        "theory check: (assert false) added to a query",
        "agreed (exit 0)",
        CERT
        + "import dataclasses; q = list(cert.smtlib())\nq[2] = q[2].replace('(check-sat)', '(assert false)(check-sat)')\n"
        "r = theory.check_certificate(dataclasses.replace(cert, details={**cert.details, 'smtlib': q}), net)\n"
        "out = f'{r.verdict} ({r.step})'",
    ),
    *[
        (
            f"theory check: query with {cmd}",
            before,
            CERT
            + "import dataclasses; q = list(cert.smtlib())\nq[0] = q[0].replace('(check-sat)', "
            + repr(cmd + "(check-sat)")
            + ")\nr = theory.check_certificate(dataclasses.replace(cert, details={**cert.details, 'smtlib': q}), net)\n"
            "out = f'{r.verdict} ({r.step})'",
        )
        for cmd, before in [
            ('(set-option :diagnostic-output-channel "other.txt")', "cvc5 ran it: other.txt overwritten"),
            ("(check-sat-assuming (false))", "agreed (exit 0)"),
            ("(reset)", "agreed (exit 0)"),
        ]
    ],
    (
        "crosscheck --keep DIR holding the user's network.npz",
        "overwritten without --force",
        "import os, numerics, theory; os.mkdir('k'); open('k/network.npz', 'w').write('mine')\n"
        "try:\n    numerics.crosscheck(theory.select(8, [1, 6]), 'marabou', workdir='k')\n"
        "finally:\n    assert open('k/network.npz').read() == 'mine'",
    ),
    (
        "certify --eps 1e999999999",
        "hang (Fraction)",
        SPEC + MAIN + "out = cli(theory_main, ['certify', 's', '--eps', '1e999999999'])",
    ),
    (
        "certify --eps 1e400",
        "OverflowError",
        SPEC + MAIN + "out = cli(theory_main, ['certify', 's', '--eps', '1e400'])",
    ),
    (
        "certify --box 0,1e400",
        "OverflowError",
        SPEC + MAIN + "out = cli(theory_main, ['certify', 's', '--box', '0,1e400'])",
    ),
    (
        "show: spec.json weight '1e999999999'",
        "hang",
        SPEC + MAIN + "import json; d = json.load(open('s/spec.json'))\nd['layers'][0]['weight']['values'][0] = "
        "'1e999999999'\njson.dump(d, open('s/spec.json', 'w'))\nout = cli(theory_main, ['show', 's'])",
    ),
    (
        "certificate upper '1e999999999'",
        "hang",
        CERT + "d = cert.to_json(); d['upper'] = '1e999999999'\ntheory.Certificate.from_json(d)",
    ),
    (
        "build approx --g 'exp(1000*x0)*x1'",
        "OverflowError traceback",
        MAIN
        + "out = cli(theory_main, ['build', 'approx', '--d', '16', '--support', '1,9', '--g', 'exp(1000*x0)*x1', '--eps', '0.1', "
        "'--out', 'o'])",
    ),
    (
        "evaluate --target 'exp(exp(exp(5*x1)))'",
        "MemoryError",
        SPEC
        + MAIN
        + "out = cli(numerics_main, ['evaluate', 's', '--target', 'exp(exp(exp(5*x1)))', '--samples', '1000', "
        "'--no-progress'])",
    ),
    (
        "property target (x0+...+x11)**64",
        "120 s, 6.8 GB (expand)",
        "import numerics, theory\nnumerics.target_property(theory.select(16, list(range(12))), ["
        + BIG
        + "] + ['x1'] * 11, eps=1)",
    ),
    (
        "spec head_target (x0+...+x11)**64",
        "114 s past --time-limit 10, 7.8 GB",
        "from theory.certify.pieces._grid import _product_m\n"
        "rec = {'head': {'name': 'product', 'params': {'m': 3}}, 'head_target': " + BIG + "}\n"
        "out = 'not read as x0*x1 (m = ' + str(_product_m(rec)) + '), nothing expanded'",
    ),
    (
        "crosscheck --tol 1e999999999",
        "hang",
        "import theory; theory.save(theory.select(16, [1, 9]), 'r')\n"
        + MAIN
        + "out = cli(numerics_main, ['crosscheck', 'r', '--with', 'marabou', '--tol', '1e999999999'])",
    ),
    (
        "evaluate samples=1e13 (a float)",
        "accepted",
        SPEC + "import numerics, theory\nnumerics.check_at_scale(theory.load('s'), samples=1e13)",
    ),
    (
        "from_onnx of a 256 MB file (one 8192 x 8192 Gemm)",
        "7.5 GB, MemoryError",
        ONNX + "w = numpy_helper.from_array(np.full((8192, 8192), 0.5, np.float32), 'w')\n"
        "model(helper.make_node('Gemm', ['x', 'w'], ['y'], name='fc', transB=1), [w], [1, 8192])",
    ),
    (
        "from_torch Linear on (10**12,)",
        "MemoryError",
        TORCH + "numerics.from_torch(nn.Sequential(nn.Linear(4, 2)), (10**12,))",
    ),
    (
        "from_torch padded Conv1d on 60,000 positions",
        "MemoryError (429 GiB dense)",
        TORCH + "net = numerics.from_torch(nn.Sequential(nn.Conv1d(4, 4, 3, padding=1)), (4, 60000))\n"
        "out = f'built: {net.nonzeros} nonzeros'",
    ),
    (
        "from_torch Conv2d(32, 32, 3, padding=1) on 32x128x128",
        "69 s, 7.5 GB, MemoryError",
        TORCH + "numerics.from_torch(nn.Sequential(nn.Conv2d(32, 32, 3, padding=1)), (32, 128, 128))",
    ),
    (
        "from_torch(m, (True, 4))",
        "read as (1, 4)",
        TORCH + "numerics.from_torch(nn.Sequential(nn.Conv1d(1, 2, 2, stride=2)), (True, 4))",
    ),
    (
        "from_onnx input declared 1x2^30",
        "tens of GiB / MemoryError",
        ONNX + "model(helper.make_node('Gemm', ['x', 'w'], ['y'], name='fc', transB=1), [w2], [1, 2**30])",
    ),
    (
        "from_onnx Conv strides=[0]",
        "ZeroDivisionError",
        ONNX + "model(helper.make_node('Conv', ['x', 'w'], ['y'], name='c', strides=[0]), [w3], [1, 1, 16])",
    ),
    (
        "from_onnx Conv pads of 3 entries",
        "ValueError (unpack)",
        ONNX + "model(helper.make_node('Conv', ['x', 'w'], ['y'], name='c', pads=[1, 1, 1]), [w3], [1, 1, 16])",
    ),
    (
        "from_onnx Gemm alpha=inf",
        "OverflowError",
        ONNX
        + "model(helper.make_node('Gemm', ['x', 'w'], ['y'], name='fc', transB=1, alpha=float('inf')), [w2], [1, 4])",
    ),
    (
        "from_onnx sparse initializer",
        "AttributeError",
        ONNX + "s = helper.make_sparse_tensor(numpy_helper.from_array(np.ones(2, np.float32), 'w'), "
        "numpy_helper.from_array(np.array([0, 5], np.int64), 'i'), [2, 4])\n"
        "model(helper.make_node('Gemm', ['x', 'w'], ['y'], name='fc', transB=1), [], [1, 4], [s])",
    ),
    (
        "cache entry: result.json status flipped",
        "served as is",
        "import json; from checks import Cache, Result\nc = Cache('c'); k = 'ab' + '0' * 62\n"
        "c.put(k, Result('fail'), [])\np = c.root / k[:2] / k / 'result.json'; d = json.loads(p.read_text())\n"
        "d['status'] = 'pass'; p.write_text(json.dumps(d))\nout = 'served' if c.get(k, c.root / 'x') else "
        "'refused: ' + c.stale[k][0][:50]",
    ),
    (
        "cache entry: symlink in its files",
        "followed into --out",
        "import os; from checks import Cache, Result\nc = Cache('c'); k = 'ab' + '0' * 62\nc.put(k, Result('pass'), [])\n"
        "open('secret', 'w').write('x'); os.symlink(os.path.abspath('secret'), c.root / k[:2] / k / 'files' / 'l')\n"
        "out = 'served' if c.get(k, c.root / 'x') else 'refused: ' + c.stale[k][0][:50]",
    ),
    (
        "--compare a report with a 100,000-digit integer",
        "ValueError",
        "import checks; open('r.json', 'w').write('{\"schema\": 1, \"seed\": ' + '9' * 100000 + '}')\n"
        "checks.compare_reports('r.json', 'r.json')",
    ),
    ("--compare /dev/zero", "MemoryError", "import checks; checks.compare_reports('/dev/zero', '/dev/zero')"),
    ("theory check /dev/zero", "crash (recheck)", MAIN + "out = cli(theory_main, ['check', '/dev/zero', 'x'])"),
    (
        "duat --input 3x99999999999999999999x1",
        "TypeError",
        MAIN + "out = cli(numerics_main, ['duat', '--input', '3x99999999999999999999x1'])",
    ),
    (
        "formula 'x\uff10*x1' (full-width zero)",
        "read as x0*x1",
        "import theory; theory.parse_formula('x\\uff10*x1', variables='head', name='g')",
    ),
]


def run(code: str) -> dict:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))

    with tempfile.TemporaryDirectory(prefix="cnnverify-hostile-") as tmp:
        try:
            p = subprocess.run(
                [sys.executable, "-c", HARNESS, tmp, code],
                capture_output=True,
                text=True,
                timeout=120,
                preexec_fn=limit,
            )
        except subprocess.TimeoutExpired:
            return {"outcome": "TIMEOUT (120 s)", "seconds": 120.0, "peak_mb": float("nan")}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    return (
        json.loads(lines[-1])
        if lines
        else {"outcome": f"CRASH (no report; rc {p.returncode})", "seconds": 0, "peak_mb": 0}
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="case names (substrings) to run")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}\n")
    print("| reproduction | before | now | s | peak MB |\n|---|---|---|---|---|")
    for name, before, code in CASES:
        if args.only and not any(s in name for s in args.only):
            continue
        r = run(code)
        print(f"| {name} | {before} | {r['outcome']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
