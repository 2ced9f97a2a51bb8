"""Retirements (注销): the public register, and retirement by holders. Permanent."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import PUBLIC_ITEM, PUBLIC_LIST, WRITE
from api.deps import CommandDep, ViewsDep
from api.filters import RegistryFilter, TextFilter, VintageFilter
from api.pagination import Page, PageDep
from api.schemas.retirements import RetirementCreate, RetirementPublic
from ledger.domain.errors import RecordNotFoundError
from ledger.domain.retirement import RetirementPurpose
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/retirements", tags=["retirements"])
LIST = "retirements"


def retirement_public(views: ReadModels, retirement_id: UUID) -> RetirementPublic:
    row = views.retirement_with_holder(retirement_id)
    if row is None:
        raise RecordNotFoundError(f"unknown retirement {retirement_id}",
                                  retirement=str(retirement_id))
    return RetirementPublic.from_row(row)


@router.get("", response_model=Page[RetirementPublic], responses=PUBLIC_LIST)
def list_retirements(views: ViewsDep, page: PageDep, purpose: RetirementPurpose | None = None,
                     beneficiary: TextFilter = None, batch_id: UUID | None = None,
                     holder: UUID | None = None,
                     registry: RegistryFilter = None,
                     vintage: VintageFilter = None,
                     jurisdiction: TextFilter = None) -> Page[RetirementPublic]:
    """The public retirement register, oldest first: what was retired, by whom, for whom,
    for what purpose, and which serials."""
    rows = views.retirements_page(after=page.after(LIST, int, str), limit=page.limit,
                                  purpose=purpose, beneficiary=beneficiary, batch=batch_id,
                                  holder=holder, registry=registry, vintage=vintage,
                                  jurisdiction=jurisdiction)
    return Page(items=[RetirementPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{retirement_id}", response_model=RetirementPublic, responses=PUBLIC_ITEM)
def get_retirement(retirement_id: Annotated[UUID, Path()],
                   views: ViewsDep) -> RetirementPublic:
    return retirement_public(views, retirement_id)


@router.post("", status_code=201, response_model=RetirementPublic, responses=WRITE)
async def retire(body: RetirementCreate, command: CommandDep) -> Response:
    """Retire the caller's available credits for a beneficiary and purpose. **Permanent**:
    retired credits can never be transferred, sold, pledged or retired again. With
    ``purpose.claim_id`` the retirement also counts toward that neutrality claim."""
    terms = body.ledger_terms()
    return await command.run(
        "retire",
        lambda actor: command.ledger.retire(actor=actor, batch_id=body.batch_id,
                                            quantity=body.quantity_g, **terms),
        lambda retirement_id: retirement_public(command.runtime.views, retirement_id),
        status_code=201)
