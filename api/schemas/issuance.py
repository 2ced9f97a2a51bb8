"""Issuance requests (归集 -> 核证 -> 签发): request, attest or reject, issue."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from api.schemas.common import (
    LINE,
    GramsIn,
    Hex64,
    Instant,
    Name,
    Reason,
    Reference,
    RequestModel,
    ResponseModel,
    Stamp,
    Vintage,
)

__all__ = [
    "AttestationCreate",
    "IssuanceCreate",
    "IssuanceRequestCreate",
    "IssuanceRequestPublic",
    "ProjectIssuanceRequestCreate",
    "RegistryPrefix",
    "RejectionCreate",
]

RegistryPrefix = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,11}$")]
ProjectType = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=LINE)]


class IssuanceRequestCreate(RequestModel):
    """Issue the platform's unissued behaviours of one methodology in a period."""

    methodology_id: UUID
    period_start: Instant
    period_end: Instant


class ProjectIssuanceRequestCreate(RequestModel):
    """Issue project credits (solar, forestry, biogas) from a monitoring report."""

    methodology_id: UUID
    period_start: Instant
    period_end: Instant
    quantity_g: GramsIn
    project: Name
    report_reference: Reference
    report_sha256: Hex64


class AttestationCreate(RequestModel):
    statement: Reason


class RejectionCreate(RequestModel):
    reason: Reason


class IssuanceCreate(RequestModel):
    registry: RegistryPrefix = Field(description="registry prefix, e.g. HBCER, PHCER, CDCER")
    vintage: Vintage | None = Field(default=None, description="default: the period's year")
    project_type: ProjectType | None = None


class IssuanceRequestPublic(ResponseModel):
    id: UUID
    platform: UUID
    methodology_id: UUID
    source: Literal["behaviours", "monitoring_report"]
    period_start: Stamp
    period_end: Stamp
    quantity_g: int
    status: Literal["requested", "attested", "rejected", "issued"]
    evidence: dict[str, Any]
    verifier: UUID | None
    batch_id: UUID | None
    requested_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> IssuanceRequestPublic:
        return cls(**{**row, "methodology_id": row["methodology"],
                      "source": row["request_source"], "quantity_g": row["quantity"],
                      "batch_id": row["batch"]})
