"""Exchanges: listings held in escrow, and trades settled in bulk."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from api.problems import Problem
from api.schemas.common import (
    DecimalText,
    GramsIn,
    Reference,
    RequestModel,
    ResponseModel,
    SerialRange,
    Stamp,
    ranges_of,
)
from api.schemas.retirements import RetirementTerms
from ledger.domain.currencies import check_currency
from ledger.domain.errors import ValidationError

__all__ = [
    "MAX_TRADES",
    "ListingCancel",
    "ListingCreate",
    "ListingPublic",
    "TradePublic",
    "TradeResultPublic",
    "TradeSettlementBatchCreate",
    "TradeSettlementBatchPublic",
    "TradeSettlementCreate",
]

MAX_TRADES = 1_000


def _settlement_currency(code: str) -> str:
    try:
        return check_currency(code)
    except ValidationError as error:
        raise ValueError(error.message) from None


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"),
                     AfterValidator(_settlement_currency)]


class ListingCreate(RequestModel):
    """Escrow a seller's credits for a listing of this exchange."""

    batch_id: UUID
    seller: UUID
    listing_ref: Reference = Field(description="the exchange's own listing id")
    quantity_g: GramsIn


class ListingCancel(RequestModel):
    batch_id: UUID


class ListingPublic(ResponseModel):
    id: UUID
    listing_ref: str
    batch_id: UUID
    exchange: UUID
    seller: UUID
    listed_g: int
    sold_g: int
    status: Literal["open", "cancelled"]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ListingPublic:
        return cls(id=row["id"], listing_ref=row["listing_ref"], batch_id=row["batch"],
                   exchange=row["exchange"], seller=row["seller"], listed_g=row["listed"],
                   sold_g=row["sold"], status=row["status"])


class TradeSettlementCreate(RequestModel):
    """One matched trade: delivery of escrowed credits against a recorded price."""

    trade_ref: Reference = Field(description="the exchange's own trade id: settled once")
    listing_ref: Reference
    batch_id: UUID
    seller: UUID
    buyer: UUID
    quantity_g: GramsIn
    price_per_tonne: DecimalText
    currency: Currency = Field(description="ISO 4217, e.g. CNY")
    retire_on_delivery: RetirementTerms | None = Field(
        default=None, description="retire the credits for the buyer on delivery")


class TradeSettlementBatchCreate(RequestModel):
    trades: list[TradeSettlementCreate] = Field(min_length=1, max_length=MAX_TRADES)


class TradeResultPublic(ResponseModel):
    trade_ref: str
    trade_id: UUID
    settled: bool
    replayed: bool = Field(description="settled by an earlier request: nothing delivered now")
    serials: list[SerialRange]
    retirement_id: UUID | None
    error: Problem | None


class TradeSettlementBatchPublic(ResponseModel):
    settled: int
    failed: int
    results: list[TradeResultPublic]


class TradePublic(ResponseModel):
    """The settlement of a trade."""

    id: UUID
    trade_ref: str
    status: Literal["settled"]
    exchange: UUID
    batch_id: UUID
    listing_id: UUID
    seller: UUID
    buyer: UUID
    quantity_g: int
    price_per_tonne: str
    currency: str
    serials: list[SerialRange]
    retirement_id: UUID | None
    settled_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TradePublic:
        return cls(id=row["id"], trade_ref=row["trade_ref"], status="settled",
                   exchange=row["exchange"], batch_id=row["batch"], listing_id=row["listing"],
                   seller=row["seller"], buyer=row["buyer"], quantity_g=row["quantity"],
                   price_per_tonne=row["price_per_tonne"], currency=row["currency"],
                   serials=ranges_of(row["ranges"]), retirement_id=row["retirement_id"],
                   settled_at=row["settled_at"])
