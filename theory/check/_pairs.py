"""Which ReLU units need no sign check: sign-split pairs, found through the linear units between them.

A network may carry ``z`` as the pair ``relu(z)``, ``relu(-z)`` (copied through ReLU layers that only see
nonnegative values) and read it back as ``w relu(z) - w relu(-z) = w z``: each unit kinks where ``z = 0``, their
difference does not. :func:`pair_exempt` proves this on the cone's exact weights: a ReLU whose pre-activation is
a nonnegative combination of nonnegative units plus a bias ``>= 0`` is the identity; linear units are
substituted into their readers; two ReLU units ``u``, ``v`` with pre-activations ``e`` and ``-e`` that every
reader reads with opposite weights become the linear unit ``e`` (the function is unchanged, exactly), repeated
until no pair is left. Every other unit keeps its pre-activation, so the sign check of the remaining ReLU units
(on values of the original network) is the check of a network equal to it.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

Expr = dict  # unit id (or -1 for the constant) -> Fraction


def _add(out: Expr, e: Expr, w: Fraction) -> None:
    for key, v in e.items():
        t = out.get(key, Fraction(0)) + w * v
        if t:
            out[key] = t
        else:
            out.pop(key, None)


def pair_exempt(layers: list, sizes: list[int]) -> list[np.ndarray]:
    """Per layer, a mask of the ReLU units that need no sign check (module docstring). ``layers``: per layer
    ``(dst, src, weights, biases, relu mask)``; ``sizes``: units per level, inputs first."""
    off = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    relu: dict[int, bool] = {}
    nonneg: set[int] = set()
    exp: dict[int, Expr] = {}  # pre-activation over inputs and ReLU units
    for l, (dst, src, w, b, mask) in enumerate(layers):
        rows: dict[int, list] = {}
        for r, c, v in zip(dst.tolist(), src.tolist(), w):
            rows.setdefault(r, []).append((off[l] + c, v))
        for j in range(sizes[l + 1]):
            gid = off[l + 1] + j
            raw = rows.get(j, [])
            pos = b[j] >= 0 and all(v >= 0 and c in nonneg for c, v in raw)
            relu[gid] = bool(mask[j]) and not pos
            if relu[gid] or pos:
                nonneg.add(gid)
            e: Expr = {-1: b[j]} if b[j] else {}
            for c, v in raw:
                if c >= sizes[0] and not relu[c]:
                    _add(e, exp[c], v)  # a linear unit: substitute its expression
                else:
                    _add(e, {c: Fraction(1)}, v)
            exp[gid] = e
    exempt: set[int] = set()
    changed = True
    while changed:
        changed = False
        readers: dict[int, set[int]] = {}
        for gid, e in exp.items():
            if not relu[gid] and gid != off[-1] - 1:  # a linear unit is substituted into its readers: not one
                continue
            for key in e:
                readers.setdefault(key, set()).add(gid)
        sig: dict[tuple, list[int]] = {}
        for gid in sorted(exp):
            if relu[gid]:
                sig.setdefault(tuple(sorted(exp[gid].items())), []).append(gid)
        for key, us in sig.items():
            neg = tuple(sorted((c, -v) for c, v in key))
            vs = sig.get(neg, [])
            if len(us) != 1 or len(vs) != 1 or us[0] >= vs[0] or not key:
                continue
            u, v = us[0], vs[0]
            ru, rv = readers.get(u, set()), readers.get(v, set())
            if not ru or ru != rv or any(exp[r][u] != -exp[r][v] for r in ru):
                continue
            relu[u] = relu[v] = False
            exempt |= {u, v}
            for r in ru:  # w relu(e) - w relu(-e) = w e
                wu = exp[r].pop(u)
                exp[r].pop(v)
                _add(exp[r], exp[u], wu)
            changed = True
            break
    out = []
    for l in range(len(layers)):
        out.append(np.array([off[l + 1] + j in exempt for j in range(sizes[l + 1])], dtype=bool))
    return out
