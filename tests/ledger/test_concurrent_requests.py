"""What concurrent requests in one process rely on: reads that never queue behind the
projector's writes, commands that know the position they wrote, and one catch-up serving
every request that waits for it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.application import CommandContext
from ledger.projections.database import make_engine
from ledger.runtime import LedgerRuntime, Settings
from ledger.striped_locks import StripedLocks
from tests.ledger.projections.scenario import issue_batch, make_cast, sessions


def test_a_sqlite_reader_engine_reads_while_a_writer_holds_the_write_lock(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'views.sqlite'}"
    writer = make_engine(url)
    # A reader that queued for the write lock would fail with "database is locked" after
    # this timeout (the writer below never lets go in time).
    reader = make_engine(url, reader=True, connect_args={"timeout": 2})
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with writer.begin() as conn:  # BEGIN IMMEDIATE: holds the write lock until the end
        conn.execute(text("INSERT INTO t VALUES (2)"))
        started = time.perf_counter()
        with reader.connect() as read:
            seen = read.execute(text("SELECT count(*) FROM t")).scalar_one()
        waited = time.perf_counter() - started
        assert seen == 1  # the last committed snapshot, not the open transaction
        assert waited < 2  # not queued behind the writer
    writer.dispose()
    reader.dispose()


def test_a_second_writer_engine_still_queues_for_the_write_lock(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'views.sqlite'}"
    writer = make_engine(url)
    other = make_engine(url, connect_args={"timeout": 0.1})
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with writer.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(Exception, match="locked"), other.begin() as blocked:
            blocked.execute(text("SELECT count(*) FROM t"))
    writer.dispose()
    other.dispose()


def test_a_command_context_knows_the_highest_position_its_saves_were_given(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        context = CommandContext(participant=cast.platform, command="report behaviours",
                                 request_sha256="cd" * 32)
        with ledger.command_context(context):
            results = ledger.report_behaviours(platform=cast.platform, reports=sessions(1_500))
        assert all(r.accepted for r in results)
        assert context.position == ledger.recorder.max_notification_id()


def test_sync_until_a_position_already_reached_does_not_catch_up_again(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        ledger.report_behaviours(platform=cast.platform, reports=sessions(10))
        position = ledger.recorder.max_notification_id()
        calls = 0
        catch_up = runtime.projector.catch_up

        def counting() -> int:
            nonlocal calls
            calls += 1
            return catch_up()

        runtime.projector.catch_up = counting  # type: ignore[method-assign]
        assert runtime.sync(until=position) > 0
        assert runtime.sync(until=position) == 0
        assert calls == 1
        assert runtime.sync() == 0  # without a position: always asks the projector
        assert calls == 2
        assert runtime.projector.position() == position


def test_concurrent_commands_in_one_process_each_read_their_own_write(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        reports = sessions(32)
        failures: list[BaseException] = []

        def one(index: int) -> None:
            try:
                context = CommandContext(participant=cast.platform, command="report",
                                         request_sha256=f"{index:064x}")
                with ledger.command_context(context):
                    [result] = ledger.report_behaviours(platform=cast.platform,
                                                        reports=[reports[index]])
                runtime.sync(until=context.position)
                assert runtime.views.behaviour(result.behaviour_id) is not None
            except BaseException as error:  # reported to the test thread
                failures.append(error)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert runtime.projector.position() == ledger.recorder.max_notification_id()


def test_concurrent_commands_on_one_batch_queue_instead_of_conflicting(tmp_path: Path,
                                                                        monkeypatch):
    from ledger.application import retry

    back_offs: list[int] = []
    monkeypatch.setattr(retry, "_back_off", back_offs.append)
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=50)
        before = ledger.batch_view(batch).available(cast.platform)
        failures: list[BaseException] = []

        def transfer(index: int) -> None:
            try:
                ledger.transfer(actor=cast.platform, batch_id=batch,
                                recipient=cast.holders[index % len(cast.holders)],
                                quantity=1_000)
            except BaseException as error:  # reported to the test thread
                failures.append(error)

        threads = [threading.Thread(target=transfer, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert back_offs == []  # no thread lost an optimistic-concurrency race
        assert ledger.retries.conflicts == 0
        assert ledger.batch_view(batch).available(cast.platform) == before - 16_000


def test_striped_locks_give_one_key_one_lock_and_refuse_no_stripes():
    locks = StripedLocks(stripes=4)
    key = uuid.uuid4()
    assert locks.holding(key) is locks.holding(uuid.UUID(str(key)))
    assert len({id(locks.holding(uuid.UUID(int=i))) for i in range(8)}) == 4
    with pytest.raises(ValueError, match="at least 1"):
        StripedLocks(stripes=0)
