"""Neutrality claims: a footprint neutralised by retirements."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from api.schemas.common import LINE, GramsIn, Name, RequestModel, ResponseModel, Stamp

__all__ = ["ClaimCreate", "ClaimPublic"]


class ClaimCreate(RequestModel):
    event_name: Name
    footprint_g: GramsIn
    scope: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE)] = Field(
        default="event", description="event, operational, product ...")


class ClaimPublic(ResponseModel):
    id: UUID
    organiser: UUID
    event_name: str
    scope: str
    footprint_g: int
    retired_g: int
    outstanding_g: int
    donated_points: int = Field(description="personal points donated (do not count as retired)")
    retirements: int
    met: bool = Field(description="retired_g >= footprint_g")
    registered_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClaimPublic:
        return cls(**row, outstanding_g=max(0, int(row["footprint_g"]) - int(row["retired_g"])))
