"""The citation of every claim: which paper, which section, and whether the construction is ours.

One string per source, so a claim's ``source`` says "reconstruction" exactly where the project's construction
or experiment stands in for a text that was not available (DESIGN.md, "Papers").
"""

WW_UNIVERSALITY = "Wang & Wu 2023, universality with depth O(log d), construction section 4.1 (reconstruction)"
WW_SPARSE = "Wang & Wu 2023, sparse long-range functions, construction section 4.2 (reconstruction)"
WW_SPARSE_HEADS = ("Wang & Wu 2023, sparse long-range functions, construction section 4.2 with standard interpolation "
                   "heads (reconstruction)")
WW_PARAMS = ("Wang & Wu 2023, architectures (section 2) and sparse construction counts (section 4.2) "
             "(reconstruction)")
WW_RECEPTIVE = ("Wang & Wu 2023, depth O(log d) vs Omega(d) for stride-1 CNNs, receptive-field argument "
                "(reconstruction)")
WW_SAMPLE = ("Wang & Wu 2023, sample complexity O~(log^2 d) (CNN), Omega(d) (LCN), Omega(d^2) (FCN) on a simple "
             "regression task; task, architectures and protocol are our reconstruction (notes sections 5-6)")
WW_FIG2 = "Wang & Wu 2023, Fig. 2 (as described in public summaries; reconstruction of the protocol)"
WW_EQUIVARIANCE = ("Wang & Wu 2023, lower bounds from the symmetries of training (FCN: O(d); LCN: local rotations); "
                   "Li, Zhang & Arora 2021 (notes section 5.3, reconstruction)")
YAROTSKY = "Yarotsky 2017, Error bounds for approximations with deep ReLU networks, Proposition 2 (standard)"
YAROTSKY_FLOAT = "Yarotsky 2017 heads (standard); float rounding bound gamma_n (standard)"
PROJECT = "DESIGN.md, rules for soundness (project claim)"

_DUAT = "Wang & Li, Dynamic Universal Approximation Theory (arXiv 2407.17480), section {}"
DUAT_FORMS = _DUAT + " (matrix-vector forms: our reconstruction)"
"""``DUAT_FORMS.format(section)``: an exact matrix-vector form."""
DUAT_EXPERIMENT = _DUAT + " (the paper's apparent claim; experiment and task are our reconstruction)"
"""``DUAT_EXPERIMENT.format(section)``: an empirical trend measured by our experiment."""
DUAT_CLAIM = _DUAT + " (the paper's apparent claim)"
"""``DUAT_CLAIM.format(section)``: an informal step of the paper, as stated."""
