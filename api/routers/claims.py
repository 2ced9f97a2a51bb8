"""Neutrality claims: registered by organisers, met by retirements (public reads)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.access import PUBLIC_ITEM, PUBLIC_LIST, WRITE
from api.deps import CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.schemas.claims import ClaimCreate, ClaimPublic
from ledger.domain.errors import RecordNotFoundError
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/claims", tags=["claims"])
LIST = "claims"


def claim_public(views: ReadModels, claim_id: UUID) -> ClaimPublic:
    row = views.claim(claim_id)
    if row is None:
        raise RecordNotFoundError(f"unknown neutrality claim {claim_id}", claim=str(claim_id))
    return ClaimPublic.from_row(row)


@router.get("", response_model=Page[ClaimPublic], responses=PUBLIC_LIST)
def list_claims(views: ViewsDep, page: PageDep, organiser: UUID | None = None,
                scope: Annotated[str | None, Query(max_length=64)] = None,
                met: bool | None = None) -> Page[ClaimPublic]:
    """Neutrality claims in registration order."""
    rows = views.claims_page(after=page.after(LIST, str, str), limit=page.limit,
                             organiser=organiser, scope=scope, met=met)
    return Page(items=[ClaimPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{claim_id}", response_model=ClaimPublic, responses=PUBLIC_ITEM)
def get_claim(claim_id: Annotated[UUID, Path()], views: ViewsDep) -> ClaimPublic:
    return claim_public(views, claim_id)


@router.post("", status_code=201, response_model=ClaimPublic, responses=WRITE)
async def register_claim(body: ClaimCreate, command: CommandDep) -> Response:
    """Register a footprint to neutralise, e.g. 4,544.76 t for an event (holders)."""
    return await command.run(
        "register_claim",
        lambda actor: command.ledger.register_claim(actor=actor, event_name=body.event_name,
                                                    footprint_g=body.footprint_g,
                                                    scope=body.scope),
        lambda claim_id: claim_public(command.runtime.views, claim_id),
        status_code=201)
