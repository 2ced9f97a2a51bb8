"""Aggregation, verification and issuance (归集 → 核证 → 签发).

A platform requests issuance of its unissued behaviours for one methodology and period.
Periods claimed by a platform for a methodology never overlap (:class:`IssuanceSchedule`),
and the request fixes its behaviour set exactly: every behaviour of that platform,
methodology and period recorded at or before ``cutoff_position`` in the event log. So each
behaviour is in at most one request, and a request is issued as at most one batch.
Project credits are requested from a monitoring report instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import InvalidStateError, PeriodClosedError, ValidationError
from ledger.domain.quantities import require_grams
from ledger.domain.text import MAX_PROSE, check_text

__all__ = ["IssuanceRequest", "IssuanceSchedule", "RequestStatus"]


class RequestStatus:
    REQUESTED = "requested"
    ATTESTED = "attested"
    REJECTED = "rejected"
    ISSUED = "issued"


class IssuanceSchedule(Aggregate):
    """The periods a platform has claimed for issuance under one methodology."""

    @event("Opened")
    def __init__(self, platform: str, methodology: str) -> None:
        self.platform = platform
        self.methodology = methodology
        self.periods: list[list[str]] = []  # [start iso, end iso, request id]

    @classmethod
    def open(cls, schedule_id: UUID, platform: UUID, methodology: UUID) -> IssuanceSchedule:
        return cls._create(cls.Opened, id=schedule_id, platform=str(platform),
                           methodology=str(methodology))

    def claimed_by(self, when: datetime) -> str | None:
        """The request whose period contains ``when``, if any."""
        for start, end, request in self.periods:
            if datetime.fromisoformat(start) <= when < datetime.fromisoformat(end):
                return request
        return None

    def claim(self, *, request_id: UUID, period_start: datetime, period_end: datetime,
              actor: UUID) -> None:
        if period_end <= period_start:
            raise ValidationError("period_end must be after period_start", field="period_end")
        for other_start, other_end, other in self.periods:
            if (period_start < datetime.fromisoformat(other_end)
                    and datetime.fromisoformat(other_start) < period_end):
                raise PeriodClosedError(
                    f"period overlaps {other_start} to {other_end}, claimed by request {other}",
                    request=other,
                )
        self._period_claimed(request_id=str(request_id), period_start=period_start.isoformat(),
                             period_end=period_end.isoformat(), actor=str(actor))

    @event("PeriodClaimed")
    def _period_claimed(self, request_id: str, period_start: str, period_end: str,
                        actor: str) -> None:
        self.periods.append([period_start, period_end, request_id])
        self.periods.sort()


class IssuanceRequest(Aggregate):
    """A request for issuance, attested by a verifier, issued by a registry operator."""

    @event("Requested")
    def __init__(
        self,
        platform: str,
        methodology: str,
        source: str,
        period_start: datetime,
        period_end: datetime,
        quantity: int,
        evidence: dict[str, Any],
        actor: str,
    ) -> None:
        self.platform = platform
        self.methodology = methodology
        self.source = source
        self.period_start = period_start
        self.period_end = period_end
        self.quantity = quantity
        self.evidence = evidence
        self.status = RequestStatus.REQUESTED
        self.verifier: str | None = None
        self.batch: str | None = None

    @classmethod
    def for_behaviours(cls, request_id: UUID, *, platform: UUID, methodology: UUID,
                       period_start: datetime, period_end: datetime, cutoff_position: int,
                       behaviour_count: int, quantity: int, behaviours_root: str,
                       actor: UUID) -> IssuanceRequest:
        if behaviour_count <= 0:
            raise ValidationError("no unissued behaviours in that period", field="period")
        require_grams(quantity)
        return cls._create(
            cls.Requested, id=request_id, platform=str(platform), methodology=str(methodology),
            source="behaviours", period_start=period_start, period_end=period_end,
            quantity=quantity,
            evidence={"cutoff_position": cutoff_position, "behaviour_count": behaviour_count,
                      "behaviours_root": behaviours_root},
            actor=str(actor),
        )

    @classmethod
    def for_monitoring_report(cls, request_id: UUID, *, platform: UUID, methodology: UUID,
                              period_start: datetime, period_end: datetime, quantity: int,
                              project: str, report_reference: str, report_sha256: str,
                              actor: UUID) -> IssuanceRequest:
        require_grams(quantity)
        if period_end <= period_start:
            raise ValidationError("period_end must be after period_start", field="period_end")
        project = check_text(project, "project")
        report_reference = check_text(report_reference, "report_reference")
        if len(report_sha256) != 64 or any(c not in "0123456789abcdef" for c in report_sha256):
            raise ValidationError("report_sha256 must be 64 lower-case hex digits",
                                  field="report_sha256")
        return cls._create(
            cls.Requested, id=request_id, platform=str(platform), methodology=str(methodology),
            source="monitoring_report", period_start=period_start, period_end=period_end,
            quantity=quantity,
            evidence={"project": project, "report_reference": report_reference,
                      "report_sha256": report_sha256},
            actor=str(actor),
        )

    @property
    def behaviours_root(self) -> str | None:
        return self.evidence.get("behaviours_root")

    def attest(self, *, statement: str, actor: UUID) -> None:
        """A verifier attests the request (核证)."""
        self._require_status(RequestStatus.REQUESTED, "attested")
        if str(actor) == self.platform:
            raise InvalidStateError("a platform cannot verify its own request")
        statement = check_text(statement, "statement", max_length=MAX_PROSE, prose=True)
        self._attested(statement=statement, actor=str(actor))

    def reject(self, *, reason: str, actor: UUID) -> None:
        self._require_status(RequestStatus.REQUESTED, "rejected")
        reason = check_text(reason, "reason", max_length=MAX_PROSE, prose=True)
        self._rejected(reason=reason, actor=str(actor))

    def mark_issued(self, *, batch_id: UUID, actor: UUID) -> None:
        self._require_status(RequestStatus.ATTESTED, "issued")
        self._batch_issued(batch=str(batch_id), actor=str(actor))

    def _require_status(self, status: str, action: str) -> None:
        if self.status != status:
            raise InvalidStateError(
                f"request is {self.status}; it can be {action} only when {status}",
                status=self.status,
            )

    @event("Attested")
    def _attested(self, statement: str, actor: str) -> None:
        self.status = RequestStatus.ATTESTED
        self.verifier = actor

    @event("Rejected")
    def _rejected(self, reason: str, actor: str) -> None:
        self.status = RequestStatus.REJECTED

    @event("BatchIssued")
    def _batch_issued(self, batch: str, actor: str) -> None:
        self.status = RequestStatus.ISSUED
        self.batch = batch
