"""Pledges (质押): credits locked as loan collateral; released or enforced by the bank."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import ON_ANOTHERS_CREDITS, PRIVILEGED, READ, WRITE, require
from api.auth import Caller
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.schemas.pledges import PledgeCreate, PledgePublic
from ledger.domain.errors import RecordNotFoundError
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/pledges", tags=["pledges"])
PledgeId = Annotated[UUID, Path()]
LIST = "pledges"


def pledge_row(views: ReadModels, pledge_id: UUID) -> dict[str, Any]:
    row = views.pledge_with_block(pledge_id)
    if row is None:
        raise RecordNotFoundError(f"unknown pledge {pledge_id}", pledge=str(pledge_id))
    return row


def _readable(caller: Caller, row: dict[str, Any]) -> None:
    require(caller.has_role(*PRIVILEGED) or str(caller.id) in (row["bank"], row["holder"]),
            caller, "only the bank, the pledgor, registry operators and auditors may read a "
            "pledge")


@router.post("", status_code=201, response_model=PledgePublic, responses=ON_ANOTHERS_CREDITS)
async def create_pledge(body: PledgeCreate, command: CommandDep) -> Response:
    """Lock a holder's available credits as collateral for a loan of ``bank`` (by the
    pledgor, or by the bank with a ``pledge`` mandate of the pledgor in force that covers the
    quantity: otherwise 403 ``consent-required``). Pledged credits cannot be sold, retired,
    transferred or pledged again."""
    return await command.run(
        "pledge",
        lambda actor: command.ledger.pledge(
            actor=actor, batch_id=body.batch_id, holder=body.holder, bank=body.bank,
            loan_reference=body.loan_reference, quantity=body.quantity_g),
        lambda pledge_id: PledgePublic.from_row(pledge_row(command.runtime.views, pledge_id)),
        status_code=201)


@router.get("", response_model=Page[PledgePublic], responses=READ)
def list_pledges(caller: CallerDep, views: ViewsDep, page: PageDep,
                 status: Literal["active", "released", "enforced"] | None = None,
                 batch_id: UUID | None = None, bank: UUID | None = None,
                 holder: UUID | None = None) -> Page[PledgePublic]:
    """Pledges: a bank or pledgor sees those it is party to; registry operators and
    auditors see all."""
    party = None if caller.has_role(*PRIVILEGED) else caller.id
    rows = views.pledges_page(after=page.after(LIST, int, str), limit=page.limit, bank=bank,
                              holder=holder, party=party, batch=batch_id, status=status)
    return Page(items=[PledgePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{pledge_id}", response_model=PledgePublic, responses=READ)
def get_pledge(pledge_id: PledgeId, caller: CallerDep, views: ViewsDep) -> PledgePublic:
    """Is it still locked, how much, of which batch and serials."""
    row = pledge_row(views, pledge_id)
    _readable(caller, row)
    return PledgePublic.from_row(row)


@router.post("/{pledge_id}/release", response_model=PledgePublic, responses=WRITE)
async def release_pledge(pledge_id: PledgeId, command: CommandDep) -> Response:
    """The loan was repaid: the credits return to the pledgor (the pledgee bank only)."""
    return await command.run(
        "release_pledge",
        lambda actor: command.ledger.release_pledge(
            actor=actor, batch_id=UUID(pledge_row(command.runtime.views, pledge_id)["batch"]),
            pledge_id=pledge_id),
        lambda _: PledgePublic.from_row(pledge_row(command.runtime.views, pledge_id)))


@router.post("/{pledge_id}/enforcement", response_model=PledgePublic, responses=WRITE)
async def enforce_pledge(pledge_id: PledgeId, command: CommandDep) -> Response:
    """The loan defaulted: the credits move to the bank (the pledgee bank only)."""
    return await command.run(
        "enforce_pledge",
        lambda actor: command.ledger.enforce_pledge(
            actor=actor, batch_id=UUID(pledge_row(command.runtime.views, pledge_id)["batch"]),
            pledge_id=pledge_id),
        lambda _: PledgePublic.from_row(pledge_row(command.runtime.views, pledge_id)))
