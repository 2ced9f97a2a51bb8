"""Retirements (注销): permanent, for a beneficiary and a purpose with its details."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import (
    Grams,
    GramsIn,
    Name,
    Reason,
    RequestModel,
    ResponseModel,
    SerialRange,
    Stamp,
    ranges_of,
)
from api.schemas.participants import HolderPublic
from ledger.domain.retirement import RetirementPurpose

__all__ = [
    "ComplianceOffset",
    "Donation",
    "EcoCompensation",
    "EventNeutrality",
    "OperationalNeutrality",
    "ProductNeutrality",
    "Purpose",
    "RetirementCreate",
    "RetirementPublic",
    "RetirementTerms",
    "Voluntary",
]


class _Purpose(RequestModel):
    note: Reason | None = None
    claim_id: UUID | None = Field(default=None, description=(
        "neutrality claim the retirement counts toward (direct retirements only)"))
    footprint_g: Grams | None = None


class ComplianceOffset(_Purpose):
    """配额抵消: offset of an emitter's allowance gap."""

    kind: Literal["compliance_offset"]
    compliance_period: Name


class EventNeutrality(_Purpose):
    """大型活动碳中和."""

    kind: Literal["event_neutrality"]
    event: Name


class OperationalNeutrality(_Purpose):
    """企业运营碳中和 of a company, branch or building."""

    kind: Literal["operational_neutrality"]
    subject: Name


class ProductNeutrality(_Purpose):
    """产品碳中和."""

    kind: Literal["product_neutrality"]
    product: Name


class EcoCompensation(_Purpose):
    """以碳代偿: ordered by a court or regulator instead of restoration."""

    kind: Literal["eco_compensation"]
    case_reference: Name


class Donation(_Purpose):
    """碳捐赠 to an event or organisation."""

    kind: Literal["donation"]
    recipient: Name


class Voluntary(_Purpose):
    kind: Literal["voluntary"]


Purpose = Annotated[
    ComplianceOffset | EventNeutrality | OperationalNeutrality | ProductNeutrality
    | EcoCompensation | Donation | Voluntary,
    Field(discriminator="kind"),
]


class RetirementTerms(RequestModel):
    """For whom and what credits are retired. Retirement is permanent."""

    beneficiary: Name
    jurisdiction: Name
    consumption_period: Name
    purpose: Purpose

    def ledger_terms(self) -> dict[str, Any]:
        """The retirement description as the ledger takes it."""
        details = self.purpose.model_dump(mode="json", exclude={"kind"}, exclude_none=True)
        return {"beneficiary": self.beneficiary, "purpose": self.purpose.kind,
                "jurisdiction": self.jurisdiction,
                "consumption_period": self.consumption_period, "details": details}


class RetirementCreate(RetirementTerms):
    batch_id: UUID
    quantity_g: GramsIn


class RetirementPublic(ResponseModel):
    """An entry of the public retirement register."""

    id: UUID
    batch_id: UUID
    block: str
    registry: str
    vintage: int
    holder: HolderPublic = Field(description="who retired the credits")
    quantity_g: int
    serials: list[SerialRange]
    beneficiary: str
    purpose: RetirementPurpose
    jurisdiction: str
    consumption_period: str
    details: dict[str, Any]
    trade_ref: str | None = Field(description="the exchange trade, for retire-on-delivery")
    retired_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RetirementPublic:
        return cls(
            id=row["id"], batch_id=row["batch"], block=row["block"], registry=row["registry"],
            vintage=row["vintage"],
            holder=HolderPublic.of(row["holder"], row["holder_kind"], row["holder_name"]),
            quantity_g=row["quantity"], serials=ranges_of(row["ranges"]),
            beneficiary=row["beneficiary"], purpose=row["purpose"],
            jurisdiction=row["jurisdiction"], consumption_period=row["consumption_period"],
            details=row["details"], trade_ref=row["trade_ref"], retired_at=row["retired_at"])
