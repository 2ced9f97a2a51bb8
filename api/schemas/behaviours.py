"""Behaviours (低碳行为) reported in bulk by platforms."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from api.problems import Problem
from api.schemas.common import DecimalText, Instant, Name, Reference, RequestModel, ResponseModel
from api.schemas.methodologies import MethodologyCode

__all__ = ["MAX_BEHAVIOURS", "BehaviourBatchCreate", "BehaviourBatchPublic", "BehaviourCreate",
           "BehaviourResultPublic"]

MAX_BEHAVIOURS = 10_000


class BehaviourCreate(RequestModel):
    person: Name = Field(description="the person's pseudonymous id, shared across platforms")
    methodology_code: MethodologyCode
    methodology_version: Name
    act_identity: Reference = Field(description=(
        "identity of the physical act, independent of the platform, e.g. "
        "charger:WH-CHG-01244|start:2024-10-27T03:39:35Z; compared in a normal form (case, "
        "width, blanks, and date-times with an offset as UTC instants), so another spelling "
        "of the same act is a duplicate"))
    activity_amount: DecimalText = Field(description="exact decimal in the methodology's unit")
    occurred_at: Instant
    platform_ref: Reference = Field(description="the platform's own record id")


class BehaviourBatchCreate(RequestModel):
    behaviours: list[BehaviourCreate] = Field(min_length=1, max_length=MAX_BEHAVIOURS)


class BehaviourResultPublic(ResponseModel):
    index: int
    accepted: bool
    behaviour_id: UUID | None
    reduction_g: int = Field(description="grams credited; 0 when rejected")
    error: Problem | None = Field(description=(
        "why the item was rejected; a duplicate names the first record in details"))


class BehaviourBatchPublic(ResponseModel):
    accepted: int
    rejected: int
    results: list[BehaviourResultPublic]
