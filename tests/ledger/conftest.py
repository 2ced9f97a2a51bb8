"""Fixtures for application tests: a Ledger on a real SQLite file, a cast of participants,
and an in-memory stand-in for the behaviour index (``BehaviourQueries``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger.application import (
    BehaviourReport,
    BehaviourResult,
    Ledger,
    UnissuedBehaviours,
)
from ledger.domain.behaviour import Behaviour
from ledger.runtime import Settings


class FakeQueries:
    """The ``BehaviourQueries`` protocol, answered from accepted behaviours fed to it."""

    def __init__(self) -> None:
        self.behaviours: list[Behaviour] = []

    def feed(self, ledger: Ledger, results: Sequence[BehaviourResult]) -> None:
        for result in results:
            if result.accepted:
                self.behaviours.append(ledger.repository.get(result.behaviour_id))

    def earned_points(self, account: UUID) -> int:
        return sum(b.reduction_g for b in self.behaviours if b.account == str(account))

    def unissued_behaviours(self, platform: UUID, methodology: UUID, period_start: datetime,
                            period_end: datetime) -> UnissuedBehaviours:
        selected = [b for b in self.behaviours
                    if b.platform == str(platform) and b.methodology == str(methodology)
                    and period_start <= b.occurred_at < period_end]
        return UnissuedBehaviours(cutoff_position=len(self.behaviours),
                                  leaves=[b.leaf() for b in selected],
                                  total_g=sum(b.reduction_g for b in selected))


def sqlite_env(path: Path) -> dict[str, str]:
    """The event store for a test: the SQLite file ``path``, or, when the ``backend``
    fixture selected PostgreSQL, the test's schema."""
    settings = Settings(data_dir=path.parent)
    if settings.is_postgres:
        return settings.event_store_env()
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


@pytest.fixture(autouse=True)
def _every_backend(backend: str) -> str:
    """The ledger suites run on SQLite and on PostgreSQL (see tests/conftest.py)."""
    return backend


EV = ("WH-EV-CHARGING", "1")  # Wuhan EV charging, 600 g per kWh
METRO = ("WH-METRO", "1")  # Wuhan metro, 71.2 g per km
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TONNE = 1_000_000


@dataclass
class World:
    """A ledger with an operator, two platforms, a verifier, an exchange, two banks, two
    enterprises and two methodologies."""

    ledger: Ledger
    queries: FakeQueries
    db: Path
    operator: UUID
    ev_app: UUID  # an EV-charging app (platform)
    pay_app: UUID  # a payment app (platform)
    verifier: UUID
    exchange: UUID
    bank: UUID
    other_bank: UUID
    emitter: UUID  # enterprise
    organiser: UUID  # enterprise organising an event
    ev: UUID  # methodology ids
    metro: UUID
    counter: dict[str, int] = field(default_factory=lambda: {"act": 0})

    def report(self, platform: UUID, reports: Sequence[BehaviourReport]) -> list[BehaviourResult]:
        results = self.ledger.report_behaviours(platform=platform, reports=reports)
        self.queries.feed(self.ledger, results)
        return results

    def charge(self, person: str, kwh: str, when: str, ref: str | None = None,
               act: str | None = None, methodology: tuple[str, str] = EV) -> BehaviourReport:
        self.counter["act"] += 1
        n = self.counter["act"]
        return BehaviourReport(person=person, methodology_code=methodology[0],
                               methodology_version=methodology[1],
                               act_identity=act or f"charger:WH-{n:05d}|{when}",
                               activity_amount=kwh, occurred_at=when,
                               platform_ref=ref or f"rec-{n}")

    def person(self, pseudonym: str) -> UUID:
        return self.ledger.register_participant(kind="individual", name=pseudonym,
                                                pseudonym=pseudonym,
                                                registered_by=self.operator)

    def project_batch(self, quantity: int = 1_000 * TONNE, holder: UUID | None = None,
                      registry: str = "PHCER") -> UUID:
        """Issue project credits from a monitoring report to the EV app, then hand them to
        ``holder`` (the emitter by default)."""
        request = self.ledger.request_project_issuance(
            platform=self.ev_app, methodology_id=self.ev, period_start="2024-01-01",
            period_end="2024-07-01", quantity=quantity, project="village forestry",
            report_reference=f"MR-{quantity}-{self.counter['act']}", report_sha256=SHA)
        self.counter["act"] += 1
        self.ledger.attest_request(actor=self.verifier, request_id=request,
                                   statement="monitoring report checked on site")
        batch = self.ledger.issue_batch(actor=self.operator, request_id=request,
                                        registry=registry)
        holder = self.emitter if holder is None else holder
        if holder != self.ev_app:
            self.ledger.transfer(actor=self.ev_app, batch_id=batch, recipient=holder,
                                 quantity=quantity)
        return batch


def build_world(db: Path, queries: FakeQueries | None = None) -> World:
    queries = queries or FakeQueries()
    ledger = Ledger(env=sqlite_env(db), queries=queries)
    operator = ledger.register_participant(kind="registry_operator", name="Hubei registry")

    def register(kind: str, name: str) -> UUID:
        return ledger.register_participant(kind=kind, name=name, registered_by=operator)

    world = World(
        ledger=ledger, queries=queries, db=db, operator=operator,
        ev_app=register("platform", "EV charging app"),
        pay_app=register("platform", "payment app"),
        verifier=register("verifier", "accredited verifier"),
        exchange=register("exchange", "Hubei exchange"),
        bank=register("bank", "lending bank"),
        other_bank=register("bank", "other bank"),
        emitter=register("enterprise", "舒氏集团"),
        organiser=register("enterprise", "World Gas Conference organiser"),
        ev=ledger.publish_methodology(actor=operator, code=EV[0], version=EV[1],
                                      region="Wuhan", scene="ev_charging",
                                      activity_unit="kWh", factor_g_per_unit="600",
                                      valid_from="2024-01-01", valid_until="2026-01-01"),
        metro=ledger.publish_methodology(actor=operator, code=METRO[0], version=METRO[1],
                                         region="Wuhan", scene="metro", activity_unit="km",
                                         factor_g_per_unit="71.2", valid_from="2024-01-01"),
    )
    return world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = build_world(tmp_path / "events.db")
    yield world
    world.ledger.close()


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Replace ``owner.name`` for the test by a wrapper that records each call's
    positional arguments; the calls, as they happen."""
    calls: list[Any] = []
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls
