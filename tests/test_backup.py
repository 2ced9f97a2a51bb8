"""``carbon-ledger backup`` / ``restore``: an online copy of an anchored ledger (taken while
it is written and anchored), restored, passes ``check`` and ``audit`` and takes new writes;
keys keep their modes; damaged backups and occupied targets are refused. PostgreSQL: the
documented ``pg_dump`` / ``pg_restore`` of the ledger's schema, with the real binaries."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from anchoring.note import LogSigner
from ledger.backup import backup_data_dir
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import World
from tests.conftest import database_url_for_tests, postgres_unavailable_reason

T = 1_000_000


@pytest.fixture(autouse=True)
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite and the embedded chain, whatever the environment says."""
    for name in ("CARBON_LEDGER_DATABASE_URL", "CARBON_LEDGER_DATABASE_SCHEMA",
                 "CARBON_LEDGER_RPC_URL", "CARBON_LEDGER_LOG_KEY", "CARBON_LEDGER_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def populate(runtime: LedgerRuntime) -> tuple[World, uuid.UUID]:
    """Participants, a batch, transfers, a retirement, anchored; the log signing key."""
    world = World.create(runtime, None)  # type: ignore[arg-type]  # no HTTP here
    enterprise, platform = world.actors["enterprise"], world.actors["platform"]
    batch = world.project_batch(enterprise, "10 t")
    runtime.ledger.transfer(actor=enterprise.id, batch_id=batch, recipient=platform.id,
                            quantity=2 * T)
    runtime.ledger.retire(actor=platform.id, batch_id=batch, quantity=T, beneficiary="Metro",
                          purpose="voluntary", jurisdiction="CN-HB", consumption_period="2024")
    runtime.sync()
    runtime.anchoring.anchor_now()
    LogSigner.for_registry(runtime.settings.data_dir, "carbon-ledger.test/log")
    return world, batch


def run(*argv: str) -> int:
    return main(list(argv))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_taken_while_the_ledger_is_written_and_anchored_restores_to_a_ledger_that_checks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data, copy, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        world, batch = populate(runtime)
        enterprise, platform = world.actors["enterprise"], world.actors["platform"]
        stop = threading.Event()
        written: list[int] = []

        def write() -> None:  # the server keeps writing and anchoring during the backup
            while not stop.is_set():
                runtime.ledger.transfer(actor=enterprise.id, batch_id=batch,
                                        recipient=platform.id, quantity=1)
                written.append(1)
                runtime.sync()
                if len(written) % 5 == 0:
                    runtime.anchoring.anchor_now()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while len(written) < 10:
                stop.wait(0.01)
            assert run("--data-dir", str(data), "backup", "--to", str(copy)) == 0
            while len(written) < 20:  # and the writer goes on after it
                stop.wait(0.01)
        finally:
            stop.set()
            writer.join()
    out = capsys.readouterr().out
    assert "backed up" in out and "3 databases" in out

    manifest = json.loads((copy / "backup.json").read_text())
    names = [entry["path"] for entry in manifest["files"]]
    assert names[:2] == ["views.sqlite", "merkle.sqlite"] and names[-1] == "events.sqlite"
    assert {"chain/chain-key", "chain/chain-anchors.jsonl", "log-signing-key"} <= set(names)
    assert not [n for n in names if n.endswith(("-wal", "-shm", ".lock"))]
    assert mode(copy) == 0o700 and mode(copy / "backup.json") == 0o600
    for key in ("chain/chain-key", "log-signing-key"):
        assert mode(data / key) == 0o600
        assert mode(copy / key) == 0o600

    assert run("--data-dir", str(restored), "restore", "--from", str(copy)) == 0
    for key in ("chain/chain-key", "log-signing-key"):
        assert mode(restored / key) == 0o600
        assert (restored / key).read_bytes() == (data / key).read_bytes()
    capsys.readouterr()
    assert run("--data-dir", str(restored), "check") == 0
    assert run("--data-dir", str(restored), "audit") == 0, capsys.readouterr()
    assert "OK:" in capsys.readouterr().out

    # The restored ledger takes new writes, anchors them, and still audits.
    with LedgerRuntime(Settings(data_dir=restored)) as runtime:
        runtime.sync()
        before = runtime.views.balance(platform.id, batch)["available"]
        runtime.ledger.transfer(actor=enterprise.id, batch_id=batch, recipient=platform.id,
                                quantity=T)
        runtime.sync()
        assert runtime.views.balance(platform.id, batch)["available"] == before + T
        status = runtime.anchoring.anchor_now()
        assert status.state != "chain-unavailable"
    assert run("--data-dir", str(restored), "check") == 0
    assert run("--data-dir", str(restored), "audit") == 0


def test_writes_and_anchors_between_every_two_copies_leave_a_restorable_consistent_copy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """The worst moments of a concurrent server, made certain: after each file is copied,
    an event is written, projected and anchored. Copying a source before what is derived
    from it (the events before the read models, the Merkle log or the chain journal) would
    leave derived stores ahead of their source, which check or audit refuse."""
    data, copy, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        world, batch = populate(runtime)
        enterprise, platform = world.actors["enterprise"], world.actors["platform"]

        def write_and_anchor(_: Path) -> None:
            runtime.ledger.transfer(actor=enterprise.id, batch_id=batch,
                                    recipient=platform.id, quantity=1)
            runtime.sync()
            runtime.anchoring.anchor_now()

        report = backup_data_dir(data, copy, after_each=write_and_anchor)
        assert len(report.files) >= 6
    assert run("--data-dir", str(restored), "restore", "--from", str(copy)) == 0
    capsys.readouterr()
    assert run("--data-dir", str(restored), "audit") == 0, capsys.readouterr()
    assert run("--data-dir", str(restored), "check") == 0, capsys.readouterr()
    with LedgerRuntime(Settings(data_dir=restored)) as runtime:
        runtime.sync()
        runtime.ledger.transfer(actor=enterprise.id, batch_id=batch, recipient=platform.id,
                                quantity=1)
        runtime.sync()
        assert runtime.anchoring.anchor_now().state != "chain-unavailable"
    assert run("--data-dir", str(restored), "audit") == 0, capsys.readouterr()
    assert run("--data-dir", str(restored), "check") == 0, capsys.readouterr()


def test_restore_refuses_an_occupied_target_unless_forced_and_never_a_non_ledger(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data, copy, other = tmp_path / "data", tmp_path / "backup", tmp_path / "other"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        populate(runtime)
    assert run("--data-dir", str(data), "backup", "--to", str(copy)) == 0
    with LedgerRuntime(Settings(data_dir=other)) as runtime:  # another, newer ledger
        World.create(runtime, None)  # type: ignore[arg-type]
    events = (other / "events.sqlite").read_bytes()
    capsys.readouterr()
    assert run("--data-dir", str(other), "restore", "--from", str(copy)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "--force" in err
    assert (other / "events.sqlite").read_bytes() == events  # untouched

    assert run("--data-dir", str(other), "restore", "--from", str(copy), "--force") == 0
    assert (other / "events.sqlite").read_bytes() != events
    assert run("--data-dir", str(other), "audit") == 0

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("not a ledger")
    assert run("--data-dir", str(notes), "restore", "--from", str(copy), "--force") == 2
    assert "holds no ledger" in capsys.readouterr().err
    assert [p.name for p in notes.iterdir()] == ["thesis.txt"]


def test_a_damaged_or_foreign_backup_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data, copy = tmp_path / "data", tmp_path / "backup"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        populate(runtime)
    assert run("--data-dir", str(data), "backup", "--to", str(copy)) == 0
    capsys.readouterr()
    for damage in ("flip", "missing", "escape"):
        broken = tmp_path / f"broken-{damage}"
        shutil.copytree(copy, broken)
        if damage == "flip":
            raw = bytearray((broken / "events.sqlite").read_bytes())
            raw[-100] ^= 0xFF
            (broken / "events.sqlite").write_bytes(bytes(raw))
        elif damage == "missing":
            (broken / "chain" / "chain-anchors.jsonl").unlink()
        else:
            manifest = json.loads((broken / "backup.json").read_text())
            manifest["files"][0]["path"] = "../../outside"
            (broken / "backup.json").write_text(json.dumps(manifest))
        target = tmp_path / f"target-{damage}"
        assert run("--data-dir", str(target), "restore", "--from", str(broken)) == 2
        assert "backup" in capsys.readouterr().err
        assert not target.exists() or not any(target.iterdir())
    assert run("--data-dir", str(tmp_path / "t"), "restore", "--from", str(data)) == 2
    assert "not a carbon-ledger backup" in capsys.readouterr().err


def test_backup_refuses_an_occupied_target_and_a_missing_ledger(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = tmp_path / "data"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        populate(runtime)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep").write_text("x")
    assert run("--data-dir", str(data), "backup", "--to", str(occupied)) == 2
    assert run("--data-dir", str(data), "backup", "--to", str(data / "inside")) == 2
    assert not (data / "inside").exists()
    assert run("--data-dir", str(tmp_path / "none"), "backup", "--to",
               str(tmp_path / "b")) == 2
    assert capsys.readouterr().err.count("carbon-ledger: error") == 3


def _psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                    reason="pg_dump/pg_restore not installed")
def test_postgres_schema_dumped_with_pg_dump_restores_into_another_database_and_audits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """docs/OPERATIONS.md: ``pg_dump -Fc -n SCHEMA`` and ``pg_restore`` into a new database,
    the data directory's files restored with ``carbon-ledger restore``."""
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    url = database_url_for_tests()
    schema = f"backup_{uuid.uuid4().hex[:12]}"
    database = f"restored_{uuid.uuid4().hex[:12]}"
    restored_url = url.rsplit("/", 1)[0] + f"/{database}"
    data, files, restored_dir = tmp_path / "data", tmp_path / "files", tmp_path / "restored"
    dump = tmp_path / "ledger.dump"
    monkeypatch.setenv("CARBON_LEDGER_DATABASE_URL", url)
    monkeypatch.setenv("CARBON_LEDGER_DATABASE_SCHEMA", schema)
    try:
        with LedgerRuntime(Settings.from_env(data)) as runtime:
            world, batch = populate(runtime)
        assert run("--data-dir", str(data), "backup", "--to", str(files)) == 0
        assert "pg_dump" in capsys.readouterr().out
        subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", "--no-owner",
                        f"--file={dump}", url], check=True, capture_output=True)
        _psql(url, f'CREATE DATABASE "{database}"')
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error",
                        f"--dbname={restored_url}", str(dump)], check=True,
                       capture_output=True)

        monkeypatch.setenv("CARBON_LEDGER_DATABASE_URL", restored_url)
        assert run("--data-dir", str(restored_dir), "restore", "--from", str(files)) == 0
        assert mode(restored_dir / "log-signing-key") == 0o600
        capsys.readouterr()
        assert run("--data-dir", str(restored_dir), "check") == 0
        assert run("--data-dir", str(restored_dir), "audit") == 0, capsys.readouterr()
        with LedgerRuntime(Settings.from_env(restored_dir)) as runtime:
            runtime.sync()
            enterprise, platform = world.actors["enterprise"], world.actors["platform"]
            runtime.ledger.transfer(actor=enterprise.id, batch_id=batch,
                                    recipient=platform.id, quantity=T)
            runtime.sync()
            assert runtime.views.balance(platform.id, batch)["available"] == 2 * T
            runtime.anchoring.anchor_now()
        assert run("--data-dir", str(restored_dir), "audit") == 0
    finally:
        _psql(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _psql(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
