"""Pledges (质押): credits locked as loan collateral."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import (
    GramsIn,
    Reference,
    RequestModel,
    ResponseModel,
    SerialRange,
    Stamp,
    ranges_of,
)

__all__ = ["PledgeCreate", "PledgePublic"]


class PledgeCreate(RequestModel):
    """Registered by the bank (``bank`` is the caller) or by the pledgor (``holder``)."""

    batch_id: UUID
    holder: UUID = Field(description="the pledgor, whose available credits are locked")
    bank: UUID
    loan_reference: Reference
    quantity_g: GramsIn


class PledgePublic(ResponseModel):
    id: UUID
    batch_id: UUID
    block: str
    holder: UUID
    bank: UUID
    loan_reference: str
    quantity_g: int
    serials: list[SerialRange]
    status: Literal["active", "released", "enforced"]
    locked: bool = Field(description="true while the pledge is active: the credits cannot "
                         "be sold, retired, transferred or pledged again")
    pledged_at: Stamp
    closed_at: Stamp | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PledgePublic:
        return cls(id=row["id"], batch_id=row["batch"], block=row["block"],
                   holder=row["holder"], bank=row["bank"],
                   loan_reference=row["loan_reference"], quantity_g=row["quantity"],
                   serials=ranges_of(row["ranges"]), status=row["status"],
                   locked=row["status"] == "active", pledged_at=row["pledged_at"],
                   closed_at=row["closed_at"])
