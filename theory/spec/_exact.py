"""Exact evaluation of network specs: Fraction arithmetic, only over the units the output depends on."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .._errors import TheoryError, bad
from ._network import Network
from ._rational import as_rational


def _input_units(net: Network, x: Any) -> np.ndarray:
    """Validate ``x`` and return its flat array of input units ``p * c_in + c``, position-major.

    Numeric numpy arrays are checked for finiteness in one vectorised pass and stay numeric (entries are
    converted to Fractions later, only where the output depends on them); anything else is converted here.
    """
    try:
        # Only numeric ndarrays keep their dtype; anything else (lists mixing ints and floats, bools, big
        # ints) goes entry by entry through as_rational, so no value is rounded or reinterpreted on the way.
        arr = x if isinstance(x, np.ndarray) and x.dtype.kind in "iuf" else np.asarray(x, dtype=object)
    except (TypeError, ValueError):
        raise bad("x", x, f"an array of shape ({net.d},) or ({net.c_in}, {net.d})") from None
    if arr.shape == (net.d,) and net.c_in == 1:
        flat = arr
    elif arr.shape == (net.c_in, net.d):
        flat = arr.T.reshape(-1)
    else:
        want = f"({net.d},)" if net.c_in == 1 else f"({net.c_in}, {net.d})"
        raise bad("x shape", arr.shape, f"{want}: channels first, like torch's (C0, d)")
    if flat.dtype.kind in "iuf":
        if flat.dtype.kind == "f" and not np.all(np.isfinite(flat)):
            raise bad(
                "x",
                f"entry {int(np.flatnonzero(~np.isfinite(flat))[0])} = {flat[~np.isfinite(flat)][0]}",
                "finite numbers (nan and inf have no exact value)",
            )
        return flat
    out = np.empty(flat.size, dtype=object)
    out[:] = [as_rational(v, "x") for v in flat]
    return out


def _exact_values(values: np.ndarray) -> np.ndarray:
    """Object array of Fractions from a numeric or object array (floats converted exactly)."""
    if values.dtype == object:
        return values
    out = np.empty(values.size, dtype=object)
    out[:] = [as_rational(v, "x") for v in values.tolist()]
    return out


def _relu(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, v, 0)


def _forward(
    net: Network,
    inputs: np.ndarray,
    outputs: np.ndarray | None,
    relu: Callable[[np.ndarray], np.ndarray],
    weight_cast: Callable[[Any], Any] | None = None,
):
    """Propagate exact values through the cone of ``outputs`` (all units when None).

    Returns the list of ``(units, values)`` per level, level 0 being the input.
    """
    unit_counts = [p * c for p, c in zip(net.positions, net.channels)]
    # Backward: which units of each level the requested outputs depend on, and the edges between them.
    needed: list[Any] = [None] * (net.depth + 1)
    needed[-1] = np.arange(unit_counts[-1], dtype=np.int64) if outputs is None else outputs
    edges: list[Any] = [None] * net.depth
    for i in range(net.depth - 1, -1, -1):
        units = needed[i + 1]
        which, in_units, nz = net.layers[i].edges(units)
        edges[i] = (which, in_units, nz)
        needed[i] = np.arange(unit_counts[i], dtype=np.int64) if outputs is None else np.unique(in_units)
    levels = [(needed[0], _exact_values(inputs[needed[0]]))]
    for i, layer in enumerate(net.layers):
        in_units, in_vals = levels[-1]
        which, src, nz = edges[i]
        units = needed[i + 1]
        out = layer.bias_of(units)
        if weight_cast is not None:
            out = _cast(out, weight_cast)
        if which.size:
            w = layer.weight.values[nz]
            if weight_cast is not None:
                w = _cast(w, weight_cast)
            contrib = w * in_vals[np.searchsorted(in_units, src)]
            np.add.at(out, which, contrib)
        levels.append((units, relu(out) if layer.relu else out))
    return levels


def _cast(values: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    out = np.empty(values.size, dtype=object)
    out[:] = [fn(v) for v in values]
    return out


def _as_fraction(v: Any) -> Fraction:
    return v if type(v) is Fraction else Fraction(v)


def evaluate_exact(net: Network, x: Any) -> tuple[Fraction, ...]:
    """Evaluate ``net`` at ``x`` in exact rational arithmetic.

    Args:
        net: the network spec.
        x: shape ``(d,)`` (when ``c_in == 1``) or ``(c_in, d)``; entries are exact rationals or finite floats
            (converted exactly; see :func:`theory.as_rational`).
    Returns:
        The output, flattened position-major: ``n_D * C_D`` Fractions.
    Raises:
        TheoryError: bad shape or a non-finite / non-numeric entry.

    Only the units the output depends on through nonzero weights are computed, so routing networks at
    large ``d`` evaluate in time proportional to their depth. Formula: ``h_l = act(W_l h_{l-1} + b_l)``.
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    levels = _forward(net, _input_units(net, x), np.arange(net.n_outputs, dtype=np.int64), _relu)
    return tuple(_as_fraction(v) for v in levels[-1][1])


def trace_exact(net: Network, x: Any) -> list[np.ndarray]:
    """Every unit of every level, exactly.

    Returns:
        ``D + 1`` object arrays; entry ``l`` has shape ``(n_l, C_l)`` (positions, channels), entry 0 is
        the input. Cost is the full network (use :func:`evaluate_exact` for the output alone).
    """
    if not isinstance(net, Network):
        raise bad("net", type(net).__name__, "a theory.Network")
    levels = _forward(net, _input_units(net, x), None, _relu)
    out = []
    for (_units, vals), n, c in zip(levels, net.positions, net.channels):
        arr = np.empty(n * c, dtype=object)
        arr[:] = [_as_fraction(v) for v in vals]
        out.append(arr.reshape(n, c))
    return out


def forward_objects(
    net: Network, inputs: np.ndarray, relu: Callable[[np.ndarray], np.ndarray], weight_cast: Callable[[Any], Any]
) -> np.ndarray:
    """Output-cone forward pass over arbitrary Python objects (used by :func:`theory.symbolic`).

    ``inputs`` is the flat object array of input units; ``weight_cast`` converts each exact weight/bias.
    """
    if inputs.shape != (net.d * net.c_in,):
        raise TheoryError(f"internal: expected {net.d * net.c_in} input units, got {inputs.shape}")
    return _forward(net, inputs, np.arange(net.n_outputs, dtype=np.int64), relu, weight_cast)[-1][1]
