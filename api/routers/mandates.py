"""Mandates (consent): a holder grants, lists and revokes (``/me/mandates``) the standing
mandates that let an exchange list its credits for sale or a bank pledge them; an agent
lists those granted to it (``/me/received-mandates``).

Only the holder itself grants or revokes its mandates (the caller is the holder); listings
and pledges on another holder's credits without one in force are refused with 403
``consent-required``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import PRIVILEGED, READ, WRITE, require
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.schemas.mandates import MandateCreate, MandatePublic, Scope
from ledger.domain.errors import RecordNotFoundError
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/me", tags=["mandates"])
MandateId = Annotated[UUID, Path(description="mandate id")]
GRANTED, RECEIVED = "mandates", "received-mandates"


def mandate_public(views: ReadModels, mandate_id: UUID) -> MandatePublic:
    row = views.mandate(mandate_id)
    if row is None:
        raise RecordNotFoundError(f"unknown mandate {mandate_id}", mandate=str(mandate_id))
    return MandatePublic.from_row(row)


@router.post("/mandates", status_code=201, response_model=MandatePublic, responses=WRITE)
async def grant_mandate(body: MandateCreate, command: CommandDep) -> Response:
    """Grant a mandate on the caller's own credits (holders): ``listing`` to an exchange
    (settler role), ``pledge`` to a bank (lender role). At most one mandate per agent and
    scope is in force at a time (409 ``duplicate-record``: revoke it first)."""
    return await command.run(
        "grant_mandate",
        lambda actor: command.ledger.grant_mandate(
            actor=actor, agent=body.agent, scope=body.scope, expires_at=body.expires_at,
            max_quantity_g=body.max_quantity_g),
        lambda mandate_id: mandate_public(command.runtime.views, mandate_id),
        status_code=201)


@router.get("/mandates", response_model=Page[MandatePublic], responses=READ)
def list_granted(caller: CallerDep, views: ViewsDep, page: PageDep,
                 agent: UUID | None = None, scope: Scope | None = None,
                 revoked: bool | None = None) -> Page[MandatePublic]:
    """The mandates the caller granted, in the order granted."""
    rows = views.mandates_page(after=page.after(GRANTED, int, str), limit=page.limit,
                               holder=caller.id, agent=agent, scope=scope, revoked=revoked)
    return Page(items=[MandatePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(GRANTED, rows))


@router.get("/received-mandates", response_model=Page[MandatePublic], responses=READ)
def list_received(caller: CallerDep, views: ViewsDep, page: PageDep,
                  holder: UUID | None = None, scope: Scope | None = None,
                  revoked: bool | None = None) -> Page[MandatePublic]:
    """The mandates granted to the caller (an exchange or a bank), in the order granted."""
    rows = views.mandates_page(after=page.after(RECEIVED, int, str), limit=page.limit,
                               agent=caller.id, holder=holder, scope=scope, revoked=revoked)
    return Page(items=[MandatePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(RECEIVED, rows))


@router.get("/mandates/{mandate_id}", response_model=MandatePublic, responses=READ)
def get_mandate(mandate_id: MandateId, caller: CallerDep, views: ViewsDep) -> MandatePublic:
    """One mandate: for its holder, its agent, registry operators and auditors."""
    mandate = mandate_public(views, mandate_id)
    require(caller.has_role(*PRIVILEGED) or caller.id in (mandate.holder, mandate.agent),
            caller, "only the holder, the agent, registry operators and auditors may read a "
            "mandate")
    return mandate


@router.delete("/mandates/{mandate_id}", response_model=MandatePublic, responses=WRITE)
async def revoke_mandate(mandate_id: MandateId, command: CommandDep) -> Response:
    """Revoke a mandate the caller granted: no listing or pledge after this one may use
    it (those made under it stay; the exchange or bank releases them as usual)."""
    return await command.run(
        "revoke_mandate",
        lambda actor: command.ledger.revoke_mandate(actor=actor, mandate_id=mandate_id),
        lambda _: mandate_public(command.runtime.views, mandate_id))
