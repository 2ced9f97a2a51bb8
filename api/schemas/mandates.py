"""Mandates: a holder's standing consent for an exchange or a bank to act on its credits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import GramsIn, Instant, RequestModel, ResponseModel, Stamp
from ledger.domain.mandates import mandate_status, remaining_g

__all__ = ["MandateCreate", "MandatePublic"]

Scope = Literal["listing", "pledge"]


class MandateCreate(RequestModel):
    """Let ``agent`` act on the caller's credits: ``listing`` (an exchange escrows them for
    its listings) or ``pledge`` (a bank registers pledges of them to itself)."""

    agent: UUID = Field(description="the exchange (listing) or bank (pledge) trusted")
    scope: Scope
    expires_at: Instant | None = Field(
        default=None, description="the mandate cannot be used from this time on")
    max_quantity_g: GramsIn | None = Field(
        default=None, description="the most the agent may list or pledge under this "
        "mandate, in total (listings cancelled later still count)")


class MandatePublic(ResponseModel):
    id: UUID
    holder: UUID = Field(description="the grantor, whose credits the agent may act on")
    agent: UUID
    scope: Scope
    expires_at: Stamp | None
    max_quantity_g: int | None
    used_g: int = Field(description="listed or pledged under this mandate so far")
    remaining_g: int | None = Field(description="null without a maximum")
    status: Literal["active", "exhausted", "expired", "revoked"] = Field(
        description="as of the response: only an active mandate can be used")
    granted_at: Stamp
    revoked_at: Stamp | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MandatePublic:
        record = {"revoked": row["revoked"], "expires_at": row["expires_at"],
                  "max_quantity_g": row["max_quantity"], "used_g": row["used"]}
        return cls(id=row["id"], holder=row["holder"], agent=row["agent"], scope=row["scope"],
                   expires_at=row["expires_at"], max_quantity_g=row["max_quantity"],
                   used_g=row["used"], remaining_g=remaining_g(record),
                   status=mandate_status(record, datetime.now(UTC)).value,
                   granted_at=row["granted_at"], revoked_at=row["revoked_at"])
