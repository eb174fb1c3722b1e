"""Marabou as a peer: the spec's float64 weights and a VNN-LIB 1.0 property, solved in a separate process.

Why not the ONNX file: maraboupy 2.0's ONNX parser does not read :func:`numerics.export_onnx`'s graphs (``Reshape``
with a copied batch dimension ``0``; ``MatMul`` on 3-d tensors drops a leading 1 and breaks the ``Transpose`` after
it). So the query is built in MarabouCore directly from the tensors of :func:`numerics.to_module` (float64, each
weight correctly rounded by :func:`numerics.round_rational`: the same floats as the ONNX file), one equation per
unit with only the nonzero weights. The property is still the exported VNN-LIB file, read by Marabou's own parser.

The solver runs in a child process (``_marabou_worker.py``, run as a script: numpy and maraboupy only), so its C++
output is captured instead of reaching the terminal, and a hard wall-clock limit (Marabou's own ``timeout`` plus
:data:`GRACE_S`) kills it (SIGKILL) if it does not stop by itself. That happens: on some routing queries Marabou 2.0
cycles through degenerate simplex pivots at search depth 0 (over 99.9% of its pivots degenerate) and then ignores
both its own timeout and SIGTERM. A timeout is reported as ``"timeout"``, never as a proof.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

import theory

from .._errors import NumericsError
from ..convert import DenseOnSignal, LocallyConnected1d, to_module
from ._property import Property
from ._vnnlib import export_vnnlib

GRACE_S = 10.0
"""Seconds the child process gets beyond Marabou's timeout (start, building the query) before it is killed."""
PEER_STATUSES = ("sat", "unsat", "timeout", "error")
_WORKER = Path(__file__).with_name("_marabou_worker.py")
_LOG_CHARS = 4000


@dataclass(frozen=True)
class PeerAnswer:
    """What a peer verifier answered about a VNN-LIB query (the negated claim).

    ``status``: ``"sat"`` (it found a point: ``point``, the X values, and ``outputs``, its own Y values, as floats),
    ``"unsat"`` (it proved the claim up to the margin), ``"timeout"`` or ``"error"`` (no answer; ``message`` says
    why). ``seconds``: the solver's own time; ``wall_seconds``: the whole child process. ``log``: the tail of its
    captured output.
    """

    tool: str
    status: str
    point: tuple[float, ...] | None = None
    outputs: tuple[float, ...] | None = None
    seconds: float | None = None
    wall_seconds: float | None = None
    message: str = ""
    log: str = ""

    def __post_init__(self) -> None:
        if self.status not in PEER_STATUSES:
            raise NumericsError(f"argument 'status': got {self.status!r}; allowed: {' | '.join(PEER_STATUSES)}")
        if (self.status == "sat") != (self.point is not None):
            raise NumericsError("argument 'point': a point is given exactly when the status is 'sat'")


def marabou_available() -> bool:
    """Whether maraboupy is installed (the optional ``cnnverify[peers]`` extra).

    Found, not imported: importing maraboupy sets ``CUDA_VISIBLE_DEVICES=-1`` and ``TF_CPP_MIN_LOG_LEVEL`` in
    ``os.environ``, which would hide every GPU from this process and its children; only the child process that runs
    Marabou imports it."""
    return importlib.util.find_spec("maraboupy") is not None


