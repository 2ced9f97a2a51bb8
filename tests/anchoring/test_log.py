"""The persisted Merkle log over the notification log (anchoring.log).

Reference: an in-memory anchoring.merkle.MerkleTree over leaf_hash(leaf_of(n)) of the same
notifications, read with the recorder's public select_notifications.
"""

import random
import threading
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from anchoring import log as log_module
from anchoring.leaf import leaf_of
from anchoring.log import (
    STRIP,
    MerkleLog,
    MerkleLogError,
    merkle_leaves,
    merkle_nodes,
    merkle_tracking,
)
from anchoring.merkle import (
    EMPTY_ROOT,
    MerkleError,
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.projections.database import make_engine
from tests.anchoring.conftest import add_events, make_ledger

# Enough leaves for several full strips at levels 0 and 1 and a partial one above.
N_EVENTS = 2 * STRIP * 2 + 37


def reference_tree(ledger, size=None):
    notifications = ledger.recorder.select_notifications(start=1, limit=10**9)
    return MerkleTree(leaf_hash(leaf_of(n)) for n in notifications[:size])


def assert_same_tree(log, reference, indices_step=1):
    """Roots at every size, and inclusion/consistency proofs, equal the reference's."""
    n = log.size
    assert reference.size == n
    assert log.root() == reference.root()
    for size in range(n + 1):
        assert log.root(size) == reference.root(size), size
    for size in range(1, n + 1, max(1, n // 23)):
        for index in range(0, size, indices_step):
            proof = log.inclusion_proof(index, size)
            assert proof == reference.inclusion_proof(index, size)
            assert verify_inclusion(log.leaf_hash(index), index, size, proof, log.root(size))
        for old in range(0, size + 1, max(1, size // 11)):
            proof = log.consistency_proof(old, size)
            assert proof == reference.consistency_proof(old, size)
            assert verify_consistency(old, size, log.root(old), log.root(size), proof)
    for index in range(n):
        assert log.leaf_hash(index) == reference.leaf(index)
    assert log.compact().frontier == reference.compact().frontier


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# ------------------------------------------------------------------------------------ basics


def test_empty_log(merkle_log):
    assert merkle_log.size == 0
    assert merkle_log.position == 0
    assert merkle_log.root() == EMPTY_ROOT
    assert merkle_log.catch_up() == 0
    assert merkle_log.index_of(1) is None
    assert merkle_log.position_of(0) is None
    with pytest.raises(MerkleError):
        merkle_log.inclusion_proof(0, 0)


def test_tables_are_prefixed_and_created(store_engine, merkle_log):
    names = set(log_module.metadata.tables)
    assert names == {"merkle_nodes", "merkle_leaves", "merkle_tracking"}
    assert count(store_engine, merkle_tracking) == 1
    # create_tables is idempotent
    MerkleLog(merkle_log.reader, store_engine).create_tables()
    assert count(store_engine, merkle_tracking) == 1


def test_roots_and_proofs_equal_an_in_memory_tree_at_every_size(ledger, store_engine):
    add_events(ledger, N_EVENTS)
    log = MerkleLog(ledger, store_engine, page_size=29)
    rng = random.Random(7)
    appended = 0
    while appended < N_EVENTS:
        step = rng.choice([1, 2, 5, 17, 64, 100])
        got = log.catch_up(limit=step)
        assert got == min(step, N_EVENTS - appended)
        appended += got
        assert log.size == appended
        reference = reference_tree(ledger, appended)
        assert log.root() == reference.root()
        assert log.root(appended // 2) == reference.root(appended // 2)
    assert_same_tree(log, reference_tree(ledger), indices_step=7)
    # A fresh instance (empty cache, tiny cache) serves the same roots and proofs from storage.
    assert_same_tree(MerkleLog(ledger, store_engine, cache_size=1), reference_tree(ledger), 13)


def test_storage_layout(ledger, store_engine):
    add_events(ledger, N_EVENTS)
    log = MerkleLog(ledger, store_engine, page_size=50)
    log.catch_up()
    reference = reference_tree(ledger)
    with store_engine.connect() as conn:
        strips = conn.execute(select(merkle_nodes)).all()
        leaves = conn.execute(select(merkle_leaves).order_by(merkle_leaves.c.idx)).all()
        tracking = conn.execute(select(merkle_tracking)).one()
    assert (tracking.size, tracking.position) == (N_EVENTS, N_EVENTS)
    # One strip row per (level, STRIP nodes); every hash is the node of the reference tree.
    for level, strip, hashes in strips:
        assert len(hashes) % 32 == 0
        assert 0 < len(hashes) <= STRIP * 32
        for j in range(len(hashes) // 32):
            index = strip * STRIP + j
            assert ((index + 1) << level) <= N_EVENTS  # only complete subtrees are stored
            assert hashes[32 * j : 32 * j + 32] == reference._node(level, index)
    nodes = sum(len(hashes) // 32 for _, _, hashes in strips)
    assert nodes == sum(N_EVENTS >> level for level in range(N_EVENTS.bit_length()))
    # Notification ids without gaps are one run: its first leaf is the only row.
    assert [(row.idx, row.position) for row in leaves] == [(0, 1)]


def test_leaves_are_the_canonical_leaves_of_the_notifications(ledger, merkle_log):
    add_events(ledger, 20)
    merkle_log.catch_up()
    for index, notification in enumerate(ledger.recorder.select_notifications(1, 100)):
        assert merkle_log.leaf_hash(index) == leaf_hash(leaf_of(notification))
        assert merkle_log.index_of(notification.id) == index
        assert merkle_log.position_of(index) == notification.id


def test_fast_reader_builds_the_same_tree_as_select_notifications(ledger, tmp_path):
    add_events(ledger, 150)
    fast = MerkleLog(ledger, make_engine(f"sqlite:///{tmp_path / 'fast.sqlite'}"))
    slow = MerkleLog(
        ledger, make_engine(f"sqlite:///{tmp_path / 'slow.sqlite'}"), fast_reader=False
    )
    assert fast._read is not slow._read
    assert fast.catch_up() == slow.catch_up() == 150
    assert fast.root() == slow.root() == reference_tree(ledger).root()


def test_fast_postgres_reader_builds_the_same_tree_as_select_notifications(
    postgres_schema, tmp_path
):
    from ledger.application import Ledger
    from ledger.runtime import Settings
    from tests.conftest import database_url_for_tests

    settings = Settings(
        data_dir=tmp_path, database_url=database_url_for_tests(), database_schema=postgres_schema
    )
    ledger = Ledger(env=settings.event_store_env())
    try:
        add_events(ledger, 150)
        engine = settings.make_engine(settings.views_url)  # the tree in PostgreSQL too
        fast = MerkleLog(ledger, engine, page_size=40)
        slow = MerkleLog(
            ledger, make_engine(f"sqlite:///{tmp_path / 'slow.sqlite'}"), fast_reader=False
        )
        assert fast.reads_ahead  # pages after the first are read while one is written
        assert fast._read is not slow._read
        assert fast.catch_up() == slow.catch_up() == 150
        assert fast.root() == slow.root() == reference_tree(ledger).root()
        for index, notification in enumerate(ledger.recorder.select_notifications(1, 200)):
            assert fast.index_of(notification.id) == index
        assert_same_tree(fast, reference_tree(ledger), indices_step=37)
        engine.dispose()
    finally:
        ledger.close()


def test_appending_is_only_through_catch_up(merkle_log):
    with pytest.raises(MerkleError):
        merkle_log.append(b"\x00" * 32)
    with pytest.raises(MerkleError):
        merkle_log.extend([b"\x00" * 32])


# ------------------------------------------------------------------------------------ gaps


@dataclass(frozen=True)
class FakeNotification:
    id: int
    originator_id: uuid.UUID
    originator_version: int
    topic: str
    state: bytes


class FakeReader:
    """A notification log whose ids have gaps (as PostgreSQL sequences leave)."""

    def __init__(self, notifications):
        self.notifications = notifications

    def select_notifications(self, start, limit, *, inclusive_of_start=True):
        return [
            n for n in self.notifications if n.id > start or (inclusive_of_start and n.id == start)
        ][:limit]


def gapped_notifications(count, seed=3):
    rng = random.Random(seed)
    position, notifications = 0, []
    for i in range(count):
        position += rng.choice([1, 1, 2, 7])
        notifications.append(
            FakeNotification(position, uuid.UUID(int=rng.getrandbits(128)), i + 1, "t", b"s" * i)
        )
    return notifications


def test_leaf_index_is_the_order_of_appearance_not_the_notification_id(store_engine):
    notifications = gapped_notifications(150)
    log = MerkleLog(FakeReader(notifications), store_engine, page_size=16)
    assert log.catch_up() == 150
    assert log.position == notifications[-1].id
    assert notifications[-1].id > 150  # there are gaps
    for index, notification in enumerate(notifications):
        assert log.index_of(notification.id) == index
        assert log.position_of(index) == notification.id
    assert log.index_of(notifications[-1].id + 1) is None
    assert log.index_of(0) is None
    assert log.position_of(150) is None
    assert log.position_of(-1) is None
    positions = {n.id for n in notifications}
    gaps = [p for p in range(1, notifications[-1].id) if p not in positions]
    assert gaps
    assert all(log.index_of(p) is None for p in gaps)
    # One row per run of consecutive ids: the first leaf of each.
    starts = [
        (index, n.id)
        for index, n in enumerate(notifications)
        if index == 0 or n.id != notifications[index - 1].id + 1
    ]
    with store_engine.connect() as conn:
        rows = conn.execute(select(merkle_leaves).order_by(merkle_leaves.c.idx)).all()
    assert [(row.idx, row.position) for row in rows] == starts
    assert len(starts) < 150
    assert log.root() == MerkleTree(leaf_hash(leaf_of(n)) for n in notifications).root()


def test_a_log_written_with_a_row_per_leaf_reads_and_grows_as_runs(store_engine):
    """Logs written before runs hold a row for every leaf: each is a run of one."""
    notifications = gapped_notifications(120)
    log = MerkleLog(FakeReader(notifications[:80]), store_engine, page_size=16)
    log.catch_up()
    with store_engine.begin() as conn:
        conn.execute(merkle_leaves.delete())
        conn.execute(
            merkle_leaves.insert(),
            [{"idx": i, "position": n.id} for i, n in enumerate(notifications[:80])],
        )
    grown = MerkleLog(FakeReader(notifications), store_engine, page_size=16)
    assert grown.catch_up() == 40
    for index, notification in enumerate(notifications):
        assert grown.index_of(notification.id) == index
        assert grown.position_of(index) == notification.id
    positions = {n.id for n in notifications}
    assert all(grown.index_of(p) is None for p in range(1, 400) if p not in positions)
    assert grown.root() == MerkleTree(leaf_hash(leaf_of(n)) for n in notifications).root()


def test_decreasing_notification_ids_are_refused(store_engine):
    notifications = gapped_notifications(5)
    log = MerkleLog(FakeReader(notifications), store_engine)
    log.catch_up()
    bogus = FakeNotification(notifications[-1].id, uuid.uuid4(), 1, "t", b"")
    log._read = lambda after, limit: [(bogus.id, bogus.originator_id, 1, "t", b"")]
    with pytest.raises(MerkleLogError):
        log.catch_up()
    assert log.size == 5


# ------------------------------------------------------------------------------------ reopening


def test_catch_up_is_incremental_and_survives_reopening(tmp_path):
    ledger = make_ledger(tmp_path / "events.sqlite")
    url = f"sqlite:///{tmp_path / 'merkle.sqlite'}"
    add_events(ledger, 70)
    first = MerkleLog(ledger, make_engine(url), page_size=32)
    assert first.catch_up() == 70
    root_70 = first.root()
    first.engine.dispose()

    add_events(ledger, 90, prefix="q")
    reads = []
    second = MerkleLog(ledger, make_engine(url), page_size=32, fast_reader=False)
    original = second._read
    second._read = lambda after, limit: reads.append(after) or original(after, limit)
    assert second.size == 70  # loaded from storage, not rebuilt
    assert second.root(70) == root_70
    assert second.catch_up() == 90
    assert reads[0] == 70  # resumed after the last appended notification
    assert second.catch_up() == 0
    assert_same_tree(second, reference_tree(ledger), indices_step=11)
    ledger.close()


def test_crash_mid_page_leaves_nothing_behind(ledger, store_engine, monkeypatch):
    add_events(ledger, 100)
    log = MerkleLog(ledger, store_engine, page_size=40)
    log.catch_up(limit=40)
    root_40 = log.root()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(log_module, "_insert_many", boom)
    with pytest.raises(RuntimeError):
        log.catch_up()
    assert log.size == 40
    assert log.root() == root_40
    monkeypatch.undo()

    reopened = MerkleLog(ledger, store_engine)
    assert reopened.size == 40
    assert reopened.position_of(39) == 40
    assert reopened.position_of(40) is None
    assert reopened.index_of(41) is None
    assert log.catch_up() == 60
    assert_same_tree(log, reference_tree(ledger), indices_step=17)


def test_an_instance_sees_what_another_appended(ledger, tmp_path):
    url = f"sqlite:///{tmp_path / 'merkle.sqlite'}"
    a = MerkleLog(ledger, make_engine(url), page_size=8)
    b = MerkleLog(ledger, make_engine(url), page_size=8)
    for round_ in range(6):
        add_events(ledger, 23, prefix=f"r{round_}")
        writer, other = (a, b) if round_ % 2 else (b, a)
        writer.catch_up()
        # The other instance reloads its frontier before appending, and refreshes for proofs.
        assert other.root(writer.size) == writer.root()
        other.catch_up()
        assert other.size == writer.size
    assert a.root() == b.root() == reference_tree(ledger).root()
    assert count(a.engine, merkle_leaves) == 1  # ids without gaps: one run
    assert [a.index_of(position) for position in range(1, a.size + 1)] == list(range(a.size))


def test_concurrent_catch_up_builds_one_tree_without_duplicates(tmp_path):
    ledger = make_ledger(tmp_path / "events.sqlite")
    url = f"sqlite:///{tmp_path / 'merkle.sqlite'}"
    add_events(ledger, 200)
    logs = [MerkleLog(ledger, make_engine(url), page_size=16) for _ in range(2)]
    errors = []
    appended = [0, 0]
    done = threading.Event()

    def follow(number):
        try:
            while not done.is_set():
                appended[number] += logs[number].catch_up()
            appended[number] += logs[number].catch_up()
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=follow, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    add_events(ledger, 150, prefix="during")
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(appended) == 350  # every event appended exactly once, by one of them
    for log in logs:
        assert log.catch_up() == 0
        assert log.size == 350
    reference = reference_tree(ledger)
    assert logs[0].root() == logs[1].root() == reference.root()
    engine = logs[0].engine
    with engine.connect() as conn:
        runs = conn.execute(select(merkle_leaves.c.idx, merkle_leaves.c.position)).all()
    assert [tuple(run) for run in runs] == [(0, 1)]
    assert [logs[1].index_of(position) for position in range(1, 351)] == list(range(350))
    assert_same_tree(MerkleLog(ledger, engine), reference, indices_step=29)
    ledger.close()


def test_asking_for_a_larger_size_refreshes(ledger, tmp_path):
    url = f"sqlite:///{tmp_path / 'merkle.sqlite'}"
    reader = MerkleLog(ledger, make_engine(url))
    writer = MerkleLog(ledger, make_engine(url))
    add_events(ledger, 10)
    writer.catch_up()
    assert reader.size == 0
    assert reader.inclusion_proof(3, 10) == writer.inclusion_proof(3, 10)
    assert reader.size == 10
    with pytest.raises(MerkleError):
        reader.root(11)


def test_invalid_arguments(ledger, store_engine):
    with pytest.raises(ValueError):
        MerkleLog(ledger, store_engine, page_size=0)
    with pytest.raises(ValueError):
        MerkleLog(ledger, store_engine, cache_size=0)


def test_a_proof_whose_nodes_are_in_memory_is_computed_once_without_storage(
        ledger, store_engine, monkeypatch):
    add_events(ledger, N_EVENTS)
    MerkleLog(ledger, store_engine).catch_up()
    log = MerkleLog(ledger, store_engine)  # a fresh instance: nodes come from storage first
    reference = reference_tree(ledger)
    index = STRIP + 5
    assert log.inclusion_proof(index) == reference.inclusion_proof(index)

    walks = 0
    walk = MerkleTree.inclusion_proof

    def counting(*args, **kwargs):
        nonlocal walks
        walks += 1
        return walk(*args, **kwargs)

    def no_storage(keys):
        raise AssertionError(f"read storage for {keys}")

    monkeypatch.setattr(MerkleTree, "inclusion_proof", counting)
    monkeypatch.setattr(log, "_fetch", no_storage)
    assert log.inclusion_proof(index) == reference.inclusion_proof(index)
    assert walks == 2  # once for the log (the dry run was the real run), once for reference


def test_a_page_read_ahead_is_used_only_for_the_position_asked():
    calls = []

    def read(after, limit):
        calls.append((after, limit))
        return [(after + 1, uuid.uuid4(), 1, "t", b"")]

    with log_module._ReadAhead(read, enabled=True) as reader:
        reader.start(10, 5)
        assert reader.read(10, 5)[0][0] == 11
        assert calls == [(10, 5)]  # served from the page read ahead
        reader.start(10, 5)
        assert reader.read(20, 5)[0][0] == 21  # another writer moved on: read now
        assert calls == [(10, 5), (10, 5), (20, 5)]
    with log_module._ReadAhead(read, enabled=False) as reader:
        reader.start(30, 5)
        assert reader.read(30, 5)[0][0] == 31
    assert calls[-1] == (30, 5) and len(calls) == 4  # disabled: nothing read ahead


def test_a_failed_read_ahead_raises_in_the_caller():
    def read(after, limit):
        raise RuntimeError("connection lost")

    with log_module._ReadAhead(read, enabled=True) as reader:
        reader.start(0, 5)
        with pytest.raises(RuntimeError, match="connection lost"):
            reader.read(0, 5)
