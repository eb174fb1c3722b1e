"""torchvision for the DUAT tests, importable on a CPU build of torch.

The pinned torchvision wheel (extra ``zoo``) is built against CUDA: on a CPU torch its ``import`` fails with
"operator torchvision::nms does not exist" because its compiled ops do not load and the Python side registers
fake kernels for ``torchvision::nms`` / ``torchvision::qnms`` that were never defined. :func:`torchvision` defines
those two schemas (text from torchvision's own registration) before importing it, and skips the test when
torchvision is absent. Only the model definitions are used; none of the compiled ops. Test-only: the library never
imports torchvision.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIB = []


def torchvision():
    """The ``torchvision`` module, or skip the calling test when it is not installed."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed (extra 'zoo')")
    if not _LIB and torch.version.cuda is None:  # a CUDA build of torch loads torchvision's own ops
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for name, schema in _SCHEMAS.items():
            if not hasattr(torch.ops.torchvision, name):
                lib.define(schema)
        _LIB.append(lib)
    return pytest.importorskip("torchvision")
