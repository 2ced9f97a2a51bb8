"""Imports (跨区域互认): credits of another registry recognised here, by registry
operators."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.access import WRITE
from api.deps import CommandDep
from api.routers.batches import batch_public
from api.schemas.batches import BatchPublic, ImportCreate

__all__ = ["router"]

router = APIRouter(prefix="/imports", tags=["batches"])


@router.post("", status_code=201, response_model=BatchPublic, responses=WRITE)
async def import_batch(body: ImportCreate, command: CommandDep) -> Response:
    """Import an external serial range as a batch; a range overlapping an earlier import of
    the same external block is refused (``overlapping-import``)."""
    return await command.run(
        "import_batch",
        lambda actor: command.ledger.import_batch(
            actor=actor, external_registry=body.external_registry,
            external_block=body.external_block, serial_start=body.serial_start,
            serial_end=body.serial_end, holder=body.holder,
            methodology_id=body.methodology_id, vintage=body.vintage, region=body.region,
            project_type=body.project_type),
        lambda batch_id: batch_public(command.runtime.views, batch_id),
        status_code=201)
