"""The tamper-evident event log: an RFC 9162 Merkle tree over the whole notification log.

:class:`MerkleLog` follows the ledger's notification log (as the read-model projector does) and
appends one leaf per stored event, in log order, to an append-only Merkle tree persisted in SQL
with SQLAlchemy Core. The leaf of an event is its canonical encoding
(:func:`anchoring.leaf.encode_leaf`) and its leaf hash is ``SHA-256(0x00 || leaf)``.

Leaf indices
------------
The leaf index of an event is its order of appearance in the notification log, 0-based: the
first event is leaf 0. It is *not* derived from the notification id (the "position"): ids may
have gaps (PostgreSQL sequences skip values on rolled-back inserts). The table
``merkle_leaves(idx, position)`` maps indices to positions and back
(:meth:`MerkleLog.index_of`, :meth:`MerkleLog.position_of`) by *runs*: it holds the first leaf
of every run of consecutive notification ids, so leaf ``idx + k`` is the event at
``position + k`` until the next row (or the end of the tree). A SQLite log, whose ids have no
gaps, needs one row; a PostgreSQL log one per gap. A tree of size ``n`` covers the events with
leaf indices ``0 .. n - 1``.

Storage (tables prefixed ``merkle_``, in :data:`metadata`)
-----------------------------------------------------------
The tree stores the root of every complete *perfect* subtree, as CT logs do: node
``(level, i)`` is the root of leaves ``[i * 2**level, (i + 1) * 2**level)``; level 0 holds the
leaf hashes. Nodes never change once written and serve every historical tree size, so every
root and proof costs ``O(log n)`` node reads (see :class:`anchoring.merkle.MerkleTree`);
nothing is ever rebuilt from scratch. To keep bulk appends fast, nodes are stored in *strips*
of :data:`STRIP` (120) consecutive nodes of one level: a row per node would cost two row
inserts per event, a strip row costs one per 60 events.

* ``merkle_nodes(level, strip, hashes)``: ``hashes`` is the concatenation of the 32-byte hashes
  of nodes ``(level, strip * STRIP + j)`` for ``j = 0 .. len(hashes) / 32 - 1``. Every strip is
  full except the last one of each level, which is rewritten as the tree grows (only ever
  extended: a stored hash never changes).
* ``merkle_leaves(idx, position)``: leaf index <-> notification id, one row per run of
  consecutive ids (its first leaf). Logs written before runs were introduced hold a row for
  every leaf: each is then a run of one, read the same way.
* ``merkle_tracking(name, size, position)``: one row, the tree size and the notification id of
  its last leaf.

Catching up, exactly once
-------------------------
:meth:`MerkleLog.catch_up` reads notifications after the tracked position, page by page. Each
page is appended in ONE transaction that writes the new strips and leaf rows (``executemany``;
``COPY`` on PostgreSQL with psycopg) and advances ``merkle_tracking``; the transaction first
takes the write lock (SQLite engines from :func:`ledger.projections.database.make_engine` begin
with ``BEGIN IMMEDIATE``; other databases read the tracking row ``FOR UPDATE``) and re-reads
the tracked size, so two processes (or two instances) catching up concurrently serialise and
never append an event twice; a crash leaves either the whole page or none of it.

The frontier and the last, partial strip of every level (``O(log n)`` hashes) are kept in
memory, so appending never reads nodes back; they are reloaded from storage only when another
writer has advanced the tree. Reads go through :meth:`MerkleLog._node` (the storage hook of
:class:`~anchoring.merkle.MerkleTree`) backed by an LRU cache of strips; a root or proof first
works out which nodes it needs (that depends only on sizes and indices) and fetches the missing
strips in a single query.

Notifications are read with the recorder's ``select_notifications``, except from the
``eventsourcing`` SQLite and PostgreSQL recorders: building their ``Notification`` objects
capped catching up (at about 80,000 events/s on SQLite, 40,000 on PostgreSQL), so the same
rows are read with the same ``SELECT`` (same table and order) through the recorder's own
datastore, as plain tuples (binary format on PostgreSQL). ``fast_reader=False`` turns that
off; the tests check that both readers build the same tree. From PostgreSQL the next page is
read on a thread while one is hashed and written (the driver waits for the server without
the GIL); from SQLite it is not, as the two threads then mostly hand the GIL to each other.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from anchoring.leaf import LeafEncodingError, StoredNotification, encode_leaf
from anchoring.merkle import HASH_SIZE, CompactTree, MerkleError, MerkleTree, leaf_hash, node_hash

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_PAGE_SIZE",
    "STRIP",
    "MerkleLog",
    "MerkleLogError",
    "NotificationReader",
    "merkle_leaves",
    "merkle_nodes",
    "merkle_tracking",
    "metadata",
]

T = TypeVar("T")

STRIP = 120
"""Nodes per ``merkle_nodes`` row: 3840 bytes of hashes, so that a full strip fits in one 4 KiB
SQLite page without overflow pages; even, so that two siblings always share a strip."""

DEFAULT_PAGE_SIZE = 10_000
"""Notifications appended per transaction by :meth:`MerkleLog.catch_up`."""

DEFAULT_CACHE_SIZE = 4_096
"""Strips kept in the in-memory LRU cache (at most ``STRIP * 32`` = 3840 bytes each)."""

TRACKING_NAME = "event-log"

_STRIP_BYTES = STRIP * HASH_SIZE
_INSERT_CHUNK = 10_000  # rows per executemany call
_FETCH_CHUNK = 400  # strips per SELECT (SQLite allows 32766 bind parameters)
_PLACEHOLDER = bytes(HASH_SIZE)
_PARAMETER_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

# BIGINT everywhere, except INTEGER on SQLite so that a single-column primary key is the rowid.
_BigInt = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
"""Tables of the Merkle log (created by :meth:`MerkleLog.create_tables`)."""

merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("strip", _BigInt, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary(_STRIP_BYTES), nullable=False),
)

merkle_leaves = Table(
    "merkle_leaves",
    metadata,
    Column("idx", _BigInt, primary_key=True, autoincrement=False),
    Column("position", _BigInt, nullable=False, unique=True),
)

merkle_tracking = Table(
    "merkle_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("size", _BigInt, nullable=False),
    Column("position", _BigInt, nullable=False),
)

# One event as read from the log: (position, originator_id, originator_version, topic, state),
# the originator id as a UUID or as the string the recorder stores.
_Row = tuple[int, UUID | str, int, str, bytes]


class MerkleLogError(RuntimeError):
    """The persisted Merkle log is inconsistent with the notification log or with itself."""


class NotificationReader(Protocol):
    """The part of an ``eventsourcing`` application recorder that the log reads."""

    def select_notifications(
        self, start: int | None, limit: int, *, inclusive_of_start: bool = True
    ) -> Sequence[StoredNotification]:
        """Up to ``limit`` notifications from ``start`` on, in log order."""
        ...


class _LRU:
    """A small least-recently-used map of strip key ``(level, strip) -> hashes``."""

    __slots__ = ("_data", "capacity")

    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self.capacity = capacity

    def get(self, key: tuple[int, int]) -> bytes | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: tuple[int, int], value: bytes) -> None:
        data = self._data
        old = data.get(key)
        if old is not None and len(old) >= len(value):
            data.move_to_end(key)
            return  # keep the longer copy of a strip that was still growing
        data[key] = value
        data.move_to_end(key)
        while len(data) > self.capacity:
            data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _read_with_select_notifications(reader: NotificationReader) -> Callable[[int, int], list[_Row]]:
    def read(after: int, limit: int) -> list[_Row]:
        return [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in reader.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        ]

    return read


def _read_sqlite_recorder(recorder: SQLiteApplicationRecorder) -> Callable[[int, int], list[_Row]]:
    """Read the rows ``select_notifications`` would turn into notifications, as tuples.

    Same table, same ``SELECT`` (``rowid`` is the notification id), same datastore
    transaction; only the per-row ``Notification`` construction is skipped.
    """
    table = recorder.events_table_name
    if not _IDENTIFIER.fullmatch(table):
        raise MerkleLogError(f"unexpected events table name {table!r}")
    statement = (
        f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
        "WHERE rowid>? ORDER BY rowid LIMIT ?"
    )
    datastore = recorder.datastore

    def read(after: int, limit: int) -> list[_Row]:
        with datastore.transaction(commit=False) as cursor:
            # Plain tuples: this cursor is the transaction's own, and sqlite3.Row objects
            # cost a fifth of the read.
            cursor.sqlite_cursor.row_factory = None
            cursor.execute(statement, (after, limit))
            return cursor.fetchall()

    return read


def _read_postgres_recorder(
    recorder: PostgresApplicationRecorder,
) -> Callable[[int, int], list[_Row]]:
    """Read the rows ``select_notifications`` would turn into notifications, as tuples.

    Same table and order, on a connection of the recorder's pool, in psycopg's binary format
    (ids arrive as integers and UUIDs, states as bytes, without parsing text); only the
    per-row dictionaries and ``Notification`` objects are skipped.
    """
    statement = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {schema}.{table} WHERE notification_id>%s ORDER BY notification_id LIMIT %s"
    ).format(
        schema=sql.Identifier(recorder.datastore.schema),
        table=sql.Identifier(recorder.events_table_name),
    )
    datastore = recorder.datastore

    def read(after: int, limit: int) -> list[_Row]:
        with (
            datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as cursor,
        ):
            cursor.execute(statement, (after, limit), prepare=True)
            return cursor.fetchall()

    return read


class _ReadAhead:
    """Reads pages of the notification log, one page ahead on a worker thread.

    :meth:`start` begins reading the page after ``after``; :meth:`read` returns that page if
    it is the one asked for, else reads the asked page now (a read ahead for a position that
    another writer has since passed is dropped). Rows read ahead are only a copy of what the
    log holds: :meth:`MerkleLog._append_page` still checks them against the tracked position.
    """

    def __init__(self, read: Callable[[int, int], Sequence[_Row]], *, enabled: bool) -> None:
        self._read = read
        self.enabled = enabled
        self._executor: ThreadPoolExecutor | None = None
        self._pending: tuple[int, int, Future[Sequence[_Row]]] | None = None

    def start(self, after: int, limit: int) -> None:
        if not self.enabled:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="merkle-read-ahead")
        self._pending = (after, limit, self._executor.submit(self._read, after, limit))

    def read(self, after: int, limit: int) -> Sequence[_Row]:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending_after, pending_limit, future = pending
            rows = future.result()  # a failed read raises here, in the caller's thread
            if pending_after == after and pending_limit == limit:
                return rows
        return self._read(after, limit)

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending = None


class MerkleLog(MerkleTree):
    """Append-only RFC 9162 tree over the notification log, persisted with SQLAlchemy Core.

    ``source`` is the ledger (anything with a ``recorder``) or a :class:`NotificationReader`;
    ``engine`` holds the ``merkle_*`` tables (for SQLite, create it with
    :func:`ledger.projections.database.make_engine` so that transactions take the write lock;
    a file of its own is best, as catching up holds that lock for a page). The tables are
    created if missing unless ``create_tables=False``.

    Roots and proofs (inherited from :class:`~anchoring.merkle.MerkleTree`) are served for the
    current and every historical size. :attr:`size` is the size this instance last saw; it is
    refreshed from storage by :meth:`catch_up`, by :meth:`refresh` and whenever a larger size
    is asked for. Leaves are appended only by :meth:`catch_up`. Thread-safe (one lock).
    """

    def __init__(
        self,
        source: Any,
        engine: Engine,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        create_tables: bool = True,
        fast_reader: bool = True,
    ) -> None:
        """Open the log stored in ``engine`` and load its size and frontier."""
        # MerkleTree.__init__ is deliberately not called: its in-memory levels are replaced by
        # the storage hooks below.
        if page_size < 1 or cache_size < 1:
            raise ValueError("page_size and cache_size must be positive")
        recorder = getattr(source, "recorder", None)
        reader = recorder if recorder is not None else source
        if (
            fast_reader
            and isinstance(reader, SQLiteApplicationRecorder)
            and type(reader).select_notifications is SQLiteApplicationRecorder.select_notifications
        ):
            self._read = _read_sqlite_recorder(reader)
            # Reading a local file ahead on a thread only adds GIL hand-offs (measured: the
            # page writes took 4x as long while the next page was read).
            self.reads_ahead = False
        elif (
            fast_reader
            and isinstance(reader, PostgresApplicationRecorder)
            and type(reader).select_notifications
            is PostgresApplicationRecorder.select_notifications
        ):
            self._read = _read_postgres_recorder(reader)
            self.reads_ahead = True
        else:
            self._read = _read_with_select_notifications(reader)
            self.reads_ahead = True
        self.reader: NotificationReader = reader
        self.engine = engine
        self.page_size = page_size
        self._cache = _LRU(cache_size)
        self._lock = threading.RLock()
        self._recording: list[tuple[int, int]] | None = None
        self._size = 0
        self._position = 0
        self._frontier: list[bytes] = []  # as CompactTree: one root per set bit of _size
        self._open: list[bytes] = []  # per level: the hashes of its last, partial strip
        if create_tables:
            self.create_tables()
        self.refresh()

    # -- schema ------------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the ``merkle_*`` tables and the tracking row if they do not exist."""
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(merkle_tracking.c.size).where(merkle_tracking.c.name == TRACKING_NAME)
            ).first()
            if exists is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(merkle_tracking).values(name=TRACKING_NAME, size=0, position=0)
                        )
                except SQLIntegrityError:  # another process created it first
                    pass

    # -- storage hooks -----------------------------------------------------------------------

    def _node(self, level: int, index: int) -> bytes:
        """Stored root of the perfect subtree ``(level, index)``.

        Looked up in the in-memory last strip of the level, then in the LRU cache, then in
        storage (one ``SELECT``). During the dry run of :meth:`_prefetched` a node not in
        memory is only recorded (and a placeholder returned).
        """
        recording = self._recording
        if recording is not None:
            value = self._cached(level, index)
            if value is None:
                recording.append((level, index))
                return _PLACEHOLDER
            return value
        value = self._cached(level, index)
        if value is None:
            strip = index // STRIP
            self._fetch([(level, strip)])
            value = self._cached(level, index)
            if value is None:
                raise MerkleLogError(f"node ({level}, {index}) is missing from storage")
        return value

    def _cached(self, level: int, index: int) -> bytes | None:
        """The node from memory (last strip of its level, or cache), or ``None``."""
        strip, slot = divmod(index, STRIP)
        offset = slot * HASH_SIZE
        if level < len(self._open) and strip == (self._size >> level) // STRIP:
            hashes: bytes | None = self._open[level]
        else:
            hashes = self._cache.get((level, strip))
        if hashes is None or len(hashes) < offset + HASH_SIZE:
            return None
        return hashes[offset : offset + HASH_SIZE]

    def _store_node(self, level: int, index: int, node: bytes) -> None:
        """Not used: nodes are written in bulk, a page at a time, by :meth:`catch_up`."""
        raise MerkleError("a MerkleLog is appended to only by catch_up()")

    @property
    def size(self) -> int:
        """Number of leaves, as last seen by this instance (see :meth:`refresh`)."""
        return self._size

    @property
    def position(self) -> int:
        """Notification id of the last leaf (0 for the empty tree)."""
        return self._position

    # -- reading -----------------------------------------------------------------------------

    def refresh(self) -> int:
        """Reload the size (and the frontier, if it changed) from storage; return the size."""
        with self._lock, self.engine.connect() as conn:
            size, position = self._tracked(conn, lock=False)
            if size != self._size or position != self._position:
                self._load(conn, size, position)
            return self._size

    def root(self, tree_size: int | None = None) -> bytes:
        """Return the root of the first ``tree_size`` leaves (default: :attr:`size`)."""
        return self._prefetched(tree_size, lambda: MerkleTree.root(self, tree_size))

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size``
        leaves (default: :attr:`size`)."""
        return self._prefetched(
            tree_size, lambda: MerkleTree.inclusion_proof(self, index, tree_size)
        )

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 consistency proof from tree size ``old_size`` to ``new_size``
        (default: :attr:`size`)."""
        return self._prefetched(
            new_size, lambda: MerkleTree.consistency_proof(self, old_size, new_size)
        )

    def compact(self, tree_size: int | None = None) -> CompactTree:
        """Return the frontier of the first ``tree_size`` leaves as a :class:`CompactTree`."""
        return self._prefetched(tree_size, lambda: MerkleTree.compact(self, tree_size))

    def leaf_hash(self, index: int) -> bytes:
        """Return the leaf hash of leaf ``index`` (0-based order in the notification log)."""
        return self._prefetched(
            index + 1 if isinstance(index, int) else None, lambda: MerkleTree.leaf(self, index)
        )

    def leaf(self, index: int) -> bytes:
        """Same as :meth:`leaf_hash`."""
        return self.leaf_hash(index)

    def nodes(self, level: int, start: int, count: int) -> list[bytes]:
        """The stored roots of the perfect subtrees ``(level, start)`` to
        ``(level, start + count - 1)`` (what a C2SP tlog-tiles hash tile lists), in one
        prefetch. Raises :class:`MerkleError` unless they are all complete in the tree."""
        if level < 0 or start < 0 or count < 0:
            raise MerkleError("level, start and count must be non-negative")
        end = (start + count) << level
        if end > self._size and end > self.refresh():
            raise MerkleError(f"nodes ({level}, {start}..{start + count - 1}) are not all "
                              f"complete in the tree of {self._size} leaves")
        return self._prefetched(
            None, lambda: [self._node(level, i) for i in range(start, start + count)])

    def index_of(self, position: int) -> int | None:
        """Leaf index of the event with notification id ``position`` (``None`` if not in)."""
        with self.engine.connect() as conn:
            size, _ = self._tracked(conn, lock=False)
            run = _run_at_or_before(conn, merkle_leaves.c.position, position)
            if run is None:
                return None
            index = int(run.idx) + position - int(run.position)
            if index >= size:
                return None
            next_run = conn.execute(
                select(merkle_leaves.c.idx)
                .where(merkle_leaves.c.idx > run.idx)
                .order_by(merkle_leaves.c.idx)
                .limit(1)
            ).scalar()
        if next_run is not None and index >= next_run:
            return None  # ``position`` falls in the gap before the next run
        return index

    def position_of(self, index: int) -> int | None:
        """Notification id of leaf ``index`` (``None`` if the tree has no such leaf)."""
        if index < 0:
            return None
        with self.engine.connect() as conn:
            size, _ = self._tracked(conn, lock=False)
            if index >= size:
                return None
            run = _run_at_or_before(conn, merkle_leaves.c.idx, index)
        if run is None:
            raise MerkleLogError(f"merkle_leaves has no run covering leaf {index}")
        return int(run.position) + index - int(run.idx)

    def append(self, leaf_hash: bytes) -> int:
        """Not supported: leaves come from the notification log through :meth:`catch_up`."""
        raise MerkleError("a MerkleLog is appended to only by catch_up()")

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Not supported: leaves come from the notification log through :meth:`catch_up`."""
        raise MerkleError("a MerkleLog is appended to only by catch_up()")

    def _prefetched(self, tree_size: int | None, operation: Callable[[], T]) -> T:
        """Run ``operation`` as a dry run noting the nodes it reads that are not in memory; if
        there were none, that run was the real one (the cached case); otherwise run it again
        once the missing strips are fetched in one query. (Which nodes an RFC 9162 root or
        proof reads depends only on the sizes and indices, never on hash values.)"""
        with self._lock:
            if isinstance(tree_size, int) and tree_size > self._size:
                self.refresh()
            self._recording = []
            try:
                result = operation()
                absent = self._recording
            finally:
                self._recording = None
            if not absent:
                return result
            self._fetch(sorted({(level, index // STRIP) for level, index in absent}))
            return operation()

    def _fetch(self, keys: Sequence[tuple[int, int]]) -> None:
        """Load the strips ``keys`` from ``merkle_nodes`` into the cache."""
        if not keys:
            return
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _FETCH_CHUNK):
                for level, strip, hashes in _select_strips(
                    conn, keys[start : start + _FETCH_CHUNK]
                ):
                    self._cache.put((int(level), int(strip)), bytes(hashes))

    # -- catching up -------------------------------------------------------------------------

    def catch_up(self, limit: int | None = None) -> int:
        """Append every notification recorded after the tree's last leaf; return how many.

        Each page of :attr:`page_size` notifications is appended in one transaction (strips,
        leaf rows and the tracking row), under the write lock. ``limit`` caps the number of
        leaves appended by this call (``None``: no cap). While a full page is hashed and
        written, the next one is read from the event store on another thread (the drivers
        release the GIL while they wait for the database).
        """
        appended = 0
        with self._lock, _ReadAhead(self._read, enabled=self.reads_ahead) as reader:
            while limit is None or appended < limit:
                page = self.page_size if limit is None else min(self.page_size, limit - appended)
                following = self.page_size if limit is None else limit - appended - page
                count = self._append_page(page, reader, min(self.page_size, following))
                appended += count
                if count < page:
                    break
        return appended

    def _append_page(self, page_size: int, reader: _ReadAhead, next_page: int) -> int:
        with self.engine.begin() as conn:
            size, position = self._tracked(conn, lock=True)
            if size != self._size or position != self._position:
                self._load(conn, size, position)  # another writer advanced the tree
            rows = reader.read(position, page_size)
            if not rows:
                return 0
            if len(rows) == page_size and next_page > 0:
                reader.start(rows[-1][0], next_page)
            frontier = list(self._frontier)
            open_strips = [bytearray(hashes) for hashes in self._open]
            full_strips, leaf_rows, last_position = _grow(
                frontier, open_strips, size, position, rows
            )
            new_size = size + len(rows)
            # The last strip of every level that grew was partial (or absent): rewrite it.
            stale: list[dict[str, Any]] = []
            partial: list[dict[str, Any]] = []
            for level in range(new_size.bit_length()):
                old_count, new_count = size >> level, new_size >> level
                if old_count == new_count:
                    continue
                if old_count % STRIP:
                    stale.append({"level": level, "strip": old_count // STRIP})
                if new_count % STRIP:
                    partial.append(
                        {
                            "level": level,
                            "strip": new_count // STRIP,
                            "hashes": bytes(open_strips[level]),
                        }
                    )
            if stale:
                conn.execute(
                    delete(merkle_nodes).where(
                        _strips([(row["level"], row["strip"]) for row in stale])
                    )
                )
            strips = full_strips + partial
            for start in range(0, len(strips), _INSERT_CHUNK):
                conn.execute(insert(merkle_nodes), strips[start : start + _INSERT_CHUNK])
            _insert_many(conn, merkle_leaves, ("idx", "position"), leaf_rows)
            conn.execute(
                update(merkle_tracking)
                .where(merkle_tracking.c.name == TRACKING_NAME)
                .values(size=new_size, position=last_position)
            )
        # Committed: only now does the in-memory state move on.
        self._frontier = frontier
        self._open = [bytes(hashes) for hashes in open_strips]
        self._size = new_size
        self._position = last_position
        for row in partial:  # the right edge is what new proofs read most
            self._cache.put((row["level"], row["strip"]), row["hashes"])
        return len(rows)

    def _tracked(self, conn: Connection, *, lock: bool) -> tuple[int, int]:
        query = select(merkle_tracking.c.size, merkle_tracking.c.position).where(
            merkle_tracking.c.name == TRACKING_NAME
        )
        if lock and conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise MerkleLogError("merkle_tracking has no row: call create_tables() first")
        return int(row.size), int(row.position)

    def _load(self, conn: Connection, size: int, position: int) -> None:
        """Load the last strip of every level and the frontier of a tree of ``size`` leaves."""
        wanted = {
            level: (size >> level) // STRIP
            for level in range(size.bit_length())
            if (size >> level) % STRIP
        }
        found: dict[int, bytes] = {}
        if wanted:
            query = select(merkle_nodes.c.level, merkle_nodes.c.hashes).where(
                _strips(list(wanted.items()))
            )
            found = {int(level): bytes(hashes) for level, hashes in conn.execute(query)}
        open_strips = []
        for level in range(size.bit_length()):
            expected = (size >> level) % STRIP * HASH_SIZE
            hashes = found.get(level, b"")
            if len(hashes) != expected:
                raise MerkleLogError(
                    f"last strip of level {level} holds {len(hashes) // HASH_SIZE} nodes, "
                    f"expected {expected // HASH_SIZE} for tree size {size}"
                )
            open_strips.append(hashes)
        frontier = []
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:  # the last node of the level is a frontier node
                frontier.append(open_strips[level][-HASH_SIZE:])
        self._open = open_strips
        self._frontier = frontier
        self._size = size
        self._position = position

    def __repr__(self) -> str:
        """Show the size and the position of the last leaf."""
        return f"{type(self).__name__}(size={self._size}, position={self._position})"


def _run_at_or_before(conn: Connection, column: Column[int], value: int) -> Any:
    """The ``merkle_leaves`` row ``(idx, position)`` of the run whose first leaf has the
    greatest ``column`` (``idx`` or ``position``) not above ``value``, or ``None``."""
    return conn.execute(
        select(merkle_leaves.c.idx, merkle_leaves.c.position)
        .where(column <= value)
        .order_by(column.desc())
        .limit(1)
    ).first()


def _strips(keys: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """``WHERE`` clause selecting the strips ``keys``: one ``level = ? AND strip IN (...)`` term
    per level, OR-ed, so that every term is a primary-key lookup (SQLite does not use the
    index for a row-value ``(level, strip) IN (VALUES ...)``)."""
    by_level: dict[int, list[int]] = {}
    for level, strip in keys:
        by_level.setdefault(level, []).append(strip)
    terms = [
        and_(merkle_nodes.c.level == level, merkle_nodes.c.strip.in_(strips))
        if len(strips) > 1
        else and_(merkle_nodes.c.level == level, merkle_nodes.c.strip == strips[0])
        for level, strips in sorted(by_level.items())
    ]
    return terms[0] if len(terms) == 1 else or_(*terms)


def _select_strips(conn: Connection, keys: Sequence[tuple[int, int]]) -> Sequence[Any]:
    """Rows ``(level, strip, hashes)`` of the strips ``keys``.

    Proofs are latency-bound, so with the common positional parameter styles the statement is
    a plain ``... WHERE (level = ? AND strip = ?) OR ...`` string executed through the driver
    (each term is a primary-key lookup); building the equivalent Core expression costs more
    than running the query.
    """
    mark = _PARAMETER_MARKS.get(conn.dialect.paramstyle)
    if mark is None:
        columns = (merkle_nodes.c.level, merkle_nodes.c.strip, merkle_nodes.c.hashes)
        return conn.execute(select(*columns).where(_strips(keys))).all()
    quote = conn.dialect.identifier_preparer
    level = quote.format_column(merkle_nodes.c.level)
    strip = quote.format_column(merkle_nodes.c.strip)
    hashes = quote.format_column(merkle_nodes.c.hashes)
    term = f"({level} = {mark} AND {strip} = {mark})"
    sql = (
        f"SELECT {level}, {strip}, {hashes} FROM {quote.format_table(merkle_nodes)} "
        f"WHERE {' OR '.join([term] * len(keys))}"
    )
    return conn.exec_driver_sql(sql, tuple(value for key in keys for value in key)).all()


def _insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Bulk insert of plain tuples through the driver (no per-row SQLAlchemy processing):
    ``COPY`` with psycopg 3, else ``executemany``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        quote = conn.dialect.identifier_preparer
        names = ", ".join(quote.quote(name) for name in columns)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {quote.format_table(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    sql = str(compiled)
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        if conn.dialect.positional:
            order = [columns.index(name) for name in compiled.positiontup or columns]
            params: list[Any] = (
                chunk
                if order == list(range(len(columns)))
                else [tuple(row[i] for i in order) for row in chunk]
            )
        else:
            params = [dict(zip(columns, row, strict=True)) for row in chunk]
        conn.exec_driver_sql(sql, params)


def _uuid_bytes(value: object) -> bytes:
    """The 16 bytes of an originator id given as a UUID or as the recorder's string."""
    if type(value) is str and len(value) == 32:  # eventsourcing's SQLite recorder: uuid.hex
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    if isinstance(value, UUID):
        return value.bytes
    if isinstance(value, str):
        try:
            # eventsourcing's SQLite recorder stores uuid.hex: 32 hex digits.
            return bytes.fromhex(value) if len(value) == 32 else UUID(value).bytes
        except ValueError:
            pass
    raise LeafEncodingError(f"originator_id {value!r} is not a UUID")


