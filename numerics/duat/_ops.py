"""Local maps of traced functions and tensor methods (the nodes between leaf modules).

* functional layers (``F.conv2d``, ``F.linear``, pools, ``F.batch_norm``, ``F.layer_norm``, ``F.dropout``) and
  activations (``F.relu``, ``torch.relu``, ``x.relu()``, ``F.gelu``, ...) become the equivalent ``torch.nn`` module,
  whose leaf form (:data:`numerics.duat.layers.LEAVES`) is then used: :func:`as_module`;
* data movement (reshape/view/flatten, permute/transpose, slicing, ``cat``/``stack``, expand, pad) and ``+``/``-``
  of branches or constants: :func:`routing`. The map is read off the op itself: running it on the input's flat
  index ``1..n`` (other inputs zero) says which input entry, with which sign, each output entry copies; running
  it with the inputs zero gives the constant part (a class token concatenated, a position embedding added). The
  result is verified on the real values, so an op that is not pure data movement is refused;
* ``*``/``/`` by a constant (parameter, buffer, python scalar): :func:`scale`, a diagonal times a broadcast.
"""

from __future__ import annotations

import inspect
import itertools
import operator
from typing import Callable

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from .._errors import NumericsError
from ._maps import Gather


def _conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1): ...
def _linear(input, weight, bias=None): ...
def _maxpool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False): ...
def _avgpool(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
): ...
def _adaptive(input, output_size): ...
def _bn(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5): ...
def _ln(input, normalized_shape, weight=None, bias=None, eps=1e-5): ...
def _dropout(input, p=0.5, training=True, inplace=False): ...
def _act(input, negative_slope=0.01, inplace=False, approximate="none"): ...


def _param(t: torch.Tensor | None, n: int, fill: float) -> nn.Parameter:
    t = torch.full((n,), fill, dtype=torch.float64) if t is None else t.detach()
    return nn.Parameter(t, requires_grad=False)


def _make_conv(a):
    w = a["weight"]
    cls = nn.Conv2d if w.dim() == 4 else nn.Conv1d
    m = cls(
        w.shape[1] * a["groups"],
        w.shape[0],
        tuple(w.shape[2:]),
        a["stride"],
        a["padding"],
        a["dilation"],
        a["groups"],
        bias=a["bias"] is not None,
        device="meta",
    )
    m.weight = nn.Parameter(w.detach(), requires_grad=False)
    if a["bias"] is not None:
        m.bias = nn.Parameter(a["bias"].detach(), requires_grad=False)
    return m


def _make_linear(a):
    w = a["weight"]
    m = nn.Linear(w.shape[1], w.shape[0], bias=a["bias"] is not None, device="meta")
    m.weight = nn.Parameter(w.detach(), requires_grad=False)
    if a["bias"] is not None:
        m.bias = nn.Parameter(a["bias"].detach(), requires_grad=False)
    return m


def _make_bn(a):
    c = a["running_mean"].numel() if a["running_mean"] is not None else a["input"].shape[1]
    m = (nn.BatchNorm2d if a["input"].dim() == 4 else nn.BatchNorm1d)(c, eps=a["eps"], device="meta")
    m.weight, m.bias = _param(a["weight"], c, 1.0), _param(a["bias"], c, 0.0)
    m.running_mean, m.running_var = a["running_mean"], a["running_var"]
    return m.train(bool(a["training"]))


def _make_ln(a):
    shape = a["normalized_shape"]
    m = nn.LayerNorm(shape, eps=a["eps"], device="meta")
    n = int(np.prod(shape))
    m.weight, m.bias = _param(a["weight"], n, 1.0), _param(a["bias"], n, 0.0)
    return m


def _pool(cls2, cls1, a, *names):
    cls = cls2 if a["input"].dim() == 4 else cls1
    return cls(*[a[k] for k in names])