def _coo(
    layer: nn.Module, n_in: int, c_in: int, first: bool, d: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Rows, columns, values, bias of one layer on flat units (``p C + c``; the first layer's inputs in X order
    ``c d + p``), plus ``(n_out, c_out)``."""
    if isinstance(layer, nn.Conv1d):
        assert layer.bias is not None  # to_module builds every Conv1d with a bias
        w, k = layer.weight.detach().numpy(), layer.kernel_size[0]
        c_out, n_out = w.shape[0], n_in // k
        o, c, t = np.nonzero(w)
        p = np.arange(n_out)[:, None]
        rows, pos, ch = p * c_out + o, p * k + t, np.broadcast_to(c, (n_out, c.size))
        vals, bias = np.broadcast_to(w[o, c, t], (n_out, o.size)), np.tile(layer.bias.detach().numpy(), n_out)
    elif isinstance(layer, LocallyConnected1d):
        w = layer.weight.detach().numpy()  # (n_out, c_out, c_in, s)
        n_out, c_out, _, s = w.shape
        p, o, ch, t = np.nonzero(w)
        rows, pos, vals = p * c_out + o, p * s + t, w[p, o, ch, t]
        bias = layer.bias.detach().numpy().reshape(-1)
    elif isinstance(layer, DenseOnSignal):
        n_out, c_out, _, _ = layer.shape
        w = layer.weight.detach().numpy()
        rows, q = np.nonzero(w)
        pos, ch, vals = q // c_in, q % c_in, w[rows, q]
        bias = layer.bias.detach().numpy()
    else:  # to_module builds only these three
        raise NumericsError(f"crosscheck: layer {layer!r} has no Marabou encoding")
    cols = ch * d + pos if first else pos * c_in + ch
    flat_rows, flat_cols, flat_vals = [
        np.ascontiguousarray(a, dtype=dt).reshape(-1)
        for a, dt in ((rows, np.int64), (cols, np.int64), (vals, np.float64))
    ]
    return flat_rows, flat_cols, flat_vals, np.asarray(bias, dtype=np.float64), n_out, c_out


def write_layers(net: theory.Network, path: Path) -> Path:
    """The float64 layers of ``to_module(net)`` as the ``.npz`` file ``_marabou_worker.py`` reads."""
    module = to_module(net, "float64", "cpu")
    # values are arrays; Any because np.savez's stub checks **kwds against its allow_pickle: bool as well
    arrays: dict[str, Any] = {"depth": np.array(len(module.layers)), "n_in_0": np.array(net.c_in * net.d)}
    n, c = net.d, net.c_in
    for lv, (layer, relu) in enumerate(zip(module.layers, module.relu)):
        rows, cols, vals, bias, n_out, c_out = _coo(layer, n, c, lv == 0, net.d)
        keep = vals != 0
        arrays.update(
            {
                f"rows_{lv}": rows[keep],
                f"cols_{lv}": cols[keep],
                f"vals_{lv}": vals[keep],
                f"bias_{lv}": bias,
                f"relu_{lv}": np.array(bool(relu)),
                f"n_out_{lv}": np.array(n_out * c_out),
            }
        )
        n, c = n_out, c_out
    np.savez(path, **arrays)
    return path


def _tail(text: str) -> str:
    return text if len(text) <= _LOG_CHARS else "..." + text[-_LOG_CHARS:]


def solve_case(npz: Path, prop: Property, case: int, *, timeout: float, work: Path) -> PeerAnswer:
    """Ask Marabou whether disjunct ``case`` of the negated ``prop`` is satisfiable for the network in ``npz``
    (:func:`write_layers`); the case's VNN-LIB 1.0 file and Marabou's answer are written in ``work``."""
    if not marabou_available():
        raise NumericsError("crosscheck with Marabou needs maraboupy: pip install 'cnnverify[peers]'")
    vnn = export_vnnlib(prop, work / f"property_case{case}.vnnlib", case=case, force=True)
    out = work / f"answer_case{case}.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, str(_WORKER), str(npz), str(vnn), str(out), repr(float(timeout))]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout + GRACE_S, env=env)
    except subprocess.TimeoutExpired as e:
        log = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return PeerAnswer(
            "marabou",
            "timeout",
            wall_seconds=time.perf_counter() - t0,
            log=_tail(log),
            message=f"killed after {timeout + GRACE_S:g} s (Marabou did not stop at its own timeout)",
        )
    wall = time.perf_counter() - t0
    log = _tail((proc.stdout or "") + (proc.stderr or ""))
    if proc.returncode != 0 or not out.exists():
        return PeerAnswer(
            "marabou",
            "error",
            wall_seconds=wall,
            log=log,
            message=f"the Marabou process exited with code {proc.returncode}",
        )
    ans = json.loads(out.read_text())
    status = {"sat": "sat", "unsat": "unsat", "TIMEOUT": "timeout"}.get(ans["status"], "error")
    point = tuple(float.fromhex(v) for v in ans["point"]) if status == "sat" else None
    outputs = tuple(float.fromhex(v) for v in ans["outputs"]) if status == "sat" else None
    return PeerAnswer(
        "marabou",
        status,
        point,
        outputs,
        ans["seconds"],
        wall,
        log=log,
        message=f"Marabou answered {ans['status']!r}" if status == "error" else "",
    )
