"""The authenticated participant: who it is, its balances, its carbon account and points."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response

from api.access import READ, WRITE
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.routers.carbon_accounts import statement
from api.routers.participants import participant_public
from api.schemas.batches import BalancePublic
from api.schemas.carbon_accounts import (
    CarbonAccountPublic,
    CarbonAccountStatement,
    DonationCreate,
    RedemptionCreate,
)
from api.schemas.market import TradePublic
from api.schemas.participants import MePublic

__all__ = ["router"]

router = APIRouter(prefix="/me", tags=["me"])
BALANCES = "balances"
TRADES = "my-trades"


@router.get("", response_model=MePublic, responses=READ)
def me(caller: CallerDep, views: ViewsDep) -> MePublic:
    """The participant the API key belongs to."""
    return MePublic(participant=participant_public(views, caller.id), key_id=caller.key_id,
                    signed=caller.signed)


@router.get("/balances", response_model=Page[BalancePublic], responses=READ)
def my_balances(caller: CallerDep, views: ViewsDep, page: PageDep) -> Page[BalancePublic]:
    """The caller's credits per batch, by state."""
    rows = views.balances_page(caller.id, after=page.after(BALANCES, int),
                               limit=page.limit)
    return Page(items=[BalancePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(BALANCES, rows))


@router.get("/trades", response_model=Page[TradePublic], responses=READ)
def my_trades(caller: CallerDep, views: ViewsDep, page: PageDep,
              side: Literal["buyer", "seller"] | None = None,
              batch_id: UUID | None = None) -> Page[TradePublic]:
    """The trades the caller bought or sold (``side`` keeps one side), in log order."""
    me = caller.id
    rows = views.trades_page(after=page.after(TRADES, int, str), limit=page.limit,
                             batch=batch_id, party=me if side is None else None,
                             buyer=me if side == "buyer" else None,
                             seller=me if side == "seller" else None)
    return Page(items=[TradePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(TRADES, rows))


@router.get("/carbon-account", response_model=CarbonAccountStatement, responses=READ)
def my_carbon_account(caller: CallerDep, views: ViewsDep,
                      page: PageDep) -> CarbonAccountStatement:
    """The caller's own carbon account (a person's points), with a page of entries."""
    return statement(views, caller.id, page)


@router.post("/carbon-account/redemptions", status_code=201,
             response_model=CarbonAccountPublic, responses=WRITE)
async def redeem_points(body: RedemptionCreate, command: CommandDep) -> Response:
    """Redeem points for a reward (权益兑换)."""
    return await command.run(
        "redeem_points",
        lambda actor: command.ledger.redeem_points(actor=actor, points=body.points,
                                                   reward=body.reward),
        lambda _: CarbonAccountPublic.from_row(
            command.runtime.views.carbon_account_summary(command.caller.id)),
        status_code=201)


@router.post("/carbon-account/donations", status_code=201,
             response_model=CarbonAccountPublic, responses=WRITE)
async def donate_points(body: DonationCreate, command: CommandDep) -> Response:
    """Donate points (碳捐赠) to an event's neutrality claim."""
    return await command.run(
        "donate_points",
        lambda actor: command.ledger.donate_points(actor=actor, points=body.points,
                                                   claim_id=body.claim_id),
        lambda _: CarbonAccountPublic.from_row(
            command.runtime.views.carbon_account_summary(command.caller.id)),
        status_code=201)