_LAYERS: dict[Callable, tuple[Callable, Callable]] = {
    F.conv1d: (_conv, _make_conv),
    F.conv2d: (_conv, _make_conv),
    F.linear: (_linear, _make_linear),
    F.max_pool1d: (
        _maxpool,
        lambda a: nn.MaxPool1d(a["kernel_size"], a["stride"], a["padding"], a["dilation"], ceil_mode=a["ceil_mode"]),
    ),
    F.max_pool2d: (
        _maxpool,
        lambda a: nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"], a["dilation"], ceil_mode=a["ceil_mode"]),
    ),
    F.avg_pool1d: (
        _avgpool,
        lambda a: nn.AvgPool1d(a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"], a["count_include_pad"]),
    ),
    F.avg_pool2d: (
        _avgpool,
        lambda a: nn.AvgPool2d(
            a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"], a["count_include_pad"], a["divisor_override"]
        ),
    ),
    F.adaptive_avg_pool1d: (_adaptive, lambda a: nn.AdaptiveAvgPool1d(a["output_size"])),
    F.adaptive_avg_pool2d: (_adaptive, lambda a: nn.AdaptiveAvgPool2d(a["output_size"])),
    F.batch_norm: (_bn, _make_bn),
    F.layer_norm: (_ln, _make_ln),
    F.dropout: (_dropout, lambda a: nn.Dropout(a["p"]).train(bool(a["training"]))),
}
_ACTS: dict[object, Callable] = {
    F.relu: lambda a: nn.ReLU(),
    torch.relu: lambda a: nn.ReLU(),
    torch.relu_: lambda a: nn.ReLU(),
    "relu": lambda a: nn.ReLU(),
    "relu_": lambda a: nn.ReLU(),
    F.leaky_relu: lambda a: nn.LeakyReLU(a["negative_slope"]),
    F.gelu: lambda a: nn.GELU(a["approximate"]),
    F.silu: lambda a: nn.SiLU(),
    torch.sigmoid: lambda a: nn.Sigmoid(),
    F.sigmoid: lambda a: nn.Sigmoid(),
    "sigmoid": lambda a: nn.Sigmoid(),
    torch.tanh: lambda a: nn.Tanh(),
    F.tanh: lambda a: nn.Tanh(),
    "tanh": lambda a: nn.Tanh(),
}
_ROUTING_FUNCS = {
    operator.getitem,
    torch.flatten,
    torch.reshape,
    torch.permute,
    torch.transpose,
    torch.swapaxes,
    torch.movedim,
    torch.cat,
    torch.concat,
    torch.stack,
    torch.squeeze,
    torch.unsqueeze,
    torch.t,
    torch.narrow,
    torch.flip,
    torch.roll,
    torch.broadcast_to,
    torch.clone,
    torch.tile,
    F.pad,
    operator.add,
    operator.sub,
    operator.neg,
    operator.pos,
    torch.add,
    torch.sub,
    torch.neg,
}
_ROUTING_METHODS = {
    "flatten",
    "reshape",
    "view",
    "permute",
    "transpose",
    "swapaxes",
    "movedim",
    "contiguous",
    "expand",
    "expand_as",
    "view_as",
    "reshape_as",
    "squeeze",
    "unsqueeze",
    "clone",
    "repeat",
    "t",
    "narrow",
    "flip",
    "roll",
    "add",
    "sub",
    "neg",
    "__getitem__",
}
_SCALE = {
    operator.mul: False,
    torch.mul: False,
    "mul": False,
    operator.truediv: True,
    torch.div: True,
    torch.true_divide: True,
    "div": True,
}


def kind_of(node: fx.Node) -> str | None:
    """``'layer'``, ``'activation'``, ``'routing'``, ``'scale'`` or None (unsupported) for a call node."""
    t = node.target
    if node.op == "call_function":
        if t in _LAYERS:
            return "layer"
        if t in _ACTS:
            return "activation"
        if t in _ROUTING_FUNCS:
            return None if (t in (torch.add, torch.sub) and node.kwargs.get("alpha", 1) != 1) else "routing"
        return "scale" if t in _SCALE else None
    if node.op == "call_method":
        if t in _ACTS:
            return "activation"
        if t in _ROUTING_METHODS:
            return None if (t in ("add", "sub") and node.kwargs.get("alpha", 1) != 1) else "routing"
        return "scale" if t in _SCALE and node.kwargs.get("rounding_mode") is None else None
    return None


def as_module(node: fx.Node, args: tuple, kwargs: dict) -> tuple[nn.Module, object]:
    """The ``torch.nn`` module a functional layer or activation call stands for, and its input (``args[0]``)."""
    if node.op == "call_method":
        return _ACTS[node.target]({}), args[0]
    sig, make = _LAYERS[node.target] if node.target in _LAYERS else (_act, _ACTS[node.target])
    try:
        bound = inspect.signature(sig).bind(*args, **kwargs)
    except TypeError as e:
        raise NumericsError(f"{node.name}: unexpected arguments to {node.target}: {e}") from None
    bound.apply_defaults()
    a = dict(bound.arguments)
    if a.get("return_indices"):
        raise NumericsError("return_indices=True")
    return make(a), a["input"]


def _index(v: torch.Tensor) -> torch.Tensor:
    return (torch.arange(v.numel(), dtype=torch.float64) + 1.0).reshape(v.shape)


def _run(fn: Callable, node: fx.Node, env: dict, is_var: Callable, pick: int, zero_consts: bool):
    """Run ``fn`` on the node's arguments with variable occurrence ``pick`` as its flat index (others zero)."""
    count = itertools.count()

    def sub(n: fx.Node):
        v = env[n]
        if is_var(n):
            return _index(v) if next(count) == pick else torch.zeros_like(v)
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return torch.zeros_like(v) if zero_consts else v
        return v

    args, kwargs = fx.node.map_arg((node.args, node.kwargs), sub)
    with torch.no_grad():
        return fn(*args, **kwargs)


def var_occurrences(node: fx.Node, is_var: Callable) -> list[fx.Node]:
    """The variable nodes among the node's arguments, once per occurrence, in argument order."""
    found: list[fx.Node] = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n) if is_var(n) else None)
    return found


