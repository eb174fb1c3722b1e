"""checks.duat: the claims of "Dynamic Universal Approximation Theory" (Wang & Li), ``duat.E1`` ... ``duat.E22``.

:data:`CLAIMS` is the catalogue table (docs/catalogue.md, "checks.duat"). Exact-form claims compare
:func:`numerics.duat.decompose` with an independent second computation (:mod:`numerics.duat.references`,
autograd Jacobians, sympy); each has a ``verify_*`` function that takes the object under test, so tests can plant
a violation. Empirical claims (E16-E19) train small seeded ensembles (:mod:`numerics.duat.experiments`) and apply
declared criteria (:func:`depth_verdict`, :func:`residual_verdict`, :func:`lora_verdict`,
:func:`pruning_verdict`). The forms and experiments are our reconstruction.
"""

from ._catalogue import CLAIMS
from ._pretrained import lora_verdict, pruning_verdict
from ._trends import depth_verdict, residual_verdict

__all__ = ["CLAIMS", "depth_verdict", "residual_verdict", "lora_verdict", "pruning_verdict"]
