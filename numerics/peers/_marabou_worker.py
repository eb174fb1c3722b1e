"""Run Marabou on one query, in its own process: ``python _marabou_worker.py NETWORK.npz PROPERTY.vnnlib OUT.json T``.

Run as a script (not imported through ``numerics``), so the process loads only numpy and maraboupy, starts fast,
and its C++ output, which bypasses Python's ``sys.stdout``, goes to the pipe the parent captures. The network
comes as the float64 layers written by :func:`numerics.peers._marabou.write_layers` (``NETWORK.npz``: for layer
``l``, ``n_in``/``n_out``, COO ``rows``/``cols``/``vals``, ``bias``, ``relu``); the property is the VNN-LIB 1.0 file
of :func:`numerics.peers.export_vnnlib`, loaded by Marabou's own parser (``MarabouCore.loadProperty``).

Query: input variables ``0 .. n_0 - 1`` (marked input ``i``, i.e. ``X_i``); per layer, one variable per output
unit with ``sum_k w_k h_k - z = -b`` and, when the layer has a ReLU, a second one ``a = relu(z)``; the last layer's
units are marked outputs ``Y_j``. Writes ``{"status", "point", "outputs", "seconds"}`` (floats as ``float.hex``,
exact) to ``OUT.json``; ``status`` is Marabou's exit code (``sat``, ``unsat``, ``TIMEOUT``, ``ERROR``, ...).
"""

from __future__ import annotations

import json
import math
import sys
import time


def _query(layers, core):
    ipq = core.InputQuery()
    n0 = int(layers["n_in_0"])
    count = n0
    h = list(range(n0))
    equations, relus = [], []
    for lv in range(int(layers["depth"])):
        n_out = int(layers[f"n_out_{lv}"])
        rows, cols, vals = layers[f"rows_{lv}"], layers[f"cols_{lv}"], layers[f"vals_{lv}"]
        bias, relu = layers[f"bias_{lv}"], bool(layers[f"relu_{lv}"])
        z = list(range(count, count + n_out))
        count += n_out
        order = rows.argsort(kind="stable")
        rows, cols, vals = rows[order], cols[order], vals[order]
        starts = rows.searchsorted(range(n_out + 1))
        for o in range(n_out):
            eq = core.Equation()
            for k in range(int(starts[o]), int(starts[o + 1])):
                eq.addAddend(float(vals[k]), h[int(cols[k])])
            eq.addAddend(-1.0, z[o])
            eq.setScalar(-float(bias[o]))
            equations.append(eq)
        if relu:
            a = list(range(count, count + n_out))
            count += n_out
            relus += list(zip(z, a))
            h = a
        else:
            h = z
    ipq.setNumberOfVariables(count)
    for eq in equations:
        ipq.addEquation(eq)
    for b, f in relus:
        core.addReluConstraint(ipq, b, f)
        ipq.setLowerBound(f, 0.0)
    for i in range(n0):
        ipq.markInputVariable(i, i)
    for j, v in enumerate(h):
        ipq.markOutputVariable(v, j)
    return ipq, n0, h


def main(argv: list[str]) -> int:
    import numpy as np
    from maraboupy import Marabou, MarabouCore

    net_file, prop_file, out_file, timeout = argv[1], argv[2], argv[3], float(argv[4])
    t0 = time.perf_counter()
    with np.load(net_file) as data:
        layers = {k: data[k] for k in data.files}
    ipq, n0, outs = _query(layers, MarabouCore)
    MarabouCore.loadProperty(ipq, prop_file)
    options = Marabou.createOptions(timeoutInSeconds=max(1, math.ceil(timeout)), verbosity=0)
    t1 = time.perf_counter()
    status, vals, stats = MarabouCore.solve(ipq, options, "")
    t2 = time.perf_counter()
    if stats.hasTimedOut():
        status = "TIMEOUT"
    result = {"status": status, "build_seconds": t1 - t0, "seconds": t2 - t1}
    if status == "sat":
        result["point"] = [float(vals[i]).hex() for i in range(n0)]
        result["outputs"] = [float(vals[v]).hex() for v in outs]
    with open(out_file, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
