"""A holder's moves of its own credits: transfers and exports."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.access import WRITE
from api.deps import CommandDep
from api.schemas.common import ranges_of
from api.schemas.holdings import ExportCreate, ExportPublic, TransferCreate, TransferPublic
from ledger.domain.errors import RecordNotFoundError

__all__ = ["router"]

router = APIRouter(tags=["holdings"])


@router.post("/transfers", status_code=201, response_model=TransferPublic, responses=WRITE)
async def transfer(body: TransferCreate, command: CommandDep) -> Response:
    """Transfer available credits to another holder; the lowest serials move first."""
    return await command.run(
        "transfer",
        lambda actor: command.ledger.transfer(actor=actor, batch_id=body.batch_id,
                                              recipient=body.recipient,
                                              quantity=body.quantity_g),
        lambda ranges: TransferPublic(batch_id=body.batch_id, sender=command.caller.id,
                                      recipient=body.recipient, quantity_g=body.quantity_g,
                                      serials=ranges_of(ranges)),
        status_code=201)


@router.post("/exports", status_code=201, response_model=ExportPublic, responses=WRITE)
async def export(body: ExportCreate, command: CommandDep) -> Response:
    """Export credits to another registry, for good."""
    def shape(export_id: UUID) -> ExportPublic:
        row = command.runtime.views.export_record(export_id)
        if row is None:
            raise RecordNotFoundError(f"unknown export {export_id}")
        return ExportPublic.from_row(row)

    return await command.run(
        "export",
        lambda actor: command.ledger.export(actor=actor, batch_id=body.batch_id,
                                            quantity=body.quantity_g,
                                            destination=body.destination),
        shape, status_code=201)
