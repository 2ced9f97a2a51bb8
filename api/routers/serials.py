"""Serial lookup (public): who holds serial X of batch B, or who retired it, for what."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.access import PUBLIC_ITEM
from api.deps import ViewsDep
from api.schemas.batches import SerialPublic
from api.schemas.common import MAX_SERIAL, SerialRange
from api.schemas.participants import HolderPublic
from api.schemas.retirements import RetirementPublic
from ledger.domain.errors import RecordNotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/serials", tags=["batches"])


@router.get("/{block}/{serial}", response_model=SerialPublic, responses=PUBLIC_ITEM)
def lookup_serial(
    block: Annotated[str, Path(min_length=1, max_length=128,
                               description="batch block, e.g. HBCER-2024-000001")],
    serial: Annotated[int, Path(ge=0, le=MAX_SERIAL)],
    views: ViewsDep,
) -> SerialPublic:
    """Who holds a serial and in which state; a retired serial names its retirement
    (beneficiary, purpose, by whom)."""
    found = views.who_holds(block, serial)
    if found is None:
        raise RecordNotFoundError(f"serial {serial} of {block} does not exist", block=block,
                                  serial=serial)
    holder = views.participant(found["holder"]) or {}
    retirement = (views.retirement_with_holder(found["ref"])
                  if found["state"] == "retired" else None)
    return SerialPublic(
        block=block, batch_id=found["batch"], serial=serial, state=found["state"],
        range=SerialRange(start=found["start"], end=found["end"]),
        holder=HolderPublic.of(found["holder"], holder.get("kind"), holder.get("name")),
        reference=found["ref"],
        retirement=RetirementPublic.from_row(retirement) if retirement else None)
