"""Credit batches: the public list with supply per state; cancellations and corrections by
registry operators."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Path, Response

from api.access import PUBLIC_ITEM, PUBLIC_LIST, WRITE
from api.deps import CommandDep, ViewsDep
from api.filters import RegistryFilter, TextFilter, VintageFilter
from api.pagination import Page, PageDep
from api.schemas.batches import (
    BatchPublic,
    CancellationCreate,
    CancellationPublic,
    TextCorrection,
    VintageCorrection,
)
from ledger.domain.errors import BatchNotFoundError, RecordNotFoundError
from ledger.projections.queries import ReadModels

__all__ = ["batch_public", "router"]

router = APIRouter(prefix="/batches", tags=["batches"])
BatchId = Annotated[UUID, Path()]
LIST = "batches"


def batch_public(views: ReadModels, batch_id: UUID) -> BatchPublic:
    row = views.batch_with_supply(batch_id)
    if row is None:
        raise BatchNotFoundError(f"unknown credit batch {batch_id}", id=str(batch_id))
    return BatchPublic.from_row(row)


@router.get("", response_model=Page[BatchPublic], responses=PUBLIC_LIST)
def list_batches(views: ViewsDep, page: PageDep,
                 registry: RegistryFilter = None,
                 vintage: VintageFilter = None, region: TextFilter = None,
                 methodology_id: UUID | None = None, project_type: TextFilter = None,
                 origin: Literal["issued", "imported"] | None = None) -> Page[BatchPublic]:
    """Credit batches in issuance order, with their supply by state."""
    rows = views.batches_page(after=page.after(LIST, int), limit=page.limit,
                              registry=registry, vintage=vintage, region=region,
                              methodology=methodology_id, project_type=project_type,
                              origin=origin)
    return Page(items=[BatchPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{batch_id}", response_model=BatchPublic, responses=PUBLIC_ITEM)
def get_batch(batch_id: BatchId, views: ViewsDep) -> BatchPublic:
    return batch_public(views, batch_id)


@router.post("/{batch_id}/cancellations", status_code=201, response_model=CancellationPublic,
             responses=WRITE)
async def cancel_credits(batch_id: BatchId, body: CancellationCreate,
                   command: CommandDep) -> Response:
    """Cancel a holder's available credits (registry operators): invalid issuance, buffer."""
    def shape(cancellation_id: UUID) -> CancellationPublic:
        row = command.runtime.views.cancellation(cancellation_id)
        if row is None:
            raise RecordNotFoundError(f"unknown cancellation {cancellation_id}")
        return CancellationPublic.from_row(row)

    return await command.run(
        "cancel",
        lambda actor: command.ledger.cancel(actor=actor, batch_id=batch_id, holder=body.holder,
                                            quantity=body.quantity_g, reason=body.reason),
        shape, status_code=201)


@router.post("/{batch_id}/corrections", response_model=BatchPublic, responses=WRITE)
async def correct_batch(
    batch_id: BatchId,
    body: Annotated[VintageCorrection | TextCorrection, Body(discriminator="field")],
    command: CommandDep,
) -> Response:
    """Correct a descriptive field (region, vintage, project name) of a batch (registry
    operators); the original stays in the history."""
    return await command.run(
        "correct_batch",
        lambda actor: command.ledger.correct_batch(actor=actor, batch_id=batch_id,
                                                   field=body.field, value=body.value,
                                                   reason=body.reason),
        lambda _: batch_public(command.runtime.views, batch_id))
