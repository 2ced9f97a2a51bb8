"""Rebuilds: the fast log readers agree with the mapper, pages read ahead keep exactly-once,
and the indexes a handler queries exist before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from ledger.projections import behaviour_rows, handlers, log_reader, schema
from ledger.projections.handlers import BehaviourRow
from ledger.projections.projector import Projector, ReadAhead
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast, sessions

RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}


@pytest.fixture
def runtime(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        cast = make_cast(rt.ledger)
        batch = issue_batch(rt.ledger, cast, count=40)
        for i in range(3):  # runs of behaviours between other events
            rt.ledger.report_behaviours(platform=cast.other_platform,
                                        reports=sessions(25, start=1000 + 25 * i, day=20 + i))
            rt.ledger.register_participant(kind="enterprise", name=f"E{i}",
                                           registered_by=cast.operator)
        rt.ledger.retire(actor=cast.platform, batch_id=batch, quantity=1_000, **RETIRE)
        rt.sync()
        yield rt


def _as_rows(page: log_reader.LogPage) -> list[object]:
    return [BehaviourRow.from_event(event, position) if name == "Behaviour.Reported"
            and not isinstance(event, BehaviourRow) else event
            for position, name, event in zip(page.positions, page.names, page.events,
                                             strict=True)]


def test_the_fast_reader_reads_what_the_mapper_decodes(runtime):
    fast = log_reader.log_reader(runtime.ledger)
    generic = log_reader.log_reader(runtime.ledger, fast=False)
    assert not isinstance(fast, log_reader.NotificationReader)  # a direct reader
    for after, limit in ((0, 10_000), (5, 17), (40, 1)):
        a, b = fast.read(after, limit), generic.read(after, limit)
        assert a.positions == b.positions and a.names == b.names
        assert _as_rows(a) == _as_rows(b)
    assert sum(isinstance(e, BehaviourRow) for e in fast.read(0, 10_000).events) == 115


def test_behaviours_of_an_unexpected_shape_are_decoded_by_the_mapper(runtime, monkeypatch):
    before = dump_tables(runtime.engine)
    monkeypatch.setattr(behaviour_rows, "DATETIME", "another-transcoding")
    projector = Projector(runtime.ledger, runtime.engine)
    page = projector.reader.read(0, 10_000)
    assert not any(isinstance(e, BehaviourRow) for e in page.events)
    projector.rebuild()
    assert dump_tables(runtime.engine) == before


def test_a_rebuild_in_small_pages_gives_the_same_tables(runtime):
    before = dump_tables(runtime.engine)
    projector = Projector(runtime.ledger, runtime.engine, rebuild_page_size=7)
    assert projector.rebuild() == runtime.ledger.recorder.max_notification_id()
    assert dump_tables(runtime.engine) == before
    assert projector.position() == runtime.ledger.recorder.max_notification_id()


def test_a_page_read_ahead_is_not_applied_once_the_position_moved(runtime):
    projector = runtime.projector
    stale = ReadAhead(0, projector.reader.read(0, 50))  # read before another projector ran
    before = dump_tables(runtime.engine)
    assert projector._apply_page(50, stale) == 0  # nothing new after the tracked position
    assert dump_tables(runtime.engine) == before
    start = projector.position()
    runtime.ledger.register_participant(kind="auditor", name="late")
    ahead = ReadAhead(start, projector.reader.read(start, 50))
    assert projector._apply_page(50, ahead) == 1
    assert projector.position() == start + 1


def test_a_rebuild_creates_the_indexes_a_handler_queries_before_it_runs(runtime, monkeypatch):
    original = handlers.HANDLERS["IssuanceRequest.Requested"]
    seen: list[set[str]] = []

    def requested(conn, event, position):
        seen.append({i["name"] for i in inspect(conn).get_indexes("behaviours")})
        original(conn, event, position)

    monkeypatch.setitem(handlers.HANDLERS, "IssuanceRequest.Requested", requested)
    before = dump_tables(runtime.engine)
    runtime.projector.rebuild()
    assert seen == [{"ix_behaviours_selection"}]  # the others wait for the end of the replay
    assert dump_tables(runtime.engine) == before
    indexes = {i["name"] for i in inspect(runtime.engine).get_indexes("behaviours")}
    assert {index.name for index in schema.behaviours.indexes} <= indexes


def test_a_rebuild_with_the_helper_process_gives_the_same_tables(runtime, monkeypatch):
    before = dump_tables(runtime.engine)
    made: list[log_reader.SQLiteHelperReader] = []
    original_init = log_reader.SQLiteHelperReader.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(log_reader.SQLiteHelperReader, "__init__", recording_init)
    projector = Projector(runtime.ledger, runtime.engine, rebuild_page_size=23)
    projector.helper_min_events = 1  # this small log too
    assert projector.rebuild() == runtime.ledger.recorder.max_notification_id()
    assert dump_tables(runtime.engine) == before
    if runtime.settings.is_postgres:  # the server makes the rows there: no helper
        assert made == []
        return
    assert len(made) == 1
    assert made[0]._helper.returncode == 0  # ended at the end of its input


def test_small_rebuilds_do_not_start_a_helper(runtime, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no helper process for a small log")

    monkeypatch.setattr(log_reader.SQLiteHelperReader, "__init__", refuse)
    before = dump_tables(runtime.engine)
    runtime.projector.rebuild()  # the default threshold is far above this log
    assert dump_tables(runtime.engine) == before


def sqlite_only(runtime):
    if runtime.settings.is_postgres:
        pytest.skip("the helper process reads an SQLite event store")


def test_the_helper_reads_the_same_pages_as_the_reader_in_process(runtime):
    sqlite_only(runtime)
    ledger = runtime.ledger
    direct = log_reader.log_reader(ledger)
    db_file = log_reader.sqlite_file_of(ledger)
    assert db_file is not None
    helper = log_reader.SQLiteHelperReader(ledger, db_file)
    try:
        for after, limit in ((0, 10_000), (5, 17), (40, 1), (10**9, 5)):
            a, b = helper.read(after, limit), direct.read(after, limit)
            assert a.positions == b.positions and a.names == b.names
            assert _as_rows(a) == _as_rows(b)
    finally:
        helper.close()


def test_a_helper_that_died_is_reported_not_hidden(runtime):
    sqlite_only(runtime)
    db_file = log_reader.sqlite_file_of(runtime.ledger)
    helper = log_reader.SQLiteHelperReader(runtime.ledger, db_file)
    helper._helper.kill()
    helper._helper.wait(timeout=30)
    with pytest.raises(log_reader.RebuildHelperError, match="ended"):
        helper.read(0, 10)
    helper.close()


def test_the_helper_answers_a_failed_query_with_its_error(tmp_path):
    import io
    import pickle
    import sqlite3

    from ledger.projections import rebuild_helper

    requests = io.BytesIO(pickle.dumps((0, 10)) + pickle.dumps((5, 10)))
    answers = io.BytesIO()
    conn = sqlite3.connect(tmp_path / "empty.sqlite")
    rebuild_helper.serve(conn, "SELECT * FROM stored_events", requests, answers)
    answers.seek(0)
    kind, message = pickle.load(answers)
    assert kind == "error" and "no such table: stored_events" in message
    assert pickle.load(answers)[0] == "error"  # it went on to the next request


def test_an_in_memory_store_has_no_file_for_a_helper(tmp_path):
    from ledger.application import Ledger

    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                         "SQLITE_DBNAME": ":memory:"})
    assert log_reader.sqlite_file_of(ledger) is None
    path = tmp_path / "events.sqlite"
    on_file = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
    assert log_reader.sqlite_file_of(on_file) == path
