"""Behaviours (低碳行为), reported in bulk by platforms."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.access import WRITE
from api.deps import CommandDep
from api.problems import problem_of
from api.schemas.behaviours import (
    BehaviourBatchCreate,
    BehaviourBatchPublic,
    BehaviourResultPublic,
)
from ledger.application import BehaviourReport, BehaviourResult

__all__ = ["router"]

router = APIRouter(prefix="/behaviours", tags=["behaviours"])


def _results(results: list[BehaviourResult]) -> BehaviourBatchPublic:
    items = [BehaviourResultPublic(
        index=r.index, accepted=r.accepted, behaviour_id=r.behaviour_id,
        reduction_g=r.reduction_g, error=problem_of(r.error) if r.error else None)
        for r in results]
    accepted = sum(r.accepted for r in results)
    return BehaviourBatchPublic(accepted=accepted, rejected=len(results) - accepted,
                                results=items)


@router.post("", response_model=BehaviourBatchPublic, responses=WRITE)
async def report_behaviours(body: BehaviourBatchCreate, command: CommandDep) -> Response:
    """Report up to 10,000 behaviours (platforms) in one request. Each is accepted or
    rejected on its own: the same physical act reported again, by any platform, is rejected
    as ``duplicate-behaviour`` naming the first record, so re-sending a report is safe.
    With an ``Idempotency-Key``, a retry gets the first response itself (the first
    per-item results) instead of per-item duplicates."""
    reports = [BehaviourReport(
        person=b.person, methodology_code=b.methodology_code,
        methodology_version=b.methodology_version, act_identity=b.act_identity,
        activity_amount=b.activity_amount, occurred_at=b.occurred_at,
        platform_ref=b.platform_ref) for b in body.behaviours]
    return await command.run(
        "report_behaviours",
        lambda actor: command.ledger.report_behaviours(platform=actor, reports=reports),
        _results)
