"""cnnverify.numerics: torch modules from exact specs, float checks at scale.

:func:`to_module` is the only exact-to-float conversion in the project. Float comparisons use the named
entries of :data:`TOLERANCES`.
"""

from ._convert import (DTYPES, DenseOnSignal, LocallyConnected1d, SpecModule, float_bytes, resolve_device,
                       resolve_dtype, round_rational, to_module)
from ._errors import NumericsError
from ._io import SPEC_FILE, WEIGHTS_FILE, export, load, save
from ._tolerances import TOLERANCES, Tolerance

__all__ = [
    "SPEC_FILE", "WEIGHTS_FILE", "export", "load", "save",
    "DTYPES", "DenseOnSignal", "LocallyConnected1d", "NumericsError", "SpecModule", "TOLERANCES", "Tolerance",
    "float_bytes", "resolve_device", "resolve_dtype", "round_rational", "to_module",
]
