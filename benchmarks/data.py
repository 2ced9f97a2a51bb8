"""Realistic generated load: many people, several platforms and methodologies, and a few
percent of duplicate reports (the same charging session seen by two apps)."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger.application import BehaviourReport, Ledger
from ledger.domain.ids import methodology_id

__all__ = ["Cast", "behaviour_batches", "make_cast", "project_batch"]

METHODOLOGIES = [
    ("WH-EV-CHARGING-V1", "ev-charging", "kWh", "600", (50, 900)),
    ("WH-METRO-V1", "metro", "passenger-km", "71.2", (20, 300)),
    ("CD-BIKE-V1", "shared-bike", "km", "45.5", (10, 150)),
]
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Cast:
    operator: UUID
    platforms: list[UUID]
    verifier: UUID
    exchange: UUID
    buyers: list[UUID]


def make_cast(ledger: Ledger, platforms: int = 4) -> Cast:
    op = ledger.register_participant(kind="registry_operator", name="Bench registry")
    for code, scene, unit, factor, _ in METHODOLOGIES:
        ledger.publish_methodology(actor=op, code=code, version="1", region="Bench",
                                   scene=scene, activity_unit=unit, factor_g_per_unit=factor,
                                   valid_from="2020-01-01")
    return Cast(
        operator=op,
        platforms=[ledger.register_participant(kind="platform", name=f"Platform {i}",
                                               registered_by=op) for i in range(platforms)],
        verifier=ledger.register_participant(kind="verifier", name="Verifier",
                                             registered_by=op),
        exchange=ledger.register_participant(kind="exchange", name="Exchange",
                                             registered_by=op),
        buyers=[ledger.register_participant(kind="enterprise", name=f"Buyer {i}",
                                            registered_by=op) for i in range(8)],
    )


def project_batch(ledger: Ledger, cast: Cast, grams: int, platform: UUID) -> UUID:
    """A project batch of ``grams`` issued to ``platform`` from an attested monitoring
    report."""
    request = ledger.request_project_issuance(
        platform=platform, methodology_id=methodology_id("WH-EV-CHARGING-V1", "1"),
        period_start="2024-01-01", period_end="2025-01-01", quantity=grams,
        project="bench", report_reference=f"MR-{uuid.uuid4().hex[:8]}",
        report_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest())
    ledger.attest_request(actor=cast.verifier, request_id=request, statement="bench")
    return ledger.issue_batch(actor=cast.operator, request_id=request, registry="BENCH")


def behaviour_batches(total: int, batch_size: int, people: int, platforms: int,
                      duplicate_rate: float = 0.03, seed: int = 7,
                      start_index: int = 0) -> Iterator[tuple[int, list[BehaviourReport]]]:
    """Yield ``(platform index, reports)`` batches; about ``duplicate_rate`` of the reports
    re-report an act already reported (by the same or another platform)."""
    rng = random.Random(seed + start_index)
    made = 0
    index = start_index
    while made < total:
        size = min(batch_size, total - made)
        platform = (index // batch_size) % platforms
        reports = []
        for _ in range(size):
            if index > start_index + 1000 and rng.random() < duplicate_rate:
                act = rng.randrange(start_index, index)  # an act reported before
            else:
                act = index
            code, _, _, _, (low, high) = METHODOLOGIES[act % len(METHODOLOGIES)]
            moment = START + timedelta(seconds=act * 37 % (300 * 86400))
            reports.append(BehaviourReport(
                person=f"person-{act * 7919 % people:08d}", methodology_code=code,
                methodology_version="1", act_identity=f"act:{act}",
                activity_amount=f"{low + act % (high - low)}.{act % 10}",
                occurred_at=moment, platform_ref=f"P{platform}-{index}"))
            index += 1
        made += size
        yield platform, reports
