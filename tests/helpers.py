"""Helpers shared by test packages under tests/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
"""The repository root (the directory holding theory/, numerics/, checks/ and tests/)."""


def _as_format_1(doc: dict, meta: dict) -> dict:
    doc["version"] = 1
    del doc["meta_hash"]
    doc["meta"].update(meta)
    return doc


def format_1_document(net: Any, **meta: Any) -> dict:
    """The spec-file document format 1 wrote for ``net`` (built from its definition: no meta hash), with ``meta``
    fields edited, as a shared file could have been."""
    import theory

    return _as_format_1(theory.to_json(net), meta)


def downgrade_to_format_1(spec_dir: Path, **meta: Any) -> None:
    """Rewrite a saved spec as format 1 (no meta hash), with ``meta`` fields edited."""
    import theory

    path = spec_dir / theory.spec.SPEC_FILE
    path.write_text(json.dumps(_as_format_1(json.loads(path.read_text()), meta)))
