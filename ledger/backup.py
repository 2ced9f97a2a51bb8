"""Online backup and restore of a ledger's data directory (``carbon-ledger backup`` and
``restore``; see docs/OPERATIONS.md).

Every SQLite database of the data directory (``events.sqlite``, ``views.sqlite``,
``merkle.sqlite``; any file that starts with the SQLite header) is copied with SQLite's
online backup API: one consistent snapshot per database, taken while the server keeps
writing (a reader in WAL mode blocks no writer). The other files are copied with their
modes: the embedded chain's key and journal (``chain/``), the remembered registry address
(``anchor-contract.txt``), the log signing key (``log-signing-key``), certificates. Lock
files, SQLite's ``-wal``/``-shm``/``-journal`` files and hidden drafts are not copied.

The snapshots are taken one after the other, each store before the ones it is derived
from, so a copy never holds what its source does not: the read models (``views.sqlite``,
with the kept API responses) and the Merkle log with its anchor records
(``merkle.sqlite``) first, then the embedded chain's journal (an anchor is sent before it
is recorded, so the journal copied after the records holds every recorded anchor), and
the event store last (it holds every event logged, projected or anchored before). A
restored ledger is then at most a little behind in its derived stores, which catch up on
opening, exactly as after a crash; nothing derived is ahead of the events.

A manifest (``backup.json``) lists every file with its size, mode and SHA-256; ``restore``
checks them all before it writes anything. On PostgreSQL the database is not in the data
directory (dump it with ``pg_dump``); the backup then holds the data directory's files only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ledger.domain.errors import LedgerError

__all__ = ["MANIFEST", "BackupReport", "backup_data_dir", "restore_data_dir"]

MANIFEST = "backup.json"
FORMAT = "carbon-ledger/backup/v1"
SQLITE_HEADER = b"SQLite format 3\x00"
NOT_COPIED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock")
EVENTS = "events.sqlite"
# Derived stores first, their sources after them (see the module documentation).
FIRST = ("views.sqlite", "merkle.sqlite")


@dataclass
class BackupReport:
    """What a backup holds (or a restore wrote)."""

    directory: Path
    files: list[dict[str, object]] = field(default_factory=list)
    databases: int = 0
    events: int | None = None


def backup_data_dir(data_dir: Path, target: Path, *, postgres: bool = False,
                    after_each: Callable[[Path], None] | None = None) -> BackupReport:
    """Copy the ledger in ``data_dir`` to ``target`` (created; must be empty), online.
    ``after_each`` is called with each file's relative path once it is copied (tests write
    to the ledger there, as a server would between two copies)."""
    if not postgres and not (data_dir / EVENTS).is_file():
        raise LedgerError(f"no ledger in {data_dir} (no {EVENTS})")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LedgerError(f"backup target {target} is not an empty directory")
    if _inside(target, data_dir):
        raise LedgerError(f"backup target {target} is inside the data directory {data_dir}")
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o700)  # the copy holds keys and API key digests
    report = BackupReport(directory=target)
    for relative, is_database in _plan(data_dir):
        source, copy = data_dir / relative, target / relative
        _make_parents(copy, target)
        if is_database:
            _backup_database(source, copy)
            report.databases += 1
        else:
            shutil.copy2(source, copy, follow_symlinks=False)
        mode = stat.S_IMODE(source.stat().st_mode)
        copy.chmod(mode)
        report.files.append({"path": relative.as_posix(), "size": copy.stat().st_size,
                             "mode": f"{mode:04o}", "sha256": _sha256(copy),
                             "sqlite": is_database})
        if after_each is not None:
            after_each(relative)
    if not postgres:
        report.events = _event_count(target / EVENTS)
    manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(),
                "source": str(data_dir.resolve()), "postgres": postgres,
                "events": report.events, "files": report.files}
    _write_private(target / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return report


def restore_data_dir(source: Path, data_dir: Path, *, force: bool = False) -> BackupReport:
    """Restore the backup in ``source`` into ``data_dir``: refused if ``data_dir`` is not
    empty, unless ``force`` and it holds a ledger (then its contents are replaced). Every
    file of the backup is checked against the manifest before anything is written."""
    manifest = _read_manifest(source)
    files = _checked_files(source, manifest)
    if data_dir.exists() and not data_dir.is_dir():
        raise LedgerError(f"{data_dir} is not a directory")
    occupied = data_dir.exists() and any(data_dir.iterdir())
    if occupied and not force:
        raise LedgerError(f"{data_dir} is not empty: restore into an empty directory, or "
                          "pass --force to replace the ledger in it")
    if occupied and not (data_dir / EVENTS).exists() and not manifest.get("postgres"):
        raise LedgerError(f"{data_dir} is not empty and holds no ledger: not replaced, even "
                          "with --force")
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-",
                                    dir=data_dir.parent))
    try:
        for entry in files:
            relative = Path(str(entry["path"]))
            copy = staging / relative
            _make_parents(copy, staging)
            shutil.copy2(source / relative, copy)
            copy.chmod(int(str(entry["mode"]), 8))
        if occupied:
            for old in data_dir.iterdir():
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old)
                else:
                    old.unlink()
        for entry in staging.iterdir():
            entry.rename(data_dir / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = BackupReport(directory=data_dir, files=files,
                          databases=sum(1 for entry in files if entry.get("sqlite")))
    report.events = manifest.get("events")
    return report


# -- backup ----------------------------------------------------------------------------------


def _plan(data_dir: Path) -> list[tuple[Path, bool]]:
    """The files to copy, relative to ``data_dir``, in copying order, each with whether it
    is an SQLite database."""
    found: list[tuple[Path, bool]] = []
    for root, directories, names in os.walk(data_dir):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or name.endswith(NOT_COPIED_SUFFIXES) or name == MANIFEST:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path.relative_to(data_dir), _is_database(path)))

    def rank(item: tuple[Path, bool]) -> tuple[int, str]:
        relative, is_database = item
        name = relative.as_posix()
        if name in FIRST:
            return FIRST.index(name), name
        if name == EVENTS:
            return 9, name
        return (3 if is_database else 5), name

    return sorted(found, key=rank)


def _is_database(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _backup_database(source: Path, copy: Path) -> None:
    """One consistent snapshot of ``source`` with SQLite's online backup API."""
    try:
        origin = sqlite3.connect(source, timeout=30)
        try:
            target = sqlite3.connect(copy)
            try:
                origin.backup(target)  # all pages in one step: one snapshot
                (verdict,) = target.execute("PRAGMA quick_check").fetchone()
                if verdict != "ok":
                    raise LedgerError(f"the copy of {source} fails its check: {verdict}")
            finally:
                target.close()
        finally:
            origin.close()
    except sqlite3.Error as error:
        raise LedgerError(f"cannot back up {source}: {error}") from None


