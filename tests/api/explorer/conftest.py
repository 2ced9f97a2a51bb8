"""Fixtures of the explorer's tests: the API suite's world (a real ledger behind the app, on
SQLite and PostgreSQL) with a registry's worth of data in it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from tests.api.support import Actor, World

T = 1_000_000
HOSTILE = '<script>alert("x")</script> مؤسسة'


@dataclass
class Registry:
    """What the pages should show: two batches in two registries, retirements, a claim."""

    world: World
    holder: Actor
    hubei: UUID
    shanghai: UUID
    retired: UUID
    hostile: UUID
    claim: UUID


@pytest.fixture
def registry(world: World) -> Registry:
    ledger = world.ledger
    holder = world.actors["enterprise"]
    hubei = world.project_batch(holder, "10,000 t", registry="HBCER")
    shanghai = world.project_batch(holder, "2,500.5 t", registry="SHCER")
    claim = ledger.register_claim(actor=holder.id, event_name="Wuhan Marathon 2026",
                                  footprint_g=40 * T)
    retired = ledger.retire(actor=holder.id, batch_id=hubei, quantity=10 * T,
                            beneficiary="Wuhan Marathon", purpose="event_neutrality",
                            jurisdiction="CN", consumption_period="2026",
                            details={"event": "Wuhan Marathon 2026", "claim_id": str(claim)})
    hostile = ledger.retire(actor=holder.id, batch_id=shanghai, quantity=1_234_567,
                            beneficiary=HOSTILE, purpose="voluntary", jurisdiction="CN",
                            consumption_period="2026")
    world.runtime.sync()
    return Registry(world=world, holder=holder, hubei=hubei, shanghai=shanghai,
                    retired=retired, hostile=hostile, claim=claim)