def _decode(out: torch.Tensor, n_in: int) -> Gather:
    flat = out.reshape(-1).to(torch.float64)
    a = flat.abs().round().to(torch.int64).numpy()
    return Gather(a - 1, np.sign(flat.numpy()), n_in)


def routing(
    fn: Callable, node: fx.Node, env: dict, is_var: Callable, value: torch.Tensor
) -> tuple[list[tuple[fx.Node, Gather]], np.ndarray]:
    """Per variable occurrence its signed selection, and the constant part (see the module docstring).

    Raises:
        NumericsError: when the maps do not reproduce ``value`` (the op is not pure data movement).
    """
    occ = var_occurrences(node, is_var)
    maps = [(n, _decode(_run(fn, node, env, is_var, j, True), env[n].numel())) for j, n in enumerate(occ)]
    bias = _run(fn, node, env, is_var, -1, False).reshape(-1).to(torch.float64).numpy()
    _verify(maps, bias, env, value, node)
    return maps, bias


def scale(
    fn: Callable, node: fx.Node, env: dict, is_var: Callable, value: torch.Tensor, structural: bool
) -> tuple[list[tuple[fx.Node, Gather]], np.ndarray]:
    """``x * c``, ``c * x``, ``x / c`` with ``c`` constant: the broadcast of ``x`` times ``D(c)`` (or ``D(1/c)``)."""
    occ = var_occurrences(node, is_var)
    divide = _SCALE[node.target]
    if len(occ) != 1 or (divide and not (isinstance(node.args[0], fx.Node) and is_var(node.args[0]))):
        raise NumericsError(
            "a product or quotient of two input-dependent tensors is not linear; allowed: "
            "multiplying or dividing by a constant (parameter, buffer, python number)"
        )
    g = _decode(torch.broadcast_to(_index(env[occ[0]]), value.shape), env[occ[0]].numel())
    consts = [env[a] if isinstance(a, fx.Node) else a for a in node.args if not (isinstance(a, fx.Node) and is_var(a))]
    c = torch.broadcast_to(torch.as_tensor(consts[0], dtype=torch.float64), value.shape).reshape(-1).numpy()
    coef = np.ones_like(c) if structural else (1.0 / c if divide else c)
    maps = [(occ[0], Gather(g.idx, g.coef * coef, g.n_in))]
    bias = np.zeros(value.numel())
    if not structural:
        _verify(maps, bias, env, value, node)
    return maps, bias


def _verify(maps, bias, env, value, node) -> None:
    acc = torch.from_numpy(bias).clone()
    for n, g in maps:
        acc += g.fwd(env[n].reshape(1, -1).to(torch.float64))[0]
    ref = value.reshape(-1).to(torch.float64).numpy()
    y = acc.numpy()
    if y.shape != ref.shape or np.max(np.abs(y - ref), initial=0.0) > 1e-12 * (1.0 + np.max(np.abs(ref), initial=0.0)):
        raise NumericsError("it is not a pure data movement (its map does not reproduce its output)")
