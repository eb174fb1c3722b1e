"""LaTeX for papers and slides: a network as a formula (small nets) or layer by layer (big ones)."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .._errors import bad
from ._network import Network, check_positive_int
from ._symbolic import symbolic

MODES = ("auto", "formula", "layers")


class _Sigma(sp.Function):
    """ReLU for printing: ``\\sigma(e)`` in LaTeX (``Max(0, e)`` in sympy)."""

    nargs = 1

    def _latex(self, printer: Any, exp: Any = None) -> str:
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


def _sigma(expr: sp.Expr) -> sp.Expr:
    """Every ``Max(0, e)`` as ``sigma(e)`` (innermost first)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Max) and sp.S.Zero in e.args,
        lambda e: _Sigma(sp.Max(*[a for a in e.args if a != 0])),
    )


def _hidden_units(net: Network) -> int:
    return sum(p * c for p, c in zip(net.positions[1:-1], net.channels[1:-1]))


def _formula(net: Network, define_sigma: bool) -> str:
    outs = [sp.latex(_sigma(e)) for e in symbolic(net)]
    if len(outs) == 1:
        body = f"y = {outs[0]}"
    else:
        body = r"\begin{aligned}" + r" \\ ".join(f"y_{{{i}}} &= {o}" for i, o in enumerate(outs)) + r"\end{aligned}"
    return body + (r", \qquad \sigma(t) = \max(0, t)" if define_sigma else "")


_OPS = {
    "conv": (r"W^{{({l})}} \ast_{{{s}}} {h} + b^{{({l})}}", "conv, kernel = stride {s} (shared)"),
    "local": (r"W^{{({l})}} \circledast_{{{s}}} {h} + b^{{({l})}}", "locally connected, kernel = stride {s} (untied)"),
    "pointwise": (r"W^{{({l})}} {h} + b^{{({l})}}", r"1\times 1 at every position"),
    "dense": (r"W^{{({l})}} \operatorname{{vec}}\left({h}\right) + b^{{({l})}}", "fully connected"),
}


def _layers(net: Network) -> str:
    lines = [rf"h^{{(0)}} &= x \in \mathbb{{R}}^{{{net.d} \times {net.c_in}}}"]
    groups: list[list[int]] = []
    for i, layer in enumerate(net.layers):
        key = (layer.kind, layer.kernel, layer.relu, layer.c_in, layer.c_out)
        start = groups[-1][0] if groups else None
        same = (
            start is not None
            and (
                net.layers[start].kind,
                net.layers[start].kernel,
                net.layers[start].relu,
                net.layers[start].c_in,
                net.layers[start].c_out,
            )
            == key
        )
        if same and i < net.depth - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        first, last = group[0] + 1, group[-1] + 1
        layer = net.layers[group[0]]
        name = "y" if last == net.depth else f"h^{{({first})}}" if first == last else "h^{(l)}"
        prev = f"h^{{({first - 1})}}" if first == last else "h^{(l-1)}"
        op, text = _OPS[layer.kind]
        affine = op.format(l=first if first == last else "l", s=layer.kernel, h=prev)
        rhs = rf"\sigma\left({affine}\right)" if layer.relu else affine
        if first != last:
            rhs += rf", \quad l = {first}, \dots, {last}"
        n_in, n_out = net.positions[first - 1], net.positions[last]
        pos = f"{n_in} \\to {n_out} positions" if n_in != n_out else f"{n_out} position" + ("s" if n_out > 1 else "")
        nnz = sum(net.layers[i].nonzeros for i in group)
        detail = (
            text.format(s=layer.kernel) + f", {layer.c_in} \\to {layer.c_out} channels, {pos}, "
            f"{nnz} nonzeros" + ("" if layer.relu else ", linear")
        )
        lines.append(rf"{name} &= {rhs} && \text{{{_escape(detail)}}}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _escape(text: str) -> str:
    """Text-mode LaTeX: keep ``\\to``/``\\times`` as math, escape the rest."""
    text = text.replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
    return text.replace(r"\to", r"$\to$").replace(r"1\times 1", r"$1\times 1$")


def latex(
    net: Network, *, mode: str = "auto", max_units: int = 64, max_chars: int = 2000, define_sigma: bool = True
) -> str:
    """A readable LaTeX rendering of ``net``.

    ``"formula"``: the output as ``sympy.latex(theory.symbolic(net))`` with every ReLU ``Max(0, e)``
    written ``\\sigma(e)``, e.g. ``y = 2 \\sigma\\left(x_{0}\\right) - 4 \\sigma\\left(x_{0} - \\frac{1}{2}\\right)``.
    ``"layers"``: an ``aligned`` block, one line per layer (runs of identical layers grouped),
    ``h^{(l)} = \\sigma(W^{(l)} \\ast_s h^{(l-1)} + b^{(l)})`` with the kind, kernel/stride, channels,
    positions and nonzeros; the linear readout is written ``y = ...`` without ``\\sigma``.
    ``"auto"``: the formula when the net has at most ``max_units`` hidden units and the formula at most
    ``max_chars`` characters, else the layers. A ``%`` comment line names the construction (and target and
    a-priori bound when the meta has them).

    Args:
        net: a :class:`theory.Network`.
        mode: "auto", "formula" or "layers".
        max_units, max_chars: the "auto" thresholds.
        define_sigma: append ``\\sigma(t) = \\max(0, t)`` to formulas.
    Returns:
        LaTeX source (math mode content; wrap in ``\\[ ... \\]`` or an equation environment).
    Raises:
        TheoryError: not a Network, unknown mode.
    Source: notation of the Wang & Wu (2023) architectures (reconstruction, docs/catalogue.md).
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    if not isinstance(mode, str) or mode not in MODES:
        raise bad("mode", mode, f"one of {MODES}")
    max_units = check_positive_int("max_units", max_units)
    max_chars = check_positive_int("max_chars", max_chars)
    meta = net.meta
    header = f"% {meta.get('construction', 'network')}: d = {net.d}, depth = {net.depth}"
    if "target" in meta:
        header += f", target {meta['target']}"
    if "a_priori_bound" in meta:
        header += f", a-priori bound {meta['a_priori_bound']}"
    body = None
    if mode == "formula" or (mode == "auto" and _hidden_units(net) <= max_units and net.d * net.c_in <= 64):
        body = _formula(net, define_sigma)
        if mode == "auto" and len(body) > max_chars:
            body = None
    if body is None:
        body = _layers(net)
    return header + "\n" + body
