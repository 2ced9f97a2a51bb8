"""Trade settlement by exchanges, in bulk, and its status."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import PRIVILEGED, READ, WRITE, require
from api.commands import raise_duplicate_request
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.problems import problem_of
from api.schemas.common import ranges_of
from api.schemas.market import (
    TradePublic,
    TradeResultPublic,
    TradeSettlementBatchCreate,
    TradeSettlementBatchPublic,
)
from ledger.application import TradeInstruction, TradeResult
from ledger.domain.errors import RecordNotFoundError
from ledger.domain.ids import trade_id
from ledger.domain.participant import Role

__all__ = ["router"]

router = APIRouter(prefix="/trades", tags=["exchanges"])
LIST = "trades"


def _results(results: list[TradeResult]) -> TradeSettlementBatchPublic:
    items = [TradeResultPublic(
        trade_ref=r.trade_ref, trade_id=r.trade_id, settled=r.settled, replayed=r.replayed,
        serials=ranges_of(r.ranges), retirement_id=r.retirement_id,
        error=problem_of(r.error) if r.error else None) for r in results]
    settled = sum(r.settled for r in results)
    return TradeSettlementBatchPublic(settled=settled, failed=len(results) - settled,
                                      results=items)


@router.post("/settlements", response_model=TradeSettlementBatchPublic, responses=WRITE)
async def settle_trades(body: TradeSettlementBatchCreate, command: CommandDep) -> Response:
    """Settle matched trades of this exchange's listings (exchanges), each on its own: up
    to 1,000 per request, each answered separately. A trade id settled before returns its
    first settlement with ``replayed: true`` and delivers nothing again; the same trade id
    with other terms is a ``trade-conflict``. With an ``Idempotency-Key``, a retry gets
    the first response itself (``replayed: false`` as first answered)."""
    instructions = [TradeInstruction(
        trade_ref=t.trade_ref, listing_ref=t.listing_ref, batch_id=t.batch_id,
        seller=t.seller, buyer=t.buyer, quantity=t.quantity_g,
        price_per_tonne=t.price_per_tonne, currency=t.currency,
        retire_on_delivery=t.retire_on_delivery.ledger_terms() if t.retire_on_delivery
        else None) for t in body.trades]

    def settle(actor: UUID) -> list[TradeResult]:
        results = command.ledger.settle_trades(actor=actor, trades=instructions)
        raise_duplicate_request(r.error for r in results)
        return results

    return await command.run("settle_trades", settle, _results)


@router.get("", response_model=Page[TradePublic], responses=READ)
def list_trades(caller: CallerDep, views: ViewsDep, page: PageDep,
                exchange: UUID | None = None, batch_id: UUID | None = None,
                buyer: UUID | None = None, seller: UUID | None = None) -> Page[TradePublic]:
    """Settled trades: an exchange sees its own; registry operators and auditors all."""
    if not caller.has_role(*PRIVILEGED):
        require(caller.has_role(Role.SETTLER) and exchange in (None, caller.id), caller,
                "only exchanges (their own trades), registry operators and auditors may "
                "list trades")
        exchange = caller.id
    rows = views.trades_page(after=page.after(LIST, int, str), limit=page.limit,
                             exchange=exchange, batch=batch_id, buyer=buyer, seller=seller)
    return Page(items=[TradePublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{trade_ref}", response_model=TradePublic, responses=READ)
def get_trade(trade_ref: Annotated[str, Path(min_length=1, max_length=200,
                                             description="the exchange's trade id")],
              caller: CallerDep, views: ViewsDep) -> TradePublic:
    """Settlement status of one of this exchange's trades: 404 ``unknown-record`` while it
    is not settled."""
    require(caller.has_role(Role.SETTLER), caller, "only exchanges settle trades")
    row = views.trade(trade_id(caller.id, trade_ref))
    if row is None:
        raise RecordNotFoundError(f"trade {trade_ref} is not settled", trade_ref=trade_ref)
    return TradePublic.from_row(row)
