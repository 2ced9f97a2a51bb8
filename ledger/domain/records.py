"""The rules of the records an account's credits are locked in, shared by the aggregates
that keep them: a batch (the records made on it before issue #17) and a holding (those made
since). A listing escrows a seller's credits for an exchange; a pledge locks a pledgor's
credits for a bank."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ledger.domain.errors import (
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.retirement import validate_retirement_details

__all__ = ["active_pledge", "open_listing", "retirement_on_delivery"]


def open_listing(listings: Mapping[str, dict[str, Any]], listing_id: UUID | str,
                 exchange: UUID | str, block: str) -> dict[str, Any]:
    """Listing ``listing_id`` of ``listings``, if it is ``exchange``'s and open."""
    listing = listings.get(str(listing_id))
    if listing is None:
        raise RecordNotFoundError(f"no listing {listing_id} in batch {block}",
                                  listing=str(listing_id))
    if listing["exchange"] != str(exchange):
        raise PermissionDeniedError("the listing belongs to another exchange",
                                    listing=str(listing_id))
    if not listing["open"]:
        raise InvalidStateError(f"listing {listing['listing_ref']} was cancelled",
                                listing=str(listing_id))
    return listing


def active_pledge(pledges: Mapping[str, dict[str, Any]], pledge_id: UUID | str,
                  actor: UUID | str, block: str) -> dict[str, Any]:
    """Pledge ``pledge_id`` of ``pledges``, if ``actor`` is its bank and it is active."""
    pledge = pledges.get(str(pledge_id))
    if pledge is None:
        raise RecordNotFoundError(f"no pledge {pledge_id} in batch {block}",
                                  pledge=str(pledge_id))
    if pledge["bank"] != str(actor):
        raise PermissionDeniedError("only the pledgee bank may release or enforce a pledge",
                                    pledge=str(pledge_id), actor=str(actor))
    if pledge["status"] != "active":
        raise InvalidStateError(f"pledge {pledge_id} is already {pledge['status']}",
                                pledge=str(pledge_id), status=pledge["status"])
    return pledge


def retirement_on_delivery(retirement_id: UUID | None,
                           retirement: dict[str, Any] | None) -> dict[str, Any] | None:
    """A trade's retire-on-delivery terms, canonical, or None when the trade delivers the
    credits to the buyer."""
    if retirement is None:
        return None
    if retirement_id is None:
        raise ValidationError("retire-on-delivery needs a retirement id",
                              field="retirement_id")
    return validate_retirement_details(**retirement)
