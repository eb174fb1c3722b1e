"""The citation of every claim: which paper, which of its results, and whether the construction is ours.

One string per source, so a claim's ``source`` says "reconstruction" exactly where the project's construction
or experiment stands in for a text that was not available: neither paper's full text could be read
(docs/catalogue.md, "Sources"). Papers are cited by title and arXiv id, never by section numbers we could not
read; each source names the page of our docs that describes the reconstruction.
"""

_WW = (
    'Wang & Wu 2023, "Theoretical Analysis of Inductive Biases in Deep Convolutional Networks" '
    "(NeurIPS 2023, arXiv 2305.08404)"
)
_WW_DOCS = 'docs/catalogue.md, "Wang & Wu: what is reconstructed"'
WW_UNIVERSALITY = f"{_WW}, universality with depth O(log d); the gather construction is our reconstruction ({_WW_DOCS})"
WW_SPARSE = f"{_WW}, sparse long-range functions; the select construction is our reconstruction ({_WW_DOCS})"
WW_SPARSE_HEADS = (
    f"{_WW}, sparse long-range functions; the select construction with standard interpolation heads "
    f"is our reconstruction ({_WW_DOCS}; docs/certificates.md)"
)
WW_PARAMS = (
    f"{_WW}, CNN / LCN / FCN architectures and the sparse construction's parameter counts (reconstruction, {_WW_DOCS})"
)
WW_RECEPTIVE = (
    f"{_WW}, depth O(log d) vs Omega(d) for stride-1 CNNs, receptive-field argument (reconstruction, {_WW_DOCS})"
)
WW_SAMPLE = (
    f"{_WW}, sample complexity O~(log^2 d) (CNN), Omega(d) (LCN), Omega(d^2) (FCN) on a simple "
    "regression task; task, architectures and protocol are our reconstruction (docs/separation.md)"
)
WW_FIG2 = (
    f"{_WW}, Fig. 2 (as described in public summaries; reconstruction of the protocol, docs/separation.md, "
    '"Fig. 2 reproduction")'
)
WW_EQUIVARIANCE = (
    f"{_WW}, lower bounds from the symmetries of training (FCN: O(d); LCN: local rotations); "
    'Li, Zhang & Arora, "Why Are Convolutional Nets More Sample-Efficient than Fully-Connected Nets?" '
    f"(ICLR 2021) (reconstruction, {_WW_DOCS})"
)
YAROTSKY = "Yarotsky 2017, Error bounds for approximations with deep ReLU networks, Proposition 2 (standard)"
YAROTSKY_FLOAT = "Yarotsky 2017 heads (standard); float rounding bound gamma_n (standard)"
PROJECT = "cnnverify's soundness rules, docs/soundness.md (project claim)"

_DUAT = 'Wang & Li, "Dynamic Universal Approximation Theory" (arXiv 2407.17480), {}'
DUAT_FORMS = _DUAT + " (matrix-vector forms: our reconstruction, docs/duat.md)"
"""``DUAT_FORMS.format(topic)``: an exact matrix-vector form; ``topic`` names the paper's question and the forms
(labels M1-M11 of docs/duat.md, "Supported layers and their forms")."""
DUAT_EXPERIMENT = _DUAT + (
    " (the paper's apparent claim; experiment and task are our reconstruction, README.md, "
    '"The DUAT matrix-vector method")'
)
"""``DUAT_EXPERIMENT.format(topic)``: an empirical trend measured by our experiment."""
DUAT_CLAIM = _DUAT + " (the paper's apparent claim)"
"""``DUAT_CLAIM.format(topic)``: an informal step of the paper, as stated."""
