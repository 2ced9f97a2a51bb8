"""Read sets checked at commit (PostgreSQL): a command decides on its cached copies without
asking the store first, and the store refuses its save if any of them was stale."""

from __future__ import annotations

from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from ledger import repository as repository_module
from ledger.application import Ledger, TradeInstruction
from ledger.domain import ids
from ledger.domain.errors import PermissionDeniedError, RecordNotFoundError
from ledger.repository import ReadSetChanged
from tests.ledger.conftest import TONNE, World, count_calls, sqlite_env


@pytest.fixture
def checked(world: World) -> World:
    if not world.ledger.repository.checks_read_sets:
        pytest.skip("read sets are checked at commit on PostgreSQL only")
    return world


def test_a_command_on_current_cached_copies_makes_one_call_to_the_store(
        checked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world, ledger = checked, checked.ledger
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                    quantity=1)  # everything the next one reads is cached and current
    queries = count_calls(monkeypatch, repository_module, "newer_events")
    inserts = count_calls(monkeypatch, ledger.recorder, "insert_events")

    for _ in range(3):
        ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                        quantity=1)

    assert queries == []
    assert len(inserts) == 3
    assert ledger.batch_view(batch_id).available(world.organiser) == 4


def test_a_recipient_suspended_by_another_process_is_refused_though_cached_as_active(
        checked: World) -> None:
    world, ledger = checked, checked.ledger
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                    quantity=1)  # the organiser is cached here, active
    other = Ledger(env=sqlite_env(world.db))
    other.suspend_participant(actor=world.operator, participant_id=world.organiser,
                              reason="licence withdrawn")

    with pytest.raises(PermissionDeniedError, match="suspended"):
        ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                        quantity=1)

    assert ledger.batch_view(batch_id).available(world.organiser) == 1


def _listed(world: World, quantity: int) -> tuple[Ledger, UUID]:
    """A batch of which the exchange lists ``quantity`` of its own credits as "L-1"."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.exchange,
                    quantity=quantity)
    ledger.list_for_sale(actor=world.exchange, batch_id=batch_id, seller=world.exchange,
                         listing_ref="L-1", quantity=quantity)
    return ledger, batch_id


def _trade(world: World, batch_id: UUID, ref: str, buyer: UUID) -> TradeInstruction:
    return TradeInstruction(trade_ref=ref, listing_ref="L-1", batch_id=batch_id,
                            seller=world.exchange, buyer=buyer, quantity=TONNE,
                            price_per_tonne="40", currency="CNY")


def test_settlements_on_current_cached_copies_ask_the_store_once_a_request(
        checked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buyer is read with the holdings, not on its own: a request of three trades asks
    the store once (the exchange's role, for the whole request) and inserts three times."""
    world = checked
    ledger, batch_id = _listed(world, 5 * TONNE)
    ledger.settle_trade(actor=world.exchange, trade=_trade(world, batch_id, "T-1",
                                                          world.organiser))
    reads = count_calls(monkeypatch, ledger.recorder, "select_events")
    queries = count_calls(monkeypatch, repository_module, "newer_events")
    inserts = count_calls(monkeypatch, ledger.recorder, "insert_events")

    results = ledger.settle_trades(actor=world.exchange, trades=[
        _trade(world, batch_id, f"T-{i}", world.organiser) for i in (2, 3, 4)])

    assert [r.error for r in results] == [None, None, None]
    assert len(reads) == 1
    assert queries == []
    assert len(inserts) == 3
    assert ledger.batch_view(batch_id).available(world.organiser) == 4 * TONNE


def test_a_buyer_suspended_by_another_process_is_refused_though_cached_as_active(
        checked: World) -> None:
    world = checked
    ledger, batch_id = _listed(world, 5 * TONNE)
    ledger.settle_trade(actor=world.exchange, trade=_trade(world, batch_id, "T-1",
                                                          world.organiser))
    other = Ledger(env=sqlite_env(world.db))
    other.suspend_participant(actor=world.operator, participant_id=world.organiser,
                              reason="licence withdrawn")

    with pytest.raises(PermissionDeniedError, match="suspended"):
        ledger.settle_trade(actor=world.exchange, trade=_trade(world, batch_id, "T-2",
                                                              world.organiser))

    view = ledger.batch_view(batch_id)
    assert view.available(world.organiser) == TONNE
    with pytest.raises(RecordNotFoundError):  # nothing of the refused trade was written
        ledger.trade(ids.trade_id(world.exchange, "T-2"))


def test_a_refusal_decided_on_a_stale_batch_is_decided_again_on_the_current_one(
        checked: World) -> None:
    world, ledger = checked, checked.ledger
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger.batch_view(batch_id)  # cached here: the organiser holds nothing
    other = Ledger(env=sqlite_env(world.db))
    other.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                   quantity=5 * TONNE)

    ledger.transfer(actor=world.organiser, batch_id=batch_id, recipient=world.emitter,
                    quantity=3 * TONNE)  # the cached copy alone would refuse this

    batch = ledger.batch_view(batch_id)
    assert batch.available(world.organiser) == 2 * TONNE
    assert batch.available(world.emitter) == 8 * TONNE


def test_the_store_refuses_a_stale_read_set_and_writes_nothing(checked: World) -> None:
    world, ledger = checked, checked.ledger
    batch_id = world.project_batch(quantity=10 * TONNE)
    version = ledger.batch_view(batch_id).version
    recorder = ledger.recorder
    before = recorder.max_notification_id()
    event = StoredEvent(originator_id=world.organiser, originator_version=10**6,
                        topic="tests:Probe", state=b"{}")

    with pytest.raises(ReadSetChanged):
        recorder.insert_events([event], read_set={batch_id: version - 1})

    assert recorder.max_notification_id() == before
    assert recorder.insert_events([event], read_set={batch_id: version}) is not None
    assert recorder.max_notification_id() == (before or 0) + 1


def test_the_read_set_check_never_scans_the_event_table(checked: World) -> None:
    """The check runs in every save: planned generically, before the table's statistics
    exist, it must still look each aggregate up by key (a join planned as a scan of the
    whole table once cost 30 ms a save at 100,000 events)."""
    import uuid

    from psycopg.sql import SQL, Literal

    recorder = checked.ledger.recorder
    query = recorder.read_set_check(SQL("$1::uuid[]"), SQL("$2::int4[]"))
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(f"SET LOCAL search_path TO {recorder.datastore.schema}")
        curs.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        curs.execute(SQL("PREPARE newer_check(uuid[], int4[]) AS {}").format(query))
        ids = [uuid.uuid4() for _ in range(3)]
        curs.execute(SQL("EXPLAIN EXECUTE newer_check({}, {})").format(
            Literal(ids), Literal([1, 1, 1])))
        plan = "\n".join(row["QUERY PLAN"] for row in curs.fetchall())
        curs.execute("DEALLOCATE newer_check")
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
