"""A small cast and helpers for driving a real ledger in projection and CLI tests."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.application import BehaviourReport, Ledger

EV = ("WH-EV-CHARGING-V1", "1")


@dataclass
class Cast:
    operator: UUID
    platform: UUID
    other_platform: UUID
    verifier: UUID
    exchange: UUID
    bank: UUID
    holders: list[UUID]
    methodology: UUID


def make_cast(ledger: Ledger) -> Cast:
    op = ledger.register_participant(kind="registry_operator", name="Registry")
    return Cast(
        operator=op,
        platform=ledger.register_participant(kind="platform", name="EV app", registered_by=op),
        other_platform=ledger.register_participant(kind="platform", name="Pay app",
                                                   registered_by=op),
        verifier=ledger.register_participant(kind="verifier", name="Verifier", registered_by=op),
        exchange=ledger.register_participant(kind="exchange", name="Exchange", registered_by=op),
        bank=ledger.register_participant(kind="bank", name="Bank", registered_by=op),
        holders=[ledger.register_participant(kind="enterprise", name=f"Holder {i}",
                                             registered_by=op) for i in range(3)],
        methodology=ledger.publish_methodology(
            actor=op, code=EV[0], version=EV[1], region="Wuhan", scene="ev-charging",
            activity_unit="kWh", factor_g_per_unit="600", valid_from="2024-01-01"),
    )


def sessions(count: int, start: int = 0, people: int = 50, day: int = 3) -> list[BehaviourReport]:
    return [
        BehaviourReport(
            person=f"person-{i % people}", methodology_code=EV[0], methodology_version=EV[1],
            act_identity=f"charger:{i}|2024-09-{day:02d}", activity_amount=f"{10 + i % 40}.5",
            occurred_at=f"2024-09-{day:02d}T08:00:00+08:00", platform_ref=f"ref-{i}")
        for i in range(start, start + count)
    ]


def issue_batch(ledger: Ledger, cast: Cast, count: int = 200) -> UUID:
    """Report ``count`` sessions in September 2024 and issue them as one batch."""
    ledger.report_behaviours(platform=cast.platform, reports=sessions(count))
    request = ledger.request_issuance(platform=cast.platform, methodology_id=cast.methodology,
                                      period_start="2024-09-01", period_end="2024-10-01")
    ledger.attest_request(actor=cast.verifier, request_id=request, statement="verified")
    return ledger.issue_batch(actor=cast.operator, request_id=request, registry="HBCER")
