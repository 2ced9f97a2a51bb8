"""Property: any change to the stored rows of an anchored history fails the audit, never
crashes it, and leaves an untouched copy passing."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchoring.audit import audit_ledger
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import add_events

EVENTS = 24


@pytest.fixture(scope="module")
def anchored_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("property") / "ledger"
    with LedgerRuntime(Settings(data_dir=data_dir, database_url=None)) as runtime:
        add_events(runtime.ledger, EVENTS)
        runtime.anchoring.anchor_now()
    return data_dir


rows = st.integers(min_value=1, max_value=EVENTS)
tamperings = st.one_of(
    st.tuples(st.just("flip a state byte"), rows, st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("delete"), rows, st.just(0)),
    st.tuples(st.just("swap"), rows, rows),
    st.tuples(st.just("bump the version"), rows, st.integers(min_value=-3, max_value=3)
              .filter(bool)),
    st.tuples(st.just("change the originator"), rows, st.just(0)),
    st.tuples(st.just("change the topic"), rows, st.just(0)),
)


def tamper(db: sqlite3.Connection, kind: str, row: int, arg: int) -> bool:
    """Apply one tampering; False if it changed nothing (e.g. a swap of equal rows)."""
    select = "SELECT originator_id, originator_version, topic, state FROM stored_events " \
             "WHERE rowid = ?"
    before = db.execute(select, (row,)).fetchone()
    if kind == "flip a state byte":
        state = bytearray(before[3])
        state[arg % len(state)] ^= 0x01
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(state), row))
    elif kind == "delete":
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (row,))
    elif kind == "swap":
        other = db.execute(select, (arg,)).fetchone()
        if row == arg or other == before:
            return False
        db.execute("DELETE FROM stored_events WHERE rowid IN (?, ?)", (row, arg))
        db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                   "topic, state) VALUES (?, ?, ?, ?, ?)", (row, *other))
        db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                   "topic, state) VALUES (?, ?, ?, ?, ?)", (arg, *before))
    elif kind == "bump the version":
        db.execute("UPDATE stored_events SET originator_version = originator_version + ? "
                   "WHERE rowid = ?", (arg, row))
    elif kind == "change the originator":
        db.execute("UPDATE stored_events SET originator_id = ? WHERE rowid = ?",
                   (uuid.uuid4().hex, row))
    else:
        db.execute("UPDATE stored_events SET topic = topic || ' ' WHERE rowid = ?", (row,))
    return True


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tamperings)
def test_any_tampering_of_an_anchored_row_fails_the_audit(anchored_dir, tmp_path, tampering):
    copy = tmp_path / uuid.uuid4().hex
    shutil.copytree(anchored_dir, copy)
    with sqlite3.connect(copy / "events.sqlite") as db:
        changed = tamper(db, *tampering)
    report = audit_ledger(Settings(data_dir=copy, database_url=None))
    if changed:
        assert report.tampering, tampering
    else:
        assert report.ok
    shutil.rmtree(copy)