def _event_count(events: Path) -> int:
    with sqlite3.connect(f"file:{events}?mode=ro", uri=True) as connection:
        try:
            (count,) = connection.execute(
                "SELECT COALESCE(MAX(notification_id), 0) FROM stored_events").fetchone()
        except sqlite3.Error:
            return 0
    return int(count)


# -- restore ---------------------------------------------------------------------------------


def _read_manifest(source: Path) -> dict[str, object]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise LedgerError(f"{source} is not a carbon-ledger backup (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise LedgerError(f"cannot read {source / MANIFEST}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LedgerError(f"{source / MANIFEST} is not a {FORMAT} manifest")
    return manifest


def _checked_files(source: Path, manifest: dict[str, object]) -> list[dict[str, object]]:
    """The manifest's files, each present with its size and SHA-256; paths stay inside."""
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(entry, dict) for entry in files):
        raise LedgerError(f"{source / MANIFEST} lists no files")
    root = source.resolve()
    for entry in files:
        relative = Path(str(entry.get("path", "")))
        path = (source / relative).resolve()
        if relative.is_absolute() or ".." in relative.parts or not _inside(path, root):
            raise LedgerError(f"the backup names a file outside it: {relative}")
        mode = str(entry.get("mode", ""))
        if not (len(mode) == 4 and all(c in "01234567" for c in mode)):
            raise LedgerError(f"the backup gives {relative} no valid mode")
        if not path.is_file():
            raise LedgerError(f"the backup is damaged: {relative} is missing")
        if path.stat().st_size != entry.get("size") or _sha256(path) != entry.get("sha256"):
            raise LedgerError(f"the backup is damaged: {relative} does not match its "
                              "SHA-256 in the manifest")
    if not manifest.get("postgres") and EVENTS not in {entry["path"] for entry in files}:
        raise LedgerError(f"the backup holds no {EVENTS}")
    return files


# -- helpers ---------------------------------------------------------------------------------


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _make_parents(path: Path, root: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent != root:
        path.parent.chmod(0o700)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
