"""Records that could not be read before issue 18: what happened to serials (a batch's
moves, a serial's chain of custody, transfers), cancellations with their reasons, exports,
and corrections with old and new values.

Who may read what follows the feed's rule (docs/SECURITY.md, "Event feed and webhooks"):
corrections are public, like issuances and retirements; transfers, exports and
cancellations are read by their parties, registry operators and auditors. A batch's moves
and a serial's custody are public *as movements* (kind, lot states, serials, quantities,
log positions, time), but the holders and lot references of a move are shown only to its
parties, operators and auditors, and for retired lots (the retirement register is public):
otherwise a public history would publish every transfer the feed keeps private.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from api.access import PRIVILEGED, PUBLIC_LIST, READ, require
from api.auth import Caller
from api.deps import CallerDep, ViewsDep
from api.filters import TextFilter
from api.pagination import Page, PageDep
from api.problems import problem_responses
from api.routers.feed import OptionalCaller
from api.schemas.common import MAX_SERIAL
from api.schemas.records import (
    CancellationPublic,
    CorrectionPublic,
    CustodyPublic,
    ExportPublic,
    MoveKind,
    MovePublic,
)
from ledger.domain.errors import RecordNotFoundError

__all__ = ["router"]

router = APIRouter()
OPTIONAL_ITEM = problem_responses(401, 404, 422)
MOVES, TRANSFERS = "moves", "transfers"
CANCELLATIONS, EXPORTS, CORRECTIONS = "cancellations", "exports", "corrections"


def _privileged(caller: Caller | None) -> bool:
    return caller is not None and caller.has_role(*PRIVILEGED)


def _move(row: dict, caller: Caller | None) -> MovePublic:
    full = _privileged(caller) or (caller is not None and str(caller.id) in (
        row["from_holder"], row["to_holder"]))
    return MovePublic.from_row(row, full=full)


def _own(caller: Caller, asked: UUID | None, what: str) -> UUID | None:
    """Whose records a caller reads: operators and auditors anyone's (``asked``, or all);
    anyone else its own only."""
    if _privileged(caller):
        return asked
    require(asked in (None, caller.id), caller,
            f"only their parties, registry operators and auditors may read {what}")
    return caller.id


@router.get("/batches/{batch_id}/moves", response_model=Page[MovePublic],
            responses=OPTIONAL_ITEM, tags=["batches"])
def batch_moves(batch_id: Annotated[UUID, Path()], views: ViewsDep, page: PageDep,
                caller: OptionalCaller, kind: MoveKind | None = None) -> Page[MovePublic]:
    """The history of a batch: every serial range each event moved, in log order. Holders
    and references are shown to the parties of a move, registry operators and auditors,
    and for retirements; otherwise null (``redacted``). The API key is optional."""
    if views.batch(batch_id) is None:
        raise RecordNotFoundError(f"unknown batch {batch_id}", batch=str(batch_id))
    rows = views.moves_page(after=page.after(MOVES, int, int), limit=page.limit,
                            batch=batch_id, kind=kind)
    return Page(items=[_move(r, caller) for r in rows.rows],
                next_cursor=page.next_cursor(MOVES, rows))


@router.get("/serials/{block}/{serial}/custody", response_model=CustodyPublic,
            responses=OPTIONAL_ITEM, tags=["batches"])
def custody(
    block: Annotated[str, Path(min_length=1, max_length=128,
                               description="batch block, e.g. HBCER-2024-000001")],
    serial: Annotated[int, Path(ge=0, le=MAX_SERIAL)],
    views: ViewsDep, caller: OptionalCaller,
) -> CustodyPublic:
    """The chain of custody of one serial: every move of it from its issuance (or import)
    to the lot it is in now, oldest first; holders shown as in ``/batches/{id}/moves``."""
    batch = views.batch_by_block(block)
    moves = views.custody(batch["id"], serial) if batch is not None else []
    if batch is None or not moves:
        raise RecordNotFoundError(f"serial {serial} of {block} does not exist", block=block,
                                  serial=serial)
    return CustodyPublic(block=block, batch_id=batch["id"], serial=serial,
                         moves=[_move(r, caller) for r in moves])


@router.get("/transfers", response_model=Page[MovePublic], responses=READ,
            tags=["batches"])
def list_transfers(caller: CallerDep, views: ViewsDep, page: PageDep,
                   batch_id: UUID | None = None,
                   party: Annotated[UUID | None, Query(
                       description="sender or recipient (operators and auditors)")] = None,
                   ) -> Page[MovePublic]:
    """Transfers between holders, one item per serial range, in log order: a holder reads
    those it sent or received; registry operators and auditors all (or one party's)."""
    party = _own(caller, party, "transfers")
    rows = views.moves_page(after=page.after(TRANSFERS, int, int), limit=page.limit,
                            batch=batch_id, kind="transfer", party=party)
    return Page(items=[_move(r, caller) for r in rows.rows],
                next_cursor=page.next_cursor(TRANSFERS, rows))


@router.get("/cancellations", response_model=Page[CancellationPublic], responses=READ,
            tags=["batches"])
def list_cancellations(caller: CallerDep, views: ViewsDep, page: PageDep,
                       batch_id: UUID | None = None, holder: UUID | None = None,
                       ) -> Page[CancellationPublic]:
    """Cancellations with their reasons, oldest first: a holder reads those of its
    credits; registry operators and auditors all."""
    holder = _own(caller, holder, "cancellations")
    rows = views.cancellations_page(after=page.after(CANCELLATIONS, str, str),
                                    limit=page.limit, batch=batch_id, holder=holder)
    return Page(items=[CancellationPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(CANCELLATIONS, rows))


@router.get("/exports", response_model=Page[ExportPublic], responses=READ, tags=["batches"])
def list_exports(caller: CallerDep, views: ViewsDep, page: PageDep,
                 batch_id: UUID | None = None, holder: UUID | None = None,
                 destination: TextFilter = None) -> Page[ExportPublic]:
    """Exports to other registries, oldest first: a holder reads its own; registry
    operators and auditors all."""
    holder = _own(caller, holder, "exports")
    rows = views.exports_page(after=page.after(EXPORTS, str, str), limit=page.limit,
                              batch=batch_id, holder=holder, destination=destination)
    return Page(items=[ExportPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(EXPORTS, rows))


@router.get("/corrections", response_model=Page[CorrectionPublic], responses=PUBLIC_LIST,
            tags=["batches"])
def list_corrections(views: ViewsDep, page: PageDep, batch_id: UUID | None = None,
                     field: Annotated[str | None, Query(max_length=32, description=(
                         "the corrected field, e.g. region"))] = None,
                     ) -> Page[CorrectionPublic]:
    """Corrections of batches (public): the field, its old and new value and the reason,
    in log order."""
    rows = views.corrections_page(after=page.after(CORRECTIONS, int), limit=page.limit,
                                  batch=batch_id, field=field)
    return Page(items=[CorrectionPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(CORRECTIONS, rows))
