"""Every claim of the project: the catalogue table of each source subpackage, in order.

One way to register a claim: a :class:`Claim` record in the ``CLAIMS`` table of its source's ``_catalogue.py``
(``checks.ww``: Wang & Wu constructions and learning; ``checks.verify``: proofs, certificates and checks at scale;
``checks.duat``: the DUAT paper). Ids follow DESIGN.md, "Claim catalogue".
"""

from __future__ import annotations

from . import duat, verify, ww
from ._registry import Registry

SOURCES = {"ww": ww.CLAIMS, "verify": verify.CLAIMS, "duat": duat.CLAIMS}
"""Source subpackage -> its catalogue table, in report order."""


def default_registry() -> Registry:
    """A fresh registry holding every claim of the project, in catalogue order."""
    return Registry([claim for table in SOURCES.values() for claim in table])
