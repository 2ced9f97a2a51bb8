"""The event store's set-at-a-time helpers, and the PostgreSQL recorder's array insert."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder

from ledger.application import Ledger
from ledger.pg_recorder import LedgerPostgresRecorder
from ledger.storage import first_events
from tests.ledger.conftest import sqlite_env


class Thing(Aggregate):
    @event("Made")
    def __init__(self, label: str, blob: str) -> None:
        self.label = label
        self.blob = blob

    @event("Relabelled")
    def relabel(self, label: str) -> None:
        self.label = label


def make_ledger(tmp_path: Path) -> Ledger:
    return Ledger(env=sqlite_env(tmp_path / "events.sqlite"))


def test_first_events_finds_the_creating_event_of_existing_aggregates_only(
        tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    things = [Thing(label=f"t{i}", blob="x") for i in range(1_200)]  # over two query chunks
    for thing in things[::2]:
        thing.relabel(label="again")  # a second event, which must not be returned
    ledger.save(*things)
    missing = [uuid.uuid4() for _ in range(50)]

    found = first_events(ledger.recorder, [t.id for t in things] + missing)

    assert set(found) == {t.id for t in things}
    for thing in things:
        made = ledger.mapper.to_domain_event(found[thing.id])
        assert made.originator_version == 1
        assert made.label == f"t{things.index(thing)}"
    assert first_events(ledger.recorder, missing) == {}


def test_the_postgres_recorder_returns_notification_ids_in_order_and_keeps_bytes(
        tmp_path: Path, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("PostgreSQL's recorder")
    ledger = make_ledger(tmp_path)
    assert isinstance(ledger.recorder, LedgerPostgresRecorder)
    # Bytes that a text-format composite would have to escape: quotes, backslashes,
    # commas, braces, control characters and non-ASCII. Ledger.save now refuses controls
    # (NUL always: PostgreSQL cannot hold it); logs written before may hold the others, so
    # the recorder is written to past that check.
    blob = 'a"b\\c,{d} é 中 ' + "".join(map(chr, range(1, 32)))
    things = [Thing(label=f"t{i}", blob=blob) for i in range(3)]

    recordings = ledger._write(*things)

    ids = [r.notification.id for r in recordings]
    assert ids == sorted(ids) and len(set(ids)) == 3
    for thing in things:
        assert ledger.repository.get(thing.id).blob == blob
    notifications = ledger.recorder.select_notifications(start=ids[0], limit=10)
    assert [n.id for n in notifications] == ids
    assert [n.originator_id for n in notifications] == [t.id for t in things]


def test_a_conflicting_insert_writes_none_of_its_events(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    first = Thing(label="first", blob="x")
    ledger.save(first)
    # the same originator and version as a stored event
    clash = Thing._create(Thing.Made, id=first.id, label="clash", blob="x")
    bystander = Thing(label="bystander", blob="x")
    before = ledger.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        ledger.save(bystander, clash)

    assert ledger.recorder.max_notification_id() == before
    assert first_events(ledger.recorder, [bystander.id]) == {}
    assert ledger.repository.get(first.id).label == "first"


def test_postgres_recorder_is_the_library_recorder_apart_from_the_insert() -> None:
    overridden = {name for name, value in vars(LedgerPostgresRecorder).items()
                  if callable(value) and not name.startswith("__")}
    assert overridden == {"create_table", "insert_events", "read_set_check"}
    assert issubclass(LedgerPostgresRecorder, PostgresApplicationRecorder)


def test_the_newer_events_query_never_scans_the_event_table(
        tmp_path: Path, backend: str) -> None:
    """Prepared and planned generically before the table has statistics, it must still look
    each aggregate up by key (a join planned as a scan of the whole table is what made every
    PostgreSQL save take 30 ms at 100,000 events, in the insert function's read-set check)."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's planner")
    from psycopg.sql import SQL, Literal

    from ledger.storage import newer_events_query

    ledger = make_ledger(tmp_path)  # kept: its pool closes with it
    recorder = ledger.recorder
    query = newer_events_query(recorder, SQL("$1::uuid[]"), SQL("$2::int4[]"))
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        curs.execute(SQL("PREPARE newer(uuid[], int4[]) AS {}").format(query))
        curs.execute(SQL("EXPLAIN EXECUTE newer({}, {})").format(
            Literal([uuid.uuid4(), uuid.uuid4()]), Literal([1, 1])))
        plan = "\n".join(row["QUERY PLAN"] for row in curs.fetchall())
        curs.execute("DEALLOCATE newer")
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
