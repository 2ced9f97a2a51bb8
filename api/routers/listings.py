"""Listings: an exchange escrows a seller's credits until the trade is settled or the
listing is cancelled."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import ON_ANOTHERS_CREDITS, WRITE
from api.deps import CommandDep
from api.schemas.market import ListingCancel, ListingCreate, ListingPublic
from ledger.domain.errors import RecordNotFoundError
from ledger.domain.ids import listing_id
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/listings", tags=["exchanges"])


def listing_public(views: ReadModels, listing: UUID) -> ListingPublic:
    row = views.listing(listing)
    if row is None:
        raise RecordNotFoundError(f"unknown listing {listing}", listing=str(listing))
    return ListingPublic.from_row(row)


@router.post("", status_code=201, response_model=ListingPublic, responses=ON_ANOTHERS_CREDITS)
async def list_for_sale(body: ListingCreate, command: CommandDep) -> Response:
    """Escrow a seller's available credits for a listing of this exchange (exchanges). A
    seller other than the exchange must have granted it a ``listing`` mandate in force that
    covers the quantity (``POST /me/mandates``); otherwise 403 ``consent-required``."""
    return await command.run(
        "list_for_sale",
        lambda actor: command.ledger.list_for_sale(
            actor=actor, batch_id=body.batch_id, seller=body.seller,
            listing_ref=body.listing_ref, quantity=body.quantity_g),
        lambda listing: listing_public(command.runtime.views, listing),
        status_code=201)


@router.post("/{listing_ref}/cancellation", response_model=ListingPublic, responses=WRITE)
async def cancel_listing(listing_ref: Annotated[str, Path(min_length=1, max_length=200)],
                   body: ListingCancel, command: CommandDep) -> Response:
    """Cancel a listing of this exchange: what is left in escrow returns to the seller."""
    return await command.run(
        "cancel_listing",
        lambda actor: command.ledger.cancel_listing(actor=actor, batch_id=body.batch_id,
                                                    listing_ref=listing_ref),
        lambda _: listing_public(command.runtime.views,
                                 listing_id(command.caller.id, listing_ref)))
