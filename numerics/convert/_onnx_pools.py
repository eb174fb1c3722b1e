"""ONNX pooling nodes: ``AveragePool`` as exact means, ``MaxPool`` as an exact ReLU max tree.

``MaxPool`` is read in floor mode with one pad per axis on both sides (ONNX writes ``begin..., end...``; the two
must agree) and without its optional indices output; its padding is ``-inf`` (windows keep only the signal's own
positions), as in :func:`numerics.convert._lower_max.max_pool`.
"""

from __future__ import annotations

from typing import Any

from .._errors import NumericsError, bad
from ._lower import Lowering
from ._lower_2d import avg_pool2d
from ._lower_forms import Sym
from ._lower_max import max_pool
from ._onnx_attributes import int_list


def pool(lo: Lowering, g: Any, node: Any, a: dict[str, Any], where: str) -> Sym:
    """Lower an ``AveragePool``, ``MaxPool`` or (refused) ``GlobalMaxPool`` node."""
    op = node.op_type
    if op == "GlobalMaxPool":
        raise NumericsError(f"from_onnx: {where} is not supported; allowed: MaxPool with an explicit kernel")
    if op == "MaxPool":
        return _max(lo, g, node, a, where)
    k = list(a.get("kernel_shape", []))
    if len(k) != 2 or a.get("ceil_mode", 0) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise bad(
            where,
            f"kernel {k}, ceil_mode {a.get('ceil_mode', 0)}, auto_pad {a.get('auto_pad')!r}",
            "a 2-D AveragePool with explicit pads, ceil_mode = 0",
        )
    return avg_pool2d(
        lo,
        g.sym(node.input[0], where),
        k,
        stride=int_list(a, "strides", [1, 1], 1, where),
        pads=int_list(a, "pads", [0] * 4, 0, where),
        count_pad=bool(a.get("count_include_pad", 0)),
        divisor=None,
        where=where,
    )


def _max(lo: Lowering, g: Any, node: Any, a: dict[str, Any], where: str) -> Sym:
    v = g.sym(node.input[0], where)
    n = len(v.shape) - 1
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if a.get("ceil_mode", 0) or auto != "NOTSET" or a.get("storage_order", 0) or len(node.output) > 1:
        raise bad(
            where,
            f"MaxPool with ceil_mode {a.get('ceil_mode', 0)}, auto_pad {auto!r}, {len(node.output)} outputs",
            "floor mode, explicit pads, no indices output",
        )
    kernel = int_list(a, "kernel_shape", [1] * n, 1, where)
    pads = int_list(a, "pads", [0] * (2 * n), 0, where)
    if pads[:n] != pads[n:]:
        raise bad(where, f"pads {pads}", "the same pad at both ends of every axis")
    stride = int_list(a, "strides", [1] * n, 1, where)
    return max_pool(lo, v, kernel, stride, pads[:n], int_list(a, "dilations", [1] * n, 1, where), where)
