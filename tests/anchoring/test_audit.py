from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anchoring.audit import audit
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast


@pytest.fixture
def anchored(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        cast = make_cast(runtime.ledger)
        batch = issue_batch(runtime.ledger, cast, count=30)
        runtime.anchoring.anchor_now()
        runtime.ledger.retire(actor=cast.platform, batch_id=batch, quantity=5_000,
                              beneficiary="B", purpose="voluntary", jurisdiction="CN",
                              consumption_period="2024")
        runtime.anchoring.anchor_now()
    return settings


def run_audit(settings: Settings) -> list[str]:
    with LedgerRuntime(settings) as runtime:
        anchoring = runtime.anchoring
        return audit(runtime.ledger.recorder, anchoring.merkle_log, anchoring.anchorer,
                     anchoring.chain).problems


def tamper(settings: Settings, *statements: tuple[str, tuple]) -> None:
    with sqlite3.connect(settings.events_path) as db:
        for sql, params in statements:
            db.execute(sql, params)


def shift_rows_up_from(settings: Settings, rowid: int) -> None:
    with sqlite3.connect(settings.events_path) as db:
        top = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        for row in range(top, rowid - 1, -1):
            db.execute("UPDATE stored_events SET rowid = rowid + 1 WHERE rowid = ?", (row,))


def test_untouched_history_passes_the_audit(anchored):
    assert run_audit(anchored) == []


def test_a_modified_event_is_detected(anchored):
    tamper(anchored, ("UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), "
                      "'\"quantity\":5000', '\"quantity\":4000') AS BLOB) "
                      "WHERE topic LIKE '%Retired'", ()))
    problems = run_audit(anchored)
    assert any("differs from the on-chain checkpoint" in p for p in problems)
    assert any("differs from the leaf recorded" in p for p in problems)


def test_a_deleted_event_is_detected(anchored):
    tamper(anchored, ("DELETE FROM stored_events WHERE rowid = 10", ()))
    problems = run_audit(anchored)
    assert any("leaf 9 " in p for p in problems)
    assert any("differs from the on-chain checkpoint" in p for p in problems)


def test_reordered_events_are_detected(anchored):
    with sqlite3.connect(anchored.events_path) as db:
        a, b = (db.execute("SELECT originator_id, originator_version, topic, state FROM "
                           "stored_events WHERE rowid = ?", (r,)).fetchone() for r in (5, 6))
        db.execute("DELETE FROM stored_events WHERE rowid IN (5, 6)")
        db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, topic,"
                   " state) VALUES (5, ?, ?, ?, ?)", b)
        db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, topic,"
                   " state) VALUES (6, ?, ?, ?, ?)", a)
    problems = run_audit(anchored)
    assert any("leaf 4 " in p for p in problems)


def test_an_inserted_event_is_detected(anchored):
    shift_rows_up_from(anchored, 8)
    tamper(anchored, ("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                      "topic, state) VALUES (8, '00000000000000000000000000000001', 1, "
                      "'ledger.domain.participant:Participant.Registered', "
                      "CAST('{}' AS BLOB))", ()))
    problems = run_audit(anchored)
    assert any("leaf 7 " in p for p in problems)
    assert any("differs from the on-chain checkpoint" in p for p in problems)


def test_cli_audit_exits_non_zero_on_tampering(anchored, capsys):
    assert main(["--data-dir", str(anchored.data_dir), "audit"]) == 0
    assert "OK:" in capsys.readouterr().out
    tamper(anchored, ("DELETE FROM stored_events WHERE rowid = 3", ()))
    assert main(["--data-dir", str(anchored.data_dir), "audit"]) == 2
    captured = capsys.readouterr()
    assert "TAMPERING" in captured.out and "audit failed" in captured.err


def test_a_rewritten_merkle_log_still_fails_against_the_chain(anchored):
    """An operator who rewrites the events *and* rebuilds the local Merkle log cannot
    rewrite the anchored roots."""
    tamper(anchored, ("UPDATE stored_events SET state = replace(state, '\"quantity\":5000', "
                      "'\"quantity\":4000') WHERE topic LIKE '%Retired'", ()))
    Path(anchored.data_dir / "merkle.sqlite").unlink()
    problems = run_audit(anchored)
    assert any("on-chain checkpoint" in p for p in problems)
