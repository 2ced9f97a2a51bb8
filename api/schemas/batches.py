"""Credit batches, their supply and serials; cancellations, corrections and imports."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from api.schemas.common import (
    LINE,
    MAX_GRAMS,
    GramsIn,
    Name,
    Reason,
    Reference,
    RequestModel,
    ResponseModel,
    Serial,
    SerialRange,
    Stamp,
    Vintage,
)
from api.schemas.participants import HolderPublic
from api.schemas.retirements import RetirementPublic
from ledger.domain.credit_batch import LotState

__all__ = [
    "STATES",
    "BalancePublic",
    "BatchPublic",
    "CancellationCreate",
    "CancellationPublic",
    "CorrectionCreate",
    "ImportCreate",
    "RegistrySupply",
    "SerialPublic",
    "SupplyPublic",
    "SupplyTotalsPublic",
    "TextCorrection",
    "VintageCorrection",
]

STATES = tuple(state.value for state in LotState)


class SupplyPublic(ResponseModel):
    """batch-supply: issued = available + escrowed + pledged + retired + tokenised +
    exported + cancelled."""

    issued_g: int
    available_g: int
    escrowed_g: int
    pledged_g: int
    retired_g: int
    tokenised_g: int
    exported_g: int
    cancelled_g: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SupplyPublic:
        return cls(issued_g=int(row["issued"]),
                   **{f"{state}_g": int(row[state]) for state in STATES})


class BatchPublic(ResponseModel):
    id: UUID
    block: str = Field(description="registry prefix, vintage and number: HBCER-2024-000001")
    registry: str
    vintage: int
    methodology_id: UUID
    methodology_label: str
    region: str
    project_type: str
    quantity_g: int
    serial_start: int
    serial_end: int = Field(description="exclusive")
    behaviours_root: str | None = Field(
        description="RFC 9162 Merkle root of the batch's behaviours")
    source: dict[str, Any]
    origin: Literal["issued", "imported"]
    issued_at: Stamp
    supply: SupplyPublic

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BatchPublic:
        return cls(
            id=row["id"], block=row["block"], registry=row["registry"], vintage=row["vintage"],
            methodology_id=row["methodology"], methodology_label=row["methodology_label"],
            region=row["region"], project_type=row["project_type"],
            quantity_g=row["quantity"], serial_start=row["serial_start"],
            serial_end=int(row["serial_start"]) + int(row["quantity"]),
            behaviours_root=row["behaviours_root"], source=row["source"],
            origin=row["origin"], issued_at=row["issued_at"], supply=SupplyPublic.from_row(row))


class RegistrySupply(ResponseModel):
    registry: str
    batches: int
    supply: SupplyPublic


class SupplyTotalsPublic(ResponseModel):
    batches: int
    supply: SupplyPublic
    by_registry: list[RegistrySupply]


class SerialPublic(ResponseModel):
    """Who holds a serial, in which state; for a retired serial, the retirement."""

    block: str
    batch_id: UUID
    serial: int
    state: LotState
    range: SerialRange = Field(description="the run of serials in the same lot")
    holder: HolderPublic
    reference: str = Field(description="the lot: holder, listing, pledge, retirement ... id")
    retirement: RetirementPublic | None


class BalancePublic(ResponseModel):
    batch_id: UUID
    block: str
    available_g: int
    escrowed_g: int
    pledged_g: int
    retired_g: int
    tokenised_g: int
    exported_g: int
    cancelled_g: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BalancePublic:
        return cls(batch_id=row["batch"], block=row["block"],
                   **{f"{state}_g": int(row[state]) for state in STATES})


class CancellationCreate(RequestModel):
    holder: UUID
    quantity_g: GramsIn
    reason: Reason


class CancellationPublic(ResponseModel):
    id: UUID
    batch_id: UUID
    holder: UUID
    quantity_g: int
    reason: str
    cancelled_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CancellationPublic:
        return cls(id=row["id"], batch_id=row["batch"], holder=row["holder"],
                   quantity_g=row["quantity"], reason=row["reason"],
                   cancelled_at=row["cancelled_at"])


class VintageCorrection(RequestModel):
    field: Literal["vintage"]
    value: Vintage
    reason: Reason


class TextCorrection(RequestModel):
    field: Literal["region", "project_name"]
    value: Name
    reason: Reason


CorrectionCreate = Annotated[VintageCorrection | TextCorrection, Field(discriminator="field")]

ExternalRegistryName = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                                        pattern=LINE)]


class ImportCreate(RequestModel):
    """Recognise credits of another registry (跨区域互认): external serials
    ``[serial_start, serial_end)``; overlapping an earlier import is refused."""

    external_registry: ExternalRegistryName
    external_block: Reference
    serial_start: Serial
    serial_end: Serial
    holder: UUID
    methodology_id: UUID
    vintage: Vintage
    region: Name
    project_type: Annotated[str, StringConstraints(min_length=1, max_length=32,
                                                   pattern=LINE)] = "imported"

    @model_validator(mode="after")
    def _quantity_in_range(self) -> Self:
        if not 0 < self.serial_end - self.serial_start <= MAX_GRAMS:
            raise ValueError(f"serial_end must exceed serial_start by 1 to {MAX_GRAMS}")
        return self
