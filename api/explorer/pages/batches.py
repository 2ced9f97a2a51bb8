"""Credit batches: the list (``batches_page``) and one batch with its issued block, behaviours
root, supply by state, lots (``serial_ranges_page``), corrections and its history of moves
(``moves_page``), both paged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.errors import not_found
from api.explorer.layout import parties_of, render
from api.explorer.params import after_key, integer, text, uuid
from api.i18n import Text
from ledger.domain.credit_batch import LotState
from ledger.domain.serials import format_range

__all__ = ["router"]

router = APIRouter()
PAGE = 50
LOTS = 100
MOVES = 50
STATES = tuple(state.value for state in LotState)


@router.get("/explorer/batches", include_in_schema=False)
def batches(request: Request, views: ViewsDep, after: str | None = None,
            registry: str | None = None, vintage: str | None = None) -> HTMLResponse:
    key = after_key(after, 1)
    position = integer(key[0], "after") if key else None
    filters = {"registry": text(registry, "registry"),
               "vintage": integer(vintage, "vintage", 1990, 2200)}
    page = views.batches_page(after=(position,) if position is not None else None,
                              limit=PAGE, **filters)
    next_after = str(page.next_after[0]) if page.next_after else None
    return render(request, "batches.html", labels.BATCHES, rows=page.rows, states=STATES,
                  filters=filters, next_after=next_after, paged=key is not None)


@router.get("/explorer/batches/{batch_id}", include_in_schema=False)
def batch(request: Request, batch_id: str, views: ViewsDep, lots_after: str | None = None,
          moves_after: str | None = None) -> HTMLResponse:
    unknown = not_found(Text(en=f"There is no credit batch {batch_id}.",
                             zh=f"不存在减排量批次 {batch_id}。"))
    try:
        ident = uuid(batch_id, "batch")
    except Exception:
        raise unknown from None
    row = views.batch_with_supply(ident) if ident else None
    if row is None:
        raise unknown
    quantity = int(row["quantity"])
    start = int(row["serial_start"])
    issued_block = format_range(row["block"], start, start + quantity) if quantity else None
    key = after_key(lots_after, 1)
    lots = views.serial_ranges_page(
        ident, after=(integer(key[0], "lots_after"),) if key else None, limit=LOTS)
    moves_key = after_key(moves_after, 2)
    moves = views.moves_page(
        batch=ident, limit=MOVES,
        after=(integer(moves_key[0], "moves_after"), integer(moves_key[1], "moves_after"))
        if moves_key else None)
    return render(request, "batch.html", labels.BATCH, batch=row, states=STATES,
                  issued_block=issued_block, lots=lots.rows,
                  lots_next=str(lots.next_after[0]) if lots.next_after else None,
                  lots_paged=key is not None, corrections=views.corrections(ident),
                  moves=moves.rows, parties=parties_of(views, moves.rows),
                  moves_next="~".join(map(str, moves.next_after)) if moves.next_after
                  else None, moves_paged=moves_key is not None)
