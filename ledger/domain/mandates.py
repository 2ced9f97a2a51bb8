"""Mandates: a holder's standing consent for another participant to act on its credits.

A holder (the *grantor*) may let an exchange list its credits for sale, or a bank register
pledges of its credits, without signing each request itself. The mandate names the agent, the
scope and optional limits; it is a fact on the holder's own
:class:`~ledger.domain.participant.Participant` (``MandateGranted``, ``MandateRevoked``,
``MandateExercised``), so only the holder grants or revokes it, and every command that uses
it writes to the same aggregate it was checked on: a revocation and a listing are ordered,
never interleaved.

This module holds the rules that do not need the aggregate: scopes, the role an agent needs
for each, the validation of limits, and the state of a mandate record at a given time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from ledger.domain.errors import ValidationError
from ledger.domain.quantities import require_grams
from ledger.domain.timeutil import parse_time

__all__ = [
    "AGENT_ROLES",
    "MandateScope",
    "MandateStatus",
    "check_limits",
    "mandate_status",
    "parse_scope",
    "remaining_g",
]


class MandateScope(StrEnum):
    LISTING = "listing"  # an exchange may escrow the holder's credits for its listings
    PLEDGE = "pledge"  # a bank may register pledges of the holder's credits to itself


class MandateStatus(StrEnum):
    ACTIVE = "active"  # in force: may be exercised (within its remaining quantity)
    EXHAUSTED = "exhausted"  # its maximum quantity has been used
    EXPIRED = "expired"  # past its expiry
    REVOKED = "revoked"  # revoked by the holder


# The role (a ``Role`` value) an agent must have to hold and exercise a mandate of a scope.
AGENT_ROLES: dict[MandateScope, str] = {
    MandateScope.LISTING: "settler",
    MandateScope.PLEDGE: "lender",
}


def parse_scope(value: Any) -> MandateScope:
    try:
        return MandateScope(value)
    except ValueError:
        scopes = ", ".join(s.value for s in MandateScope)
        raise ValidationError(f"unknown mandate scope {value!r} (expected one of {scopes})",
                              field="scope") from None


def check_limits(*, expires_at: str | datetime | None, max_quantity_g: int | None,
                 now: datetime) -> tuple[str | None, int | None]:
    """The limits of a new mandate, checked: an expiry in the future (as ISO 8601 UTC text)
    and a positive whole number of grams."""
    expiry = None
    if expires_at is not None:
        parsed = parse_time(expires_at, "expires_at")
        if parsed <= now:
            raise ValidationError(f"expires_at {parsed.isoformat()} is not in the future",
                                  field="expires_at", now=now.isoformat())
        expiry = parsed.isoformat()
    if max_quantity_g is not None:
        require_grams(max_quantity_g, "max_quantity_g")
    return expiry, max_quantity_g


def remaining_g(record: dict[str, Any]) -> int | None:
    """Grams the mandate may still be exercised for; ``None`` without a maximum."""
    maximum = record.get("max_quantity_g")
    return None if maximum is None else max(maximum - record.get("used_g", 0), 0)


def mandate_status(record: dict[str, Any], now: datetime) -> MandateStatus:
    if record.get("revoked"):
        return MandateStatus.REVOKED
    expiry = record.get("expires_at")
    if expiry is not None and parse_time(expiry, "expires_at") <= now:
        return MandateStatus.EXPIRED
    if remaining_g(record) == 0:
        return MandateStatus.EXHAUSTED
    return MandateStatus.ACTIVE
