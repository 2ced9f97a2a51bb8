"""Carbon accounts (碳账户): a person's points, earned by behaviours, redeemed or donated."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import Name, Points, RequestModel, ResponseModel, Stamp

__all__ = ["AccountEntryPublic", "CarbonAccountPublic", "CarbonAccountStatement",
           "DonationCreate", "RedemptionCreate"]


class RedemptionCreate(RequestModel):
    points: Points
    reward: Name


class DonationCreate(RequestModel):
    points: Points
    claim_id: UUID


class CarbonAccountPublic(ResponseModel):
    account: UUID = Field(description="the person's pseudonymous account id")
    earned: int
    redeemed: int
    donated: int
    balance: int
    behaviours: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CarbonAccountPublic:
        return cls.model_validate(row)


class AccountEntryPublic(ResponseModel):
    position: int
    kind: Literal["earned", "redeemed", "donated"]
    points: int = Field(description="positive when earned, negative when spent")
    reference: str
    at: Stamp
    behaviour_id: UUID | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AccountEntryPublic:
        return cls(position=row["position"], kind=row["kind"], points=row["points"],
                   reference=row["reference"], at=row["at"], behaviour_id=row["behaviour"])


class CarbonAccountStatement(CarbonAccountPublic):
    """The account with one page of its entries, oldest first."""

    entries: list[AccountEntryPublic]
    next_cursor: str | None
