"""Two processes' ledgers on one store, each with its own cache, commands routed to either:
a copy cached by one (read, or cached when it created it) is never trusted past what the
other wrote since. Run on both backends (PostgreSQL checks read sets at commit, SQLite
brings cached copies up to date first)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.errors import InsufficientBalanceError
from tests.ledger.conftest import TONNE, World, sqlite_env

SHARE = 100


@pytest.fixture
def other(world: World) -> Iterator[Ledger]:
    ledger = Ledger(env=sqlite_env(world.db))
    yield ledger
    ledger.close()


@pytest.fixture
def platform_batch(world: World) -> UUID:
    """A batch held by the EV app, which funds each example's new holders."""
    return world.project_batch(quantity=TONNE, holder=world.ev_app)


def _newcomer_with_10_g(world: World) -> tuple[UUID, UUID]:
    """A batch, and a new holder whose holding this process cached when it created it."""
    batch_id = world.project_batch(quantity=TONNE)
    newcomer = world.ledger.register_participant(kind="enterprise", name="newcomer",
                                                 registered_by=world.operator)
    world.ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=newcomer,
                          quantity=10)
    return batch_id, newcomer


def test_a_holding_cached_when_created_sees_what_another_process_added(
        world: World, other: Ledger) -> None:
    ledger = world.ledger
    batch_id, newcomer = _newcomer_with_10_g(world)
    other.transfer(actor=world.emitter, batch_id=batch_id, recipient=newcomer, quantity=5)

    ledger.transfer(actor=newcomer, batch_id=batch_id, recipient=world.organiser, quantity=15)

    view = ledger.batch_view(batch_id)
    assert view.available(newcomer) == 0
    assert view.available(world.organiser) == 15


def test_a_holding_cached_when_created_sees_what_another_process_took(
        world: World, other: Ledger) -> None:
    ledger = world.ledger
    batch_id, newcomer = _newcomer_with_10_g(world)
    other.transfer(actor=newcomer, batch_id=batch_id, recipient=world.organiser, quantity=8)

    with pytest.raises(InsufficientBalanceError):  # 2 left, not the 10 cached
        ledger.transfer(actor=newcomer, batch_id=batch_id, recipient=world.organiser,
                        quantity=3)
    assert ledger.batch_view(batch_id).available(newcomer) == 2


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2), st.integers(0, 2),
                                st.integers(1, 2 * SHARE)), min_size=1, max_size=15))
def test_transfers_routed_to_either_process_agree_with_a_plain_model(
        world: World, other: Ledger, platform_batch: UUID,
        steps: list[tuple[int, int, int, int]]) -> None:
    """Random transfers among three new holders, each sent to one of the two processes:
    each succeeds or is refused exactly as a plain model of balances says, and the batch
    read afterwards from either process holds what the model does."""
    ledger, batch_id = world.ledger, platform_batch
    holders = [ledger.register_participant(kind="enterprise", name=f"holder {i}",
                                           registered_by=world.operator) for i in range(3)]
    for holder in holders:  # each new holding cached, when created, by one process
        ledger.transfer(actor=world.ev_app, batch_id=batch_id, recipient=holder,
                        quantity=SHARE)
    model = [SHARE] * 3
    processes = (ledger, other)
    for process, sender, recipient, quantity in steps:
        if sender == recipient:
            continue
        command = processes[process]
        if model[sender] >= quantity:
            command.transfer(actor=holders[sender], batch_id=batch_id,
                             recipient=holders[recipient], quantity=quantity)
            model[sender] -= quantity
            model[recipient] += quantity
        else:
            with pytest.raises(InsufficientBalanceError):
                command.transfer(actor=holders[sender], batch_id=batch_id,
                                 recipient=holders[recipient], quantity=quantity)
    for process in processes:
        view = process.batch_view(batch_id)
        assert [view.available(h) for h in holders] == model