def _grow(
    frontier: list[bytes],
    open_strips: list[bytearray],
    size: int,
    position: int,
    rows: Sequence[_Row],
) -> tuple[list[dict[str, Any]], list[tuple[int, int]], int]:
    """Append the leaves of ``rows`` to a tree of ``size`` leaves (arguments modified in place).

    ``frontier`` is the tree's compact frontier and ``open_strips[level]`` the hashes of the
    last, partial strip of each level. Returns the rows of the strips completed, the
    ``merkle_leaves`` rows (the first leaf of each run of consecutive notification ids, and
    leaf 0) and the notification id of the last leaf. Raises
    :class:`MerkleLogError` if notification ids do not increase.
    """
    full_strips: list[dict[str, Any]] = []
    leaf_rows: list[tuple[int, int]] = []
    add_leaf = leaf_rows.append
    pop = frontier.pop
    push = frontier.append
    index = size
    for _ in range(len(open_strips), (size + len(rows)).bit_length()):
        open_strips.append(bytearray())
    for nid, originator_id, version, topic, state in rows:
        if nid <= position:
            raise MerkleLogError(
                f"notification ids must increase: {nid} follows {position} in the log"
            )
        if nid != position + 1 or index == 0:  # a new run of consecutive ids starts here
            add_leaf((index, nid))
        position = nid
        node = leaf_hash(encode_leaf(nid, _uuid_bytes(originator_id), version, topic, state))
        strip = open_strips[0]
        strip += node
        if len(strip) == _STRIP_BYTES:
            full_strips.append({"level": 0, "strip": index // STRIP, "hashes": bytes(strip)})
            strip.clear()
        level, i = 0, index
        while i & 1:  # the new node is a right child: its parent's subtree is now complete
            node = node_hash(pop(), node)
            level += 1
            i >>= 1
            strip = open_strips[level]
            strip += node
            if len(strip) == _STRIP_BYTES:
                full_strips.append({"level": level, "strip": i // STRIP, "hashes": bytes(strip)})
                strip.clear()
        push(node)
        index += 1
    return full_strips, leaf_rows, position
