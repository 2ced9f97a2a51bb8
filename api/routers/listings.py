"""Listings: an exchange escrows a seller's credits until the trade is settled or the
listing is cancelled."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import ON_ANOTHERS_CREDITS, PRIVILEGED, READ, WRITE
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.schemas.market import ListingCancel, ListingCreate, ListingPublic
from api.schemas.records import ListingOpenPublic
from ledger.domain.errors import RecordNotFoundError
from ledger.domain.ids import listing_id
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/listings", tags=["exchanges"])
LIST = "listings"


def listing_public(views: ReadModels, listing: UUID) -> ListingPublic:
    row = views.listing(listing)
    if row is None:
        raise RecordNotFoundError(f"unknown listing {listing}", listing=str(listing))
    return ListingPublic.from_row(row)


@router.get("", response_model=Page[ListingOpenPublic], responses=READ)
def list_listings(caller: CallerDep, views: ViewsDep, page: PageDep,
                  status: Literal["open", "cancelled", "all"] = "open",
                  exchange: UUID | None = None, seller: UUID | None = None,
                  batch_id: UUID | None = None) -> Page[ListingOpenPublic]:
    """Listings (open ones unless ``status`` says otherwise) with what is left to sell, by
    listing id: an exchange or a seller reads the listings it is a party of; registry
    operators and auditors all."""
    party = None if caller.has_role(*PRIVILEGED) else caller.id
    rows = views.listings_page(after=page.after(LIST, str, str), limit=page.limit,
                               status=None if status == "all" else status,
                               exchange=exchange, seller=seller, batch=batch_id, party=party)
    return Page(items=[ListingOpenPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


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
