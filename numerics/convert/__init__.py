"""numerics.convert: exact specs to torch modules and float weight files.

:func:`to_module` is the only exact-to-float conversion of the project (each rational correctly rounded to the
dtype, :func:`round_rational`); its modules are :class:`SpecModule` built from ``Conv1d``,
:class:`LocallyConnected1d` and :class:`DenseOnSignal`. :func:`resolve_dtype`, :func:`resolve_device`
(``"auto"`` finds CUDA), :data:`DTYPES`, :func:`float_bytes`, :func:`module_bytes` (the estimated peak of
:func:`to_module`, checked against its ``memory_budget``).

Files: :func:`export` writes ``weights.safetensors`` beside a spec, :func:`save_module` / :func:`load_module` a spec directory
with verified float weights (never unpickled; content hash and bit-identity to the exact spec checked);
:func:`weights_info` verifies a weights file and summarises it. :func:`export_onnx` writes a spec's float
module as an ONNX graph (the optional ``cnnverify[onnx]`` extra) for other verifiers and runtimes.

Torch modules in: :func:`from_torch` reads a ``Conv1d`` / ``Conv2d`` / ``AvgPool2d`` / ``Linear`` / ``ReLU`` network
(a ``Sequential``, a :class:`SpecModule`, or a traceable module, skips ``x + f(x)`` included; 2-D layers become
dense layers on the flattened ``H*W`` signal) into an exact spec, losslessly (every float is a dyadic rational);
:func:`from_onnx` reads an ONNX file the same way (size-capped, checked, its sha256 recorded; nothing in it is
run).
"""

from ._files import WEIGHTS_FILE, export, load_module, save_module, weights_info
from ._import import from_torch
from ._module import (
    DTYPES,
    DenseOnSignal,
    LocallyConnected1d,
    SpecModule,
    float_bytes,
    module_bytes,
    resolve_device,
    resolve_dtype,
    round_rational,
    to_module,
)
from ._onnx import export_onnx
from ._onnx_import import from_onnx

__all__ = [
    "to_module",
    "from_torch",
    "SpecModule",
    "LocallyConnected1d",
    "DenseOnSignal",
    "round_rational",
    "DTYPES",
    "resolve_dtype",
    "resolve_device",
    "float_bytes",
    "module_bytes",
    "WEIGHTS_FILE",
    "export",
    "save_module",
    "load_module",
    "weights_info",
    "export_onnx",
    "from_onnx",
]
