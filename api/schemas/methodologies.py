"""Methodologies (方法学): publication and supersession."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from api.schemas.common import LINE, DecimalText, Instant, Name, RequestModel, ResponseModel, Stamp

__all__ = ["MethodologyCode", "MethodologyCreate", "MethodologyPublic", "SupersessionCreate"]

MethodologyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{1,63}$")]
Version = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=LINE)]


class MethodologyCreate(RequestModel):
    code: MethodologyCode
    version: Version
    region: Name
    scene: Name
    activity_unit: Name
    factor_g_per_unit: DecimalText
    valid_from: Instant
    valid_until: Instant | None = None
    max_activity: DecimalText | None = Field(default=None, description=(
        "the most activity one behaviour may report, in activity_unit (default 10000000); "
        "a behaviour above it is rejected (activity-above-maximum)"))


class MethodologyPublic(ResponseModel):
    id: UUID
    code: str
    version: str
    region: str
    scene: str
    activity_unit: str
    factor_g_per_unit: str
    max_activity: str = Field(description="the most activity one behaviour may report")
    valid_from: Stamp
    valid_until: Stamp | None
    superseded_by: UUID | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MethodologyPublic:
        return cls.model_validate(row)


class SupersessionCreate(RequestModel):
    successor_id: UUID
