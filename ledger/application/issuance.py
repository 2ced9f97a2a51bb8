"""Issuance: requests (behaviours, monitoring reports), attestation, issue, import."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from anchoring.merkle import leaf_hash, root_from_leaf_hashes
from ledger.application.core import LedgerCore
from ledger.domain import ids
from ledger.domain.credit_batch import CreditBatch
from ledger.domain.errors import (
    DuplicateRecordError,
    LedgerError,
    ValidationError,
)
from ledger.domain.issuance import IssuanceRequest, IssuanceSchedule
from ledger.domain.limits import MAX_BLOCK_LABEL, MAX_REGISTRY_NAME, bounded_text
from ledger.domain.participant import Role
from ledger.domain.registry import ExternalRegistry, Registry, validate_prefix
from ledger.domain.text import check_text
from ledger.domain.timeutil import parse_time
from ledger.domain.unique_keys import KeyKind
from ledger.domain.vintage import vintage_of


class IssuanceCommands(LedgerCore):
    """Issuance requests, their attestation and rejection, issue and import of batches."""

    def request_issuance(self, *, platform: UUID, methodology_id: UUID,
                         period_start: str | datetime, period_end: str | datetime) -> UUID:
        """Request issuance of the platform's unissued behaviours of one methodology and
        period; returns the request id."""
        self._actor(platform, Role.REPORTER)
        self.methodology(methodology_id)
        if self.queries is None:
            raise LedgerError("this ledger has no behaviour index to select behaviours")
        start = parse_time(period_start, "period_start")
        end = parse_time(period_end, "period_end")
        if end <= start:
            raise ValidationError("period_end must be after period_start", field="period_end")
        schedule_id = ids.issuance_schedule_id(platform, methodology_id)
        request_id = uuid4()

        def command() -> UUID:
            schedule = (self.repository.get(schedule_id) if self._exists(schedule_id)
                        else IssuanceSchedule.open(schedule_id, platform, methodology_id))
            schedule.claim(request_id=request_id, period_start=start, period_end=end,
                           actor=platform)
            selection = self.queries.unissued_behaviours(platform, methodology_id, start, end)
            root = root_from_leaf_hashes([leaf_hash(leaf) for leaf in selection.leaves]).hex()
            request = IssuanceRequest.for_behaviours(
                request_id, platform=platform, methodology=methodology_id, period_start=start,
                period_end=end, cutoff_position=selection.cutoff_position,
                behaviour_count=len(selection.leaves), quantity=selection.total_g,
                behaviours_root=root, actor=platform,
            )
            self.save(schedule, request)
            return request_id

        return self._retrying(command)

    def request_project_issuance(self, *, platform: UUID, methodology_id: UUID,
                                 period_start: str | datetime, period_end: str | datetime,
                                 quantity: int, project: str, report_reference: str,
                                 report_sha256: str) -> UUID:
        """Request issuance of project credits (solar, forestry, biogas) from a monitoring
        report, identified by its reference and SHA-256.

        The request id derives from the report's SHA-256, so one report is requested once;
        and monitoring periods of one project under one methodology never overlap."""
        self._actor(platform, Role.REPORTER)
        self.methodology(methodology_id)
        start = parse_time(period_start, "period_start")
        end = parse_time(period_end, "period_end")
        request = IssuanceRequest.for_monitoring_report(
            ids.monitoring_report_request_id(report_sha256), platform=platform,
            methodology=methodology_id, period_start=start, period_end=end, quantity=quantity,
            project=project, report_reference=report_reference, report_sha256=report_sha256,
            actor=platform,
        )
        if self._exists(request.id):
            raise DuplicateRecordError(
                f"monitoring report {report_sha256[:12]}... was already requested for issuance",
                request=str(request.id))
        schedule_id = ids.project_schedule_id(platform, methodology_id, request.evidence["project"])

        def command() -> UUID:
            schedule = (self.repository.get(schedule_id) if self._exists(schedule_id)
                        else IssuanceSchedule.open(schedule_id, platform, methodology_id))
            schedule.claim(request_id=request.id, period_start=start, period_end=end,
                           actor=platform)
            try:
                self.save(schedule, request)
            except IntegrityError:
                if self._exists(request.id):
                    raise DuplicateRecordError(
                        "monitoring report was already requested for issuance",
                        request=str(request.id)) from None
                raise
            return request.id

        return self._retrying(command)

    def attest_request(self, *, actor: UUID, request_id: UUID, statement: str) -> None:
        self._actor(actor, Role.VERIFIER)

        def command() -> None:
            request = self.request(request_id)
            request.attest(statement=statement, actor=actor)
            self.save(request)

        self._retrying(command)

    def reject_request(self, *, actor: UUID, request_id: UUID, reason: str) -> None:
        self._actor(actor, Role.VERIFIER)

        def command() -> None:
            request = self.request(request_id)
            request.reject(reason=reason, actor=actor)
            self.save(request)

        self._retrying(command)

    def issue_batch(self, *, actor: UUID, request_id: UUID, registry: str,
                    vintage: int | None = None, project_type: str | None = None) -> UUID:
        """Issue an attested request as a credit batch to the requesting platform."""
        self._actor(actor, Role.ISSUER)
        prefix = validate_prefix(registry)
        batch_id = uuid4()

        def command() -> UUID:
            request = self.request(request_id)
            methodology = self.methodology(UUID(request.methodology))
            registry_agg = self._registry(prefix)
            year = vintage if vintage is not None else vintage_of(
                request.period_start, prefix, self.vintage_time_zones)
            request.mark_issued(batch_id=batch_id, actor=actor)
            block = registry_agg.assign_block(batch_id=batch_id, vintage=year, actor=actor)
            source = {"kind": request.source, "request": str(request_id),
                      "period_start": request.period_start.isoformat(),
                      "period_end": request.period_end.isoformat(), **request.evidence}
            batch = CreditBatch.issue(
                batch_id, block=block, registry=prefix, vintage=year,
                methodology=methodology.id, methodology_label=methodology.label,
                region=methodology.region,
                project_type=project_type or (
                    "behaviour" if request.source == "behaviours" else "project"),
                quantity=request.quantity, holder=UUID(request.platform), source=source,
                behaviours_root=request.behaviours_root, actor=actor,
            )
            self.save(request, registry_agg, batch, *self._split(batch).values())
            return batch_id

        return self._retrying(command)

    def _registry(self, prefix: str) -> Registry:
        registry_id = ids.registry_id(prefix)
        if self._exists(registry_id):
            return self.repository.get(registry_id)
        return Registry.open(registry_id, prefix)

    def import_batch(self, *, actor: UUID, external_registry: str, external_block: str,
                     serial_start: int, serial_end: int, holder: UUID, methodology_id: UUID,
                     vintage: int, region: str, project_type: str = "imported") -> UUID:
        """Recognise credits of another registry: keyed by the external registry and serial
        range; any overlap with an earlier import is rejected."""
        self._actor(actor, Role.ISSUER)
        self._holder(holder, "holder")
        methodology = self.methodology(methodology_id)
        registry_name = bounded_text(check_text(external_registry, "external_registry"),
                                     "external registry name", MAX_REGISTRY_NAME,
                                     field="external_registry").upper()
        block = bounded_text(check_text(external_block, "external_block"), "external block",
                             MAX_BLOCK_LABEL, field="external_block").upper()
        registry_id = ids.external_registry_id(registry_name)
        batch_id = uuid4()

        def command() -> UUID:
            external = (self.repository.get(registry_id) if self._exists(registry_id)
                        else ExternalRegistry.recognise(registry_id, registry_name))
            label = external.label_for(block)  # checked before anything is recorded
            claimed = self._claim_key(KeyKind.BLOCK, label, batch_id, (
                f"block label {label!r} already names a batch"))
            external.record_import(block=block, start=serial_start,
                                   end=serial_end, batch_id=batch_id, actor=actor)
            batch = CreditBatch.issue(
                batch_id, block=label,
                registry=external.name, vintage=vintage, methodology=methodology.id,
                methodology_label=methodology.label, region=region, project_type=project_type,
                quantity=serial_end - serial_start, serial_start=serial_start, holder=holder,
                source={"kind": "import", "external_registry": external.name,
                        "external_block": block},
                behaviours_root=None, actor=actor, imported=True,
            )
            self.save(external, batch, *self._split(batch).values(), claimed)
            return batch_id

        return self._retrying(command)

