"""``carbon-ledger audit`` only reads, and reports tampering of the stored rows on both
backends (exit 2, the first differing leaf named) instead of crashing."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from anchoring.audit import audit_ledger
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.conftest import database_url_for_tests
from tests.ledger.projections.scenario import issue_batch, make_cast


@pytest.fixture
def anchored(backend: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """A ledger with two anchors, more events after them, and read models left behind."""
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        cast = make_cast(runtime.ledger)
        batch = issue_batch(runtime.ledger, cast, count=30)
        runtime.anchoring.anchor_now()
        runtime.ledger.retire(actor=cast.platform, batch_id=batch, quantity=5_000,
                              beneficiary="B", purpose="voluntary", jurisdiction="CN",
                              consumption_period="2024")
        runtime.anchoring.anchor_now()
        runtime.ledger.register_participant(kind="registry_operator", name="after the anchor")
        table = runtime.ledger.recorder.events_table_name
    yield settings, table


# -- tampering, on the event table itself ----------------------------------------------------


def _execute(settings: Settings, *statements: str) -> None:
    if settings.is_postgres:
        with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{settings.database_schema}"')
            for statement in statements:
                conn.execute(statement)
    else:
        with sqlite3.connect(settings.events_path) as db:
            for statement in statements:
                db.execute(statement)


def _id_column(settings: Settings) -> str:
    return "notification_id" if settings.is_postgres else "rowid"


def edit_bytes(settings: Settings, table: str) -> int:
    """Change the retired quantity in the stored bytes of the retirement event."""
    cast = "convert_to(replace(convert_from(state, 'UTF8'), '\"quantity\":5000', " \
           "'\"quantity\":4000'), 'UTF8')" if settings.is_postgres else \
           "CAST(replace(CAST(state AS TEXT), '\"quantity\":5000', '\"quantity\":4000') AS BLOB)"
    _execute(settings, f"UPDATE {table} SET state = {cast} WHERE topic LIKE '%Retired'")
    return -1  # the leaf of the retirement, checked by the caller via the root mismatch


def delete_event(settings: Settings, table: str) -> int:
    _execute(settings, f"DELETE FROM {table} WHERE {_id_column(settings)} = 10")
    return 9


def insert_fabricated(settings: Settings, table: str) -> int:
    """A row the ledger could not have written (negative version), inserted at position 8,
    the rows from there on moved up."""
    column = _id_column(settings)
    if settings.is_postgres:
        _execute(settings,
                 f"UPDATE {table} SET notification_id = notification_id + 1000 "
                 "WHERE notification_id >= 8",
                 f"INSERT INTO {table} (notification_id, originator_id, originator_version, "
                 "topic, state) VALUES (8, '00000000-0000-0000-0000-000000000001', -1, "
                 "'ledger.domain.participant:Participant.Registered', '\\x7b7d')")
    else:
        with sqlite3.connect(settings.events_path) as db:
            top = db.execute(f"SELECT MAX({column}) FROM {table}").fetchone()[0]
            for row in range(top, 7, -1):
                db.execute(f"UPDATE {table} SET rowid = rowid + 1 WHERE rowid = ?", (row,))
            db.execute(f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, "
                       "state) VALUES (8, 'not-a-uuid', -1, "
                       "'ledger.domain.participant:Participant.Registered', CAST('{}' AS BLOB))")
    return 7


TAMPERINGS = {"edited bytes": edit_bytes, "deleted event": delete_event,
              "fabricated row inserted": insert_fabricated}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_tampering_is_reported_with_the_first_differing_leaf_and_exit_2(
        anchored, tampering, capsys):
    settings, table = anchored
    assert main(["--data-dir", str(settings.data_dir), "audit"]) == 0
    capsys.readouterr()
    leaf = TAMPERINGS[tampering](settings, table)
    assert main(["--data-dir", str(settings.data_dir), "audit"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("TAMPERING")]
    assert any("differs from the on-chain checkpoint" in line for line in lines)
    differing = [line for line in lines if "differs from the leaf recorded" in line]
    assert len(differing) == 1
    if leaf >= 0:
        assert f"at leaf {leaf} " in differing[0]
    assert "audit failed" in captured.err and "Traceback" not in captured.err


def test_a_fabricated_row_is_named_as_not_written_by_the_ledger(anchored):
    settings, table = anchored
    insert_fabricated(settings, table)
    report = audit_ledger(settings)
    assert any("position 8 is not an event the ledger writes" in p for p in report.tampering)
    assert any(re.search(r"at leaf 7 \(position 8;", p) for p in report.tampering)


# -- the audit writes nothing ---------------------------------------------------------------


def _snapshot(settings: Settings) -> dict[str, object]:
    """Every row of every table, and every file of the data directory, byte for byte (a
    SQLite file once its write-ahead log is checkpointed into it)."""
    for path in settings.data_dir.glob("*.sqlite"):
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = {
        str(path.relative_to(settings.data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(settings.data_dir.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }
    rows: dict[str, object] = {}
    if settings.is_postgres:
        with psycopg.connect(database_url_for_tests()) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name", (settings.database_schema,))]
            for name in tables:
                rows[name] = sorted(map(repr, conn.execute(
                    f'SELECT * FROM "{settings.database_schema}"."{name}"')))
    for path in sorted(settings.data_dir.glob("*.sqlite")):
        with sqlite3.connect(path) as db:
            rows[path.name] = list(db.iterdump())
    return {"files": files, "rows": rows}


@pytest.mark.parametrize("tampered", [False, True])
def test_the_audit_writes_nothing(anchored, tampered):
    """The read models lag the event store: an audit that synced them (or created a table,
    a tracking row, a registry...) would change a row."""
    settings, table = anchored
    if tampered:
        delete_event(settings, table)
    before = _snapshot(settings)
    assert before["rows"], "nothing to compare"
    expected = 2 if tampered else 0
    assert main(["--data-dir", str(settings.data_dir), "audit"]) == expected
    assert _snapshot(settings) == before


def test_auditing_a_missing_merkle_log_creates_nothing(backend, anchored):
    settings, _ = anchored
    if settings.is_postgres:
        pytest.skip("the Merkle log of a PostgreSQL ledger lives in its schema")
    (settings.data_dir / "merkle.sqlite").unlink()
    report = audit_ledger(settings)
    assert not (settings.data_dir / "merkle.sqlite").exists()
    # The events still match every root anchored on chain; only the log's loss is reported.
    assert report.tampering == ["the Merkle log is missing, though events were anchored"]
    assert report.checkpoints_checked == 2
