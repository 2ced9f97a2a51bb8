"""Transfers and exports of a holder's credits."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from api.schemas.common import GramsIn, Name, RequestModel, ResponseModel, SerialRange, Stamp
from ledger.domain.destinations import EXPORT_DESTINATIONS

__all__ = ["ExportCreate", "ExportPublic", "TransferCreate", "TransferPublic"]


class TransferCreate(RequestModel):
    batch_id: UUID
    recipient: UUID
    quantity_g: GramsIn


class TransferPublic(ResponseModel):
    batch_id: UUID
    sender: UUID
    recipient: UUID
    quantity_g: int
    serials: list[SerialRange]


class ExportCreate(RequestModel):
    """Move credits out to another registry, for good."""

    batch_id: UUID
    quantity_g: GramsIn
    destination: Name = Field(description=(
        "the code of a recognised registry: " + ", ".join(sorted(EXPORT_DESTINATIONS))
        + " (any case); others are refused (422)"))


class ExportPublic(ResponseModel):
    id: UUID
    batch_id: UUID
    holder: UUID
    destination: str
    quantity_g: int
    exported_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExportPublic:
        return cls(id=row["id"], batch_id=row["batch"], holder=row["holder"],
                   destination=row["destination"], quantity_g=row["quantity"],
                   exported_at=row["exported_at"])
