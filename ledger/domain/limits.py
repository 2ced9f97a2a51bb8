"""The bounds of what the ledger records, so that every accepted event fits the read models.

The read models (:mod:`ledger.projections.schema`) keep grams and totals in 64-bit integers
and some labels in bounded columns. Each such bound is a rule of the domain, checked before
an event is saved, so that the projector never meets an event it cannot apply: a refused
command is a 4xx, an event the read models refuse would stop them (see
:mod:`ledger.projections.failures`).
"""

from __future__ import annotations

from typing import Any

from ledger.domain.errors import ValidationError
from ledger.domain.quantities import MAX_GRAMS

__all__ = [
    "MAX_BLOCK_LABEL",
    "MAX_COUNT",
    "MAX_METHODOLOGY_VERSION",
    "MAX_POINTS",
    "MAX_PROJECT_TYPE",
    "MAX_REGISTRY_NAME",
    "MAX_SERIAL",
    "MAX_TOTAL_G",
    "bounded_text",
]

# Labels the read models once held in bounded columns (now text, so that events accepted
# before these rules are held too); the bounds stay the ledger's contract.
MAX_BLOCK_LABEL = 128  # batches.block
MAX_REGISTRY_NAME = 64  # batches.registry
MAX_PROJECT_TYPE = 32  # batches.project_type
MAX_METHODOLOGY_VERSION = 32  # methodologies.version
MAX_SERIAL = MAX_GRAMS  # serials.end: the exclusive end of a batch's serials
MAX_TOTAL_G = MAX_GRAMS  # any running total of grams: a claim's retired grams, donations
MAX_COUNT = 2**31 - 1  # a 32-bit counter (a claim's retirements)
# A person's points earned, across all platforms: checked against the behaviour index, brought
# up to date, when a report is made (see Ledger.report_behaviours).
MAX_POINTS = MAX_GRAMS


def bounded_text(value: Any, name: str, limit: int, *, field: str | None = None) -> str:
    """``value`` stripped, if it is non-empty text of at most ``limit`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be non-empty text", field=field or name)
    stripped = value.strip()
    if len(stripped) > limit:
        raise ValidationError(f"{name} is longer than {limit} characters ({len(stripped)})",
                              field=field or name, limit=limit, length=len(stripped))
    return stripped
