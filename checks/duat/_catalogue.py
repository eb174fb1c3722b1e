"""The DUAT claims (``duat.E1`` ... ``duat.E22``, docs/catalogue.md), one :class:`Claim` record each.

Table order: E1-E15 (exact forms), E16, E17 (empirical trends), E18, E19 (exact part merged with the empirical
part), E20, E21, then E22 and the informal steps that no computation can confirm or refute (not-testable, with the
reason). The exact-form checks run with one torch thread (:func:`one_thread`).
"""

from __future__ import annotations

from ..claims import Claim, not_testable
from ..claims._sources import DUAT_CLAIM, DUAT_EXPERIMENT, DUAT_FORMS
from ._adaptation import e18_lora, e19_pruning
from ._definition import e20_duat_functions, e21_universal
from ._layers import e1_uat, e2_conv, e3_structure, e4_pooling, e5_activations, e6_norms, e7_linear, e8_patch, e9_mha
from ._networks import e10_resnet, e11_vit, e12_constancy, e14_cnn_vs_vit, e15_receptive
from ._parts import one_thread
from ._residual import e13_residual
from ._trends import depth_trend, residual_trend

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "duat.E1",
        "A two-layer network W2 sigma(W1 x + b1) + b2 is exactly the UAT sum sum_j W2[:, j] sigma(w_j.x + b_j) + "
        "b2 (torch vs explicit sum, and symbolically in sympy).",
        DUAT_FORMS.format("the UAT form it starts from"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e1_uat),
    ),
    Claim(
        "duat.E2",
        "Conv2d is y = M_K x + b (x) 1_{HoWo} with M_K from the index formula u = i s - p + a d (no kernel flip), "
        "for any kernel, stride, padding, dilation and groups.",
        DUAT_FORMS.format("matrix-vector method (M1)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e2_conv),
    ),
    Claim(
        "duat.E3",
        "For stride 1 each channel block of M_K is doubly-block-Toeplitz; stride s subsamples rows (M_s = R_s "
        "M_1); padding is a valid conv on a zero-embedded input (M_pad = M_valid E_p).",
        DUAT_FORMS.format("matrix-vector method (M1a)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e3_structure),
    ),
    Claim(
        "duat.E4",
        "AvgPool is a fixed matrix (a depthwise conv with kernel 1/k^2); MaxPool is S(x) x with one 1 per row at "
        "torch's argmax index, S constant under perturbations below the top-2 gap.",
        DUAT_FORMS.format("matrix-vector method (M2, M3)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e4_pooling),
    ),
    Claim(
        "duat.E5",
        "Activations are input-dependent diagonal matrices: sigma(z) = D(g(z)) z + sigma(0) for ReLU, LeakyReLU, "
        "SiLU, GELU, sigmoid and tanh (limit at z = 0).",
        DUAT_FORMS.format("matrix-vector method (M4, M4a, M4b)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e5_activations),
    ),
    Claim(
        "duat.E6",
        "BatchNorm in eval mode is a fixed affine map D(s) x + t; LayerNorm is one input-dependent scalar per "
        "token times a fixed centering matrix.",
        DUAT_FORMS.format("matrix-vector method (M5, M6)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e6_norms),
    ),
    Claim(
        "duat.E7",
        "A token-wise Linear is (I_N (x) W) vec_r X + 1_N (x) b in row-major order; column-major order swaps the "
        "Kronecker factors.",
        DUAT_FORMS.format("matrix-vector method (M7)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e7_linear),
    ),
    Claim(
        "duat.E8",
        "Patch embedding is a fixed permutation (im2col) followed by the block-diagonal I_N (x) reshape(K).",
        DUAT_FORMS.format("matrix-vector method (M8)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e8_patch),
    ),
    Claim(
        "duat.E9",
        "Multi-head self-attention is [sum_h A_h(X) (x) (W_V^h W_O^h)^T] vec X + a bias that does not depend on X.",
        DUAT_FORMS.format("matrix-vector method (M9)"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e9_mha),
    ),
    Claim(
        "duat.E10",
        "A ResNet basic block (post- and pre-activation) is f(x) = W(x) x + b(x) with W, b from masks, and W(x) "
        "equals the autograd Jacobian.",
        DUAT_FORMS.format("matrix-vector method (M10); residual models as DUAT functions"),
        "exact",
        {"quick": 0.5, "full": 1.5},
        one_thread(e10_resnet),
    ),
    Claim(
        "duat.E11",
        "A pre-LN ViT block is f(X) = W(X) vec X + b(X) with W = (I + K2 G K1 L2)(I + M_A L1).",
        DUAT_FORMS.format("matrix-vector method (M11); residual CNNs vs Transformers"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e11_vit),
    ),
    Claim(
        "duat.E12",
        "For ReLU/max-pool networks, plain and residual alike, W(x) and b(x) are constant on activation regions "
        "and differ across regions (so every such net is 'dynamic', not only residual ones).",
        DUAT_FORMS.format("why residual networks outperform VGG"),
        "exact",
        {"quick": 1.0, "full": 4.0},
        one_thread(e12_constancy),
    ),
    Claim(
        "duat.E13",
        "The paper's apparent claim, in exact form: identity-skip (pre-activation) nets feed the raw input to "
        "every block through a fixed learned weight plus an input-dependent bias; in post-activation ResNets that "
        "weight is mask-gated (prod D_l(x)); in a plain net x_0 reaches layers >= 2 only through sigma.",
        DUAT_FORMS.format("why residual networks outperform VGG"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e13_residual),
    ),
    Claim(
        "duat.E14",
        "The paper's apparent claim, in exact form: conv matrices never vary with x (a CNN's W(x) changes only by "
        "0/1 gating), while attention weights vary continuously with X.",
        DUAT_FORMS.format("residual CNNs vs Transformers"),
        "exact",
        {"quick": 0.3, "full": 1.0},
        one_thread(e14_cnn_vs_vit),
    ),
    Claim(
        "duat.E15",
        "Depth grows the receptive field: the central unit sees (1 + sum_l (k_l - 1) prod_{m<l} s_m)^2 inputs (3x3 "
        "stride-1: (2L+1)^2; with 2x2/2 pools after every second conv: 9, 36, 100, 256, 576, 1296).",
        DUAT_FORMS.format("why CNNs need depth"),
        "exact",
        {"quick": 0.2, "full": 3.0},
        one_thread(e15_receptive),
    ),
    Claim(
        "duat.E16",
        "Deeper CNNs generalise better: at matched parameter count (within 10%), deeper CNNs reach a higher mean "
        "test accuracy than a depth-1 CNN on a task needing global information (bar relation), beyond the seed "
        "spread.",
        DUAT_EXPERIMENT.format("why CNNs need depth"),
        "numerical",
        {"quick": 7.0, "full": 80.0},
        depth_trend,
    ),
    Claim(
        "duat.E17",
        "Residual CNNs generalise better than plain (VGG-style) CNNs of the same depth: at equal training loss, "
        "with only the skip connections ablated, residual test accuracy is higher beyond the seed spread.",
        DUAT_EXPERIMENT.format("why residual networks outperform VGG"),
        "numerical",
        {"quick": 5.0, "full": 45.0},
        residual_trend,
    ),
    Claim(
        "duat.E18",
        "The paper's apparent claim: LoRA suffices for CNNs. Exact part: M(K + dK) = M(K) + M(dK) and rank M(dK) "
        "<= r Ho Wo for a rank-r kernel update (attained); empirical part: low LoRA ranks recover most of a full "
        "fine-tune's gain on a shifted task.",
        DUAT_FORMS.format("why CNNs can use LoRA and pruning"),
        "numerical",
        {"quick": 10.0, "full": 60.0},
        one_thread(e18_lora),
    ),
    Claim(
        "duat.E19",
        "The paper's apparent claim: pruning works because UAT terms are redundant. Exact part: removing hidden "
        "units P changes the output by exactly sum_{j in P} alpha_j sigma_j(x); empirical part: accuracy after "
        "magnitude pruning.",
        DUAT_FORMS.format("why CNNs can use LoRA and pruning"),
        "numerical",
        {"quick": 10.0, "full": 60.0},
        one_thread(e19_pruning),
    ),
    Claim(
        "duat.E20",
        "Residual CV models are DUAT functions: true under the operational definition (E10, E11, E13 hold); "
        "vacuous under the unrestricted one (a witness alpha(x) = f(x)/sigma(theta(x)) gives any f).",
        DUAT_FORMS.format("the DUAT definition; residual models as DUAT functions"),
        "exact",
        {"quick": 0.5, "full": 2.0},
        one_thread(e20_duat_functions),
    ),
    Claim(
        "duat.E21",
        "The DUAT class is a universal approximator: constant parameter maps reduce the DUAT form to the UAT form "
        "(sympy), a logical corollary of the UAT.",
        DUAT_FORMS.format("the DUAT definition"),
        "formal",
        {"quick": 0.3, "full": 1.0},
        one_thread(e21_universal),
    ),
    Claim(
        "duat.E22",
        "Dynamic adaptation under DUAT underpins robust perception in both artificial and human vision.",
        DUAT_CLAIM.format("human vs machine vision"),
        "not-testable",
        {"quick": 0.0, "full": 0.0},
        not_testable(
            "speculative: the argument names no measurable quantity of human vision, and the toolkit has no "
            "psychophysical or neural data; no computation on networks alone can confirm or refute it"
        ),
    ),
    Claim(
        "duat.E17.causal",
        "Input-dependent (dynamic) parameters cause the better generalisation of residual networks.",
        DUAT_CLAIM.format("why residual networks outperform VGG"),
        "not-testable",
        {"quick": 0.0, "full": 0.0},
        not_testable(
            "no derivation or bound is given; input-dependent effective matrices exist in every ReLU/max-pool "
            "network, plain ones included (E12), and the skip that changes the form also changes optimisation, so "
            "no intervention isolates 'dynamism'; only the empirical trend (duat.E17) is testable"
        ),
    ),
    Claim(
        "duat.E16.necessity",
        "CNNs require depth.",
        DUAT_CLAIM.format("why CNNs need depth"),
        "not-testable",
        {"quick": 0.0, "full": 0.0},
        not_testable(
            "not a theorem: a wide dense layer (the classical UAT) or a kernel as large as the image removes "
            "locality, so depth is not necessary for approximation; what is exact is receptive-field growth with "
            "depth (duat.E15), and the accuracy benefit is the empirical trend duat.E16"
        ),
    ),
)
