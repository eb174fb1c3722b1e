"""checks.ww: the claims of Wang & Wu (NeurIPS 2023) about the constructions and about learning.

:data:`CLAIMS` is the catalogue table (ids ``ww.gather.exact`` ... ``ww.equivariance.cnn``). The check functions
take the construction under test as a keyword argument, so tests can plant a violation and require that it be
caught: :func:`gather_exact`, :func:`universality_depth`, :func:`select_exact`, :func:`select_params` (with the
closed forms :data:`FORMULAS`, :func:`cnn_formula`, :func:`lcn_formula`, :func:`fcn_formula`),
:func:`receptive_stride1` (:func:`stride1_forward`); learning: :func:`sample_result` applies the declared
windows to a sweep summary. Constructions and experiments are our reconstruction (docs/catalogue.md,
docs/separation.md).
"""

from ._catalogue import CLAIMS
from ._gather import gather_exact, universality_depth
from ._learning import sample_result
from ._params import FORMULAS, cnn_formula, fcn_formula, lcn_formula, select_params
from ._receptive import receptive_stride1, stride1_forward
from ._select import select_exact

__all__ = [
    "CLAIMS",
    "gather_exact",
    "universality_depth",
    "select_exact",
    "select_params",
    "FORMULAS",
    "cnn_formula",
    "lcn_formula",
    "fcn_formula",
    "receptive_stride1",
    "stride1_forward",
    "sample_result",
]
